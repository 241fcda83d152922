/* The one option parser every command shares, so an option means the same
 * thing everywhere; each command says which options it takes. */
#ifndef HY_CLI_OPTS_H
#define HY_CLI_OPTS_H

#include <stddef.h>

/* The commands, as the option table names those that take an option. */
enum {
	CLI_SCAN = 1 << 0,
	CLI_RESHARD = 1 << 1,
	CLI_EXTRACT = 1 << 2,
	CLI_PROMPTS = 1 << 3,
	CLI_GENERATE = 1 << 4,
	CLI_RUN = 1 << 5,
	CLI_STATUS = 1 << 6,
	CLI_VERIFY = 1 << 7,
};

/* --api: the index of the value in cli_llm_apis. */
enum cli_llm_api { CLI_LLM_OLLAMA, CLI_LLM_OPENAI, CLI_LLM_NONE };
extern const char *const cli_llm_apis[];

/* --image-api: the index of the value in cli_image_apis. */
enum cli_image_api {
	CLI_IMAGE_A1111,
	CLI_IMAGE_OPENAI,
	CLI_IMAGE_SDCPP,
	CLI_IMAGE_NONE
};
extern const char *const cli_image_apis[];

/* --leftover: the index of the value in cli_leftovers. */
enum cli_leftover { CLI_LEFTOVER_BLUR, CLI_LEFTOVER_DROP, CLI_LEFTOVER_KEEP };
extern const char *const cli_leftovers[];

/* A repeatable option's values (and the positional arguments), pointing
 * into argv. */
struct cli_strv {
	const char **v;
	size_t n;
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
	struct cli_strv args; /* positional arguments, and -s SHARD */

	/* prompts */
	const char *input;
	const char *ports, *host;
	struct cli_strv endpoints; /* --endpoint, repeatable */
	const char *model_name;
	long num_threads;
	double timeout;
	int api; /* enum cli_llm_api */
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
	const char *prompts;		 /* -p PROMPTS_DIR */
	struct cli_strv image_endpoints; /* --image-endpoint, repeatable */
	int image_api;			 /* enum cli_image_api */
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
	int leftover; /* enum cli_leftover */
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

/* Parses argv[1..] (argv[0] is the command name) for the command cmd (one
 * CLI_* bit): every option not in its rows of the table in opts.c is
 * unknown. Fills o, defaults first; o points into argv. Prints the problem
 * and returns -1 on bad usage; returns 1 after printing `usage` for
 * --help. Release o with cli_free in every case. */
int cli_parse(int argc, char **argv, unsigned cmd, const char *usage,
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
