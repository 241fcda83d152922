/* JSON as Python's json module reads it (json.loads), on cJSON: NaN,
 * Infinity and -Infinity are numbers (NaN reads as null: no cJSON number
 * is NaN), the last of duplicate keys wins, a \u0000 escape is a NUL
 * inside its string. Python's json.dump wrote KEY.json and the old
 * scripts' stage files: a text it reads must read the same here. Lone
 * UTF-16 surrogate escapes, which Python keeps as such, become U+FFFD
 * (SPEC.md: UTF-8 has no place for them, and the sample must not be
 * lost). */
#ifndef HY_PYJSON_H
#define HY_PYJSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* Parses json (len bytes; json[len] must be readable and is not part of
 * it), which may be modified in place (surrogates); scratch holds a
 * mended copy when one is needed (reused across calls, the caller's).
 * Any JSON value; trailing white space allowed, nothing else. Returns the
 * tree (cJSON_Delete), or NULL with err set: HY_ESAMPLE (not JSON, with
 * the byte offset) or HY_EFATAL. */
cJSON *pyjson_parse(char *json, size_t len, struct buf *scratch,
		    struct hy_err *err);

/* The same on a copy: json is left alone. */
cJSON *pyjson_parse_copy(const char *json, size_t len, struct hy_err *err);

/* The bytes of string item s, NULs included, into out (cleared first;
 * NUL-terminated beyond out->len). 0, or -1 when out of memory. */
int pyjson_string(const cJSON *s, struct buf *out);

/* Rewrites every lone surrogate escape (\uD800-\uDFFF not forming a valid
 * high+low pair) in JSON text to \ufffd, in place (same length). Returns
 * the number of escapes rewritten. Exposed for tests and fuzzing. */
size_t pyjson_fix_surrogates(char *json, size_t len);

#endif
