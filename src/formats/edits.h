/* The edits of one shard: files EDITS_DIR/NAME/KEY.EXT (keys may have
 * sub-folders) that replace or add member KEY.EXT when the shard is
 * resharded. Files whose name starts with '.' are in-progress temporaries of
 * the writer and are ignored. */
#ifndef HY_EDITS_H
#define HY_EDITS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strpool.h"

/* 24 bytes an edit, its path (KEY.EXT and a NUL) in the list's strpool. */
struct edit {
	const char *relpath; /* KEY.EXT relative to the shard's edits folder */
	const char *ext;
	uint32_t key_len;      /* key = relpath[0..key_len) */
	unsigned char used;    /* its key was found in the shard */
	unsigned char applied; /* it replaced or was added as a member */
};

struct edits {
	char *dir;	/* EDITS_DIR/NAME */
	int dirfd;	/* the folder listed, open when n > 0 */
	struct edit *v; /* sorted by key, then ext */
	size_t n;
	struct strpool paths; /* the edits' relpaths */
};

/* Lists edits_dir/name. A missing folder means no edits (n = 0). Returns
 * HY_OK or HY_ESHARD (unreadable folder). */
int edits_load(struct edits *e, const char *edits_dir, const char *name,
	       struct hy_err *err);

/* Finds the edits of one key: sets *first and returns how many there are
 * (consecutive in e->v, sorted by ext). */
size_t edits_find(const struct edits *e, const char *key, size_t key_len,
		  size_t *first);

/* Opens edit `ed` for reading, relative to the folder that was listed (no
 * path walk per file, and a folder renamed in the meantime cannot mix two
 * listings). Returns the descriptor, or -1 with errno. */
int edits_open(const struct edits *e, const struct edit *ed);

void edits_release(struct edits *e);

#endif
