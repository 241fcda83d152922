/* Stage `scan` (steps 1+2 of the old pipeline): one streaming pass over a
 * shard that writes the captions of its face samples. Image bodies are
 * skipped, never read. */
#ifndef HY_SCAN_H
#define HY_SCAN_H

#include "util/err.h"
#include "stages/stage.h"

struct scan_opts {
	long min_faces; /* keep samples with at least this many boxes */
};

/* Writes outdir/NAME.json = {"KEY.json": caption} for every sample of the
 * shard at `path` with >= min_faces face boxes; the caption comes from the
 * JSON `caption` field, else from the KEY.txt member. A sample with bad
 * JSON is reported through ctx->report and left out. Returns HY_OK,
 * HY_ESHARD (no output written), HY_EFATAL or HY_ESTOP. */
int scan_shard(const struct stage_ctx *ctx, const struct scan_opts *o,
	       const char *path, const char *name, const char *outdir,
	       struct stage_counts *counts, struct hy_err *err);

#endif
