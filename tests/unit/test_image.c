/* image: formats, round trips, damage detection, resize and both blurs.
 * Test images are drawn here (gradients, noise, shapes): no fixtures. */
#include "unit.h"

#include <math.h>
#include <png.h>
#include <turbojpeg.h>

#include "image/image.h"

static unsigned hash32(unsigned x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/* Gradients, +-24 noise, a disc and a bar: texture everywhere, so a blur
 * shows and a wrong pixel shows. Alpha (ch 4) varies too. */
static struct image textured(int w, int h, int ch, unsigned seed)
{
	struct image img = {w, h, ch, malloc((size_t)w * h * ch)};

	assert_non_null(img.px);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *p = img.px + ((size_t)y * w + x) * ch;
			int dx = x - w / 2, dy = y - h / 3;
			int disc = dx * dx + dy * dy < (w / 5) * (w / 5);
			int bar = x / 7 % 3 == 0 && y > h / 2;
			int v[4] = {x * 255 / w, y * 255 / h,
				    disc  ? 220
				    : bar ? 30
					  : (x + y) * 128 / (w + h),
				    128 + (x * 3 + y) % 128};
			for (int c = 0; c < ch; c++) {
				int n =
				    (int)(hash32(seed ^
						 (unsigned)(((y * w + x) * 4 +
							     c))) %
					  49) -
				    24;
				int t = v[c] + (c < 3 ? n : 0);
				p[c] = (unsigned char)(t < 0	 ? 0
						       : t > 255 ? 255
								 : t);
			}
		}
	return img;
}

static struct image constant(int w, int h, int ch, unsigned char v)
{
	struct image img = {w, h, ch, malloc((size_t)w * h * ch)};

	assert_non_null(img.px);
	memset(img.px, v, (size_t)w * h * ch);
	return img;
}

static void encode(const struct image *img, enum image_fmt f, int q,
		   struct buf *out)
{
	struct hy_err err;

	buf_clear(out);
	assert_int_equal(image_encode(img, f, q, out, &err), HY_OK);
	assert_true(out->len > 0);
}

static int decode(const struct buf *b, size_t n, int ch, struct image *img)
{
	struct hy_err err;

	return image_decode(b->data, n, ch, img, &err);
}

static double mean_abs_diff(const struct image *a, const struct image *b)
{
	size_t n = (size_t)a->w * a->h * a->channels;
	double s = 0;

	assert_int_equal(a->w, b->w);
	assert_int_equal(a->h, b->h);
	assert_int_equal(a->channels, b->channels);
	for (size_t i = 0; i < n; i++)
		s += abs(a->px[i] - b->px[i]);
	return s / n;
}

/* Texture inside [x0, x1) x [y0, y1): mean absolute difference between
 * horizontal and vertical neighbours, channel 0. */
static double texture(const struct image *img, int x0, int y0, int x1, int y1)
{
	double s = 0;
	int n = 0, ch = img->channels;

	for (int y = y0; y < y1 - 1; y++)
		for (int x = x0; x < x1 - 1; x++) {
			const unsigned char *p =
			    img->px + ((size_t)y * img->w + x) * ch;
			s += abs(p[0] - p[ch]) + abs(p[0] - p[img->w * ch]);
			n += 2;
		}
	return s / n;
}

/* How far (in pixels, Chebyshev) (x, y) lies outside the pixel box. */
static int dist_to_box(int x, int y, int x0, int y0, int x1, int y1)
{
	int dx = x < x0 ? x0 - x : x >= x1 ? x - x1 + 1 : 0;
	int dy = y < y0 ? y0 - y : y >= y1 ? y - y1 + 1 : 0;

	return dx > dy ? dx : dy;
}

/* The pixels a normalized box covers, as image.h defines it: every pixel it
 * touches. */
static void box_px(const struct image_box *b, int w, int h, int r[4])
{
	r[0] = (int)floor(b->x0 * w);
	r[1] = (int)floor(b->y0 * h);
	r[2] = (int)ceil(b->x1 * w);
	r[3] = (int)ceil(b->y1 * h);
}

static unsigned crc32_png(const unsigned char *p, size_t n)
{
	unsigned c = 0xffffffffU;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffU;
}

