/* Open-addressing hash set of sample keys (FNV-1a, linear probing). */
#include "keyset.h"

#include "hash.h"

#include <stdlib.h>
#include <string.h>

static int slot_matches(const struct keyset *ks, uint64_t slot, const char *key,
			size_t len)
{
	const char *p = ks->arena.data + (slot - 1);
	uint32_t l;

	memcpy(&l, p, sizeof(l));
	return l == len && memcmp(p + sizeof(l), key, len) == 0;
}

static size_t find(const struct keyset *ks, const char *key, size_t len,
		   uint64_t h)
{
	size_t mask = ks->nslots - 1, i = (size_t)h & mask;

	while (ks->slots[i] && !slot_matches(ks, ks->slots[i], key, len))
		i = (i + 1) & mask;
	return i;
}

static int grow(struct keyset *ks)
{
	size_t n = ks->nslots ? ks->nslots * 2 : 1024;
	uint64_t *old = ks->slots;
	size_t oldn = ks->nslots;

	ks->slots = calloc(n, sizeof(*ks->slots));
	if (!ks->slots) {
		ks->slots = old;
		return -1;
	}
	ks->nslots = n;
	for (size_t i = 0; i < oldn; i++) {
		uint32_t l;
		const char *p;

		if (!old[i])
			continue;
		p = ks->arena.data + (old[i] - 1);
		memcpy(&l, p, sizeof(l));
		ks->slots[find(ks, p + sizeof(l), l,
			       hash_fnv1a64(p + sizeof(l), l))] = old[i];
	}
	free(old);
	return 0;
}

int keyset_contains(const struct keyset *ks, const char *key, size_t len)
{
	if (!ks->nslots)
		return 0;
	return ks->slots[find(ks, key, len, hash_fnv1a64(key, len))] != 0;
}

int keyset_add(struct keyset *ks, const char *key, size_t len)
{
	uint64_t h = hash_fnv1a64(key, len);
	uint32_t l = (uint32_t)len;
	size_t i, at;

	if ((ks->count + 1) * 2 > ks->nslots && grow(ks))
		return -1;
	i = find(ks, key, len, h);
	if (ks->slots[i])
		return 0;
	at = ks->arena.len;
	if (buf_append(&ks->arena, &l, sizeof(l)) ||
	    buf_append(&ks->arena, key, len))
		return -1;
	ks->slots[i] = (uint64_t)at + 1;
	ks->count++;
	return 1;
}

void keyset_release(struct keyset *ks)
{
	free(ks->slots);
	buf_release(&ks->arena);
	memset(ks, 0, sizeof(*ks));
}
