/* Set of the sample keys of one shard. Shards list their keys in order
 * nearly always: keys that come in increasing order are kept front-coded
 * (each key as the length it shares with the one before and the rest of
 * it, a whole key every KS_RESTART), about 4 bytes a key of 9 digits; a key
 * out of order goes to an open-addressing hash set (FNV-1a, linear
 * probing) of its bytes behind a 1-byte length (5 bytes at 255 or more)
 * and 2 to 4 slots of 4 bytes, about 20 bytes. */
#include "util/keyset.h"

#include "util/hash.h"

#include <stdlib.h>
#include <string.h>

#define LONG_KEY   0xff /* length byte of a key of 255 bytes or more */
#define KS_RESTART 16	/* a whole key every KS_RESTART sorted keys */

/* -1, 0, 1 as a sorts before, with or after b (bytes, then length). */
static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c < 0 ? -1 : 1;
	return al < bl ? -1 : al > bl;
}

/* ---- lengths: 1 byte, or LONG_KEY and 4 bytes ---- */

static int put_len(struct buf *b, size_t len)
{
	unsigned char lb = len < LONG_KEY ? (unsigned char)len : LONG_KEY;
	uint32_t l = (uint32_t)len;

	if (buf_append(b, &lb, 1))
		return -1;
	return lb == LONG_KEY ? buf_append(b, &l, sizeof(l)) : 0;
}

static const char *get_len(const char *p, size_t *len)
{
	uint32_t l;

	if ((unsigned char)*p != LONG_KEY) {
		*len = (unsigned char)*p;
		return p + 1;
	}
	memcpy(&l, p + 1, sizeof(l));
	*len = l;
	return p + 1 + sizeof(l);
}

/* ---- keys in increasing order: front-coded ---- */

/* Appends key, which sorts after ks->last. */
static int sorted_add(struct keyset *ks, const char *key, size_t len)
{
	size_t shared = 0, at = ks->sorted.len;

	if (ks->nsorted % KS_RESTART == 0) {
		if (ks->nrestarts == ks->restarts_cap) {
			size_t nc =
			    ks->restarts_cap ? ks->restarts_cap * 2 : 64;
			uint32_t *r = realloc(ks->restarts, nc * sizeof(*r));
			if (!r)
				return -1;
			ks->restarts = r;
			ks->restarts_cap = nc;
		}
		ks->restarts[ks->nrestarts++] = (uint32_t)at;
	} else {
		while (shared < len && shared < ks->last.len &&
		       key[shared] == ks->last.data[shared])
			shared++;
	}
	if (put_len(&ks->sorted, shared) ||
	    put_len(&ks->sorted, len - shared) ||
	    buf_append(&ks->sorted, key + shared, len - shared))
		return -1;
	buf_clear(&ks->last);
	if (buf_append(&ks->last, key, len))
		return -1;
	ks->nsorted++;
	return 0;
}

/* 1 when key is among the sorted keys (it sorts before ks->last or is it). */
static int sorted_contains(const struct keyset *ks, const char *key, size_t len,
			   struct buf *scratch)
{
	size_t lo = 0, hi = ks->nrestarts, n;
	const char *p, *end = ks->sorted.data + ks->sorted.len;

	/* the last restart whose key sorts at or before key */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2, shared, rest;
		p = get_len(ks->sorted.data + ks->restarts[mid], &shared);
		p = get_len(p, &rest);
		if (keycmp(p, rest, key, len) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	buf_clear(scratch);
	p = ks->sorted.data + ks->restarts[lo];
	for (n = 0; n < KS_RESTART && p < end; n++) {
		size_t shared, rest;
		int c;

		p = get_len(p, &shared);
		p = get_len(p, &rest);
		scratch->len = shared;
		if (buf_append(scratch, p, rest))
			return -1;
		p += rest;
		c = keycmp(scratch->data, scratch->len, key, len);
		if (c == 0)
			return 1;
		if (c > 0)
			return 0;
	}
	return 0;
}

/* ---- keys out of order: a hash set ---- */

/* The key stored at arena offset at: its bytes and length. */
static const char *stored(const struct keyset *ks, uint32_t at, size_t *len)
{
	return get_len(ks->arena.data + at, len);
}

static size_t find(const struct keyset *ks, const char *key, size_t len,
		   uint64_t h)
{
	size_t mask = ks->nslots - 1, i = (size_t)h & mask;

	for (; ks->slots[i]; i = (i + 1) & mask) {
		size_t l;
		const char *k = stored(ks, ks->slots[i] - 1, &l);

		if (l == len && memcmp(k, key, len) == 0)
			break;
	}
	return i;
}

static int grow(struct keyset *ks)
{
	size_t n = ks->nslots ? ks->nslots * 2 : 1024;
	uint32_t *old = ks->slots;
	size_t oldn = ks->nslots;

	ks->slots = calloc(n, sizeof(*ks->slots));
	if (!ks->slots) {
		ks->slots = old;
		return -1;
	}
	ks->nslots = n;
	for (size_t i = 0; i < oldn; i++) {
		size_t l;
		const char *k;

		if (!old[i])
			continue;
		k = stored(ks, old[i] - 1, &l);
		ks->slots[find(ks, k, l, hash_fnv1a64(k, l))] = old[i];
	}
	free(old);
	return 0;
}

static int hashed_contains(const struct keyset *ks, const char *key, size_t len)
{
	if (!ks->nslots)
		return 0;
	return ks->slots[find(ks, key, len, hash_fnv1a64(key, len))] != 0;
}

/* Adds key, not in the set. */
static int hashed_add(struct keyset *ks, const char *key, size_t len)
{
	size_t at = ks->arena.len;

	if ((ks->nhashed + 1) * 2 > ks->nslots && grow(ks))
		return -1;
	if (put_len(&ks->arena, len) || buf_append(&ks->arena, key, len))
		return -1;
	ks->slots[find(ks, key, len, hash_fnv1a64(key, len))] =
	    (uint32_t)at + 1;
	ks->nhashed++;
	return 0;
}

/* ---- the set ---- */

/* 1 when key sorts after every sorted key (it cannot be in the set: a
 * hashed key sorted before the last sorted key when it came). */
static int after_last(const struct keyset *ks, const char *key, size_t len)
{
	return !ks->nsorted ||
	       keycmp(key, len, ks->last.data, ks->last.len) > 0;
}

int keyset_contains(const struct keyset *ks, const char *key, size_t len)
{
	/* one allocation a call, for keys out of order only */
	struct buf scratch = {0};
	int r;

	if (after_last(ks, key, len))
		return 0;
	if (hashed_contains(ks, key, len))
		return 1;
	r = sorted_contains(ks, key, len, &scratch);
	buf_release(&scratch);
	return r > 0;
}

int keyset_add(struct keyset *ks, const char *key, size_t len)
{
	/* Offsets and lengths in 32 bits: 4 GiB of keys in one shard is past
	 * what memory allows anyway. */
	if (len > UINT32_MAX / 4 ||
	    ks->sorted.len > UINT32_MAX - 2 * len - 16 ||
	    ks->arena.len > UINT32_MAX - len - 16)
		return -1;
	if (after_last(ks, key, len))
		return sorted_add(ks, key, len) ? -1 : 1;
	if (keyset_contains(ks, key, len))
		return 0;
	return hashed_add(ks, key, len) ? -1 : 1;
}

void keyset_release(struct keyset *ks)
{
	free(ks->slots);
	buf_release(&ks->arena);
	buf_release(&ks->sorted);
	buf_release(&ks->last);
	free(ks->restarts);
	memset(ks, 0, sizeof(*ks));
}
