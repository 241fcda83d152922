/* The driver shared by the per-shard commands (scan, reshard, extract):
 * expand SHARD..., keep this rank's shards, skip finished outputs, run the
 * rest on -j threads with progress, name every failure, print the summary
 * and choose the exit code. */
#ifndef HY_CLI_SHARDCMD_H
#define HY_CLI_SHARDCMD_H

#include <stdio.h>

#include "../stage.h"
#include "opts.h"

struct shardcmd {
	const char *name;	/* command name for messages */
	const char *out_suffix; /* output of shard NAME is NAME + suffix */
	int (*run)(const struct shardcmd *c, const struct stage_ctx *ctx,
		   const char *path, const char *name,
		   struct stage_counts *counts, struct hy_err *err);
	const struct cli_opts *opts;
	const void *stage_opts; /* the stage's own options */
};

/* Returns the process exit status: 0 all done, 1 bad usage or
 * configuration (nothing started), 2 some shards failed, 130 / 143 when
 * stopped by SIGINT / SIGTERM. */
int shardcmd_main(struct shardcmd *c);

#endif