static void put_be32(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* ---- formats ---- */

static void test_fmt_of_ext_sniff_and_name(void **state)
{
	struct image img = textured(16, 16, 3, 1);
	struct buf b = {0};
	const enum image_fmt fmts[] = {IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP};

	(void)state;
	assert_int_equal(image_fmt_of_ext("jpg"), IMAGE_JPEG);
	assert_int_equal(image_fmt_of_ext("JPEG"), IMAGE_JPEG);
	assert_int_equal(image_fmt_of_ext("Png"), IMAGE_PNG);
	assert_int_equal(image_fmt_of_ext("seg.png"), IMAGE_PNG);
	assert_int_equal(image_fmt_of_ext("webp"), IMAGE_WEBP);
	assert_int_equal(image_fmt_of_ext("txt"), IMAGE_UNKNOWN);
	assert_int_equal(image_fmt_of_ext("png.txt"), IMAGE_UNKNOWN);
	assert_int_equal(image_fmt_of_ext(""), IMAGE_UNKNOWN);
	assert_string_equal(image_fmt_name(IMAGE_WEBP), "WebP");
	for (int i = 0; i < 3; i++) {
		encode(&img, fmts[i], 80, &b);
		assert_int_equal(image_sniff(b.data, b.len), fmts[i]);
		assert_int_equal(image_sniff(b.data, 2), IMAGE_UNKNOWN);
	}
	assert_int_equal(image_sniff("hello world!", 12), IMAGE_UNKNOWN);
	image_release(&img);
	buf_release(&b);
}

static void test_png_round_trip_is_lossless(void **state)
{
	struct buf b = {0};

	(void)state;
	for (int ch = 3; ch <= 4; ch++) {
		struct image img = textured(97, 61, ch, 2), got;
		encode(&img, IMAGE_PNG, 0, &b);
		assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
		assert_int_equal(got.w, 97);
		assert_int_equal(got.h, 61);
		assert_int_equal(got.channels, ch);
		assert_memory_equal(got.px, img.px, (size_t)97 * 61 * ch);
		image_release(&got);
		image_release(&img);
	}
	buf_release(&b);
}

static void test_alpha_dropped_or_added_on_request(void **state)
{
	struct image img = textured(33, 20, 4, 3), got;
	struct buf b = {0};

	(void)state;
	encode(&img, IMAGE_PNG, 0, &b);
	assert_int_equal(decode(&b, b.len, 3, &got), HY_OK);
	assert_int_equal(got.channels, 3);
	for (int i = 0; i < 33 * 20; i++)
		assert_memory_equal(got.px + i * 3, img.px + i * 4, 3);
	image_release(&got);
	image_release(&img);

	img = textured(33, 20, 3, 3);
	encode(&img, IMAGE_JPEG, 90, &b);
	assert_int_equal(decode(&b, b.len, 4, &got), HY_OK);
	assert_int_equal(got.channels, 4);
	for (int i = 0; i < 33 * 20; i++)
		assert_int_equal(got.px[i * 4 + 3], 255);
	image_release(&got);
	assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
	assert_int_equal(got.channels, 3);
	image_release(&got);
	image_release(&img);
	buf_release(&b);
}

static void test_webp_lossless_round_trip_is_identical(void **state)
{
	struct buf b = {0};

	(void)state;
	for (int ch = 3; ch <= 4; ch++) {
		struct image img = textured(64, 40, ch, 4), got;
		/* colour under fully transparent pixels comes back too */
		for (int i = 0; ch == 4 && i < 64 * 8; i++)
			img.px[i * 4 + 3] = 0;
		encode(&img, IMAGE_WEBP, 0, &b);
		assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
		assert_int_equal(got.channels, ch);
		assert_memory_equal(got.px, img.px, (size_t)64 * 40 * ch);
		image_release(&got);
		image_release(&img);
	}
	buf_release(&b);
}

static void test_lossy_round_trips_keep_size_and_look(void **state)
{
	struct image img = textured(150, 101, 3, 5), got;
	struct buf b = {0};
	const enum image_fmt fmts[] = {IMAGE_JPEG, IMAGE_WEBP};

	(void)state;
	for (int i = 0; i < 2; i++) {
		encode(&img, fmts[i], 90, &b);
		assert_int_equal(decode(&b, b.len, 3, &got), HY_OK);
		assert_int_equal(got.w, 150);
		assert_int_equal(got.h, 101);
		/* the noise is +-24: lossy codecs smooth some of it */
		assert_true(mean_abs_diff(&img, &got) < 12);
		image_release(&got);
	}
	image_release(&img);
	buf_release(&b);
}

static void test_probe_matches_decode(void **state)
{
	struct image img = textured(123, 45, 3, 6), got;
	struct buf b = {0};
	const enum image_fmt fmts[] = {IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP};
	struct hy_err err;

	(void)state;
	for (int i = 0; i < 3; i++) {
		enum image_fmt f;
		int w = 0, h = 0;
		encode(&img, fmts[i], 70, &b);
		assert_int_equal(image_probe(b.data, b.len, &f, &w, &h, &err),
				 HY_OK);
		assert_int_equal(f, fmts[i]);
		assert_int_equal(w, 123);
		assert_int_equal(h, 45);
		/* the header alone is enough */
		assert_int_equal(
		    image_probe(b.data, fmts[i] == IMAGE_PNG ? 33 : b.len / 2,
				&f, &w, &h, &err),
		    HY_OK);
		assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
		assert_int_equal(got.w, w);
		assert_int_equal(got.h, h);
		image_release(&got);
	}
	image_release(&img);
	buf_release(&b);
}

/* ---- damage ---- */

static void expect_damaged(const struct buf *b, size_t n)
{
	struct image got = {0};
	struct buf out = {0};
	struct hy_err err;
	struct image_box box = {0.2, 0.2, 0.6, 0.6};

	if (decode(b, n, 0, &got) != HY_ESAMPLE)
		fail_msg("cut at %zu of %zu decoded", n, b->len);
	assert_null(got.px);
	if (image_blur_encoded(b->data, n, &box, 1, &out, &err) != HY_ESAMPLE)
		fail_msg("cut at %zu of %zu blurred", n, b->len);
	assert_int_equal(err.code, HY_ESAMPLE);
	assert_true(strlen(err.msg) > 0);
	buf_release(&out);
}

static void test_truncated_images_are_esample(void **state)
{
	struct image img = textured(200, 150, 3, 7);
	struct buf b = {0};
	const enum image_fmt fmts[] = {IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP,
				       IMAGE_WEBP};
	const int qs[] = {85, 0, 80, 0};

	(void)state;
	for (int i = 0; i < 4; i++) {
		encode(&img, fmts[i], qs[i], &b);
		size_t cuts[] = {10,	     40,	  b.len / 3,
				 b.len / 2,  b.len - 100, b.len - 13,
				 b.len - 12, b.len - 2,	  b.len - 1};
		for (size_t k = 0; k < sizeof(cuts) / sizeof(*cuts); k++)
			expect_damaged(&b, cuts[k]);
	}
	image_release(&img);
	buf_release(&b);
}

static void test_png_without_iend_is_esample(void **state)
{
	struct image img = textured(64, 64, 3, 8), got;
	struct buf b = {0};

	(void)state;
	encode(&img, IMAGE_PNG, 0, &b);
	assert_memory_equal(b.data + b.len - 8, "IEND", 4);
	/* all pixel data present, only the 12-byte IEND chunk missing */
	expect_damaged(&b, b.len - 12);
	assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
	image_release(&got);
	image_release(&img);
	buf_release(&b);
}

static void test_png_bad_crc_is_esample(void **state)
{
	struct image img = textured(64, 64, 3, 9), got;
	struct buf b = {0}, c = {0};
	unsigned char text[12 + 5];

	(void)state;
	encode(&img, IMAGE_PNG, 0, &b);
	/* a bit flip inside the IDAT data */
	b.data[33 + 8 + 100] ^= 0x10;
	expect_damaged(&b, b.len);
	b.data[33 + 8 + 100] ^= 0x10;
	assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
	image_release(&got);

	/* an ancillary tEXt chunk after IHDR with a wrong CRC */
	put_be32(text, 5);
	memcpy(text + 4, "tEXta\0bcd", 9);
	put_be32(text + 13, crc32_png(text + 4, 9));
	assert_int_equal(buf_append(&c, b.data, 33), 0);
	assert_int_equal(buf_append(&c, text, sizeof(text)), 0);
	assert_int_equal(buf_append(&c, b.data + 33, b.len - 33), 0);
	assert_int_equal(decode(&c, c.len, 0, &got), HY_OK);
	image_release(&got);
	c.data[33 + 10] ^= 1;
	expect_damaged(&c, c.len);

	image_release(&img);
	buf_release(&b);
	buf_release(&c);
}

static void test_jpeg_corrupt_data_is_esample(void **state)
{
	struct image img = textured(128, 128, 3, 10);
	struct buf b = {0};

	(void)state;
	encode(&img, IMAGE_JPEG, 90, &b);
	/* a restart marker in the middle of the entropy-coded data: libjpeg
	 * only warns ("Corrupt JPEG data") and goes on */
	b.data[b.len / 2] = (char)0xff;
	b.data[b.len / 2 + 1] = (char)0xd3;
	expect_damaged(&b, b.len);
	image_release(&img);
	buf_release(&b);
}

static void test_not_an_image_is_esample(void **state)
{
	struct buf b = {0};
	struct image got;
	struct hy_err err;
	int w, h;
	enum image_fmt f;

	(void)state;
	assert_int_equal(buf_append(&b, "{\"caption\": \"x\"}", 16), 0);
	expect_damaged(&b, b.len);
	expect_damaged(&b, 0);
	assert_int_equal(image_probe(b.data, b.len, &f, &w, &h, &err),
			 HY_ESAMPLE);
	assert_int_equal(f, IMAGE_UNKNOWN);
	buf_clear(&b);
	/* right signatures, nothing behind them */
	assert_int_equal(buf_append(&b, "\x89PNG\r\n\x1a\n", 8), 0);
	expect_damaged(&b, b.len);
	assert_int_equal(image_probe(b.data, b.len, &f, &w, &h, &err),
			 HY_ESAMPLE);
	buf_clear(&b);
	assert_int_equal(buf_append(&b, "RIFF\4\0\0\0WEBP", 12), 0);
	expect_damaged(&b, b.len);
	buf_clear(&b);
	assert_int_equal(buf_append(&b, "\xff\xd8\xff\xe0\0\0", 6), 0);
	expect_damaged(&b, b.len);
	assert_int_equal(image_probe(b.data, b.len, &f, &w, &h, &err),
			 HY_ESAMPLE);
	/* a bad channel count is the caller's bug */
	assert_int_equal(image_decode(b.data, b.len, 2, &got, &err), HY_EFATAL);
	buf_release(&b);
}

static void test_absurd_sizes_are_refused(void **state)
{
	struct image img = textured(16, 16, 3, 11), got;
	struct buf b = {0};
	struct hy_err err;
	int w, h;
	const unsigned sizes[][2] = {{20000, 16}, {16, 16385}, {12000, 12000}};

	(void)state;
	for (int i = 0; i < 3; i++) {
		encode(&img, IMAGE_PNG, 0, &b);
		put_be32((unsigned char *)b.data + 16, sizes[i][0]);
		put_be32((unsigned char *)b.data + 20, sizes[i][1]);
		put_be32((unsigned char *)b.data + 29,
			 crc32_png((unsigned char *)b.data + 12, 17));
		assert_int_equal(image_probe(b.data, b.len, NULL, &w, &h, &err),
				 HY_ESAMPLE);
		assert_non_null(strstr(err.msg, "too large"));
		assert_int_equal(decode(&b, b.len, 0, &got), HY_ESAMPLE);
		assert_non_null(strstr(err.msg, "too large"));
	}
	/* a JPEG whose SOF claims 12000 x 12000 */
	encode(&img, IMAGE_JPEG, 80, &b);
	for (size_t i = 2; i + 9 < b.len; i++)
		if ((unsigned char)b.data[i] == 0xff &&
		    (unsigned char)b.data[i + 1] == 0xc0) {
			b.data[i + 5] = b.data[i + 7] = (char)(12000 >> 8);
			b.data[i + 6] = b.data[i + 8] = (char)(12000 & 0xff);
			break;
		}
	assert_int_equal(image_probe(b.data, b.len, NULL, &w, &h, &err),
			 HY_ESAMPLE);
	assert_int_equal(image_decode(b.data, b.len, 3, &got, &err),
			 HY_ESAMPLE);
	assert_non_null(strstr(err.msg, "too large"));
	image_release(&img);
	buf_release(&b);
}

/* PNG flavours the encoder never writes: grey, grey+alpha, palette with
 * tRNS, 16-bit, interlaced. */
struct png_mem {
	struct buf *b;
};

static void png_mem_write(png_structp p, png_bytep d, size_t n)
{
	struct png_mem *m = png_get_io_ptr(p);

	assert_int_equal(buf_append(m->b, d, n), 0);
}

static void png_mem_flush(png_structp p)
{
	(void)p;
}

static void write_png(struct buf *b, int w, int h, int ctype, int depth,
		      int interlace, const unsigned char *rows, size_t rowbytes)
{
	png_structp p =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(p);
	struct png_mem m = {b};
	png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 9, 9}};
	unsigned char trns[4] = {255, 128, 0, 255};

	assert_non_null(info);
	buf_clear(b);
	png_set_write_fn(p, &m, png_mem_write, png_mem_flush);
	png_set_IHDR(p, info, (unsigned)w, (unsigned)h, depth, ctype, interlace,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (ctype == PNG_COLOR_TYPE_PALETTE) {
		png_set_PLTE(p, info, pal, 4);
		png_set_tRNS(p, info, trns, 4, NULL);
	}
	png_write_info(p, info);
	if (interlace)
		png_set_interlace_handling(p);
	for (int pass = 0; pass < (interlace ? 7 : 1); pass++)
		for (int y = 0; y < h; y++)
			png_write_row(p, rows + (size_t)y * rowbytes);
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
}

