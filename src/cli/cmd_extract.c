/* hybridize extract: shards to folders, as step 1 of the old pipeline did. */
#include "commands.h"

#include "stages/extract.h"
#include "shardcmd.h"

static const char usage[] =
    "usage: hybridize extract SHARD... -o DIR [-j N]\n"
    "\n"
    "Unpacks each shard into DIR/NAME/ (NAME appears only when complete).\n"
    "Refused, named, and failing that shard (nothing is left for it):\n"
    "member paths that are absolute or climb out with '..'; hard links to\n"
    "such paths; symbolic links whose target is absolute, climbs with '..'\n"
    "above DIR/NAME, or has a '..' after a name; devices, FIFOs and other\n"
    "special members. Modes lose setuid, setgid and sticky bits, also as\n"
    "root. Prefer 'scan' and 'reshard', which never unpack.\n"
    "\n"
    "  -o, --output DIR         where NAME/ folders go (created)\n"
    "  -j, --jobs N             shards at once (default: the CPUs available)\n"
    "      --rank R --world W   process shards i with i % W == R\n"
    "      --progress-interval S  seconds between progress lines\n"
    "  -q, --quiet              no progress\n"
    "\n"
    "Exit status: 0 all done, 1 bad usage, 2 some shards failed, 130/143\n"
    "on SIGINT/SIGTERM.\n";

static int run(const struct shardcmd *c, const struct stage_ctx *ctx,
	       const char *path, const char *name, struct stage_counts *counts,
	       struct hy_err *err)
{
	return extract_shard(ctx, path, name, c->opts->output, counts, err);
}

int cmd_extract(int argc, char **argv)
{
	struct shardcmd c = {.name = "extract", .out_suffix = "", .run = run};

	return shardcmd_cli(argc, argv, CLI_EXTRACT, usage, &c, NULL);
}
