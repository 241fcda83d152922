/* KEY.json fields and the face rule, on pyjson (JSON as Python reads it:
 * a record that Python reads but we did not would make a face sample look
 * faceless). */
#include "formats/meta.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/pyjson.h"

static void doubt(struct meta *m, enum meta_doubt d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void doubt(struct meta *m, enum meta_doubt d, const char *fmt, ...)
{
	va_list ap;

	m->doubt = d;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

static const char *type_name(const cJSON *x)
{
	if (cJSON_IsString(x))
		return "a string";
	if (cJSON_IsNumber(x))
		return "a number";
	if (cJSON_IsBool(x))
		return "a boolean";
	if (cJSON_IsObject(x))
		return "an object";
	if (cJSON_IsNull(x))
		return "null";
	return "a list";
}

static int overlap(const struct image_box *a, const struct image_box *b)
{
	return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Overlapping boxes become their union, until none overlap: the blur then
 * touches each pixel once, and n stays at most META_MAX_BOXES. */
static void merge_boxes(struct image_box *b, size_t *n)
{
	int again = 1;

	while (again) {
		again = 0;
		for (size_t i = 0; i < *n; i++)
			for (size_t j = i + 1; j < *n; j++) {
				if (!overlap(&b[i], &b[j]))
					continue;
				b[i].x0 = fmin(b[i].x0, b[j].x0);
				b[i].y0 = fmin(b[i].y0, b[j].y0);
				b[i].x1 = fmax(b[i].x1, b[j].x1);
				b[i].y1 = fmax(b[i].y1, b[j].y1);
				b[j--] = b[--*n];
				again = 1;
			}
	}
}

/* face_bboxes: each entry four finite numbers, within 0..1 give or take
 * META_BOX_SLACK, x0 < x1 and y0 < y1 once clamped. The first entry that is
 * not makes the whole list doubtful: a face it was meant to cover could be
 * anywhere. -1 when out of memory. */
static int read_boxes(struct meta *m, const cJSON *list)
{
	const cJSON *it;
	long i = 0;

	if (cJSON_IsNull(list) || !list)
		return 0;
	if (!cJSON_IsArray(list)) {
		m->faces = 1; /* at least one face, place unknown */
		doubt(m, META_BAD_BOXES, "face_bboxes is %s, not a list",
		      type_name(list));
		return 0;
	}
	m->faces = cJSON_GetArraySize(list);
	if (m->faces > META_MAX_BOXES) {
		doubt(m, META_BAD_BOXES,
		      "face_bboxes has %ld entries, more than the %d read",
		      m->faces, META_MAX_BOXES);
		return 0;
	}
	if (m->boxes_cap < (size_t)m->faces) {
		struct image_box *b =
		    realloc(m->boxes, (size_t)m->faces * sizeof(*b));
		if (!b)
			return -1;
		m->boxes = b;
		m->boxes_cap = (size_t)m->faces;
	}
	cJSON_ArrayForEach(it, list)
	{
		double c[4];
		int ok = cJSON_IsArray(it) && cJSON_GetArraySize(it) == 4;

		for (int k = 0; ok && k < 4; k++) {
			const cJSON *x = cJSON_GetArrayItem(it, k);
			ok = cJSON_IsNumber(x) && isfinite(x->valuedouble) &&
			     x->valuedouble >= -META_BOX_SLACK &&
			     x->valuedouble <= 1 + META_BOX_SLACK;
			c[k] = ok ? fmin(1, fmax(0, x->valuedouble)) : 0;
		}
		if (!ok) {
			doubt(m, META_BAD_BOXES,
			      "face_bboxes entry %ld is not four numbers in "
			      "0..1 ([x0, y0, x1, y1], normalized)",
			      i);
			return 0;
		}
		if (!(c[0] < c[2] && c[1] < c[3])) {
			doubt(m, META_BAD_BOXES,
			      "face_bboxes entry %ld has no area "
			      "(x0 >= x1 or y0 >= y1)",
			      i);
			return 0;
		}
		m->boxes[m->nboxes++] =
		    (struct image_box){c[0], c[1], c[2], c[3]};
		i++;
	}
	merge_boxes(m->boxes, &m->nboxes);
	return 0;
}

void meta_reset(struct meta *m)
{
	m->faces = 0;
	m->doubt = META_SURE;
	m->why[0] = '\0';
	m->nboxes = 0;
	m->has_caption = 0;
	buf_clear(&m->caption);
}

void meta_set_unreadable(struct meta *m, const char *why)
{
	meta_reset(m);
	m->doubt = META_UNREADABLE;
	snprintf(m->why, sizeof(m->why), "unreadable KEY.json (%.150s)", why);
}

int meta_parse(struct meta *m, char *json, size_t len, struct hy_err *err)
{
	cJSON *root, *it;
	int ret = HY_OK;

	meta_reset(m);
	root = pyjson_parse(json, len, &m->text, err);
	if (!root) {
		if (err->code != HY_EFATAL)
			meta_set_unreadable(m, err->msg);
		return err->code;
	}
	if (!cJSON_IsObject(root)) {
		ret = hy_err_set(err, HY_ESAMPLE, "JSON is not an object");
		meta_set_unreadable(m, err->msg);
		goto out;
	}
	if (read_boxes(m,
		       cJSON_GetObjectItemCaseSensitive(root, "face_bboxes"))) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "caption");
	if (cJSON_IsString(it) && it->valuestring) {
		if (pyjson_string(it, &m->caption)) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		m->has_caption = 1;
	}
out:
	cJSON_Delete(root);
	return ret;
}

void meta_set_ambiguous(struct meta *m)
{
	m->doubt = META_UNREADABLE;
	snprintf(m->why, sizeof(m->why),
		 "several KEY.json members (readers differ on which counts)");
}

enum meta_member meta_member_kind(const char *ext)
{
	/* Image formats by extension that a reader of the dataset could
	 * decode as a picture, beyond the three the stages edit. */
	static const char *const odd[] = {
	    "gif", "bmp", "tif",  "tiff", "avif", "heic", "heif", "jxl", "jp2",
	    "j2k", "jpe", "jfif", "ppm",  "pgm",  "pnm",  "pbm",  "ico", "svg"};
	const char *last = strrchr(ext, '.');

	last = last ? last + 1 : ext;
	if (image_fmt_of_ext(last) != IMAGE_UNKNOWN)
		return last == ext ? META_PHOTO : META_PHOTO_ODD;
	for (size_t i = 0; i < sizeof(odd) / sizeof(*odd); i++)
		if (!strcasecmp(last, odd[i]))
			return META_PHOTO_ODD;
	return META_OTHER;
}

int meta_face_sample(const struct meta *m, long min_faces)
{
	return m->doubt != META_SURE || m->faces >= min_faces;
}

const struct image_box *meta_hide(const struct meta *m, size_t *n)
{
	static const struct image_box whole = {0, 0, 1, 1};

	if (m->doubt != META_SURE || !m->nboxes) {
		*n = 1;
		return &whole;
	}
	*n = m->nboxes;
	return m->boxes;
}

void meta_release(struct meta *m)
{
	buf_release(&m->caption);
	buf_release(&m->text);
	free(m->boxes);
	m->boxes = NULL;
	m->nboxes = m->boxes_cap = 0;
}
