/* hybridize reshard: write the final shards with edits applied (step 5). */
#include "commands.h"

#include "stages/reshard.h"
#include "shardcmd.h"

static const char usage[] =
    "usage: hybridize reshard SHARD... -e EDITS_DIR -o OUT_DIR [-j N]\n"
    "\n"
    "Streams each shard into OUT_DIR/NAME.tar: every member in the same\n"
    "order with the same name and bytes, except that a file\n"
    "EDITS_DIR/NAME/KEY.EXT replaces member KEY.EXT (or is added to sample\n"
    "KEY when it has no such member). A missing EDITS_DIR/NAME means no\n"
    "edits: the shard is copied. An edit whose key the shard lacks fails\n"
    "that shard. Output is ustar, or pax where a name does not fit.\n"
    "\n"
    "  -e, --edits DIR          the edits folder (optional: none = copy)\n"
    "  -o, --output DIR         where NAME.tar files go (created)\n"
    "  -j, --jobs N             shards at once (default: SLURM_CPUS_PER_TASK,\n"
    "                           else the CPUs this process may use)\n"
    "      --rank R --world W   process shards i with i % W == R (default\n"
    "                           from SLURM, else 0/1)\n"
    "      --no-fsync           do not fsync outputs before renaming them\n"
    "      --progress-interval S  seconds between progress lines when\n"
    "                           stderr is not a terminal (default 10)\n"
    "  -q, --quiet              no progress\n"
    "\n"
    "Outputs that exist are skipped, so re-running resumes. Exit status:\n"
    "0 all done, 1 bad usage, 2 some shards failed, 130/143 on signals.\n";

static int run(const struct shardcmd *c, const struct stage_ctx *ctx,
	       const char *path, const char *name, struct stage_counts *counts,
	       struct hy_err *err)
{
	const struct reshard_opts ro = {.edits_dir = c->opts->edits};

	return reshard_shard(ctx, &ro, path, name, c->opts->output, counts,
			     err);
}

int cmd_reshard(int argc, char **argv)
{
	struct shardcmd c = {
	    .name = "reshard", .out_suffix = ".tar", .run = run};

	return shardcmd_cli(argc, argv, CLI_RESHARD, usage, &c, NULL);
}
