/* What every per-shard stage (scan, reshard, extract) gets from its caller
 * and gives back: where to report sample-level problems, live progress, the
 * stop flag, and the shard's counts. */
#ifndef HY_STAGE_H
#define HY_STAGE_H

#include <stdatomic.h>
#include <stdint.h>

#include "util/err.h"

struct progress;

struct stage_ctx {
	struct hy_reporter report; /* sample-level problems */
	struct progress *progress; /* live counters; may be NULL */
	const atomic_int *stop;	   /* set by SIGTERM/SIGINT; may be NULL */
	int fsync;		   /* fsync outputs before renaming them */
};

struct stage_counts {
	int64_t samples;       /* samples read (keys with data members) */
	int64_t faces;	       /* samples with >= min-faces boxes (scan) */
	int64_t sample_errors; /* samples reported and skipped */
	int64_t edited;	       /* members replaced or added (reshard) */
	int64_t dropped;       /* samples left out by policy (reshard) */
	int64_t bytes_out;     /* bytes written */
};

static inline int stage_stopped(const struct stage_ctx *c)
{
	return c->stop && atomic_load_explicit(c->stop, memory_order_relaxed);
}

#endif
