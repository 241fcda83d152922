/* Images in memory on libturbojpeg (JPEG pixels), libjpeg (JPEG
 * coefficients, for the blur that keeps the rest of a JPEG bit-exact), libpng
 * and libwebp.
 *
 * Why libpng and not libspng: measured on one core with a 512x512 RGB
 * photo-like image (gradients, shapes, +-6 noise) written by libpng at zlib
 * level 6 as a text-to-image server would (423 KB), decode was 355/s with
 * libpng (simplified and full API alike) and 348/s with spng; with +-2 noise
 * 306/s against 301/s, and on a noiseless image 831/s against 693/s. Encode
 * at level 3 was 56/s (libpng) against 49/s (spng) with adaptive filters and
 * 92/s against 83/s with the SUB filter. spng is nowhere faster, so the
 * module stays on libpng, which is also more widely packaged.
 *
 * Every handle (tjhandle, png_struct, jpeg_*_struct) lives for one call, so
 * the module has no global state: creating and destroying a TurboJPEG handle
 * takes 0.2 us (measured), a 512x512 decode 3 ms. A cache of handles would
 * also be a trap: TurboJPEG 2.1.5 writes a corrupt baseline JPEG from a
 * compress handle that made a progressive one before. */
#include "image/image.h"

#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
/* jpeglib.h needs stdio.h (FILE) first. */
#include <jpeglib.h>
#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>

/* A progressive JPEG may have any number of scans, and libjpeg decodes each
 * one over the whole image: a few KB of hostile input can cost minutes.
 * TurboJPEG's TJFLAG_LIMITSCANS uses the same bound. */
#define MAX_SCANS 500

enum image_fmt image_fmt_of_ext(const char *ext)
{
	const char *dot;

	if (!ext)
		return IMAGE_UNKNOWN;
	dot = strrchr(ext, '.');
	if (dot)
		ext = dot + 1;
	if (!strcasecmp(ext, "jpg") || !strcasecmp(ext, "jpeg"))
		return IMAGE_JPEG;
	if (!strcasecmp(ext, "png"))
		return IMAGE_PNG;
	if (!strcasecmp(ext, "webp"))
		return IMAGE_WEBP;
	return IMAGE_UNKNOWN;
}

enum image_fmt image_sniff(const void *data, size_t n)
{
	const unsigned char *p = data;

	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return IMAGE_JPEG;
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return IMAGE_PNG;
	if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
		return IMAGE_WEBP;
	return IMAGE_UNKNOWN;
}

const char *image_fmt_name(enum image_fmt f)
{
	switch (f) {
	case IMAGE_JPEG: return "JPEG";
	case IMAGE_PNG: return "PNG";
	case IMAGE_WEBP: return "WebP";
	default: return "unknown";
	}
}

void image_release(struct image *img)
{
	if (!img)
		return;
	free(img->px);
	memset(img, 0, sizeof(*img));
}

static int check_size(const char *what, long long w, long long h,
		      struct hy_err *err)
{
	if (w <= 0 || h <= 0)
		return hy_err_set(err, HY_ESAMPLE, "%s: bad size %lldx%lld",
				  what, w, h);
	if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE ||
	    w * h > IMAGE_MAX_PIXELS)
		return hy_err_set(err, HY_ESAMPLE,
				  "%s: image too large (%lldx%lld)", what, w,
				  h);
	return HY_OK;
}

static int check_image(const struct image *img, struct hy_err *err)
{
	if (!img || !img->px || (img->channels != 3 && img->channels != 4) ||
	    check_size("image", img->w, img->h, NULL))
		return hy_err_set(err, HY_EFATAL,
				  "image: bad image (%dx%d, %d channels)",
				  img ? img->w : 0, img ? img->h : 0,
				  img ? img->channels : 0);
	return HY_OK;
}

static unsigned char *alloc_px(int w, int h, int ch)
{
	if (w <= 0 || h <= 0 || ch <= 0)
		return NULL;
	return malloc((size_t)w * (size_t)h * (size_t)ch);
}

/* ---- JPEG pixels (TurboJPEG) ---- */

static int jpeg_probe(const void *data, size_t n, int *w, int *h,
		      struct hy_err *err)
{
	tjhandle tj = tjInitDecompress();
	int ss, cs, ret = HY_OK;

	if (!tj)
		return hy_err_set(err, HY_EFATAL, "JPEG: %s",
				  tjGetErrorStr2(NULL));
	if (tjDecompressHeader3(tj, data, (unsigned long)n, w, h, &ss, &cs))
		ret =
		    hy_err_set(err, HY_ESAMPLE, "JPEG: %s", tjGetErrorStr2(tj));
	tjDestroy(tj);
	return ret;
}

/* In place, CMYK to RGB (ch 3) or RGBA (ch 4). Photoshop's Adobe CMYK JPEGs,
 * nearly all there are, store inverted values: 255 means no ink. */
static void cmyk_to_rgb(unsigned char *px, size_t np, int ch)
{
	for (size_t i = 0; i < np; i++) {
		const unsigned char *s = px + i * 4;
		unsigned char *d = px + i * (size_t)ch, rgb[3];
		for (int c = 0; c < 3; c++)
			rgb[c] = (unsigned char)((s[c] * s[3] + 127) / 255);
		memcpy(d, rgb, 3);
		if (ch == 4)
			d[3] = 255;
	}
}

static int jpeg_decode(const void *data, size_t n, int channels,
		       struct image *img, struct hy_err *err)
{
	tjhandle tj = tjInitDecompress();
	int w, h, ss, cs, ch = channels == 4 ? 4 : 3, cmyk, ret;
	unsigned char *px = NULL;