static void test_png_flavours_decode(void **state)
{
	struct buf b = {0};
	struct image got;
	unsigned char rows[8 * 8 * 8];

	(void)state;
	/* grey 8-bit, interlaced */
	for (int i = 0; i < 64; i++)
		rows[i] = (unsigned char)(i * 4);
	write_png(&b, 8, 8, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_ADAM7, rows,
		  8);
	assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
	assert_int_equal(got.channels, 3);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(got.px[i * 3], i * 4);
		assert_int_equal(got.px[i * 3 + 2], i * 4);
	}
	image_release(&got);

	/* grey + alpha */
	for (int i = 0; i < 64; i++) {
		rows[i * 2] = (unsigned char)i;
		rows[i * 2 + 1] = (unsigned char)(255 - i);
	}
	write_png(&b, 8, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, rows, 16);
	assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
	assert_int_equal(got.channels, 4);
	assert_int_equal(got.px[5 * 4 + 1], 5);
	assert_int_equal(got.px[5 * 4 + 3], 250);
	image_release(&got);

	/* palette with tRNS, 2 bits per pixel: 4 pixels a byte */
	for (int i = 0; i < 16; i++)
		rows[i] = 0x1b; /* indices 0 1 2 3 */
	write_png(&b, 8, 8, PNG_COLOR_TYPE_PALETTE, 2, 0, rows, 2);
	assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
	assert_int_equal(got.channels, 4);
	assert_memory_equal(got.px, "\xff\0\0\xff\0\xff\0\x80\0\0\xff\0", 12);
	image_release(&got);
	assert_int_equal(decode(&b, b.len, 3, &got), HY_OK);
	assert_int_equal(got.channels, 3);
	assert_memory_equal(got.px, "\xff\0\0\0\xff\0\0\0\xff\x09\x09\x09", 12);
	image_release(&got);

	/* 16-bit RGB: scaled to 8 bits */
	for (int i = 0; i < 64; i++)
		for (int c = 0; c < 3; c++) {
			unsigned v = (unsigned)(i * 1000 + c);
			rows[i * 6 + c * 2] = (unsigned char)(v >> 8);
			rows[i * 6 + c * 2 + 1] = (unsigned char)v;
		}
	write_png(&b, 8, 8, PNG_COLOR_TYPE_RGB, 16, 0, rows, 48);
	assert_int_equal(decode(&b, b.len, 0, &got), HY_OK);
	assert_int_equal(got.channels, 3);
	for (int i = 0; i < 64; i++)
		assert_true(
		    abs(got.px[i * 3] - (i * 1000 * 255 + 32767) / 65535) <= 1);
	image_release(&got);
	buf_release(&b);
}

