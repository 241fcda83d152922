/* DataComp / img2dataset sample metadata (KEY.json): the fields the stages
 * need, pulled out of the JSON written by Python's json module. */
#ifndef HY_META_H
#define HY_META_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct meta {
	/* Number of entries in `face_bboxes`; 0 when it is missing, null or
	 * not a list. */
	long faces;
	/* 1 when the JSON has a string `caption` (possibly empty); its UTF-8
	 * bytes are then in `caption` (NUL-terminated, owned by struct meta,
	 * reused by the next meta_parse). */
	int has_caption;
	struct buf caption;
};

/* Parses one KEY.json body. The buffer is modified in place: lone UTF-16
 * surrogate escapes are rewritten to \ufffd, because Python's json module
 * writes them now and then and the sample must not be lost for it.
 * Returns HY_OK, or HY_ESAMPLE with err->msg saying why the JSON is unusable
 * (the caller adds shard and key). */
int meta_parse(struct meta *m, char *json, size_t len, struct hy_err *err);

/* Rewrites every lone surrogate escape (\uD800-\uDFFF not forming a valid
 * high+low pair) in JSON text to \ufffd, in place (same length). Returns the
 * number of escapes rewritten. Exposed for tests and fuzzing. */
size_t meta_fix_surrogates(char *json, size_t len);

void meta_release(struct meta *m);

#endif
