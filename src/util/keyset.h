/* A set of byte strings (sample keys of one shard), to catch a key whose
 * members are not consecutive. Each shard reader owns one; memory grows
 * with the keys of that shard only. */
#ifndef HY_KEYSET_H
#define HY_KEYSET_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* About 4 bytes a key of 9 digits when keys come in increasing order (the
 * usual case), about 20 when they do not (keyset.c). */
struct keyset {
	/* keys in increasing order so far: front-coded */
	struct buf sorted;
	uint32_t *restarts; /* offsets of whole keys in sorted */
	size_t nrestarts, restarts_cap, nsorted;
	struct buf last; /* the last key in sorted */
	/* the others: a hash set */
	uint32_t *slots; /* 0 = empty, else (offset into arena + 1) */
	size_t nslots;
	size_t nhashed;
	struct buf arena; /* keys, each after its length (1 or 5 bytes) */
};

/* Adds key; returns 1 if it was added, 0 if it was already present, -1 on
 * ENOMEM (or past 4 GiB of keys). */
int keyset_add(struct keyset *ks, const char *key, size_t len);
int keyset_contains(const struct keyset *ks, const char *key, size_t len);
void keyset_release(struct keyset *ks);

#endif
