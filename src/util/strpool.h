/* Strings kept for the life of a list (the keys of a shard's fates, the
 * paths of its edits), copied into 64 KiB blocks that never move: one
 * allocation per block instead of one per string, which costs a small
 * string twice its size in malloc's headers and rounding. */
#ifndef HY_STRPOOL_H
#define HY_STRPOOL_H

#include <stddef.h>

struct strpool_block;

/* Zero-initialise before use. */
struct strpool {
	struct strpool_block *head;
};

/* A copy of s (len bytes, a NUL added), valid until strpool_release; or
 * NULL on ENOMEM. */
char *strpool_add(struct strpool *p, const char *s, size_t len);
/* Frees every string; p is empty again. */
void strpool_release(struct strpool *p);

#endif
