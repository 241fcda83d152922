/* The one option parser every command shares, so an option means the same
 * thing everywhere; each command says which options it takes. */
#ifndef HY_CLI_OPTS_H
#define HY_CLI_OPTS_H

#include <stddef.h>

enum {
	OPT_OUTPUT = 1 << 0,
	OPT_EDITS = 1 << 1,
	OPT_JOBS = 1 << 2,
	OPT_MIN_FACES = 1 << 3,
	OPT_RANK = 1 << 4, /* --rank and --world */
	OPT_FSYNC = 1 << 5,
	OPT_PROGRESS = 1 << 6, /* --progress-interval, --quiet */
	OPT_INPUT = 1 << 7,
	OPT_LLM = 1 << 8,  /* endpoints, model, API, retries... */
	OPT_LANG = 1 << 9, /* --lang, --min-lang-score, --lang-model */
};

struct cli_opts {
	const char *output;
	const char *edits;
	long jobs; /* 0 = default */
	long min_faces;
	long rank, world;	 /* -1 = from the environment */
	const char *rank_source; /* where rank/world came from, for messages */
	int no_fsync;
	int quiet;
	double progress_interval;
	const char **args; /* positional arguments */
	size_t nargs;

	/* prompts */
	const char *input;
	const char *ports, *host;
	const char **endpoints; /* --endpoint, repeatable */
	size_t nendpoints;
	const char *model_name;
	long num_threads;
	double timeout;
	const char *api;
	int chat;
	const char *api_key_env;
	const char *system_prompt; /* a file */
	double temperature;	   /* < 0: the server's */
	long seed;		   /* < 0: per caption */
	long max_tokens;
	long retries;
	const char *decline_regex;
	const char *lang;
	double min_lang_score;
	const char *lang_model;
};

/* Parses argv[1..] (argv[0] is the command name). Prints the problem and
 * returns -1 on bad usage; returns 1 after printing `usage` for --help. */
int cli_parse(int argc, char **argv, unsigned accepted, const char *usage,
	      struct cli_opts *o);

/* Fills rank/world from SLURM (array task, else srun task) when not given.
 * Returns -1 after printing the problem. */
int cli_resolve_rank(struct cli_opts *o);

/* Worker threads: -j, else SLURM_CPUS_PER_TASK, else the affinity mask. */
int cli_jobs(const struct cli_opts *o);

void cli_free(struct cli_opts *o);

#endif
