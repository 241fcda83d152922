/* The work folder of `run` and the stage commands (-w WORK_DIR): the names
 * of its folders and of the entries in them, which entries are work in
 * progress, and the two files of WORK_DIR/.hybridize/ that `run` writes
 * and `status` reads: shards.json (every rank's shard list and the split)
 * and progress-R.json (rank R's counters). Each file has this one writer
 * and this one reader. */
#ifndef HY_WORKDIR_H
#define HY_WORKDIR_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define WORKDIR_CAPTIONS   "captions" /* scan: NAME.json */
#define WORKDIR_PROMPTS	   "prompts"  /* prompts: NAME.json */
#define WORKDIR_EDITS	   "edits"    /* generate: NAME/ */
#define WORKDIR_SHARDS	   "shards"   /* reshard: NAME.tar (default -o) */
#define WORKDIR_STATE	   ".hybridize"
#define WORKDIR_SHARD_LIST "shards.json" /* in WORKDIR_STATE */

/* The stage folders in pipeline order (enum pipeline_stage follows it):
 * each stage's output folder. */
enum workdir_folder {
	WORKDIR_F_CAPTIONS,
	WORKDIR_F_PROMPTS,
	WORKDIR_F_EDITS,
	WORKDIR_F_OUT,
	WORKDIR_NFOLDERS
};

/* "scan", "prompts", "generate", "reshard": the stage writing folder f,
 * as the progress files name it. */
const char *workdir_stage_name(enum workdir_folder f);

/* What an entry of a stage folder is. */
enum workdir_kind {
	WORKDIR_OUTPUT,	 /* NAME.json, NAME/, NAME.tar: finished */
	WORKDIR_PART,	 /* being written: .NAME.json.part, .NAME.tar.part
			    (outfile.h), .NAME.part/ (generate) */
	WORKDIR_JOURNAL, /* prompts/.NAME.journal: answers so far
			    (journal.h) */
};

/* How entries are named: PREFIX NAME SUFFIX, a file or a folder. */
struct workdir_name {
	const char *prefix, *suffix;
	int is_dir;
	enum workdir_kind kind;
};

/* The entry names of folder f, ending with one whose prefix is NULL. */
const struct workdir_name *workdir_names(enum workdir_folder f);

/* The length of the shard name in entry (it starts at entry +
 * strlen(n->prefix)) when n names entry (its type aside), else 0. A name
 * starting with '.' is no shard's. */
size_t workdir_match(const struct workdir_name *n, const char *entry);

/* dir/PREFIX NAME SUFFIX, malloc'd, or NULL on ENOMEM. */
char *workdir_path(const char *dir, const struct workdir_name *n,
		   const char *name);

/* --- WORK_DIR/.hybridize/shards.json ---------------------------------- */

struct workdir_shard {
	char *name;
	char *path; /* read: NULL when the file has none */
};

struct workdir_list {
	long world;
	struct workdir_shard *v;
	size_t n;
};

/* Writes the list of all ranks' shards v[0..n) (shard i belongs to rank
 * i % world), creating WORK_DIR/.hybridize. Every rank writes the same
 * list, each under a temporary name of its own (outfile_open_shared).
 * HY_OK or HY_EFATAL. */
int workdir_list_write(const char *workdir, long world,
		       const struct workdir_shard *v, size_t n,
		       struct hy_err *err);

/* Reads it, in file into l (file: the caller's reusable buffer). Entries
 * without a name are skipped. HY_OK; 1 when there is none; HY_ESHARD with
 * err saying what is wrong (unreadable, not JSON, no "world" >= 1 and
 * "shards" list); HY_EFATAL on ENOMEM. */
int workdir_list_load(struct workdir_list *l, const char *workdir,
		      struct buf *file, struct hy_err *err);
void workdir_list_release(struct workdir_list *l);

/* --- WORK_DIR/.hybridize/progress-R.json ------------------------------ */

/* What rank R of a run has done: rewritten every few seconds and at the
 * end. Counts of a field the file lacks read as 0. */
struct workdir_progress {
	long rank, world, pid;
	int64_t started, updated; /* epoch seconds */
	double elapsed;		  /* seconds */
	int finished;
	int64_t shards; /* this rank's share */
	char *host;	/* read: never NULL ("" when not said) */
	/* per stage (folder order): shards done, found done, failed */
	int64_t done[WORKDIR_NFOLDERS], skipped[WORKDIR_NFOLDERS],
	    failed[WORKDIR_NFOLDERS];
	int64_t samples, faces, prompts, declined, other_lang, images, blurred,
	    dropped, kept, failed_samples, bad_samples, bytes_out;
	char **failures; /* recent failure lines, oldest first */
	size_t nfailures;
};

/* 1 when leaf (an entry of .hybridize) is a progress file. */
int workdir_is_progress(const char *leaf);

/* Writes WORK_DIR/.hybridize/progress-RANK.json (the folder exists)
 * atomically: workdir_progress_text, then workdir_progress_put. HY_OK or
 * HY_EFATAL. */
int workdir_progress_write(const char *workdir,
			   const struct workdir_progress *p,
			   struct hy_err *err);
/* The two steps apart, for a writer that snapshots its counters under a
 * lock and writes after: appends the file's text to out (0, or -1 on
 * ENOMEM), and puts text in place as rank's file. */
int workdir_progress_text(struct buf *out, const struct workdir_progress *p);
int workdir_progress_put(const char *workdir, long rank, const struct buf *text,
			 struct hy_err *err);

/* Reads path (a progress file) into p, with file as scratch. HY_OK; 1 when
 * it is not there; HY_ESHARD with err saying what is wrong (unreadable,
 * not JSON, not a JSON object); HY_EFATAL on ENOMEM. */
int workdir_progress_load(struct workdir_progress *p, const char *path,
			  struct buf *file, struct hy_err *err);
void workdir_progress_release(struct workdir_progress *p);

#endif
