/* Shared option parsing, and the defaults read from the environment. */
#include "opts.h"

#include "formats/facerule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/workq.h"

struct optdef {
	const char *lng;
	char shrt;
	unsigned group;
	int has_arg;
};

/* One row an option: its name, short form, the group that commands
 * accept it by, and whether it takes a value. */
static const struct optdef defs[] = {
    {"output", 'o', OPT_OUTPUT, 1},
    {"edits", 'e', OPT_EDITS, 1},
    {"jobs", 'j', OPT_JOBS, 1},
    {"min-faces", 0, OPT_MIN_FACES, 1},
    {"rank", 0, OPT_RANK, 1},
    {"world", 0, OPT_RANK, 1},
    {"no-fsync", 0, OPT_FSYNC, 0},
    {"progress-interval", 0, OPT_PROGRESS, 1},
    {"quiet", 'q', OPT_PROGRESS, 0},
    {"input", 'i', OPT_INPUT, 1},
    {"ports", 0, OPT_LLM, 1},
    {"host", 0, OPT_LLM, 1},
    {"endpoint", 0, OPT_LLM, 1},
    {"model_name", 0, OPT_LLM, 1},
    {"num_threads", 0, OPT_LLM, 1},
    {"timeout", 0, OPT_LLM, 1},
    {"api", 0, OPT_LLM, 1},
    {"chat", 0, OPT_LLM, 0},
    {"think", 0, OPT_LLM, 0},
    {"api-key-env", 0, OPT_LLM | OPT_IMAGE, 1},
    {"system-prompt", 0, OPT_LLM, 1},
    {"temperature", 0, OPT_LLM, 1},
    {"seed", 0, OPT_LLM | OPT_IMAGE, 1},
    {"max-tokens", 0, OPT_LLM, 1},
    {"retries", 0, OPT_LLM | OPT_IMAGE, 1},
    {"server-patience", 0, OPT_LLM | OPT_IMAGE, 1},
    {"endpoint-limit", 0, OPT_LLM | OPT_IMAGE, 1},
    {"no-copies", 0, OPT_LLM | OPT_IMAGE, 0},
    {"decline-regex", 0, OPT_LLM, 1},
    {"lang", 0, OPT_LANG, 1},
    {"min-lang-score", 0, OPT_LANG, 1},
    {"lang-model", 0, OPT_LANG, 1},
    {"prompts", 'p', OPT_IMAGE, 1},
    {"shard", 's', OPT_IMAGE, 1},
    {"image-endpoint", 0, OPT_IMAGE, 1},
    {"image-api", 0, OPT_IMAGE, 1},
    {"image-model", 0, OPT_IMAGE, 1},
    {"image-auth-env", 0, OPT_IMAGE, 1},
    {"image-threads", 0, OPT_IMAGE, 1},
    {"image-timeout", 0, OPT_IMAGE, 1},
    {"steps", 0, OPT_IMAGE, 1},
    {"cfg-scale", 0, OPT_IMAGE, 1},
    {"sampler", 0, OPT_IMAGE, 1},
    {"negative-prompt", 0, OPT_IMAGE, 1},
    {"size", 0, OPT_IMAGE, 1},
    {"max-side", 0, OPT_IMAGE, 1},
    {"resize", 0, OPT_IMAGE, 0},
    {"quality", 0, OPT_IMAGE, 1},
    {"leftover", 0, OPT_IMAGE, 1},
    {"llm-model", 0, OPT_IMAGE, 1},
    {"spawn", 0, OPT_SPAWN, 1},
    {"gpus", 0, OPT_SPAWN | OPT_RUN, 1},
    {"spawn-timeout", 0, OPT_SPAWN | OPT_RUN, 1},
    {"work", 'w', OPT_RUN, 1},
    {"llm-spawn", 0, OPT_RUN, 1},
    {"image-spawn", 0, OPT_RUN, 1},
    {"json", 0, OPT_JSON, 1},
    /* status prints its report: the same --json, without a file */
    {"json", 0, OPT_STATUS, 0},
    {"missing", 0, OPT_STATUS, 0},
};

