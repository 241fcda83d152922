/* A growable byte buffer, reused across samples so hot loops do not allocate
 * per sample. Zero-initialise (struct buf b = {0}) before first use. */
#ifndef HY_BUF_H
#define HY_BUF_H

#include <stddef.h>

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

#endif
