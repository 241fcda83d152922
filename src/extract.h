/* Stage `extract` (step 1 of the old pipeline, for those who want folders):
 * unpacks a shard into DIR/NAME/. */
#ifndef HY_EXTRACT_H
#define HY_EXTRACT_H

#include "err.h"
#include "stage.h"

/* Unpacks the shard at `path` into outdir/.NAME.part/, then renames that
 * folder to outdir/NAME, so NAME exists only when complete. Member paths
 * that are absolute or climb out with ".." are refused, naming them, and
 * fail the shard (nothing is left behind). Returns HY_OK, HY_ESHARD,
 * HY_EFATAL or HY_ESTOP. */
int extract_shard(const struct stage_ctx *ctx, const char *path,
		  const char *name, const char *outdir,
		  struct stage_counts *counts, struct hy_err *err);

/* 1 when a member path is absolute or has a ".." component. */
int extract_path_unsafe(const char *p);

#endif
