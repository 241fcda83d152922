/* A growable byte buffer, reused across samples so hot loops do not allocate
 * per sample. Zero-initialise (struct buf b = {0}) before first use. */
#ifndef HY_BUF_H
#define HY_BUF_H

#include <stddef.h>

#include "util/err.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Makes room for at least `extra` more bytes (plus one spare byte so the
 * content can always be NUL-terminated). Returns 0, or -1 on ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);
/* The capacity buf_reserve(b, extra) would leave b with (b->cap when it
 * fits already), or 0 when that overflows: lets a caller that bounds its
 * memory check before growing. */
size_t buf_next_cap(const struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_putc(struct buf *b, char c);
/* Empties the buffer but keeps its memory for reuse. */
void buf_clear(struct buf *b);
/* Frees the memory; the buffer is zeroed and may be reused. */
void buf_release(struct buf *b);

/* The one whole-file reader: replaces b's content with the file at path,
 * NUL-terminated (b->data is never NULL after HY_OK, so text can be parsed
 * in place), in one allocation of the file's size where fstat knows it.
 * max: the most bytes accepted, 0 for no limit. Returns HY_OK; else errno
 * says why (ENOENT: not there; EFBIG: over max; ENOMEM) for callers that
 * word their own message, and err (may be NULL) gets "cannot read 'PATH':
 * REASON" with hy_err_input(errno, HY_ESHARD), or HY_EFATAL "out of
 * memory". */
int buf_read_file(struct buf *b, const char *path, size_t max,
		  struct hy_err *err);

#endif
