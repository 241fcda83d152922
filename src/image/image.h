/* Images in memory: probe, decode, check, resize, encode (JPEG, PNG, WebP)
 * and the face blur of the offline de-identification path. Pixels are 8-bit
 * RGB or RGBA, rows packed (stride = w * channels). Every function is
 * thread-safe: generate runs them on worker threads. */
#ifndef HY_IMAGE_H
#define HY_IMAGE_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

enum image_fmt { IMAGE_UNKNOWN, IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP };

/* Larger images are refused (HY_ESAMPLE) before any pixel memory is
 * allocated: a damaged or hostile header must not cost gigabytes. */
#define IMAGE_MAX_SIDE	 16384
#define IMAGE_MAX_PIXELS 100000000L

struct image {
	int w, h;
	int channels; /* 3 (RGB) or 4 (RGBA) */
	unsigned char *px;
};

/* A face box as DataComp stores it: [x0, y0, x1, y1] normalized to 0..1
 * (values outside are clamped; x1 < x0 is swapped). */
struct image_box {
	double x0, y0, x1, y1;
};

/* The format a member extension stands for ("jpg", "jpeg", "png", "webp",
 * any case; also the last part of "seg.png"); IMAGE_UNKNOWN otherwise. */
enum image_fmt image_fmt_of_ext(const char *ext);

/* The format of encoded bytes, by signature. */
enum image_fmt image_sniff(const void *data, size_t n);

const char *image_fmt_name(enum image_fmt f); /* "JPEG", "PNG", "WebP" */

/* Reads the size from the header only. HY_OK, or HY_ESAMPLE with the
 * reason (not an image, unknown format, damaged header, larger than
 * IMAGE_MAX_SIDE / IMAGE_MAX_PIXELS, which image_decode would refuse). */
int image_probe(const void *data, size_t n, enum image_fmt *fmt, int *w, int *h,
		struct hy_err *err);

/* Decodes a whole image. `channels` 3 gives RGB (alpha dropped, grey
 * expanded); 0 keeps RGBA when the image has alpha, else RGB; 4 always
 * gives RGBA (opaque alpha added). A truncated or damaged image (decoder
 * warnings included) is HY_ESAMPLE with the reason: a server that sent half
 * a PNG must be asked again. *img is overwritten, not freed first; on HY_OK
 * the caller owns img->px (image_release), on error img is zeroed. */
int image_decode(const void *data, size_t n, int channels, struct image *img,
		 struct hy_err *err);

/* Encodes img as fmt, appending to out. quality 1..100 for JPEG and lossy
 * WebP; for WebP, quality 0 means lossless. JPEG drops alpha. Deterministic:
 * the same pixels give the same bytes. HY_OK or HY_EFATAL. */
int image_encode(const struct image *img, enum image_fmt fmt, int quality,
		 struct buf *out, struct hy_err *err);

/* Resamples src to w x h into dst (area average when shrinking, bilinear
 * when growing, each axis on its own); dst gets src's channels. *dst is
 * overwritten as by image_decode. HY_OK or HY_EFATAL. */
int image_resize(const struct image *src, int w, int h, struct image *dst,
		 struct hy_err *err);

/* Blurs every box of img in place, strongly enough that a face cannot be
 * recognised (radius grows with the box); pixels outside the boxes are
 * untouched, and so is alpha. A box covers every pixel it touches, at
 * least one. Cannot fail: without memory for the blur a box is filled with
 * its mean colour instead. */
void image_blur_boxes(struct image *img, const struct image_box *b, size_t nb);

/* The blurred copy of an encoded image, in its own format, appended to
 * out. JPEG is blurred in the DCT domain: blocks that touch a box lose
 * their detail (AC coefficients) and their DC values are smoothed over the
 * box, and every other block keeps its coefficients, so the rest of the
 * picture is bit-exact (no second generation loss); the ICC profile stays,
 * EXIF, XMP and comments go. PNG is re-encoded losslessly (8 bits per
 * channel); WebP losslessly as well. HY_OK, HY_ESAMPLE (cannot decode, any
 * decoder warning included), HY_EFATAL. */
int image_blur_encoded(const void *data, size_t n, const struct image_box *b,
		       size_t nb, struct buf *out, struct hy_err *err);

void image_release(struct image *img);

#endif
