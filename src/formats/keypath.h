/* How a sample key becomes a path: the one rule for every place that
 * writes or looks up KEY.EXT under a folder (the edits of generate, which
 * reshard and verify read back). Keys come from tar member names, which a
 * hostile or careless shard fills with anything. */
#ifndef HY_KEYPATH_H
#define HY_KEYPATH_H

#include <stddef.h>

/* One path component of a key, without ".EXT": NAME_MAX (255) less room
 * for the longest extension and outfile's temporary suffix. */
#define KEYPATH_MAX_NAME 200
/* A whole key: the edits folder's own path must fit beside it in
 * PATH_MAX (4096). */
#define KEYPATH_MAX 1024

/* 0 when key (len bytes, its "./" prefixes already skipped: see
 * shard_key_skip) names files KEY.EXT inside a folder and nowhere else;
 * -1 otherwise, with the reason in why (why_len bytes): absolute, a ".."
 * component, a component that is empty or starts with '.' (the edits index
 * leaves dot files aside, so such an edit would never be found), a NUL, or
 * too long. */
int keypath_check(const char *key, size_t len, char *why, size_t why_len);

#endif