static void test_cmyk_jpeg_decodes_to_rgb(void **state)
{
	unsigned char cmyk[16 * 16 * 4];
	unsigned char *jpg = NULL;
	unsigned long n = 0;
	tjhandle tj = tjInitCompress();
	struct image got;
	struct hy_err err;

	(void)state;
	/* inverted (Adobe) CMYK: 255 = no ink; red = no cyan, full rest */
	for (int i = 0; i < 16 * 16; i++)
		memcpy(cmyk + i * 4, "\xff\x00\x00\xff", 4);
	assert_int_equal(tjCompress2(tj, cmyk, 16, 0, 16, TJPF_CMYK, &jpg, &n,
				     TJSAMP_444, 95, 0),
			 0);
	assert_int_equal(image_decode(jpg, n, 3, &got, &err), HY_OK);
	assert_true(got.px[0] > 240 && got.px[1] < 15 && got.px[2] < 15);
	image_release(&got);
	tjFree(jpg);
	tjDestroy(tj);
}

/* ---- resize ---- */

static void test_resize_constant_stays_constant(void **state)
{
	const int sizes[][2] = {
	    {33, 50}, {211, 150}, {1, 1}, {100, 7}, {7, 300}};
	struct hy_err err;

	(void)state;
	for (int ch = 3; ch <= 4; ch++) {
		struct image img = constant(100, 77, ch, 173), dst;
		for (int i = 0; i < 5; i++) {
			assert_int_equal(image_resize(&img, sizes[i][0],
						      sizes[i][1], &dst, &err),
					 HY_OK);
			assert_int_equal(dst.w, sizes[i][0]);
			assert_int_equal(dst.h, sizes[i][1]);
			assert_int_equal(dst.channels, ch);
			for (int k = 0; k < dst.w * dst.h * ch; k++)
				assert_int_equal(dst.px[k], 173);
			image_release(&dst);
		}
		image_release(&img);
	}
}

