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
	OPT_LLM = 1 << 8,    /* endpoints, model, API, retries... */
	OPT_LANG = 1 << 9,   /* --lang, --min-lang-score, --lang-model */
	OPT_IMAGE = 1 << 10, /* generate: image servers and image options */
	OPT_SPAWN = 1 << 11, /* --spawn, --gpus, --spawn-timeout */
	OPT_RUN = 1 << 12,   /* -w, --llm-spawn, --image-spawn (+ --gpus...) */
	OPT_JSON = 1 << 13,  /* --json FILE: a report for scripts (verify) */
	/* status: --json as a flag (the report on stdout), --missing */
	OPT_STATUS = 1 << 14,
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
	int think; /* ollama: let a thinking model think */
	const char *api_key_env;
	const char *system_prompt; /* a file */
	double temperature;	   /* < 0: the server's */
	long seed;		   /* < 0: per caption */
	long max_tokens;
	long retries;
	double server_patience; /* seconds all servers may be down */
	long endpoint_limit;	/* requests in flight per server; 0: learned */
	int no_copies;		/* --no-copies */
	const char *decline_regex;
	const char *lang;
	double min_lang_score;
	const char *lang_model;

	/* generate */
	const char *prompts;	      /* -p PROMPTS_DIR */
	const char **image_endpoints; /* --image-endpoint, repeatable */
	size_t nimage_endpoints;
	const char *image_api;
	const char *image_model;
	const char *image_auth_env; /* NAME of "user:password" (HTTP Basic) */
	long image_threads;	    /* 0: 2 per endpoint */
	double image_timeout;
	long steps;	  /* 0: the server's */
	double cfg_scale; /* < 0: the server's */
	const char *sampler;
	const char *negative_prompt;
	const char *size; /* "WxH" or "original" */
	long max_side;
	int resize; /* --resize: back to the original sample's size */
	long quality;
	const char *leftover; /* keep, blur, drop */
	const char *llm_model;

	/* servers started by us */
	const char *spawn; /* command with {port} and {gpu} */
	long gpus;	   /* 0: from the environment */
	double spawn_timeout;

	/* run */
	const char *workdir;
	const char *llm_spawn, *image_spawn;

	const char *json; /* --json FILE; "-" for the --json flag (status) */
	int missing;	  /* status --missing */
};

/* Parses argv[1..] (argv[0] is the command name). Prints the problem and
 * returns -1 on bad usage; returns 1 after printing `usage` for --help. */
int cli_parse(int argc, char **argv, unsigned accepted, const char *usage,
	      struct cli_opts *o);

/* Fills rank/world from SLURM (array task, else srun task) when not given,
 * and jobs from SLURM_CPUS_PER_TASK when -j is not: every SLURM variable is
 * read here, before anything starts. Returns -1 after printing the problem
 * (a variable that is not a number, a rank not below the world). */
int cli_resolve_rank(struct cli_opts *o);

/* Worker threads: -j, else SLURM_CPUS_PER_TASK (both in o->jobs after
 * cli_resolve_rank), else the affinity mask. */
int cli_jobs(const struct cli_opts *o);

void cli_free(struct cli_opts *o);

#endif
