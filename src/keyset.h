/* A set of byte strings (sample keys of one shard), to catch a key whose
 * members are not consecutive. Each shard reader owns one; memory grows
 * with the keys of that shard only. */
#ifndef HY_KEYSET_H
#define HY_KEYSET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct keyset {
	uint64_t *slots; /* 0 = empty, else (offset into arena + 1) */
	size_t nslots;
	size_t count;
	struct buf arena; /* len-prefixed keys */
};

/* Adds key; returns 1 if it was added, 0 if it was already present, -1 on
 * ENOMEM. */
int keyset_add(struct keyset *ks, const char *key, size_t len);
int keyset_contains(const struct keyset *ks, const char *key, size_t len);
void keyset_release(struct keyset *ks);

#endif
