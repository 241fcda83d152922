/* Writing JSON text the way Python's json.dump(..., ensure_ascii=False)
 * does, so our stage files diff cleanly against the existing scripts'. */
#ifndef HY_JSONW_H
#define HY_JSONW_H

#include <stddef.h>

#include "util/buf.h"

/* Appends s (len bytes, UTF-8) as a quoted JSON string: ", \ and control
 * characters escaped as Python escapes them, other text kept as UTF-8.
 * Invalid UTF-8 sequences become U+FFFD so the output is always valid JSON
 * and valid UTF-8. Returns 0, or -1 on ENOMEM. */
int jsonw_string(struct buf *out, const char *s, size_t len);

#endif