static int parse_long(const char *name, const char *v, long min, long *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < min) {
		fprintf(
		    stderr,
		    "hybridize: option --%s: '%s' is not an integer >= %ld\n",
		    name, v, min);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_double(const char *name, const char *v, double min,
			double *out)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || *end || x < min) {
		fprintf(stderr,
			"hybridize: option --%s: '%s' is not a number >= %g\n",
			name, v, min);
		return -1;
	}
	*out = x;
	return 0;
}

static int apply(struct cli_opts *o, const struct optdef *d, const char *v)
{
	const char *n = d->lng;

	if (!strcmp(n, "output"))
		o->output = v;
	else if (!strcmp(n, "edits"))
		o->edits = v;
	else if (!strcmp(n, "jobs"))
		return parse_long(n, v, 1, &o->jobs);
	else if (!strcmp(n, "min-faces"))
		return parse_long(n, v, 0, &o->min_faces);
	else if (!strcmp(n, "rank"))
		return parse_long(n, v, 0, &o->rank);
	else if (!strcmp(n, "world"))
		return parse_long(n, v, 1, &o->world);
	else if (!strcmp(n, "no-fsync"))
		o->no_fsync = 1;
	else if (!strcmp(n, "quiet"))
		o->quiet = 1;
	else if (!strcmp(n, "progress-interval"))
		return parse_double(n, v, 0.001, &o->progress_interval);
	else if (!strcmp(n, "input"))
		o->input = v;
	else if (!strcmp(n, "ports"))
		o->ports = v;
	else if (!strcmp(n, "host"))
		o->host = v;
	else if (!strcmp(n, "endpoint"))
		o->endpoints[o->nendpoints++] = v;
	else if (!strcmp(n, "model_name"))
		o->model_name = v;
	else if (!strcmp(n, "num_threads"))
		return parse_long(n, v, 1, &o->num_threads);
	else if (!strcmp(n, "timeout"))
		return parse_double(n, v, 0.001, &o->timeout);
	else if (!strcmp(n, "api"))
		o->api = v;
	else if (!strcmp(n, "chat"))
		o->chat = 1;
	else if (!strcmp(n, "think"))
		o->think = 1;
	else if (!strcmp(n, "api-key-env"))
		o->api_key_env = v;
	else if (!strcmp(n, "system-prompt"))
		o->system_prompt = v;
	else if (!strcmp(n, "temperature"))
		return parse_double(n, v, 0, &o->temperature);
	else if (!strcmp(n, "seed"))
		return parse_long(n, v, 0, &o->seed);
	else if (!strcmp(n, "max-tokens"))
		return parse_long(n, v, 1, &o->max_tokens);
	else if (!strcmp(n, "retries"))
		return parse_long(n, v, 0, &o->retries);
	else if (!strcmp(n, "server-patience"))
		return parse_double(n, v, 0, &o->server_patience);
	else if (!strcmp(n, "endpoint-limit"))
		return parse_long(n, v, 1, &o->endpoint_limit);
	else if (!strcmp(n, "no-copies"))
		o->no_copies = 1;
	else if (!strcmp(n, "decline-regex"))
		o->decline_regex = v;
	else if (!strcmp(n, "lang"))
		o->lang = v;
	else if (!strcmp(n, "min-lang-score"))
		return parse_double(n, v, 0, &o->min_lang_score);
	else if (!strcmp(n, "lang-model"))
		o->lang_model = v;
	else if (!strcmp(n, "prompts"))
		o->prompts = v;
	else if (!strcmp(n, "shard"))
		o->args[o->nargs++] = v; /* -s SHARD... is a list */
	else if (!strcmp(n, "image-endpoint"))
		o->image_endpoints[o->nimage_endpoints++] = v;
	else if (!strcmp(n, "image-api"))
		o->image_api = v;
	else if (!strcmp(n, "image-model"))
		o->image_model = v;
	else if (!strcmp(n, "image-auth-env"))
		o->image_auth_env = v;
	else if (!strcmp(n, "image-threads"))
		return parse_long(n, v, 1, &o->image_threads);
	else if (!strcmp(n, "image-timeout"))
		return parse_double(n, v, 0.001, &o->image_timeout);
	else if (!strcmp(n, "steps"))
		return parse_long(n, v, 1, &o->steps);
	else if (!strcmp(n, "cfg-scale"))
		return parse_double(n, v, 0, &o->cfg_scale);
	else if (!strcmp(n, "sampler"))
		o->sampler = v;
	else if (!strcmp(n, "negative-prompt"))
		o->negative_prompt = v;
	else if (!strcmp(n, "size"))
		o->size = v;
	else if (!strcmp(n, "max-side"))
		return parse_long(n, v, 64, &o->max_side);
	else if (!strcmp(n, "resize"))
		o->resize = 1;
	else if (!strcmp(n, "quality"))
		return parse_long(n, v, 1, &o->quality) ||
		       (o->quality > 100 &&
			fprintf(stderr, "hybridize: --quality is 1..100\n"));
	else if (!strcmp(n, "leftover"))
		o->leftover = v;
	else if (!strcmp(n, "llm-model"))
		o->llm_model = v;
	else if (!strcmp(n, "spawn"))
		o->spawn = v;
	else if (!strcmp(n, "gpus"))
		return parse_long(n, v, 1, &o->gpus);
	else if (!strcmp(n, "spawn-timeout"))
		return parse_double(n, v, 1, &o->spawn_timeout);
	else if (!strcmp(n, "work"))
		o->workdir = v;
	else if (!strcmp(n, "llm-spawn"))
		o->llm_spawn = v;
	else if (!strcmp(n, "image-spawn"))
		o->image_spawn = v;
	else if (!strcmp(n, "json"))
		o->json = v ? v : "-";
	else if (!strcmp(n, "missing"))
		o->missing = 1;
	return 0;
}

