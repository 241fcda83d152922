/* Stage `reshard` (step 5 of the old pipeline): streams a shard into a new
 * tar, member by member in the same order, replacing or adding the members
 * that have an edit. Never holds a shard in memory. */
#ifndef HY_RESHARD_H
#define HY_RESHARD_H

#include "util/err.h"
#include "stages/stage.h"

struct reshard_opts {
	const char *edits_dir; /* EDITS_DIR; its NAME/ sub-folder is used */
};

/* Writes outdir/NAME.tar. Members without an edit are copied byte for byte
 * (the headers are rewritten as ustar, or pax where a name does not fit);
 * EDITS_DIR/NAME/KEY.EXT replaces member KEY.EXT, or is added at the end of
 * sample KEY when the sample has no such member. An edit whose key the
 * shard lacks fails the shard (named, not silently dropped). Returns HY_OK,
 * HY_ESHARD (no output written), HY_EFATAL or HY_ESTOP. */
int reshard_shard(const struct stage_ctx *ctx, const struct reshard_opts *o,
		  const char *path, const char *name, const char *outdir,
		  struct stage_counts *counts, struct hy_err *err);

#endif
