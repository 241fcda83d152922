/* Image module throughput on one core: build/image_bench (make tools).
 * Each line is one operation repeated for about 0.7 s CPU on a synthetic
 * 512x512 photo-like image (gradients, shapes, +-6 noise; 1024x1024 for the
 * resize line), so the whole run takes under 10 s:
 *
 *   png512 decode+jpeg encode     the generate post-processing path: a
 *                                 server's PNG (zlib 6) to a q90 JPEG
 *   png512 decode+resize+jpeg     the same with a resize to 640x480
 *   resize 1024->512              area average, RGB
 *   webp512 decode+encode         lossy q80 both ways
 *   webp512 lossless encode       what the WebP blur writes
 *   png512 encode                 zlib 3, SUB filter
 *   pixel blur 2 boxes            image_blur_boxes, boxes ~100x120 px
 *   dct blur 2 boxes              image_blur_encoded on a q90 4:2:0 JPEG
 *   png blur 2 boxes              decode + blur + lossless PNG encode
 *
 * Figures measured while writing the module are in the comments of
 * src/image/image.c. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/image.h"

/* Rates are per second of this process's CPU time, so a busy machine
 * (another build, a fuzzer) changes them less; each loop also stops after
 * 1 s of wall time so that the whole run stays under 10 s. */
#define CPU_SECONDS  0.7
#define WALL_SECONDS 1.0

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned hash32(unsigned x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static struct image photo(int w, int h)
{
	struct image img = {w, h, 3, malloc((size_t)w * h * 3)};

	if (!img.px)
		exit(1);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *p = img.px + ((size_t)y * w + x) * 3;
			int dx = x - w / 2, dy = y - h / 3;
			int disc = dx * dx + dy * dy < (w / 5) * (w / 5);
			int v[3] = {x * 255 / w, y * 255 / h,
				    disc ? 200 : (x + y) * 128 / (w + h)};
			for (int c = 0; c < 3; c++) {
				int t =
				    v[c] +
				    (int)(hash32(
					      (unsigned)((y * w + x) * 3 + c)) %
					  13) -
				    6;
				p[c] = (unsigned char)(t < 0	 ? 0
						       : t > 255 ? 255
								 : t);
			}
		}
	return img;
}

static void png_mem_write(png_structp p, png_bytep d, size_t n)
{
	if (buf_append(png_get_io_ptr(p), d, n))
		png_error(p, "out of memory");
}

static void png_mem_flush(png_structp p)
{
	(void)p;
}

/* As a text-to-image server sends it: libpng defaults, zlib level 6. */
static void server_png(const struct image *img, struct buf *out)
{
	png_structp p =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(p);

	if (!info || setjmp(png_jmpbuf(p)))
		exit(1);
	png_set_write_fn(p, out, png_mem_write, png_mem_flush);
	png_set_IHDR(p, info, (unsigned)img->w, (unsigned)img->h, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(p, 6);
	png_write_info(p, info);
	for (int y = 0; y < img->h; y++)
		png_write_row(p, img->px + (size_t)y * img->w * 3);
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
}

static void check(int rc, const struct hy_err *err)
{
	if (rc != HY_OK) {
		fprintf(stderr, "image_bench: %s\n", err->msg);
		exit(1);
	}
}

static void report(const char *what, int n, double t)
{
	printf("image: %-30s %8.1f /s/core\n", what, n / t);
	fflush(stdout);
}

#define BENCH(what, body)                                                      \
	do {                                                                   \
		double w0 = clock_s(CLOCK_MONOTONIC);                          \
		double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), c;              \
		int n = 0;                                                     \
		do {                                                           \
			body;                                                  \
			n++;                                                   \
		} while ((c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) <        \
			     CPU_SECONDS &&                                    \
			 clock_s(CLOCK_MONOTONIC) - w0 < WALL_SECONDS);        \
		report(what, n, c);                                            \
	} while (0)

int main(void)
{
	struct image src = photo(512, 512), big = photo(1024, 1024), img, small;
	struct image_box boxes[] = {{0.2, 0.2, 0.4, 0.45},
				    {0.6, 0.3, 0.75, 0.5}};
	struct buf png = {0}, jpg = {0}, webp = {0}, out = {0};
	struct hy_err err;

	server_png(&src, &png);
	check(image_encode(&src, IMAGE_JPEG, 90, &jpg, &err), &err);
	check(image_encode(&src, IMAGE_WEBP, 80, &webp, &err), &err);
	printf("image: inputs 512x512: png %zu B, jpeg q90 %zu B, webp q80 "
	       "%zu B\n",
	       png.len, jpg.len, webp.len);

	BENCH("png512 decode+jpeg encode", {
		check(image_decode(png.data, png.len, 3, &img, &err), &err);
		buf_clear(&out);
		check(image_encode(&img, IMAGE_JPEG, 90, &out, &err), &err);
		image_release(&img);
	});
	BENCH("png512 decode+resize+jpeg", {
		check(image_decode(png.data, png.len, 3, &img, &err), &err);
		check(image_resize(&img, 640, 480, &small, &err), &err);
		buf_clear(&out);
		check(image_encode(&small, IMAGE_JPEG, 90, &out, &err), &err);
		image_release(&small);
		image_release(&img);
	});
	BENCH("resize 1024->512", {
		check(image_resize(&big, 512, 512, &small, &err), &err);
		image_release(&small);
	});
	BENCH("webp512 decode+encode", {
		check(image_decode(webp.data, webp.len, 3, &img, &err), &err);
		buf_clear(&out);
		check(image_encode(&img, IMAGE_WEBP, 80, &out, &err), &err);
		image_release(&img);
	});
	BENCH("webp512 lossless encode", {
		buf_clear(&out);
		check(image_encode(&src, IMAGE_WEBP, 0, &out, &err), &err);
	});
	BENCH("png512 encode", {
		buf_clear(&out);
		check(image_encode(&src, IMAGE_PNG, 0, &out, &err), &err);
	});
	BENCH("pixel blur 2 boxes", image_blur_boxes(&src, boxes, 2));
	BENCH("dct blur 2 boxes", {
		buf_clear(&out);
		check(
		    image_blur_encoded(jpg.data, jpg.len, boxes, 2, &out, &err),
		    &err);
	});
	BENCH("png blur 2 boxes", {
		buf_clear(&out);
		check(
		    image_blur_encoded(png.data, png.len, boxes, 2, &out, &err),
		    &err);
	});
	image_release(&src);
	image_release(&big);
	buf_release(&png);
	buf_release(&jpg);
	buf_release(&webp);
	buf_release(&out);
	return 0;
}