int cli_parse(int argc, char **argv, unsigned accepted, const char *usage,
	      struct cli_opts *o)
{
	int only_args = 0;

	memset(o, 0, sizeof(*o));
	o->min_faces = FACERULE_UNSET; /* the folder's record, else 1 */
	o->rank = o->world = -1;
	o->progress_interval = 10;
	/* The defaults of the script this replaces, so its users can switch. */
	o->host = "127.0.0.1";
	o->model_name = "person_tagger";
	o->num_threads = 20;
	o->timeout = 10;
	o->api = "ollama";
	o->temperature = -1;
	o->seed = -1;
	o->retries = 4;
	o->server_patience = 600;
	o->lang = "en";
	o->image_api = "a1111";
	o->image_timeout = 300;
	o->cfg_scale = -1;
	o->size = "original";
	o->max_side = 512;
	o->quality = 90;
	o->leftover = "blur";
	o->spawn_timeout = 600;
	o->args = calloc((size_t)argc + 1, sizeof(*o->args));
	o->endpoints = calloc((size_t)argc + 1, sizeof(*o->endpoints));
	o->image_endpoints = calloc((size_t)argc + 1, sizeof(*o->endpoints));
	if (!o->args || !o->endpoints || !o->image_endpoints) {
		fprintf(stderr, "hybridize: out of memory\n");
		return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct optdef *d = NULL;
		char name[64];

		if (only_args || a[0] != '-' || a[1] == '\0') {
			o->args[o->nargs++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 1;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			snprintf(name, sizeof(name), "%.*s", (int)n, a + 2);
			if (eq)
				val = eq + 1;
			for (size_t k = 0; k < sizeof(defs) / sizeof(*defs);
			     k++)
				/* a name may have a row per meaning */
				if (!strcmp(defs[k].lng, name) &&
				    (!d || (defs[k].group & accepted)))
					d = &defs[k];
		} else {
			snprintf(name, sizeof(name), "%c", a[1]);
			for (size_t k = 0; k < sizeof(defs) / sizeof(*defs);
			     k++)
				if (defs[k].shrt == a[1])
					d = &defs[k];
			if (d && a[2])
				val = a + 2; /* -j4 */
		}
		if (!d || !(d->group & accepted)) {
			fprintf(stderr,
				"hybridize %s: unknown option '%s' (see "
				"'hybridize %s --help')\n",
				argv[0], a, argv[0]);
			return -1;
		}
		if (d->has_arg && !val) {
			if (i + 1 >= argc) {
				fprintf(stderr,
					"hybridize %s: option '%s' needs a "
					"value\n",
					argv[0], a);
				return -1;
			}
			val = argv[++i];
		} else if (!d->has_arg && val) {
			fprintf(stderr,
				"hybridize %s: option '%s' takes no value\n",
				argv[0], a);
			return -1;
		}
		if (apply(o, d, val))
			return -1;
	}
	return 0;
}

static int env_long(const char *name, long *out)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return 0;
	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno || *end || *out < 0) {
		fprintf(stderr, "hybridize: %s='%s' is not a number\n", name,
			v);
		return -1;
	}
	return 1;
}

