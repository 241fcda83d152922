/* Writing JSON text the way Python's json.dump(..., ensure_ascii=False)
 * does, so our stage files diff cleanly against the existing scripts'. */
#ifndef HY_JSONW_H
#define HY_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Appends s (len bytes, UTF-8) as a quoted JSON string: ", \ and control
 * characters escaped as Python escapes them, other text kept as UTF-8.
 * Invalid UTF-8 sequences become U+FFFD so the output is always valid JSON
 * and valid UTF-8. Returns 0, or -1 on ENOMEM. */
int jsonw_string(struct buf *out, const char *s, size_t len);

/* The pieces of objects and lists laid out as Python's json.dumps does
 * (", " between items, ": " after a name): the one way our JSON is
 * written. Each returns 0, or -1 on ENOMEM. */

/* `"key": `, after ", " unless out is empty or ends with { or [ (the
 * object's first item). key is plain ASCII. */
int jsonw_key(struct buf *out, const char *key);
/* `, ` unless out is empty or ends with { or [: before a list item. */
int jsonw_sep(struct buf *out);
int jsonw_int(struct buf *out, int64_t v);
int jsonw_uint(struct buf *out, uint64_t v);
/* v as fmt writes it: a printf conversion of one double ("%.1f", "%g"),
 * the caller's choice of digits. Not for NaN or infinities. */
int jsonw_double(struct buf *out, const char *fmt, double v)
    __attribute__((format(printf, 2, 0)));
int jsonw_bool(struct buf *out, int v);
/* `, "key": v` pieces in one call. */
int jsonw_key_int(struct buf *out, const char *key, int64_t v);
int jsonw_key_string(struct buf *out, const char *key, const char *s);

#endif
