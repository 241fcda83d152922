/* hybridize: the command table and the process edge (locale, stdout). */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tar/shard.h"
#include "commands.h"

#define HY_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
    {"scan", cmd_scan, "captions of face samples (reads shards, no untar)"},
    {"prompts", cmd_prompts,
     "English filter and LLM rewrite of captions into prompts"},
    {"generate", cmd_generate,
     "synthetic images for the prompts; blur or drop the rest"},
    {"reshard", cmd_reshard, "write final shards with edits applied"},
    {"run", cmd_run, "every stage, pipelined per shard, resumable"},
    {"status", cmd_status, "where a work dir stands; what is left to run"},
    {"verify", cmd_verify, "check final shards, edits and privacy"},
    {"extract", cmd_extract, "unpack shards into folders (old step 1)"},
};

static void usage(FILE *f)
{
	fputs(
	    "usage: hybridize COMMAND [options]   (hybridize COMMAND --help)\n"
	    "\n"
	    "Turns WebDataset tar shards (DataComp / img2dataset layout) into "
	    "a\n"
	    "hybrid dataset. Commands:\n",
	    f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
	fputs("\nEnvironment:\n"
	      "  HYBRIDIZE_TAR_READER=libarchive  read every tar header with "
	      "libarchive\n"
	      "                       (default: plain ustar headers by our own "
	      "faster code)\n",
	      f);
}

int main(int argc, char **argv)
{
	int rc;

	/* Member names reach us as UTF-8 (pax) or raw bytes (ustar/GNU): a
	 * UTF-8 locale makes libarchive hand both over unchanged. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	/* Past a file-size limit (ulimit -f) write(2) must fail with EFBIG,
	 * which names the file, rather than SIGXFSZ kill us with temporaries
	 * left behind. Servers we spawn get the default back (spawn.c). */
	signal(SIGXFSZ, SIG_IGN);
	const char *reader = getenv("HYBRIDIZE_TAR_READER");
	if (reader && !strcmp(reader, "libarchive"))
		shard_use_libarchive(1);
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("hybridize %s\n", HY_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		rc = commands[i].fn(argc - 1, argv + 1);
		/* A full disk can surface only when stdout is closed. */
		if (fclose(stdout) != 0) {
			perror("hybridize: cannot write standard output");
			return rc ? rc : 2;
		}
		return rc;
	}
	fprintf(stderr, "hybridize: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 1;
}
