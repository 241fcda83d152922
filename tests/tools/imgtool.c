/* imgtool: the image checks of the CLI tests, on our own decoder
 * (src/image/image.c), since Python has no JPEG decoder without extra packages.
 *
 *   imgtool size FILE
 *       prints "W H FORMAT" of a whole, decodable image; exit 1 otherwise.
 *   imgtool boxdiff ORIG EDITED MARGIN X0,Y0,X1,Y1 ...
 *       compares two images of one size, boxes normalized as face_bboxes:
 *       prints "inside MEAN outside MAX": the mean absolute difference of
 *       the pixels inside the boxes and the largest difference of a pixel
 *       farther than MARGIN pixels from every box.
 *   imgtool reencode IN OUT QUALITY [SCALE [CELL AMP]]  (CELL, AMP: a
 *     checkerboard of CELL px, +-AMP grey levels, laid over it)
 *       decodes IN and writes it again in its own format (JPEG at
 *       QUALITY), shrunk by SCALE (default 1): the original photo with
 *       other bytes, as a broken pipeline might ship it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "image/image.h"

static int load(const char *path, struct image *img)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[65536];
	size_t got;
	struct hy_err err;
	int ret;

	if (!f) {
		perror(path);
		return -1;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, got);
	fclose(f);
	ret = image_decode(b.data, b.len, 3, img, &err);
	if (ret)
		fprintf(stderr, "%s: %s\n", path, err.msg);
	buf_release(&b);
	return ret ? -1 : 0;
}

static int cmd_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[65536];
	size_t got;
	struct image img = {0};
	struct hy_err err;

	if (!f) {
		perror(path);
		return 1;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, got);
	fclose(f);
	if (image_decode(b.data, b.len, 0, &img, &err)) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		buf_release(&b);
		return 1;
	}
	printf("%d %d %s\n", img.w, img.h,
	       image_fmt_name(image_sniff(b.data, b.len)));
	image_release(&img);
	buf_release(&b);
	return 0;
}

static int cmd_boxdiff(int argc, char **argv)
{
	struct image a = {0}, b = {0};
	int margin = atoi(argv[2]), nb = argc - 3;
	int(*box)[4] = calloc((size_t)nb + 1, sizeof(*box));
	double inside = 0;
	long nin = 0;
	int outmax = 0;

	if (!box || load(argv[0], &a) || load(argv[1], &b))
		return 1;
	if (a.w != b.w || a.h != b.h) {
		fprintf(stderr, "sizes differ: %dx%d and %dx%d\n", a.w, a.h,
			b.w, b.h);
		return 1;
	}
	for (int i = 0; i < nb; i++) {
		double c[4];
		if (sscanf(argv[3 + i], "%lf,%lf,%lf,%lf", &c[0], &c[1], &c[2],
			   &c[3]) != 4)
			return 1;
		box[i][0] = (int)(c[0] * a.w);
		box[i][1] = (int)(c[1] * a.h);
		box[i][2] = (int)(c[2] * a.w + 0.999);
		box[i][3] = (int)(c[3] * a.h + 0.999);
	}
	for (int y = 0; y < a.h; y++)
		for (int x = 0; x < a.w; x++) {
			int in = 0, near = 0, d = 0;
			for (int i = 0; i < nb; i++) {
				in |= x >= box[i][0] && x < box[i][2] &&
				      y >= box[i][1] && y < box[i][3];
				near |= x >= box[i][0] - margin &&
					x < box[i][2] + margin &&
					y >= box[i][1] - margin &&
					y < box[i][3] + margin;
			}
			for (int ch = 0; ch < 3; ch++) {
				size_t k =
				    ((size_t)y * (size_t)a.w + (size_t)x) * 3 +
				    (size_t)ch;
				d += abs(a.px[k] - b.px[k]);
			}
			if (in) {
				inside += d / 3.0;
				nin++;
			} else if (!near && d > outmax) {
				outmax = d;
			}
		}
	printf("inside %.2f outside %d\n", nin ? inside / (double)nin : 0,
	       outmax);
	image_release(&a);
	image_release(&b);
	free(box);
	return 0;
}

/* A checkerboard of cell x cell pixels, +amp / -amp grey levels, laid over
 * the picture: the original still there, with detail of the overlay's own
 * (what verify must still call the original). */
static void overlay(struct image *a, int cell, int amp)
{
	for (int y = 0; y < a->h; y++)
		for (int x = 0; x < a->w; x++) {
			int d = ((x / cell + y / cell) & 1) ? amp : -amp;
			for (int ch = 0; ch < a->channels; ch++) {
				unsigned char *p =
				    &a->px[((size_t)y * (size_t)a->w +
					    (size_t)x) *
					       (size_t)a->channels +
					   (size_t)ch];
				int v = *p + d;
				*p = (unsigned char)(v < 0     ? 0
						     : v > 255 ? 255
							       : v);
			}
		}
}

static int cmd_reencode(const char *in, const char *out, int quality, int scale,
			int cell, int amp)
{
	struct image a = {0}, r = {0};
	struct buf b = {0};
	struct hy_err err;
	FILE *f;
	int ret = 1;

	if (load(in, &a))
		return 1;
	if (scale > 1 &&
	    image_resize(&a, a.w / scale, a.h / scale, &r, &err) == HY_OK) {
		image_release(&a);
		a = r;
	}
	if (cell > 0)
		overlay(&a, cell, amp);
	if (image_encode(&a, image_fmt_of_ext(strrchr(in, '.') + 1), quality,
			 &b, &err) == HY_OK &&
	    (f = fopen(out, "wb"))) {
		ret = fwrite(b.data, 1, b.len, f) != b.len;
		ret |= fclose(f) != 0;
	}
	image_release(&a);
	buf_release(&b);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "reencode"))
		return cmd_reencode(argv[2], argv[3], atoi(argv[4]),
				    argc > 5 ? atoi(argv[5]) : 1,
				    argc > 7 ? atoi(argv[6]) : 0,
				    argc > 7 ? atoi(argv[7]) : 0);
	if (argc == 3 && !strcmp(argv[1], "size"))
		return cmd_size(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "boxdiff"))
		return cmd_boxdiff(argc - 2, argv + 2);
	fprintf(stderr, "usage: imgtool size FILE | imgtool boxdiff ORIG "
			"EDITED MARGIN X0,Y0,X1,Y1...\n");
	return 2;
}
