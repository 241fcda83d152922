/* Stage `generate` (step 4 of the old pipeline): a synthetic image for
 * every prompt, from text-to-image servers kept busy by one event loop,
 * with image checks and encoding on worker threads; and the leftover
 * policy for face samples that get no synthetic image. A shard's edits are
 * written into EDITS_DIR/.NAME.part/ (resumable sample by sample) and
 * renamed to EDITS_DIR/NAME/ when complete, with .generate.json (fates.h)
 * recording what became of each face sample. */
#ifndef HY_GENERATE_H
#define HY_GENERATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/feed.h"
#include "net/imgapi.h"
#include "net/pool.h"
#include "stages/stage.h"

enum leftover { LEFTOVER_KEEP, LEFTOVER_BLUR, LEFTOVER_DROP };

struct generate_opts {
	int api_none; /* no image server: every face sample is a leftover */
	struct imgapi_opts api;
	const char *generator; /* "a1111", "openai": for the metadata */
	struct pool_opts pool;
	const char *const *urls;
	size_t nurls;
	long seed;	    /* >= 0: for every image; < 0: per sample */
	int size_w, size_h; /* 0: from the original's aspect (max_side) */
	int max_side;
	int resize;  /* resample to the original image's size */
	int quality; /* JPEG / WebP */
	enum leftover leftover;
	long min_faces; /* what makes a face sample (as scan) */
	const char *llm_model;
	int threads; /* workers for shard reading and images */
};

struct generate_input {
	const char *shard;   /* path */
	const char *name;    /* NAME */
	const char *prompts; /* PROMPTS_DIR/NAME.json, or NULL for none */
};

struct generate_counts {
	int64_t shards_done, shards_failed;
	int64_t samples; /* samples read */
	int64_t faces;	 /* face samples (or samples with a prompt) */
	int64_t images;	 /* synthetic images made in this run */
	int64_t resumed; /* synthetic images found from an earlier run */
	int64_t blurred, dropped, kept;
	int64_t rejected; /* refused by the server for good: leftovers */
	int64_t failed;	  /* retries spent: left for the next run */
	long retries;
	long copies, copies_won; /* sent to idle servers at the end */
};

/* Processes in[0..n) into outdir. A shard whose samples all settled gets
 * outdir/NAME/; one with failed samples is reported and keeps its
 * .NAME.part/ for the next run. Per-endpoint figures go to `summary` (may
 * be NULL). Returns HY_OK (failures in counts), HY_EFATAL, HY_ECONFIG
 * (every server refuses us) or HY_ESTOP.
 * link is NULL for the `generate` command, which takes all of in[]; in a
 * pipeline (`run`) shards come from link->in as indexes into in[], and
 * link->done is told of each as it leaves. */
int generate_run_fed(const struct stage_ctx *ctx, const struct generate_opts *o,
		     const struct generate_input *in, size_t n,
		     const struct stage_link *link, const char *outdir,
		     struct generate_counts *counts, FILE *summary,
		     struct hy_err *err);

/* The seed of a sample when none is fixed: FNV-1a (32 bits) of its key,
 * kept to 31 bits (servers take a signed int). */
unsigned long generate_seed(const char *key, size_t len);

/* The size asked of the server for an original of ow x oh (0: unknown):
 * the aspect kept, the longer side max_side, both rounded to multiples of
 * 64 (at least 64). */
void generate_size(int ow, int oh, int max_side, int *w, int *h);

#endif