static void test_resize_checker_to_one_pixel_averages(void **state)
{
	struct image img = constant(2, 2, 3, 0), dst;
	struct hy_err err;

	(void)state;
	memset(img.px, 255, 3);
	memset(img.px + 9, 255, 3);
	assert_int_equal(image_resize(&img, 1, 1, &dst, &err), HY_OK);
	for (int c = 0; c < 3; c++)
		assert_true(dst.px[c] == 127 || dst.px[c] == 128);
	image_release(&dst);
	image_release(&img);
}

static void test_resize_shrink_weighs_fractional_overlap(void **state)
{
	struct image img = constant(3, 1, 3, 0), dst;
	struct hy_err err;

	(void)state;
	/* 3 -> 2: output 0 covers pixel 0 and half of pixel 1 */
	memset(img.px + 3, 90, 3);
	memset(img.px + 6, 180, 3);
	assert_int_equal(image_resize(&img, 2, 1, &dst, &err), HY_OK);
	assert_int_equal(dst.px[0], 30);  /* (0 + 45) / 1.5 */
	assert_int_equal(dst.px[3], 150); /* (45 + 180) / 1.5 */
	image_release(&dst);
	image_release(&img);

	/* halving is the plain 2x2 mean */
	img = textured(64, 48, 3, 12);
	assert_int_equal(image_resize(&img, 32, 24, &dst, &err), HY_OK);
	for (int y = 0; y < 24; y++)
		for (int x = 0; x < 32; x++)
			for (int c = 0; c < 3; c++) {
				int s = 0;
				for (int k = 0; k < 4; k++)
					s += img.px[((2 * y + k / 2) * 64 +
						     2 * x + k % 2) *
							3 +
						    c];
				assert_true(fabs(dst.px[(y * 32 + x) * 3 + c] -
						 s / 4.0) <= 1);
			}
	image_release(&dst);
	image_release(&img);
}

static void test_resize_grow_is_bilinear(void **state)
{
	struct image img = constant(2, 1, 3, 0), dst;
	struct hy_err err;

	(void)state;
	memset(img.px + 3, 200, 3);
	assert_int_equal(image_resize(&img, 4, 2, &dst, &err), HY_OK);
	/* centres of 0.5-pixel outputs at -0.25 (clamped), 0.25, 0.75,
	 * 1.25 (clamped) */
	assert_int_equal(dst.px[0], 0);
	assert_int_equal(dst.px[3], 50);
	assert_int_equal(dst.px[6], 150);
	assert_int_equal(dst.px[9], 200);
	assert_int_equal(dst.px[12 + 3], 50);
	image_release(&dst);
	assert_int_equal(image_resize(&img, 0, 5, &dst, &err), HY_EFATAL);
	image_release(&img);
}

/* ---- pixel blur ---- */

static void check_blur(const struct image *before, const struct image *after,
		       int x0, int y0, int x1, int y1)
{
	int ch = before->channels;

	for (int y = 0; y < before->h; y++)
		for (int x = 0; x < before->w; x++) {
			size_t i = ((size_t)y * before->w + x) * ch;
			if (x >= x0 && x < x1 && y >= y0 && y < y1)
				continue;
			if (memcmp(before->px + i, after->px + i, ch))
				fail_msg("pixel %d,%d outside the box changed",
					 x, y);
		}
	if (texture(after, x0, y0, x1, y1) >
	    0.2 * texture(before, x0, y0, x1, y1))
		fail_msg("box [%d,%d)-[%d,%d) not blurred: texture %.1f -> "
			 "%.1f",
			 x0, y0, x1, y1, texture(before, x0, y0, x1, y1),
			 texture(after, x0, y0, x1, y1));
}

