/* Edited sample metadata (KEY.json) as SPEC.md wants it: for a synthetic
 * image, `caption` = prompt, `face_bboxes` = [], width/height/sha256 of
 * the new image, the fields describing the replaced photo removed and a
 * `synthetic` object added; for a blurred photo, a `deidentified` object.
 * Every other field, and the field order, is kept. */
#ifndef HY_METAEDIT_H
#define HY_METAEDIT_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "image/image.h"

struct metaedit_synth {
	const char *prompt;
	size_t prompt_len;
	int w, h;
	const char *sha256;    /* hex of the new image member */
	const char *generator; /* "a1111", "openai" */
	const char *model;     /* image model, or NULL when not known */
	int has_seed;	       /* 0: the seed is not known (left out) */
	unsigned long seed;
	long steps;	       /* <= 0: not known (server default) */
	double cfg_scale;      /* < 0: not known */
	const char *sampler;   /* or NULL */
	const char *llm_model; /* or NULL */
};

struct metaedit_blur {
	int w, h;
	const char *sha256;
	long boxes;
	const char *reason; /* why no synthetic image */
};

/* Writes the edited metadata of the original `json` (len bytes; NULL for
 * a sample without metadata) to out. HY_OK, HY_ESAMPLE (the original is
 * not a JSON object) or HY_EFATAL. */
int metaedit_synthetic(const char *json, size_t len,
		       const struct metaedit_synth *s, struct buf *out,
		       struct hy_err *err);
int metaedit_blurred(const char *json, size_t len,
		     const struct metaedit_blur *b, struct buf *out,
		     struct hy_err *err);

#endif