int cli_resolve_rank(struct cli_opts *o)
{
	long r = -1, w = -1;
	const char *src = "--rank/--world";

	if (o->rank < 0 || o->world < 0) {
		int a = env_long("SLURM_ARRAY_TASK_ID", &r);
		int b = a > 0 ? env_long("SLURM_ARRAY_TASK_COUNT", &w) : 0;
		long min = 0, step = 1;

		if (a < 0 || b < 0)
			return -1;
		if (a > 0 && b > 0) {
			if (env_long("SLURM_ARRAY_TASK_MIN", &min) < 0 ||
			    env_long("SLURM_ARRAY_TASK_STEP", &step) < 0)
				return -1;
			if (step < 1)
				step = 1;
			/* With --world given, the array indices are the ranks
			 * themselves: what `status --missing` prints, to be
			 * resubmitted as --array=0,2 --world 3. Otherwise
			 * --array=1-4 numbers tasks from 1, --array=0-9:3
			 * steps: the rank is the task's place in the array. */
			if (o->world < 0 && r >= min && (r - min) % step == 0)
				r = (r - min) / step;
			src = "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT";
		} else {
			a = env_long("SLURM_PROCID", &r);
			b = env_long("SLURM_NTASKS", &w);
			if (a < 0 || b < 0)
				return -1;
			if (a > 0 && b > 0)
				src = "SLURM_PROCID/SLURM_NTASKS";
			else
				r = 0, w = 1;
		}
		if (o->rank < 0)
			o->rank = r;
		if (o->world < 0)
			o->world = w;
	}
	o->rank_source = src;
	if (o->world < 1 || o->rank >= o->world) {
		fprintf(stderr,
			"hybridize: rank %ld is not below world %ld (from %s); "
			"pass --rank R --world W explicitly\n",
			o->rank, o->world, src);
		return -1;
	}
	/* Read here, before anything starts, with the other SLURM
	 * variables: a value that is not a number is bad usage, not a
	 * silent fall-back to every core found half-way through. */
	if (o->jobs <= 0) {
		long j;
		int a = env_long("SLURM_CPUS_PER_TASK", &j);

		if (a < 0)
			return -1;
		if (a > 0 && j > 0)
			o->jobs = j;
	}
	return 0;
}

int cli_jobs(const struct cli_opts *o)
{
	/* SLURM_CPUS_PER_TASK is in o->jobs already (cli_resolve_rank). */
	if (o->jobs > 0)
		return (int)o->jobs;
	return workq_cpus();
}

void cli_free(struct cli_opts *o)
{
	free(o->args);
	free(o->endpoints);
	free(o->image_endpoints);
	o->args = NULL;
	o->endpoints = NULL;
	o->image_endpoints = NULL;
}
