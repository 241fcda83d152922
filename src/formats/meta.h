/* DataComp / img2dataset sample metadata (KEY.json) read as Python's json
 * module reads it, and the face rule: which samples are face samples, and
 * which face boxes can be trusted. scan, generate and verify all decide
 * through meta_parse and meta_face_sample, so they cannot disagree. */
#ifndef HY_META_H
#define HY_META_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "image/image.h"

/* Boxes beyond this many are not read: the photo is blurred whole. One
 * real photo rarely shows more than a few dozen faces, and a list of
 * 20,000 boxes cost a minute of CPU per sample before this cap. */
#define META_MAX_BOXES 256

/* A coordinate may stray this far outside 0..1 (detector rounding) and is
 * clamped; further out it is not a normalized coordinate (pixels, say). */
#define META_BOX_SLACK 0.01

/* Why the boxes of a sample cannot be trusted. Any doubt makes the sample
 * a face sample whatever --min-faces says, and its whole photo is the
 * region to hide. */
enum meta_doubt {
	META_SURE = 0,
	META_UNREADABLE, /* KEY.json is not JSON Python reads, or no object,
			    or could not be read at all */
	META_BAD_BOXES,	 /* face_bboxes is not a list of [x0, y0, x1, y1]
			    in 0..1 with an area, or has too many */
};

struct meta {
	/* Entries in `face_bboxes`, valid or not; 0 when it is missing or
	 * null. */
	long faces;
	enum meta_doubt doubt;
	char why[200]; /* the doubt, for reports and fate records */
	/* The valid boxes, clamped to 0..1, overlapping ones merged into
	 * their union; owned by struct meta, reused by the next meta_parse.
	 * Meaningful only when doubt is META_SURE. */
	struct image_box *boxes;
	size_t nboxes, boxes_cap;
	/* 1 when the JSON has a string `caption` (possibly empty); its UTF-8
	 * bytes are then in `caption` (NULs included, as Python keeps them;
	 * NUL-terminated beyond caption.len; owned by struct meta, reused by
	 * the next meta_parse). */
	int has_caption;
	struct buf caption;
	struct buf text; /* scratch: the JSON rewritten for cJSON */
};

/* Parses one KEY.json body as Python's json.loads would (pyjson.h). The
 * buffer may be modified in place. Returns HY_OK; HY_ESAMPLE when the JSON
 * is unusable, with err->msg saying why (the caller adds shard and key)
 * and m->doubt = META_UNREADABLE; HY_EFATAL when out of memory. */
int meta_parse(struct meta *m, char *json, size_t len, struct hy_err *err);

/* Marks m as a sample whose KEY.json exists but could not be read (too
 * large, say): a doubtful face sample. */
void meta_set_unreadable(struct meta *m, const char *why);

/* Marks m as a sample with several KEY.json members: which one a reader
 * takes differs (webdataset keeps the last, our stages read the first),
 * so it is a doubtful face sample whatever either says. */
void meta_set_ambiguous(struct meta *m);

/* What a member is to the face rule, by its extension (SPEC.md: after the
 * first dot of the last path component). */
enum meta_member {
	META_OTHER = 0, /* not an image (json, txt, ...) */
	META_PHOTO,	/* the sample's photo as the stages edit it: a plain
			   jpg, jpeg, png or webp, any case */
	META_PHOTO_ODD, /* an image the stages cannot replace or blur: other
			   formats (gif, bmp, tiff, avif...) or a two-part
			   extension whose last part is an image (seg.png,
			   orig.jpg: a reader decoding by the last part sees
			   a picture) */
};
enum meta_member meta_member_kind(const char *ext);

/* Resets m to "no KEY.json": no faces, no doubt, no caption. */
void meta_reset(struct meta *m);

/* THE face rule: 1 when the sample must be treated as showing a face:
 * at least min_faces entries in face_bboxes (min_faces 0: every sample),
 * or any doubt about its metadata. */
int meta_face_sample(const struct meta *m, long min_faces);

/* The regions to hide in the photo of a face sample: the valid boxes, or
 * the whole photo when the boxes are in doubt or there are none (a face
 * sample by --min-faces 0). *n >= 1; the array is m's, or static. */
const struct image_box *meta_hide(const struct meta *m, size_t *n);

void meta_release(struct meta *m);

#endif
