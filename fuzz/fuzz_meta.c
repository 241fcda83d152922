/* Fuzz target: KEY.json parsing and the face rule (meta_parse with the
 * surrogate repair, Python's tokens and duplicate keys; the boxes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta m = {0};
	struct hy_err err;
	const struct image_box *b;
	size_t n;
	char *copy = malloc(size + 1);
	int rc;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	rc = meta_parse(&m, copy, size, &err);
	if (rc == HY_OK && m.has_caption && m.caption.data &&
	    m.caption.data[m.caption.len] != '\0')
		abort(); /* NUL-terminated beyond its length (NULs inside) */
	/* unreadable metadata is always a doubtful face sample */
	if (rc == HY_ESAMPLE && (m.doubt != META_UNREADABLE || !m.why[0] ||
				 !meta_face_sample(&m, 1000)))
		abort();
	/* the regions to hide: at least one, inside 0..1, with an area, the
	 * trusted boxes not overlapping and never more than the cap */
	b = meta_hide(&m, &n);
	if (n < 1 || n > META_MAX_BOXES || (m.doubt && n != 1))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (!(b[i].x0 >= 0 && b[i].x0 < b[i].x1 && b[i].x1 <= 1 &&
		      b[i].y0 >= 0 && b[i].y0 < b[i].y1 && b[i].y1 <= 1))
			abort();
		for (size_t j = i + 1; j < n; j++)
			if (b[i].x0 < b[j].x1 && b[j].x0 < b[i].x1 &&
			    b[i].y0 < b[j].y1 && b[j].y0 < b[i].y1)
				abort();
	}
	meta_release(&m);
	free(copy);
	return 0;
}