	if (!tj)
		return hy_err_set(err, HY_EFATAL, "JPEG: %s",
				  tjGetErrorStr2(NULL));
	if (tjDecompressHeader3(tj, data, (unsigned long)n, &w, &h, &ss, &cs)) {
		ret =
		    hy_err_set(err, HY_ESAMPLE, "JPEG: %s", tjGetErrorStr2(tj));
		goto out;
	}
	if ((ret = check_size("JPEG", w, h, err)))
		goto out;
	/* libjpeg cannot turn CMYK into RGB: take the CMYK samples and
	 * convert them below. */
	cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
	px = alloc_px(w, h, cmyk ? 4 : ch);
	if (!px) {
		ret = hy_err_set(err, HY_EFATAL, "JPEG: out of memory");
		goto out;
	}
	/* Any warning (premature end, corrupt data) is a damaged image: the
	 * decoder would fill the rest with grey and call it a success. */
	if (tjDecompress2(tj, data, (unsigned long)n, px, w, 0, h,
			  cmyk	    ? TJPF_CMYK
			  : ch == 4 ? TJPF_RGBA
				    : TJPF_RGB,
			  TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)) {
		ret = hy_err_set(
		    err, HY_ESAMPLE, "JPEG: %s%s",
		    tjGetErrorCode(tj) == TJERR_WARNING ? "damaged: " : "",
		    tjGetErrorStr2(tj));
		goto out;
	}
	if (cmyk)
		cmyk_to_rgb(px, (size_t)w * (size_t)h, ch);
	img->w = w;
	img->h = h;
	img->channels = ch;
	img->px = px;
	px = NULL;
out:
	free(px);
	tjDestroy(tj);
	return ret;
}

static int jpeg_encode(const struct image *img, int quality, struct buf *out,
		       struct hy_err *err)
{
	tjhandle tj = tjInitCompress();
	unsigned long cap = tjBufSize(img->w, img->h, TJSAMP_420);
	unsigned long size = cap;
	unsigned char *dst;
	int ret = HY_OK;

	if (!tj)
		return hy_err_set(err, HY_EFATAL, "JPEG: %s",
				  tjGetErrorStr2(NULL));
	if (cap == (unsigned long)-1 || buf_reserve(out, cap)) {
		ret = hy_err_set(err, HY_EFATAL, "JPEG: out of memory");
		goto out;
	}
	/* Straight into out: tjBufSize() is the worst case, so TurboJPEG
	 * never needs to grow (NOREALLOC) and no copy follows. */
	dst = (unsigned char *)out->data + out->len;
	if (tjCompress2(tj, img->px, img->w, 0, img->h,
			img->channels == 4 ? TJPF_RGBA : TJPF_RGB, &dst, &size,
			TJSAMP_420,
			quality < 1	? 1
			: quality > 100 ? 100
					: quality,
			TJFLAG_NOREALLOC)) {
		ret = hy_err_set(err, HY_EFATAL, "JPEG: encode: %s",
				 tjGetErrorStr2(tj));
		goto out;
	}
	out->len += size;
	out->data[out->len] = '\0';
out:
	tjDestroy(tj);
	return ret;
}

/* ---- PNG (libpng) ---- */

struct png_io {
	const unsigned char *d; /* decode: the input */
	size_t n, off;
	struct buf *out; /* encode: the output */
	char msg[200];
};

static void png_io_error(png_structp p, png_const_charp msg)
{
	struct png_io *io = png_get_error_ptr(p);

	snprintf(io->msg, sizeof(io->msg), "%s", msg);
	png_longjmp(p, 1);
}

/* Warnings are benign by now: damage that libpng would only warn about
 * (ancillary CRC) is made an error with png_set_crc_action, and the rest
 * (e.g. "known incorrect sRGB profile") is common in good files. */
static void png_io_warning(png_structp p, png_const_charp msg)
{
	(void)p;
	(void)msg;
}

static void png_io_read(png_structp p, png_bytep dst, size_t len)
{
	struct png_io *io = png_get_io_ptr(p);

	if (io->n - io->off < len)
		png_error(p, "truncated");
	memcpy(dst, io->d + io->off, len);
	io->off += len;
}

static void png_io_write(png_structp p, png_bytep src, size_t len)
{
	struct png_io *io = png_get_io_ptr(p);

	if (buf_append(io->out, src, len))
		png_error(p, "out of memory");
}

