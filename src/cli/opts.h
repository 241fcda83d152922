/* The one option parser every command shares, so an option means the same
 * thing everywhere; its table (opts.c) says which commands take each. */
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

/* How this process runs: threads, its share of the work, output. */
struct cli_run_opts {
	long jobs;		 /* -j; 0 = default */
	long rank, world;	 /* -1 = from the environment */
	const char *rank_source; /* where rank/world came from, for messages */
	int no_fsync;
	int quiet;
	double progress_interval;
};

/* The LLM servers and what prompts asks them (prompts, run). */
struct cli_llm_opts {
	const char *ports, *host;
	struct cli_strv endpoints; /* --endpoint, repeatable */
	const char *model_name;
	long num_threads;
	double timeout;
	int api; /* enum cli_llm_api */
	int chat;
	int think;		   /* ollama: let a thinking model think */
	const char *system_prompt; /* a file */
	double temperature;	   /* < 0: the server's */
	long max_tokens;
	const char *decline_regex;
};

/* The language filter before the LLM (prompts, run). */
struct cli_lang_opts {
	const char *codes; /* --lang L1,L2 or "any" */
	double min_score;
	const char *model;
};

/* How requests to either kind of server are made and retried (prompts,
 * generate, run). */
struct cli_client_opts {
	const char *api_key_env;
	long seed; /* < 0: per caption */
	long retries;
	double server_patience; /* seconds all servers may be down */
	long endpoint_limit;	/* requests in flight per server; 0: learned */
	int no_copies;
};

/* The image servers and the images asked of them (generate, run). */
struct cli_image_opts {
	struct cli_strv endpoints; /* --image-endpoint, repeatable */
	int api;		   /* enum cli_image_api */
	const char *model;
	const char *auth_env; /* NAME of "user:password" (HTTP Basic) */
	long threads;	      /* 0: 4 per endpoint */
	double timeout;
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
};

/* Servers started by us. */
struct cli_spawn_opts {
	const char *cmd; /* --spawn: command with {port} and {gpu} */
	const char *llm_cmd, *image_cmd; /* run: --llm-spawn, --image-spawn */
	long gpus;			 /* 0: from the environment */
	double timeout;
};

struct cli_opts {
	/* What the command reads and writes. */
	struct cli_strv args; /* positional arguments, and -s SHARD */
	const char *output;
	const char *input;   /* prompts -i CAPTIONS_DIR */
	const char *edits;   /* -e EDITS_DIR */
	const char *prompts; /* -p PROMPTS_DIR */
	const char *workdir; /* run -w WORK_DIR */
	const char *json;    /* --json FILE; "-" for the --json flag (status) */
	int missing;	     /* status --missing */
	long min_faces;

	struct cli_run_opts run;
	struct cli_llm_opts llm;
	struct cli_lang_opts lang;
	struct cli_client_opts client;
	struct cli_image_opts image;
	struct cli_spawn_opts spawn;
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

/* Worker threads: -j, else SLURM_CPUS_PER_TASK (both in o->run.jobs after
 * cli_resolve_rank), else the affinity mask. */
int cli_jobs(const struct cli_opts *o);

void cli_free(struct cli_opts *o);

#endif
