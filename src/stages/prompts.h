/* Stage `prompts` (step 3 of the old pipeline): keeps the captions in the
 * wanted language and has an LLM rewrite each into a de-identified
 * text-to-image prompt, over every endpoint at once, resumable from a
 * per-shard journal. */
#ifndef HY_PROMPTS_H
#define HY_PROMPTS_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/feed.h"
#include "net/llm.h"
#include "net/pool.h"
#include "stages/stage.h"

struct langid;

struct prompts_opts {
	struct langid *lid;	  /* NULL: no language filter */
	const char *const *langs; /* wanted labels, e.g. {"en"} */
	size_t nlangs;
	float min_lang_score; /* 0: the top label is enough */
	int api_none;	      /* no LLM: the prompt is the caption */
	struct llm_opts llm;
	struct pool_opts pool;
	const char *const *urls; /* endpoint base URLs */
	size_t nurls;
	const regex_t *decline;	 /* answers that count as declined */
	const char *decline_src; /* its text, for the journal tag */
	long seed;		 /* >= 0: for every request; < 0: derived
				    from the caption (see prompts_seed) */
	size_t dedupe_cap;	 /* finished answers kept for reuse */
};

struct prompts_input {
	const char *path; /* CAPTIONS_DIR/NAME.json */
	const char *name; /* NAME */
	int64_t size;
};

struct prompts_counts {
	int64_t shards_done, shards_failed;
	int64_t samples;    /* captions read */
	int64_t other_lang; /* left out by the language filter, or empty */
	int64_t requests;   /* distinct captions sent to the LLM (sent, not
			       queued; retries not counted) */
	int64_t reused;	    /* answers reused for identical captions
			       (answered, not waiting) */
	int64_t resumed;    /* answers taken from a journal */
	int64_t ok, declined, failed;
	long retries;
	long copies, copies_won; /* sent to idle servers at the end */
};

/* Processes the caption files in[0..n) and writes outdir/NAME.json for
 * each whose samples all got an answer (declined ones are reported and
 * left out). A shard with samples that failed for good (retries spent) is
 * reported and gets no output; its journal keeps the finished answers for
 * the next run. Per-endpoint figures are printed to `summary` at the end
 * (may be NULL). Returns HY_OK (see counts for failures), HY_EFATAL,
 * HY_ESTOP, or HY_ECONFIG when the servers refuse us (key, model) or
 * answer in another API's format (err says which --api to use).
 * link is NULL for the `prompts` command, which takes all of in[]; in a
 * pipeline (`run`) the files come from link->in as indexes into in[], and
 * link->done is told of each as it leaves. */
int prompts_run_fed(const struct stage_ctx *ctx, const struct prompts_opts *o,
		    const struct prompts_input *in, size_t n,
		    const struct stage_link *link, const char *outdir,
		    struct prompts_counts *counts, FILE *summary,
		    struct hy_err *err);

/* The seed used for a caption when none is fixed: FNV-1a (32 bits) of its
 * UTF-8 bytes, so identical captions get identical requests. */
unsigned long prompts_seed(const char *text, size_t len);

#endif
