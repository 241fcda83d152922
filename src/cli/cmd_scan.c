/* hybridize scan: captions of face samples (steps 1+2 of the old pipeline). */
#include "commands.h"

#include "stages/scan.h"
#include "shardcmd.h"
#include "stagecli.h"

static const char usage[] =
    "usage: hybridize scan SHARD... -o CAPTIONS_DIR [--min-faces N] [-j N]\n"
    "\n"
    "Reads each shard once, skipping image bodies, and writes\n"
    "CAPTIONS_DIR/NAME.json = {\"KEY.json\": caption} for every sample whose\n"
    "KEY.json lists at least N face_bboxes. The caption is the JSON\n"
    "'caption' field, else the KEY.txt member.\n"
    "\n"
    "SHARD is a .tar / .tar.gz file, a directory (its *.tar, *.tar.gz,\n"
    "sorted) or a brace range such as 'src/{00000000..00001287}.tar'.\n"
    "\n"
    "  -o, --output DIR         where NAME.json files go (created)\n"
    "      --min-faces N        face boxes a sample needs (default: the value\n"
    "                           CAPTIONS_DIR/.faces.json records, else 1);\n"
    "                           recorded there for the later stages\n"
    "  -j, --jobs N             shards at once (default: SLURM_CPUS_PER_TASK,\n"
    "                           else the CPUs this process may use)\n"
    "      --rank R --world W   process shards i with i % W == R (default\n"
    "                           from SLURM_ARRAY_TASK_ID/COUNT, else\n"
    "                           SLURM_PROCID/SLURM_NTASKS, else 0/1)\n"
    "      --no-fsync           do not fsync outputs before renaming them\n"
    "      --progress-interval S  seconds between progress lines when\n"
    "                           stderr is not a terminal (default 10)\n"
    "  -q, --quiet              no progress\n"
    "\n"
    "Outputs that exist are finished work and are skipped, so re-running\n"
    "after a crash resumes. Exit status: 0 all done, 1 bad usage, 2 some\n"
    "shards or samples failed (each named on stderr), 130/143 on\n"
    "SIGINT/SIGTERM.\n";

static int run(const struct shardcmd *c, const struct stage_ctx *ctx,
	       const char *path, const char *name, struct stage_counts *counts,
	       struct hy_err *err)
{
	return scan_shard(ctx, c->stage_opts, path, name, c->opts->output,
			  counts, err);
}

/* The captions folder records the threshold (formats/facerule.h): a re-run
 * with another one would mix two sets in one folder. */
static int prepare(const struct shardcmd *c)
{
	struct scan_opts *so = (struct scan_opts *)c->stage_opts;

	return cli_face_rule("scan", c->opts->min_faces, NULL,
			     (const char *[]){c->opts->output}, 1, 1,
			     &so->min_faces);
}

int cmd_scan(int argc, char **argv)
{
	const struct shardcmd_ext x = {.prepare = prepare};
	struct scan_opts so = {0};
	struct shardcmd c = {.name = "scan",
			     .out_suffix = ".json",
			     .run = run,
			     .stage_opts = &so};

	return shardcmd_cli(argc, argv, CLI_SCAN, usage, &c, &x);
}
