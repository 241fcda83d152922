/* The driver shared by the per-shard commands (scan, reshard, extract,
 * verify): expand SHARD..., keep this rank's shards, skip finished outputs
 * (verify reads them instead), run the rest on -j threads with progress, name
 * every failure, print the summary and choose the exit code. */
#ifndef HY_CLI_SHARDCMD_H
#define HY_CLI_SHARDCMD_H

#include <stdio.h>

#include "stages/stage.h"
#include "opts.h"

/* How the shards of a run ended, for a command's own summary. */
struct shardcmd_tally {
	size_t shards, done, skipped, failed, stopped;
	double secs;
	int sig; /* the signal that stopped the run, or 0 */
	const struct stage_counts *total;
};

enum {
	/* -o names what the command reads, not what it writes (verify):
	 * the folder is neither created nor required to be writable, and
	 * every shard runs, its output existing or not. */
	SHARDCMD_READ_OUTPUT = 1 << 0,
};

struct shardcmd {
	const char *name;	/* command name for messages */
	const char *out_suffix; /* output of shard NAME is NAME + suffix */
	int (*run)(const struct shardcmd *c, const struct stage_ctx *ctx,
		   const char *path, const char *name,
		   struct stage_counts *counts, struct hy_err *err);
	const struct cli_opts *opts;
	const void *stage_opts; /* the stage's own options */
};

/* What a command may change in the driver (shardcmd_main_ext). A command
 * that needs state of its own in run() embeds struct shardcmd first in a
 * struct of its own and casts the pointer run() gets back. */
struct shardcmd_ext {
	unsigned flags; /* SHARDCMD_* */
	/* Prints the summary instead of the shared table; may be NULL. */
	void (*summary)(const struct shardcmd *c,
			const struct shardcmd_tally *t, FILE *out);
	/* Runs once the usage is known good and the output folder exists,
	 * before any shard; returns 0, -1 after printing why nothing can
	 * start (exit 1), or 1 after printing a failure that leaves the
	 * shards to run but the command failed (exit 2 at least). May be
	 * NULL. */
	int (*prepare)(const struct shardcmd *c);
};

/* Runs the command with the driver changed as x says (NULL: not at all).
 * Returns the process exit status: 0 all done, 1 bad usage or
 * configuration (nothing started), 2 some shards failed, 130 / 143 when
 * stopped by SIGINT / SIGTERM. */
int shardcmd_main_ext(struct shardcmd *c, const struct shardcmd_ext *x);

/* A whole per-shard command with no options of its own to check: parses
 * argv as `which` (printing usage for --help), resolves the rank and
 * runs shardcmd_main_ext on a copy of c whose opts point at the options
 * (so c must not be embedded in a larger struct that run() casts back to).
 * Returns the exit status. */
int shardcmd_cli(int argc, char **argv, unsigned which, const char *usage,
		 struct shardcmd *c, const struct shardcmd_ext *x);

#endif