static void test_blur_changes_box_only(void **state)
{
	struct image a = textured(200, 120, 3, 13),
		     b = textured(200, 120, 3, 13);
	struct image_box box = {0.25, 0.25, 0.5, 0.75};

	(void)state;
	image_blur_boxes(&b, &box, 1);
	check_blur(&a, &b, 50, 30, 100, 90);
	assert_true(mean_abs_diff(&a, &b) > 0.5);
	image_release(&a);
	image_release(&b);
}

static void test_blur_clamps_boxes_to_the_image(void **state)
{
	struct image a = textured(100, 80, 3, 14), b = textured(100, 80, 3, 14);
	/* swapped corners, and outside the image on three sides */
	struct image_box box = {1.7, 2.0, 0.6, -0.5};
	struct image_box nan = {NAN, 0.5, 0.1, 0.6};

	(void)state;
	image_blur_boxes(&b, &box, 1);
	check_blur(&a, &b, 60, 0, 100, 80);
	image_release(&b);
	b = textured(100, 80, 3, 14);
	image_blur_boxes(&b, &nan, 1);
	check_blur(&a, &b, 0, 40, 10, 48);
	image_release(&a);
	image_release(&b);
}

static void test_blur_without_boxes_changes_nothing(void **state)
{
	struct image a = textured(64, 64, 3, 15), b = textured(64, 64, 3, 15);
	/* zero area: one pixel, which a clamped blur leaves as it is */
	struct image_box dot = {0.5, 0.5, 0.5, 0.5};

	(void)state;
	image_blur_boxes(&b, NULL, 0);
	assert_memory_equal(a.px, b.px, 64 * 64 * 3);
	image_blur_boxes(&b, &dot, 1);
	assert_memory_equal(a.px, b.px, 64 * 64 * 3);
	image_release(&a);
	image_release(&b);
}

static void test_blur_keeps_alpha(void **state)
{
	struct image a = textured(80, 80, 4, 16), b = textured(80, 80, 4, 16);
	struct image_box boxes[] = {{0.1, 0.1, 0.4, 0.5}, {0.3, 0.3, 0.9, 0.9}};

	(void)state;
	image_blur_boxes(&b, boxes, 2);
	for (int i = 0; i < 80 * 80; i++)
		assert_int_equal(a.px[i * 4 + 3], b.px[i * 4 + 3]);
	assert_true(texture(&b, 32, 32, 72, 72) <
		    0.2 * texture(&a, 32, 32, 72, 72));
	image_release(&a);
	image_release(&b);
}

/* Black and white squares of `cell` pixels: the finest detail a face
 * has at this size. */
static struct image checker(int w, int h, int cell)
{
	struct image img = constant(w, h, 3, 0);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			if ((x / cell + y / cell) % 2)
				memset(img.px + ((size_t)y * w + x) * 3, 255,
				       3);
	return img;
}

/* max - min of channel 0 inside [x0, x1) x [y0, y1) */
static int range(const struct image *img, int x0, int y0, int x1, int y1)
{
	int lo = 255, hi = 0;

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++) {
			int v =
			    img->px[((size_t)y * img->w + x) * img->channels];
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	return hi - lo;
}

static void test_blur_erases_detail_at_face_scale(void **state)
{
	struct image img = checker(120, 120, 6);
	struct image_box box = {0.25, 0.25, 0.75, 0.75};

	(void)state;
	/* radius 20 over 6-pixel squares: nothing of them is left */
	image_blur_boxes(&img, &box, 1);
	if (range(&img, 30, 30, 90, 90) > 50)
		fail_msg("checker range %d after blur",
			 range(&img, 30, 30, 90, 90));
	image_release(&img);
}

/* ---- blur of encoded images ---- */

static void jpeg_with(const struct image *img, int subsamp, int flags,
		      struct buf *out)
{
	unsigned char *jpg = NULL;
	unsigned long n = 0;
	tjhandle tj = tjInitCompress();

	assert_int_equal(tjCompress2(tj, img->px, img->w, 0, img->h, TJPF_RGB,
				     &jpg, &n, subsamp, 90, flags),
			 0);
	buf_clear(out);
	assert_int_equal(buf_append(out, jpg, n), 0);
	tjFree(jpg);
	tjDestroy(tj);
}

static int has_marker(const struct buf *b, unsigned char m)
{
	for (size_t i = 0; i + 1 < b->len; i++)
		if ((unsigned char)b->data[i] == 0xff &&
		    (unsigned char)b->data[i + 1] == m)
			return 1;
	return 0;
}