static void png_io_flush(png_structp p)
{
	(void)p;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/* The size from IHDR, which must come first; image_probe checks it. */
static int png_probe(const unsigned char *p, size_t n, int *w, int *h,
		     struct hy_err *err)
{
	/* signature, IHDR length and type, then width and height */
	if (n < 8 + 8 + 8 || be32(p + 8) != 13 ||
	    memcmp(p + 12, "IHDR", 4) != 0 || be32(p + 16) > INT32_MAX ||
	    be32(p + 20) > INT32_MAX)
		return hy_err_set(err, HY_ESAMPLE, "PNG: damaged header");
	*w = (int)be32(p + 16);
	*h = (int)be32(p + 20);
	return HY_OK;
}

static int png_decode(const void *data, size_t n, int channels,
		      struct image *img, struct hy_err *err)
{
	struct png_io io = {.d = data, .n = n};
	png_structp p;
	png_infop info = NULL;
	unsigned char *volatile px = NULL; /* set after setjmp */
	volatile int ret = HY_OK;
	png_uint_32 w, h;
	int depth, ctype, alpha, ch, passes;

	p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, png_io_error,
				   png_io_warning);
	if (!p || !(info = png_create_info_struct(p))) {
		ret = hy_err_set(err, HY_EFATAL, "PNG: out of memory");
		goto out;
	}
	if (setjmp(png_jmpbuf(p))) {
		ret = hy_err_set(err, HY_ESAMPLE, "PNG: %s", io.msg);
		goto out;
	}
	png_set_read_fn(p, &io, png_io_read);
	/* libpng only warns about a bad CRC in an ancillary chunk: a bit flip
	 * there means the transfer was damaged, so reject it too. */
	png_set_crc_action(p, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
	png_read_info(p, info);
	png_get_IHDR(p, info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
	if ((ret = check_size("PNG", w, h, err)))
		goto out;
	alpha = (ctype & PNG_COLOR_MASK_ALPHA) ||
		png_get_valid(p, info, PNG_INFO_tRNS);
	ch = channels ? channels : alpha ? 4 : 3;
	if (ctype == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(p);
	if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(p);
	if (png_get_valid(p, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(p);
	if (depth == 16)
		png_set_scale_16(p);
	if (!(ctype & PNG_COLOR_MASK_COLOR))
		png_set_gray_to_rgb(p);
	if (ch == 3 && alpha)
		png_set_strip_alpha(p);
	if (ch == 4 && !alpha)
		png_set_add_alpha(p, 0xff, PNG_FILLER_AFTER);
	passes = png_set_interlace_handling(p);
	png_read_update_info(p, info);
	if (png_get_channels(p, info) != ch ||
	    png_get_rowbytes(p, info) != (size_t)w * (size_t)ch) {
		ret = hy_err_set(err, HY_ESAMPLE,
				 "PNG: unsupported layout (%d channels)",
				 png_get_channels(p, info));
		goto out;
	}
	px = alloc_px((int)w, (int)h, ch);
	if (!px) {
		ret = hy_err_set(err, HY_EFATAL, "PNG: out of memory");
		goto out;
	}
	for (int pass = 0; pass < passes; pass++)
		for (png_uint_32 y = 0; y < h; y++)
			png_read_row(p, px + (size_t)y * w * ch, NULL);
	/* Reads up to IEND, checking CRCs on the way: a file cut after the
	 * last IDAT is as incomplete as one cut inside it. */
	png_read_end(p, NULL);
	img->w = (int)w;
	img->h = (int)h;
	img->channels = ch;
	img->px = px;
	px = NULL;
out:
	free(px);
	png_destroy_read_struct(&p, &info, NULL);
	return ret;
}

/* zlib level 3 and the SUB filter alone: a generated image is written once
 * and read a few times, and on a 512x512 photo-like image this encodes 1.6x
 * faster than level 3 with adaptive filtering (92/s against 56/s) and 3.4x
 * faster than level 6 (27/s), for files 3% (resp. 17%) larger. */
static int png_encode(const struct image *img, struct buf *out,
		      struct hy_err *err)
{
	struct png_io io = {.out = out};
	png_structp p;
	png_infop info = NULL;
	size_t len0 = out->len;
	volatile int ret = HY_OK;

	p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, png_io_error,
				    png_io_warning);
	if (!p || !(info = png_create_info_struct(p))) {
		ret = hy_err_set(err, HY_EFATAL, "PNG: out of memory");
		goto out;
	}
	if (setjmp(png_jmpbuf(p))) {
		ret = hy_err_set(err, HY_EFATAL, "PNG: encode: %s", io.msg);
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
		goto out;
	}
	png_set_write_fn(p, &io, png_io_write, png_io_flush);
	png_set_IHDR(p, info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
		     img->channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA
					: PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(p, 3);
	png_set_filter(p, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
	png_write_info(p, info);
	for (int y = 0; y < img->h; y++)
		png_write_row(p, img->px + (size_t)y * (size_t)img->w *
					       (size_t)img->channels);
	png_write_end(p, NULL);
out:
	png_destroy_write_struct(&p, &info);
	return ret;
}

/* ---- WebP (libwebp) ---- */

static const char *webp_status(VP8StatusCode st)
{
	switch (st) {
	case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
	case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
	case VP8_STATUS_BITSTREAM_ERROR: return "damaged bitstream";
	case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
	case VP8_STATUS_SUSPENDED: return "suspended";
	case VP8_STATUS_USER_ABORT: return "aborted";
	case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated";
	default: return "error";
	}
}

static int webp_probe(const void *data, size_t n, int *w, int *h,
		      struct hy_err *err)
{
	if (!WebPGetInfo(data, n, w, h))
		return hy_err_set(err, HY_ESAMPLE, "WebP: damaged header");
	return HY_OK;
}

static int webp_decode(const void *data, size_t n, int channels,
		       struct image *img, struct hy_err *err)
{
	WebPDecoderConfig cfg;
	VP8StatusCode st;
	unsigned char *px;
	int ch, ret;

	if (!WebPInitDecoderConfig(&cfg))
		return hy_err_set(err, HY_EFATAL, "WebP: library mismatch");
	/* The RIFF size says how much must follow: a file cut short is
	 * refused here, before any pixel memory or decoding work. */
	if (n < 12 || (uint64_t)le32((const unsigned char *)data + 4) + 8 > n)
		return hy_err_set(err, HY_ESAMPLE, "WebP: truncated");
	st = WebPGetFeatures(data, n, &cfg.input);
	if (st != VP8_STATUS_OK)
		return hy_err_set(err, HY_ESAMPLE, "WebP: %s", webp_status(st));
	if (cfg.input.has_animation)
		return hy_err_set(err, HY_ESAMPLE,
				  "WebP: animation not supported");
	if ((ret = check_size("WebP", cfg.input.width, cfg.input.height, err)))
		return ret;
	ch = channels ? channels : cfg.input.has_alpha ? 4 : 3;
	px = alloc_px(cfg.input.width, cfg.input.height, ch);
	if (!px)
		return hy_err_set(err, HY_EFATAL, "WebP: out of memory");
	cfg.output.colorspace = ch == 4 ? MODE_RGBA : MODE_RGB;
	cfg.output.is_external_memory = 1;
	cfg.output.u.RGBA.rgba = px;
	cfg.output.u.RGBA.stride = cfg.input.width * ch;
	cfg.output.u.RGBA.size =
	    (size_t)cfg.input.width * (size_t)cfg.input.height * (size_t)ch;
	st = WebPDecode(data, n, &cfg);
	WebPFreeDecBuffer(&cfg.output);
	if (st != VP8_STATUS_OK) {
		free(px);
		return hy_err_set(err, HY_ESAMPLE, "WebP: %s", webp_status(st));
	}
	img->w = cfg.input.width;
	img->h = cfg.input.height;
	img->channels = ch;
	img->px = px;
	return HY_OK;
}

static int webp_write(const uint8_t *d, size_t n, const WebPPicture *pic)
{
	return buf_append(pic->custom_ptr, d, n) == 0;
}

/* Lossless at libwebp's preset 1 (method 1): on a 512x512 photo-like image
 * it encodes 41/s against 14/s for WebPEncodeLosslessRGB's defaults, for a
 * file 0.1% larger. `exact` keeps the colour under transparent pixels:
 * lossless means every byte comes back. */
static int webp_lossless(const struct image *img, struct buf *out,
			 struct hy_err *err)
{
	WebPConfig cfg;
	WebPPicture pic;
	size_t len0 = out->len;
	int stride = img->w * img->channels, ok;

	if (!WebPConfigInit(&cfg) || !WebPConfigLosslessPreset(&cfg, 1) ||
	    !WebPPictureInit(&pic))
		return hy_err_set(err, HY_EFATAL, "WebP: library mismatch");
	cfg.exact = 1;
	pic.use_argb = 1;
	pic.width = img->w;
	pic.height = img->h;
	pic.writer = webp_write;
	pic.custom_ptr = out;
	ok = img->channels == 4 ? WebPPictureImportRGBA(&pic, img->px, stride)
				: WebPPictureImportRGB(&pic, img->px, stride);
	ok = ok && WebPEncode(&cfg, &pic);
	WebPPictureFree(&pic);
	if (!ok) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
		return hy_err_set(err, HY_EFATAL,
				  "WebP: cannot encode %dx%d image (error %d)",
				  img->w, img->h, (int)pic.error_code);
	}
	return HY_OK;
}

static int webp_encode(const struct image *img, int quality, struct buf *out,
		       struct hy_err *err)
{
	uint8_t *enc = NULL;
	int stride = img->w * img->channels, ret = HY_OK;
	float q = (float)(quality > 100 ? 100 : quality);
	size_t n;

	if (quality <= 0)
		return webp_lossless(img, out, err);
	n = img->channels == 4
		? WebPEncodeRGBA(img->px, img->w, img->h, stride, q, &enc)
		: WebPEncodeRGB(img->px, img->w, img->h, stride, q, &enc);
	if (!n)
		ret = hy_err_set(err, HY_EFATAL,
				 "WebP: cannot encode %dx%d image", img->w,
				 img->h);
	else if (buf_append(out, enc, n))
		ret = hy_err_set(err, HY_EFATAL, "WebP: out of memory");
	WebPFree(enc);
	return ret;
}

/* ---- the format switch ---- */

int image_probe(const void *data, size_t n, enum image_fmt *fmt, int *w, int *h,
		struct hy_err *err)
{
	enum image_fmt f = image_sniff(data, n);
	int pw = 0, ph = 0, ret;

	if (fmt)
		*fmt = f;
	switch (f) {
	case IMAGE_JPEG: ret = jpeg_probe(data, n, &pw, &ph, err); break;
	case IMAGE_PNG: ret = png_probe(data, n, &pw, &ph, err); break;
	case IMAGE_WEBP: ret = webp_probe(data, n, &pw, &ph, err); break;
	default:
		return hy_err_set(err, HY_ESAMPLE,
				  "not an image (no JPEG, PNG or WebP "
				  "signature)");
	}
	if (ret || (ret = check_size(image_fmt_name(f), pw, ph, err)))
		return ret;
	if (w)
		*w = pw;
	if (h)
		*h = ph;
	return HY_OK;
}

int image_decode(const void *data, size_t n, int channels, struct image *img,
		 struct hy_err *err)
{
	memset(img, 0, sizeof(*img));
	if (channels != 0 && channels != 3 && channels != 4)
		return hy_err_set(err, HY_EFATAL, "image: bad channel count %d",
				  channels);
	switch (image_sniff(data, n)) {
	case IMAGE_JPEG: return jpeg_decode(data, n, channels, img, err);
	case IMAGE_PNG: return png_decode(data, n, channels, img, err);
	case IMAGE_WEBP: return webp_decode(data, n, channels, img, err);
	default:
		return hy_err_set(err, HY_ESAMPLE,
				  "not an image (no JPEG, PNG or WebP "
				  "signature)");
	}
}

int image_encode(const struct image *img, enum image_fmt fmt, int quality,
		 struct buf *out, struct hy_err *err)
{
	int ret = check_image(img, err);

	if (ret)
		return ret;
	switch (fmt) {
	case IMAGE_JPEG: return jpeg_encode(img, quality, out, err);
	case IMAGE_PNG: return png_encode(img, out, err);
	case IMAGE_WEBP: return webp_encode(img, quality, out, err);
	default:
		return hy_err_set(err, HY_EFATAL, "image: cannot encode as %s",
				  image_fmt_name(fmt));
	}
}

/* ---- resize ---- */

/* Weights are fixed point with WBITS fraction bits and sum to exactly
 * 1 << WBITS for every output pixel, so a constant image stays constant. */
#define WBITS 14

/* One axis of a resampling: output pixel i reads n[i] source pixels from
 * start[i] on with weights w[i * maxn ...]. */
struct axis {
	int *start, *n;
	int32_t *w;
	int maxn;
};

static int axis_init(struct axis *a, int sn, int dn)
{
	double scale;

	if (sn <= 0 || dn <= 0)
		return -1;
	scale = (double)sn / dn;

	/* A span of `scale` pixels touches at most ceil(scale) + 1 of them,
	 * and never more than there are. */
	a->maxn = dn < sn ? (int)ceil(scale) + 1 : dn > sn && sn > 1 ? 2 : 1;
	if (a->maxn > sn)
		a->maxn = sn;
	a->start = malloc((size_t)dn * sizeof(*a->start));
	a->n = malloc((size_t)dn * sizeof(*a->n));
	a->w = calloc((size_t)dn * (size_t)a->maxn, sizeof(*a->w));
	if (!a->start || !a->n || !a->w)
		return -1;
	for (int i = 0; i < dn; i++) {
		int32_t *w = a->w + (size_t)i * a->maxn;
		int32_t sum = 0;
		int best = 0, k0, k1;

		if (dn < sn) {
			/* Area average: output pixel i covers the source
			 * span [lo, hi); each source pixel weighs what it
			 * overlaps, fractions at both ends included. */
			double lo = i * scale, hi = (i + 1) * scale;
			int j0 = (int)floor(lo);
			if (j0 > sn - a->maxn)
				j0 = sn - a->maxn;
			a->start[i] = j0;
			for (int k = 0; k < a->maxn; k++) {
				double l = fmax(lo, j0 + k),
				       r = fmin(hi, j0 + k + 1);
				w[k] = r > l ? (int32_t)lround((r - l) / scale *
							       (1 << WBITS))
					     : 0;
			}
		} else if (a->maxn == 2) {
			/* Bilinear between pixel centres, edges clamped. */
			double x = (i + 0.5) * scale - 0.5, f;
			int j;
			if (x < 0)
				x = 0;
			j = (int)floor(x);
			f = x - j;
			if (j >= sn - 1) {
				j = sn - 2;
				f = 1;
			}
			a->start[i] = j;
			w[1] = (int32_t)lround(f * (1 << WBITS));
			w[0] = (1 << WBITS) - w[1];
		} else {
			a->start[i] = dn == sn ? i : 0; /* copy, or sn == 1 */
			w[0] = 1 << WBITS;
		}
		for (int k = 0; k < a->maxn; k++) {
			sum += w[k];
			if (w[k] > w[best])
				best = k;
		}
		w[best] += (1 << WBITS) - sum;
		/* Zero weights at the ends cost a multiply each: drop them
		 * (halving reads 2 pixels, not 3). */
		k0 = 0;
		k1 = a->maxn;
		while (k1 - k0 > 1 && !w[k0])
			k0++;
		while (k1 - k0 > 1 && !w[k1 - 1])
			k1--;
		memmove(w, w + k0, (size_t)(k1 - k0) * sizeof(*w));
		a->start[i] += k0;
		a->n[i] = k1 - k0;
	}
	return 0;
}

static void axis_release(struct axis *a)
{
	free(a->start);
	free(a->n);
	free(a->w);
}

/* One row through the horizontal pass, into 16 bits with 6 fraction bits
 * (255 << 6 fits). RGB and RGBA get their own loops: one accumulator per
 * channel in registers is 2x the speed of a loop over channels. */
static void resize_row(const unsigned char *s, uint16_t *t,
		       const struct axis *ax, int w, int ch)
{
	const int round = 1 << (WBITS - 7), shift = WBITS - 6;

	for (int x = 0; x < w; x++, t += ch) {
		const int32_t *wt = ax->w + (size_t)x * ax->maxn;
		const unsigned char *sp = s + (size_t)ax->start[x] * ch;
		int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
		if (ch == 3) {
			for (int k = 0; k < ax->n[x]; k++, sp += 3) {
				s0 += wt[k] * sp[0];
				s1 += wt[k] * sp[1];
				s2 += wt[k] * sp[2];
			}
		} else {
			for (int k = 0; k < ax->n[x]; k++, sp += 4) {
				s0 += wt[k] * sp[0];
				s1 += wt[k] * sp[1];
				s2 += wt[k] * sp[2];
				s3 += wt[k] * sp[3];
			}
			t[3] = (uint16_t)((s3 + round) >> shift);
		}
		t[0] = (uint16_t)((s0 + round) >> shift);
		t[1] = (uint16_t)((s1 + round) >> shift);
		t[2] = (uint16_t)((s2 + round) >> shift);
	}
}

int image_resize(const struct image *src, int w, int h, struct image *dst,
		 struct hy_err *err)
{
	struct axis ax = {0}, ay = {0};
	int ch, ret = check_image(src, err);
	uint16_t *tmp = NULL;
	int32_t *acc = NULL;
	unsigned char *px = NULL;
	size_t drow, drow16;

	memset(dst, 0, sizeof(*dst));
	if (ret)
		return ret;
	if (check_size("resize", w, h, NULL))
		return hy_err_set(err, HY_EFATAL, "resize: bad size %dx%d", w,
				  h);
	ch = src->channels;
	drow = (size_t)w * (size_t)ch;
	tmp = malloc(drow * (size_t)src->h * sizeof(*tmp));
	drow16 = (drow + 15) / 16 * 16;
	acc = malloc(drow16 * sizeof(*acc));
	px = alloc_px(w, h, ch);
	if (!tmp || !acc || !px || axis_init(&ax, src->w, w) ||
	    axis_init(&ay, src->h, h)) {
		ret = hy_err_set(err, HY_EFATAL, "resize: out of memory");
		goto out;
	}
	/* Horizontal into tmp, then vertical row by row. */
	for (int y = 0; y < src->h; y++)
		resize_row(src->px + (size_t)y * (size_t)src->w * (size_t)ch,
			   tmp + (size_t)y * drow, &ax, w, ch);
	for (int y = 0; y < h; y++) {
		const int32_t *wt = ay.w + (size_t)y * ay.maxn;
		const uint16_t *t0 = tmp + (size_t)ay.start[y] * drow;
		unsigned char *d = px + (size_t)y * drow;
		int n = ay.n[y];
		/* Two taps (any grow, most shrinks) in one pass, more taps
		 * through acc. */
		if (n <= 2) {
			const uint16_t *t1 = n == 2 ? t0 + drow : t0;
			int32_t w0 = wt[0], w1 = n == 2 ? wt[1] : 0;
			size_t i = 0;
			/* Blocks of a fixed 16 so that gcc -O2 vectorizes
			 * them; no clamp needed: the weights sum to one. */
			for (; i + 16 <= drow; i += 16)
				for (int k = 0; k < 16; k++)
					d[i + k] =
					    (unsigned char)((w0 * t0[i + k] +
							     w1 * t1[i + k] +
							     (1 << (WBITS +
								    5))) >>
							    (WBITS + 6));
			for (; i < drow; i++)
				d[i] =
				    (unsigned char)((w0 * t0[i] + w1 * t1[i] +
						     (1 << (WBITS + 5))) >>
						    (WBITS + 6));
			continue;
		}
		/* acc is padded to a multiple of 16 for the same reason */
		memset(acc, 0, drow16 * sizeof(*acc));
		for (int k = 0; k < n; k++) {
			const uint16_t *t = t0 + (size_t)k * drow;
			int32_t wk = wt[k];
			size_t i = 0;
			for (; i + 16 <= drow; i += 16)
				for (int j = 0; j < 16; j++)
					acc[i + j] += wk * t[i + j];
			for (; i < drow; i++)
				acc[i] += wk * t[i];
		}
		for (size_t i = 0; i < drow16; i += 16)
			for (int j = 0; j < 16; j++)
				acc[i + j] =
				    (acc[i + j] + (1 << (WBITS + 5))) >>
				    (WBITS + 6);
		for (size_t i = 0; i < drow; i++)
			d[i] = (unsigned char)acc[i];
	}
	dst->w = w;
	dst->h = h;
	dst->channels = ch;
	dst->px = px;
	px = NULL;
out:
	axis_release(&ax);
	axis_release(&ay);
	free(tmp);
	free(acc);
	free(px);
	return ret;
}

/* ---- blur ---- */

static double clamp01(double v)
{
	if (!(v >= 0)) /* NaN too */
		return 0;
	return v > 1 ? 1 : v;
}

/* The pixel span [*p0, *p1) of normalized [a, b] over n pixels: every
 * pixel the box touches, at least one. */
static void box_span(double a, double b, int n, int *p0, int *p1)
{
	double lo, hi;

	a = clamp01(a);
	b = clamp01(b);
	lo = a < b ? a : b;
	hi = a < b ? b : a;
	*p0 = (int)floor(lo * n);
	*p1 = (int)ceil(hi * n);
	if (*p0 > n - 1)
		*p0 = n - 1;
	if (*p1 > n)
		*p1 = n;
	if (*p1 <= *p0)
		*p1 = *p0 + 1;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Running box sum of radius r along n samples `step` apart, edges
 * clamped (pixels outside the run are never read). */
static void box_line(const unsigned char *s, unsigned char *d, int n,
		     size_t step, int r)
{
	int div = 2 * r + 1, sum = 0;

	for (int k = -r; k <= r; k++)
		sum += s[(size_t)clampi(k, 0, n - 1) * step];
	for (int i = 0; i < n; i++) {
		d[(size_t)i * step] = (unsigned char)((sum + r) / div);
		sum += s[(size_t)clampi(i + r + 1, 0, n - 1) * step] -
		       s[(size_t)clampi(i - r, 0, n - 1) * step];
	}
}

/* Without memory for the blur, the box becomes its mean colour: still
 * unrecognisable, and a face must never go out unblurred. */
static void fill_mean(struct image *img, int x0, int y0, int bw, int bh)
{
	size_t row = (size_t)img->w * (size_t)img->channels;

	for (int c = 0; c < 3; c++) {
		uint64_t sum = 0;
		unsigned char m;
		for (int y = y0; y < y0 + bh; y++)
			for (int x = x0; x < x0 + bw; x++)
				sum += img->px[y * row +
					       (size_t)x * img->channels + c];
		m = (unsigned char)((sum + (uint64_t)bw * bh / 2) /
				    ((uint64_t)bw * bh));
		for (int y = y0; y < y0 + bh; y++)
			for (int x = x0; x < x0 + bw; x++)
				img->px[y * row + (size_t)x * img->channels +
					c] = m;
	}
}

static void blur_box(struct image *img, const struct image_box *b)
{
	int x0, x1, y0, y1, bw, bh, r, ch = img->channels;
	size_t row = (size_t)img->w * (size_t)ch, brow;
	unsigned char *a, *t;

	box_span(b->x0, b->x1, img->w, &x0, &x1);
	box_span(b->y0, b->y1, img->h, &y0, &y1);
	bw = x1 - x0;
	bh = y1 - y0;
	brow = (size_t)bw * (size_t)ch;
	/* Three box passes approximate a Gaussian of sigma ~ r, a third of
	 * the face: features are gone, the colours stay plausible. */
	r = (bw < bh ? bw : bh) / 3;
	if (r < 4)
		r = 4;
	a = malloc(2 * brow * (size_t)bh);
	if (!a) {
		fill_mean(img, x0, y0, bw, bh);
		return;
	}
	t = a + brow * (size_t)bh;
	for (int y = 0; y < bh; y++)
		memcpy(a + (size_t)y * brow,
		       img->px + (size_t)(y0 + y) * row + (size_t)x0 * ch,
		       brow);
	for (int pass = 0; pass < 3; pass++) {
		for (int y = 0; y < bh; y++)
			for (int c = 0; c < 3; c++)
				box_line(a + (size_t)y * brow + c,
					 t + (size_t)y * brow + c, bw,
					 (size_t)ch, r);
		for (int x = 0; x < bw; x++)
			for (int c = 0; c < 3; c++)
				box_line(t + (size_t)x * ch + c,
					 a + (size_t)x * ch + c, bh, brow, r);
	}
	/* Alpha was left alone in a (copied, never written). */
	for (int y = 0; y < bh; y++)
		memcpy(img->px + (size_t)(y0 + y) * row + (size_t)x0 * ch,
		       a + (size_t)y * brow, brow);
	free(a);
}

void image_blur_boxes(struct image *img, const struct image_box *b, size_t nb)
{
	if (!img || !img->px || img->w <= 0 || img->h <= 0 || img->channels < 3)
		return;
	for (size_t i = 0; i < nb; i++)
		blur_box(img, &b[i]);
}

/* ---- blur of encoded images ---- */

struct jctx {
	struct jpeg_decompress_struct src;
	struct jpeg_compress_struct dst;
	struct jpeg_error_mgr jerr;
	struct jpeg_progress_mgr prog;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
	unsigned char *outbuf; /* jpeg_mem_dest's, malloc'ed */
	unsigned long outsize;
	int *dc; /* DC values of one box in one component, and a copy */
};

/* libjpeg's default error_exit calls exit(): jump back instead. */
static void jctx_error_exit(j_common_ptr c)
{
	struct jctx *j = (struct jctx *)c->client_data;

	(*c->err->format_message)(c, j->msg);
	longjmp(j->jb, 1);
}

/* A warning (corrupt data, premature end) means the picture is damaged:
 * libjpeg would go on with made-up coefficients. Trace messages are
 * dropped; the library never prints. */
static void jctx_emit(j_common_ptr c, int level)
{
	if (level < 0)
		jctx_error_exit(c);
}

static void jctx_output(j_common_ptr c)
{
	(void)c;
}

static void jctx_progress(j_common_ptr c)
{
	struct jctx *j = (struct jctx *)c->client_data;

	if (c->is_decompressor &&
	    ((j_decompress_ptr)c)->input_scan_number > MAX_SCANS) {
		snprintf(j->msg, sizeof(j->msg),
			 "more than %d progressive scans", MAX_SCANS);
		longjmp(j->jb, 1);
	}
}

static int div_round(int s, int d)
{
	return s >= 0 ? (s + d / 2) / d : -((-s + d / 2) / d);
}

/* Box blur of radius r along n ints `step` apart, edges clamped. */
static void box_line_int(const int *s, int *d, int n, size_t step, int r)
{
	int div = 2 * r + 1, sum = 0;

	for (int k = -r; k <= r; k++)
		sum += s[(size_t)clampi(k, 0, n - 1) * step];
	for (int i = 0; i < n; i++) {
		d[(size_t)i * step] = div_round(sum, div);
		sum += s[(size_t)clampi(i + r + 1, 0, n - 1) * step] -
		       s[(size_t)clampi(i - r, 0, n - 1) * step];
	}
}

/* Flattens the blocks [bx0, bx1) x [by0, by1) of component ci: AC
 * coefficients zeroed, DC values box-blurred over the region (edges
 * clamped to it, so nothing from outside leaks in or changes). */
static int blur_blocks(struct jctx *j, jvirt_barray_ptr arr, int bx0, int by0,
		       int bx1, int by1)
{
	int nbx = bx1 - bx0, nby = by1 - by0, r;
	size_t np = (size_t)nbx * (size_t)nby;
	int *a, *t;

	free(j->dc);
	j->dc = malloc(2 * np * sizeof(*j->dc));
	if (!j->dc)
		return -1;
	a = j->dc;
	t = a + np;
	/* One block row at a time: libjpeg allows no more than
	 * v_samp_factor rows per access. */
	for (int y = 0; y < nby; y++) {
		JBLOCKARRAY row = (*j->src.mem->access_virt_barray)(
		    (j_common_ptr)&j->src, arr, (JDIMENSION)(by0 + y), 1,
		    FALSE);
		for (int x = 0; x < nbx; x++)
			a[(size_t)y * nbx + x] = row[0][bx0 + x][0];
	}
	r = (nbx < nby ? nbx : nby) / 3;
	if (r < 2)
		r = 2;
	for (int pass = 0; pass < 3; pass++) {
		for (int y = 0; y < nby; y++)
			box_line_int(a + (size_t)y * nbx, t + (size_t)y * nbx,
				     nbx, 1, r);
		for (int x = 0; x < nbx; x++)
			box_line_int(t + x, a + x, nby, (size_t)nbx, r);
	}
	for (int y = 0; y < nby; y++) {
		JBLOCKARRAY row = (*j->src.mem->access_virt_barray)(
		    (j_common_ptr)&j->src, arr, (JDIMENSION)(by0 + y), 1, TRUE);
		for (int x = 0; x < nbx; x++) {
			JCOEF *blk = row[0][bx0 + x];
			memset(blk, 0, sizeof(JBLOCK));
			blk[0] = (JCOEF)a[(size_t)y * nbx + x];
		}
	}
	return 0;
}

/* Blurs a JPEG in the DCT domain and appends the new file to out. Runs
 * with j->jb set: any libjpeg error or warning jumps back to the caller. */
static int jpeg_blur_coefs(struct jctx *j, const void *data, size_t n,
			   const struct image_box *b, size_t nb,
			   struct buf *out, struct hy_err *err)
{
	jvirt_barray_ptr *coefs;
	int W, H, mh, mv, ret;

	jpeg_create_decompress(&j->src);
	j->src.progress = &j->prog;
	jpeg_mem_src(&j->src, data, (unsigned long)n);
	jpeg_save_markers(&j->src, JPEG_APP0 + 2, 0xffff);
	jpeg_read_header(&j->src, TRUE);
	W = (int)j->src.image_width;
	H = (int)j->src.image_height;
	if ((ret = check_size("JPEG", W, H, err)))
		return ret;
	coefs = jpeg_read_coefficients(&j->src);
	mh = j->src.max_h_samp_factor;
	mv = j->src.max_v_samp_factor;
	for (size_t i = 0; i < nb; i++) {
		int x0, x1, y0, y1;
		box_span(b[i].x0, b[i].x1, W, &x0, &x1);
		box_span(b[i].y0, b[i].y1, H, &y0, &y1);
		for (int ci = 0; ci < j->src.num_components; ci++) {
			jpeg_component_info *comp = &j->src.comp_info[ci];
			/* A block of this component spans 8 * max / samp
			 * image pixels (16 for 4:2:0 chroma). */
			long long sx = 8LL * mh, sy = 8LL * mv;
			int bx0 =
				(int)(x0 * (long long)comp->h_samp_factor / sx),
			    by0 =
				(int)(y0 * (long long)comp->v_samp_factor / sy),
			    bx1 = (int)((x1 * (long long)comp->h_samp_factor +
					 sx - 1) /
					sx),
			    by1 = (int)((y1 * (long long)comp->v_samp_factor +
					 sy - 1) /
					sy);
			if (bx1 > (int)comp->width_in_blocks)
				bx1 = (int)comp->width_in_blocks;
			if (by1 > (int)comp->height_in_blocks)
				by1 = (int)comp->height_in_blocks;
			if (bx1 <= bx0 || by1 <= by0)
				continue;
			if (blur_blocks(j, coefs[ci], bx0, by0, bx1, by1))
				return hy_err_set(err, HY_EFATAL,
						  "JPEG: out of memory");
		}
	}
	jpeg_create_compress(&j->dst);
	jpeg_copy_critical_parameters(&j->src, &j->dst);
	/* Same quantization tables (copied above), same mode; Huffman tables
	 * fitted to the new content, as a progressive file has anyway. */
	if (j->src.progressive_mode)
		jpeg_simple_progression(&j->dst);
	j->dst.arith_code = j->src.arith_code;
	j->dst.optimize_coding = !j->src.arith_code;
	jpeg_mem_dest(&j->dst, &j->outbuf, &j->outsize);
	jpeg_write_coefficients(&j->dst, coefs);
	/* Colour profiles stay (the pixels mean nothing without them); EXIF,
	 * XMP and comments go: camera serials and GPS positions are
	 * identifying too. */
	for (jpeg_saved_marker_ptr m = j->src.marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 &&
		    !memcmp(m->data, "ICC_PROFILE", 12))
			jpeg_write_marker(&j->dst, m->marker, m->data,
					  m->data_length);
	jpeg_finish_compress(&j->dst);
	jpeg_finish_decompress(&j->src);
	if (buf_append(out, j->outbuf, j->outsize))
		return hy_err_set(err, HY_EFATAL, "JPEG: out of memory");
	return HY_OK;
}

static int jpeg_blur(const void *data, size_t n, const struct image_box *b,
		     size_t nb, struct buf *out, struct hy_err *err)
{
	/* On the heap and reached through a pointer that never changes, so
	 * nothing it holds is lost to the longjmp. */
	struct jctx *j = calloc(1, sizeof(*j));
	int ret;

	if (!j)
		return hy_err_set(err, HY_EFATAL, "JPEG: out of memory");
	j->src.err = j->dst.err = jpeg_std_error(&j->jerr);
	j->jerr.error_exit = jctx_error_exit;
	j->jerr.emit_message = jctx_emit;
	j->jerr.output_message = jctx_output;
	j->prog.progress_monitor = jctx_progress;
	/* jpeg_create_* keep err and client_data: the handlers find j */
	j->src.client_data = j->dst.client_data = j;
	if (setjmp(j->jb))
		ret = hy_err_set(err, HY_ESAMPLE, "JPEG: %s", j->msg);
	else
		ret = jpeg_blur_coefs(j, data, n, b, nb, out, err);
	jpeg_destroy_compress(&j->dst);
	jpeg_destroy_decompress(&j->src);
	free(j->outbuf);
	free(j->dc);
	free(j);
	return ret;
}

/* PNG and WebP: decode, blur the pixels, encode losslessly. */
static int pixel_blur(const void *data, size_t n, enum image_fmt f,
		      const struct image_box *b, size_t nb, struct buf *out,
		      struct hy_err *err)
{
	struct image img;
	int ret = image_decode(data, n, 0, &img, err);

	if (ret)
		return ret;
	image_blur_boxes(&img, b, nb);
	ret = image_encode(&img, f, 0, out, err);
	image_release(&img);
	return ret;
}

int image_blur_encoded(const void *data, size_t n, const struct image_box *b,
		       size_t nb, struct buf *out, struct hy_err *err)
{
	enum image_fmt f = image_sniff(data, n);

	switch (f) {
	case IMAGE_JPEG: return jpeg_blur(data, n, b, nb, out, err);
	case IMAGE_PNG:
	case IMAGE_WEBP: return pixel_blur(data, n, f, b, nb, out, err);
	default:
		return hy_err_set(err, HY_ESAMPLE,
				  "not an image (no JPEG, PNG or WebP "
				  "signature)");
	}
}
