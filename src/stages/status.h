/* `status`: where a WORK_DIR stands, read from the stage files themselves
 * (so it works for folders made by `run` and by the separate commands) and
 * from the progress files of `run` (WORK_DIR/.hybridize/progress-R.json,
 * for which ranks are live, their rates and the ETA). Reads only names and
 * small JSON files: no shard or image is opened, so it stays fast for
 * thousands of shards. The library gathers; the CLI prints. */
#ifndef HY_STATUS_H
#define HY_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"
#include "stages/pipeline.h"

/* A rank whose progress file is older than this (and not finished) is
 * taken for dead: `run` rewrites it every 2 s. */
#define STATUS_LIVE_SECS 30

/* Where a shard stands in one stage. */
enum status_state {
	STATUS_NOT_STARTED,
	STATUS_IN_PROGRESS,
	STATUS_FAILED,
	STATUS_DONE,
	STATUS_NSTATES
};

enum status_rank_state {
	STATUS_RANK_LIVE,     /* updated within STATUS_LIVE_SECS */
	STATUS_RANK_FINISHED, /* its run ended (with or without failures) */
	STATUS_RANK_STALE,    /* killed or lost: not updated, not finished */
};

struct status_shard {
	char *name;
	char *path; /* from shards.json; NULL without it */
	long owner; /* array index / rank: position % world; -1 unknown */
	/* The stage a run would do next: the one after the last stage whose
	 * output is there (a run skips to it); PL_N when the final shard is
	 * there. Stages before it count as done. */
	int stage;
	enum status_state state; /* of `stage` */
	/* Entries of captions/NAME.json and prompts/NAME.json; fates of
	 * edits/NAME/.generate.json by enum fate; -1 where the file is not
	 * there (or unreadable: see warnings). */
	int64_t faces, prompts, fates[4];
	/* In progress (prompts: journal lines; generate: KEY.json files in
	 * edits/.NAME.part/): samples finished, and of how many (the face
	 * samples of captions/NAME.json; -1 when unknown). */
	int64_t part_done, part_of;
	/* The failure line naming this shard, when failed (points into a
	 * status_rank's failures), or NULL (failed for being left in progress
	 * by a run that is gone). */
	const char *failure;
	unsigned seen; /* internal: which stage files are there */
};

struct status_rank {
	char *file; /* progress-R.json */
	long rank, world, pid;
	char *host;
	int64_t started, updated; /* epoch seconds */
	double elapsed;		  /* seconds, as the run last wrote */
	int finished;
	enum status_rank_state state;
	int64_t shards; /* this rank's share */
	/* Final shards of this rank present (from the files when
	 * shards.json has the same world; else done + found done of the
	 * progress file). */
	int64_t shards_done;
	int64_t done[PL_N], skipped[PL_N], failed[PL_N]; /* this run */
	int64_t samples, faces, failed_samples, bytes_out;
	int64_t bad_samples;	/* left out by scan: unreadable KEY.json */
	double shards_per_hour; /* shards resharded in this run / elapsed */
	double eta;		/* seconds to its last shard; < 0 unknown */
	char **failures;	/* recent failure lines, oldest first */
	size_t nfailures;
};

struct status_report {
	char *workdir, *outdir;
	int have_list; /* WORK_DIR/.hybridize/shards.json was read */
	long world;    /* of shards.json; 0 without it */
	time_t now;

	struct status_shard *shards; /* shards.json order, else by name */
	size_t nshards;
	size_t unlisted; /* stage outputs of shards not in shards.json */

	/* Per stage, shards by state. */
	int64_t stages[PL_N][STATUS_NSTATES];
	/* Of stages[s][STATUS_FAILED]: shards the progress files count as
	 * failed but whose failure line is no longer among their recent ones
	 * (not named in the shard list). */
	int64_t failed_unnamed[PL_N];

	/* Totals over the stage files present. */
	int64_t faces, prompts, no_prompt; /* no_prompt: faces of shards
					      with prompts, minus prompts */
	int64_t fates[4];		   /* by enum fate */
	int64_t part_done; /* samples inside in-progress shards */

	struct status_rank *ranks; /* sorted by rank */
	size_t nranks, live;
	double shards_per_hour; /* all live ranks together */
	int64_t missing; /* shards without their final OUT_DIR/NAME.tar */
	double eta;	 /* seconds; < 0 unknown (no live rate) */
	/* SLURM array indices with a shard missing, compressed ("0-3,7");
	 * "" when none; NULL without shards.json. */
	char *array;

	char **warnings; /* unreadable stage or progress files */
	size_t nwarnings;
};

/* Gathers the report of workdir (final shards in outdir; NULL: WORK_DIR/
 * shards) as of `now` (epoch seconds; 0 = the clock). Files that cannot be
 * read are listed in r->warnings and the report goes on. Returns HY_OK, or
 * HY_EFATAL naming workdir when it cannot be read or holds none of the
 * stage folders. r is zeroed first; release it in either case. */
int status_gather(struct status_report *r, const char *workdir,
		  const char *outdir, time_t now, struct hy_err *err);

void status_release(struct status_report *r);

/* "live", "finished", "stale". */
const char *status_rank_state_name(enum status_rank_state s);

/* Compresses the sorted, distinct values v[0..n) into "0-3,7,9-12" (the
 * syntax of sbatch --array). Returns a malloc'd string ("" when n is 0),
 * or NULL on ENOMEM. */
char *status_ranges(const long *v, size_t n);

#endif
