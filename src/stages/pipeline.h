/* `run`: scan, prompts, generate and reshard pipelined per shard, one
 * thread a stage, joined by feeds (feed.h): shard k is resharded while
 * k+1 is generating and k+2 is being prompted. The stage files are those of
 * the separate commands (WORK_DIR/captions, prompts, edits; shards in
 * OUT_DIR), so a shard resumes at the first stage whose output is missing
 * and users can mix `run` with single stages. WORK_DIR/.hybridize/ holds
 * what `status` reads: this rank's shard list and live counters. */
#ifndef HY_PIPELINE_H
#define HY_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/workdir.h"
#include "util/err.h"
#include "stages/generate.h"
#include "stages/prompts.h"
#include "stages/scan.h"
#include "stages/stage.h"

/* In the order of the work folder's stage folders (workdir.h). */
enum pipeline_stage {
	PL_SCAN = WORKDIR_F_CAPTIONS,
	PL_PROMPTS = WORKDIR_F_PROMPTS,
	PL_GENERATE = WORKDIR_F_EDITS,
	PL_RESHARD = WORKDIR_F_OUT,
	PL_N = WORKDIR_NFOLDERS
};

struct pipeline_opts {
	const char *workdir;
	const char *outdir; /* final shards */
	struct scan_opts scan;
	const struct prompts_opts *prompts;
	const struct generate_opts *gen;
	long rank, world; /* for the status files */
	int lookahead;	  /* shards scanned ahead of the prompts stage */
};

struct pipeline_input {
	const char *path; /* the shard */
	const char *name;
	int64_t size;
};

struct pipeline_counts {
	/* per stage: shards that went through it in this run, found done
	 * (its output already there), failed */
	int64_t done[PL_N], skipped[PL_N], failed[PL_N];
	int64_t samples, faces, bytes_out; /* scan and reshard */
	/* samples scan reported and left out (unreadable KEY.json): the run
	 * did not finish them, so they make it exit 2 as scan does */
	int64_t bad_samples;
	int64_t dropped; /* left out by reshard */
	struct prompts_counts prompts;
	struct generate_counts gen;
};

/* Runs the shards in[0..n) through every stage. Failures are reported
 * through ctx->report and counted; a shard that fails a stage goes no
 * further. Returns HY_OK, HY_EFATAL, HY_ECONFIG or HY_ESTOP. */
int pipeline_run(const struct stage_ctx *ctx, const struct pipeline_opts *o,
		 const struct pipeline_input *in, size_t n,
		 struct pipeline_counts *c, FILE *summary, struct hy_err *err);

const char *pipeline_stage_name(enum pipeline_stage s);

/* Takes WORK_DIR/.hybridize/lock-RANK, so that two runs of one rank never
 * share a work folder: they would write and rename the same .part files.
 * It is an flock, which the kernel drops when the process dies (SIGKILL
 * included): a killed run never blocks the next. Returns HY_OK with *fd
 * the open lock file (close it to release; close-on-exec, so spawned
 * servers do not keep it), or with *fd = -1 and err->msg saying why when
 * the file system cannot lock (Lustre mounted without flock): the run goes
 * on unguarded rather than not at all. HY_ECONFIG when another process
 * holds it (the message names the rank and its pid); HY_EFATAL when the
 * lock file cannot be opened. */
int pipeline_lock(const char *workdir, long rank, int *fd, struct hy_err *err);

/* The stage folders under a work dir (workdir.h). */
#define PIPELINE_DIR_CAPTIONS WORKDIR_CAPTIONS
#define PIPELINE_DIR_PROMPTS  WORKDIR_PROMPTS
#define PIPELINE_DIR_EDITS    WORKDIR_EDITS
#define PIPELINE_DIR_SHARDS   WORKDIR_SHARDS
#define PIPELINE_DIR_STATE    WORKDIR_STATE

#endif
