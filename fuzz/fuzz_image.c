/* Fuzz target: image probe, decode (RGB and native channels) and the blur of
 * encoded images, on JPEG, PNG and WebP bytes. Seeds in fuzz/corpus/image:
 * small images of every flavour the decoders handle (baseline, progressive,
 * grey, 4:4:4, 4:2:2, 4:1:1 and CMYK JPEG; RGB, RGBA, palette with tRNS,
 * 1-bit and 16-bit interlaced grey, grey+alpha PNG; lossy, lossy+alpha and
 * lossless WebP), cut and bit-flipped copies, and a text file; written once
 * with image_encode, TurboJPEG and libpng. */
#include <stdint.h>
#include <stdlib.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct image_box box = {0.25, 0.25, 0.75, 0.75};
	struct image img;
	struct buf out = {0};
	struct hy_err err;
	enum image_fmt f;
	int w = 0, h = 0, probed, decoded = 0;

	probed = image_probe(data, size, &f, &w, &h, &err) == HY_OK;
	/* A big header only tests the allocator (the size limits are checked
	 * by probe already); it would make every run slow. */
	if (probed && (long)w * h > 1L << 22)
		return 0;
	for (int ch = 0; ch <= 3; ch += 3) {
		if (image_decode(data, size, ch, &img, &err) != HY_OK) {
			if (img.px)
				abort(); /* failure leaves img empty */
			continue;
		}
		if (probed && (img.w != w || img.h != h))
			abort(); /* header and pixels disagree */
		if (img.channels != (ch ? ch : img.channels) ||
		    img.channels < 3 || img.channels > 4)
			abort();
		w = img.w;
		h = img.h;
		decoded = 1;
		image_release(&img);
	}
	if (image_blur_encoded(data, size, &box, 1, &out, &err) == HY_OK &&
	    decoded) {
		/* what we write must read back, at the same size */
		if (image_decode(out.data, out.len, 0, &img, &err) != HY_OK ||
		    img.w != w || img.h != h)
			abort();
		image_release(&img);
	}
	buf_release(&out);
	return 0;
}