static void test_jpeg_dct_blur_leaves_the_rest_exact(void **state)
{
	struct image img = textured(250, 190, 3, 17);
	/* one MCU-aligned box, one that is not */
	struct image_box boxes[] = {
	    {64 / 250.0, 32 / 190.0, 128 / 250.0, 96 / 190.0},
	    {0.7, 0.55, 0.83, 0.71}};
	int px[2][4];
	const int samps[] = {TJSAMP_420, TJSAMP_444, TJSAMP_422, TJSAMP_GRAY};
	struct buf in = {0}, out = {0};
	struct hy_err err;

	(void)state;
	for (int k = 0; k < 2; k++)
		box_px(&boxes[k], 250, 190, px[k]);
	for (int s = 0; s < 4; s++)
		for (int prog = 0; prog < 2; prog++) {
			struct image a, b;
			jpeg_with(&img, samps[s], prog ? TJFLAG_PROGRESSIVE : 0,
				  &in);
			buf_clear(&out);
			assert_int_equal(image_blur_encoded(in.data, in.len,
							    boxes, 2, &out,
							    &err),
					 HY_OK);
			assert_int_equal(has_marker(&out, 0xc2), prog);
			assert_int_equal(decode(&in, in.len, 3, &a), HY_OK);
			assert_int_equal(decode(&out, out.len, 3, &b), HY_OK);
			assert_int_equal(b.w, 250);
			assert_int_equal(b.h, 190);
			for (int y = 0; y < 190; y++)
				for (int x = 0; x < 250; x++) {
					size_t i = ((size_t)y * 250 + x) * 3;
					int d0 = dist_to_box(x, y, px[0][0],
							     px[0][1], px[0][2],
							     px[0][3]),
					    d1 = dist_to_box(x, y, px[1][0],
							     px[1][1], px[1][2],
							     px[1][3]);
					if (d0 > 16 && d1 > 16 &&
					    memcmp(a.px + i, b.px + i, 3))
						fail_msg("samp %d prog %d: "
							 "pixel %d,%d changed",
							 samps[s], prog, x, y);
				}
			for (int k = 0; k < 2; k++) {
				double ta = texture(&a, px[k][0], px[k][1],
						    px[k][2], px[k][3]),
				       tb = texture(&b, px[k][0], px[k][1],
						    px[k][2], px[k][3]);
				if (tb > 0.25 * ta)
					fail_msg("samp %d prog %d box %d: "
						 "texture %.1f -> %.1f",
						 samps[s], prog, k, ta, tb);
			}
			image_release(&a);
			image_release(&b);
		}
	image_release(&img);
	buf_release(&in);
	buf_release(&out);
}

static void test_jpeg_dct_blur_box_at_edges(void **state)
{
	struct image img = textured(203, 157, 3, 18), a, b;
	struct image_box boxes[] = {{0.9, 0.9, 1.5, 1.5}, {-1, -1, 0.05, 0.05}};
	struct buf in = {0}, out = {0};
	struct hy_err err;

	(void)state;
	jpeg_with(&img, TJSAMP_420, 0, &in);
	assert_int_equal(
	    image_blur_encoded(in.data, in.len, boxes, 2, &out, &err), HY_OK);
	assert_int_equal(decode(&in, in.len, 3, &a), HY_OK);
	assert_int_equal(decode(&out, out.len, 3, &b), HY_OK);
	assert_true(texture(&b, 183, 142, 203, 157) <
		    0.25 * texture(&a, 183, 142, 203, 157));
	/* the middle is untouched */
	for (int y = 40; y < 110; y++)
		assert_memory_equal(a.px + ((size_t)y * 203 + 40) * 3,
				    b.px + ((size_t)y * 203 + 40) * 3, 120 * 3);
	image_release(&a);
	image_release(&b);
	image_release(&img);
	buf_release(&in);
	buf_release(&out);
}

static void test_jpeg_dct_blur_erases_detail_at_face_scale(void **state)
{
	struct image img = checker(128, 128, 8), got;
	struct image_box box = {0.25, 0.25, 0.75, 0.75};
	struct buf in = {0}, out = {0};
	struct hy_err err;

	(void)state;
	/* squares as large as the blocks: zeroing AC alone keeps them, only
	 * the DC smoothing removes them */
	jpeg_with(&img, TJSAMP_444, 0, &in);
	assert_int_equal(
	    image_blur_encoded(in.data, in.len, &box, 1, &out, &err), HY_OK);
	assert_int_equal(decode(&out, out.len, 3, &got), HY_OK);
	if (range(&got, 32, 32, 96, 96) > 80)
		fail_msg("checker range %d after DCT blur",
			 range(&got, 32, 32, 96, 96));
	image_release(&got);
	image_release(&img);
	buf_release(&in);
	buf_release(&out);
}

static int contains(const struct buf *b, const char *s)
{
	return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

static void test_jpeg_dct_blur_keeps_icc_drops_exif(void **state)
{
	struct image img = textured(64, 48, 3, 23);
	struct image_box box = {0.1, 0.1, 0.4, 0.4};
	struct buf in = {0}, tagged = {0}, out = {0};
	struct hy_err err;
	/* APP1 Exif with a GPS-looking string, APP2 ICC with a fake profile */
	const char app1[] = "\xff\xe1\x00\x18"
			    "Exif\0\0GPS 48.85N 2.35E";
	const char app2[] = "\xff\xe2\x00\x18"
			    "ICC_PROFILE\0\x01\x01profile!";

	(void)state;
	jpeg_with(&img, TJSAMP_420, 0, &in);
	assert_int_equal(buf_append(&tagged, in.data, 2), 0);
	assert_int_equal(buf_append(&tagged, app1, sizeof(app1) - 1), 0);
	assert_int_equal(buf_append(&tagged, app2, sizeof(app2) - 1), 0);
	assert_int_equal(buf_append(&tagged, in.data + 2, in.len - 2), 0);
	assert_true(contains(&tagged, "GPS 48.85N"));
	assert_int_equal(
	    image_blur_encoded(tagged.data, tagged.len, &box, 1, &out, &err),
	    HY_OK);
	assert_false(contains(&out, "GPS 48.85N"));
	assert_true(contains(&out, "ICC_PROFILE"));
	assert_true(contains(&out, "profile!"));
	image_release(&img);
	buf_release(&in);
	buf_release(&tagged);
	buf_release(&out);
}

static void test_png_blur_is_lossless_and_keeps_alpha(void **state)
{
	struct image img = textured(90, 70, 4, 19), got;
	struct image_box box = {0.2, 0.2, 0.6, 0.8};
	struct buf in = {0}, out = {0};
	struct hy_err err;

	(void)state;
	encode(&img, IMAGE_PNG, 0, &in);
	assert_int_equal(
	    image_blur_encoded(in.data, in.len, &box, 1, &out, &err), HY_OK);
	assert_int_equal(image_sniff(out.data, out.len), IMAGE_PNG);
	assert_int_equal(decode(&out, out.len, 0, &got), HY_OK);
	assert_int_equal(got.channels, 4);
	for (int i = 0; i < 90 * 70; i++)
		assert_int_equal(got.px[i * 4 + 3], img.px[i * 4 + 3]);
	check_blur(&img, &got, 18, 14, 54, 56);
	image_release(&got);
	image_release(&img);
	buf_release(&in);
	buf_release(&out);
}

static void test_webp_blur_is_lossless_outside(void **state)
{
	struct image img = textured(90, 70, 3, 20), dec, got;
	struct image_box box = {0.5, 0.1, 0.9, 0.6};
	struct buf in = {0}, out = {0};
	struct hy_err err;

	(void)state;
	encode(&img, IMAGE_WEBP, 75, &in);
	assert_int_equal(decode(&in, in.len, 0, &dec), HY_OK);
	assert_int_equal(
	    image_blur_encoded(in.data, in.len, &box, 1, &out, &err), HY_OK);
	assert_int_equal(image_sniff(out.data, out.len), IMAGE_WEBP);
	assert_int_equal(decode(&out, out.len, 0, &got), HY_OK);
	check_blur(&dec, &got, 45, 7, 81, 42);
	image_release(&got);
	image_release(&dec);
	image_release(&img);
	buf_release(&in);
	buf_release(&out);
}

static void test_output_is_deterministic(void **state)
{
	struct image img = textured(120, 90, 3, 21);
	const enum image_fmt fmts[] = {IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP,
				       IMAGE_WEBP};
	const int qs[] = {90, 0, 80, 0};
	struct image_box box = {0.1, 0.1, 0.5, 0.5};
	struct buf a = {0}, b = {0}, c = {0};
	struct hy_err err;

	(void)state;
	for (int i = 0; i < 4; i++) {
		encode(&img, fmts[i], qs[i], &a);
		encode(&img, fmts[i], qs[i], &b);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		buf_clear(&b);
		buf_clear(&c);
		assert_int_equal(
		    image_blur_encoded(a.data, a.len, &box, 1, &b, &err),
		    HY_OK);
		assert_int_equal(
		    image_blur_encoded(a.data, a.len, &box, 1, &c, &err),
		    HY_OK);
		assert_int_equal(b.len, c.len);
		assert_memory_equal(b.data, c.data, b.len);
	}
	/* appends, never overwrites */
	buf_clear(&a);
	assert_int_equal(buf_append(&a, "xy", 2), 0);
	assert_int_equal(image_encode(&img, IMAGE_PNG, 0, &a, &err), HY_OK);
	assert_memory_equal(a.data, "xy\x89PNG", 6);
	image_release(&img);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fmt_of_ext_sniff_and_name),
	    cmocka_unit_test(test_png_round_trip_is_lossless),
	    cmocka_unit_test(test_alpha_dropped_or_added_on_request),
	    cmocka_unit_test(test_webp_lossless_round_trip_is_identical),
	    cmocka_unit_test(test_lossy_round_trips_keep_size_and_look),
	    cmocka_unit_test(test_probe_matches_decode),
	    cmocka_unit_test(test_truncated_images_are_esample),
	    cmocka_unit_test(test_png_without_iend_is_esample),
	    cmocka_unit_test(test_png_bad_crc_is_esample),
	    cmocka_unit_test(test_jpeg_corrupt_data_is_esample),
	    cmocka_unit_test(test_not_an_image_is_esample),
	    cmocka_unit_test(test_absurd_sizes_are_refused),
	    cmocka_unit_test(test_png_flavours_decode),
	    cmocka_unit_test(test_cmyk_jpeg_decodes_to_rgb),
	    cmocka_unit_test(test_resize_constant_stays_constant),
	    cmocka_unit_test(test_resize_checker_to_one_pixel_averages),
	    cmocka_unit_test(test_resize_shrink_weighs_fractional_overlap),
	    cmocka_unit_test(test_resize_grow_is_bilinear),
	    cmocka_unit_test(test_blur_changes_box_only),
	    cmocka_unit_test(test_blur_clamps_boxes_to_the_image),
	    cmocka_unit_test(test_blur_without_boxes_changes_nothing),
	    cmocka_unit_test(test_blur_keeps_alpha),
	    cmocka_unit_test(test_blur_erases_detail_at_face_scale),
	    cmocka_unit_test(test_jpeg_dct_blur_leaves_the_rest_exact),
	    cmocka_unit_test(test_jpeg_dct_blur_box_at_edges),
	    cmocka_unit_test(test_jpeg_dct_blur_erases_detail_at_face_scale),
	    cmocka_unit_test(test_jpeg_dct_blur_keeps_icc_drops_exif),
	    cmocka_unit_test(test_png_blur_is_lossless_and_keeps_alpha),
	    cmocka_unit_test(test_webp_blur_is_lossless_outside),
	    cmocka_unit_test(test_output_is_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
