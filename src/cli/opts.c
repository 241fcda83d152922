/* Shared option parsing, driven by one table with a row an option, and the
 * defaults read from the environment. */
#include "opts.h"

#include "formats/facerule.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/workq.h"

/* Indexed by the enums, so that a value and its name cannot drift apart;
 * NULL ends each list. */
const char *const cli_llm_apis[] = {
    [CLI_LLM_OLLAMA] = "ollama",
    [CLI_LLM_OPENAI] = "openai",
    [CLI_LLM_NONE] = "none",
    [CLI_LLM_NONE + 1] = NULL,
};
const char *const cli_image_apis[] = {
    [CLI_IMAGE_A1111] = "a1111", [CLI_IMAGE_OPENAI] = "openai",
    [CLI_IMAGE_SDCPP] = "sdcpp", [CLI_IMAGE_NONE] = "none",
    [CLI_IMAGE_NONE + 1] = NULL,
};
const char *const cli_leftovers[] = {
    [CLI_LEFTOVER_BLUR] = "blur",
    [CLI_LEFTOVER_DROP] = "drop",
    [CLI_LEFTOVER_KEEP] = "keep",
    [CLI_LEFTOVER_KEEP + 1] = NULL,
};

enum opt_type {
	OT_FLAG,   /* int set to 1; takes no value */
	OT_STR,	   /* const char *, the value as given */
	OT_LONG,   /* long in lo..hi (hi 0: no upper bound) */
	OT_DOUBLE, /* double >= dlo */
	OT_CHOICE, /* int: the index of the value in choices */
	OT_LIST,   /* struct cli_strv: repeatable, each value appended */
	OT_MARK,   /* const char * set to "-"; takes no value (status --json) */
};

/* One row an option: its names, the commands that take it (CLI_*), the
 * field it fills, what its value must be, and its default. A name may have
 * a row per meaning, for different commands. */
struct optdef {
	const char *name;
	char shrt;
	unsigned cmds;
	enum opt_type type;
	size_t off; /* of the field in struct cli_opts */
	long lo, hi;
	double dlo;
	const char *const *choices; /* NULL-terminated */
	long def_l;		    /* OT_LONG, OT_CHOICE */
	double def_d;		    /* OT_DOUBLE */
	const char *def_s;	    /* OT_STR */
};

/* The field's offset, refused at compile time unless it has type T (no
 * association of _Generic matches then). T is a type name, which cannot
 * go in parentheses. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define FIELD(m, T)                                                            \
	_Generic(((struct cli_opts *)0)->m, T : offsetof(struct cli_opts, m))
/* NOLINTEND(bugprone-macro-parentheses) */
#define FLAG(m)	     .type = OT_FLAG, .off = FIELD(m, int)
#define STR(m)	     .type = OT_STR, .off = FIELD(m, const char *)
#define LONG(m)	     .type = OT_LONG, .off = FIELD(m, long)
#define DOUBLE(m)    .type = OT_DOUBLE, .off = FIELD(m, double)
#define CHOICE(m, c) .type = OT_CHOICE, .off = FIELD(m, int), .choices = (c)
#define LIST(m)	     .type = OT_LIST, .off = FIELD(m, struct cli_strv)
#define MARK(m)	     .type = OT_MARK, .off = FIELD(m, const char *)

/* Sets of commands: every one but status; those with worker threads (-j);
 * those that count face boxes; those that write (and fsync); those that
 * talk to LLM servers, image servers, or either. */
#define STAGES                                                                 \
	(CLI_SCAN | CLI_RESHARD | CLI_EXTRACT | CLI_PROMPTS | CLI_GENERATE |   \
	 CLI_RUN | CLI_VERIFY)
#define THREADED                                                               \
	(CLI_SCAN | CLI_RESHARD | CLI_EXTRACT | CLI_GENERATE | CLI_RUN |       \
	 CLI_VERIFY)
#define FACES	(CLI_SCAN | CLI_GENERATE | CLI_RUN | CLI_VERIFY)
#define WRITERS (CLI_SCAN | CLI_RESHARD | CLI_PROMPTS | CLI_GENERATE | CLI_RUN)
#define LLM	(CLI_PROMPTS | CLI_RUN)
#define IMAGE	(CLI_GENERATE | CLI_RUN)
#define SERVERS (CLI_PROMPTS | CLI_GENERATE | CLI_RUN)

/* The defaults of the LLM and language options are those of the script
 * this replaces, so its users can switch. Rows go in the order of the
 * fields in struct cli_opts. */
/* clang-format off */
static const struct optdef defs[] = {
    /* what the command reads and writes */
    {.name = "output", .shrt = 'o', .cmds = STAGES | CLI_STATUS, STR(output)},
    {.name = "input", .shrt = 'i', .cmds = CLI_PROMPTS, STR(input)},
    {.name = "edits", .shrt = 'e', .cmds = CLI_RESHARD | CLI_VERIFY, STR(edits)},
    {.name = "prompts", .shrt = 'p', .cmds = IMAGE, STR(prompts)},
    {.name = "shard", .shrt = 's', .cmds = IMAGE, LIST(args)}, /* SHARD... */
    {.name = "work", .shrt = 'w', .cmds = CLI_RUN, STR(workdir)},
    {.name = "json", .cmds = CLI_VERIFY, STR(json)},
    /* status prints its report: the same --json, without a file */
    {.name = "json", .cmds = CLI_STATUS, MARK(json)},
    {.name = "missing", .cmds = CLI_STATUS, FLAG(missing)},
    {.name = "min-faces", .cmds = FACES, LONG(min_faces), .def_l = FACERULE_UNSET},

    /* struct cli_run_opts */
    {.name = "jobs", .shrt = 'j', .cmds = THREADED, LONG(run.jobs), .lo = 1},
    {.name = "rank", .cmds = STAGES, LONG(run.rank), .def_l = -1},
    {.name = "world", .cmds = STAGES, LONG(run.world), .lo = 1, .def_l = -1},
    {.name = "no-fsync", .cmds = WRITERS, FLAG(run.no_fsync)},
    {.name = "quiet", .shrt = 'q', .cmds = STAGES, FLAG(run.quiet)},
    {.name = "progress-interval", .cmds = STAGES,
     DOUBLE(run.progress_interval), .dlo = 0.001, .def_d = 10},

    /* struct cli_llm_opts */
    {.name = "ports", .cmds = LLM, STR(llm.ports)},
    {.name = "host", .cmds = LLM, STR(llm.host), .def_s = "127.0.0.1"},
    {.name = "endpoint", .cmds = LLM, LIST(llm.endpoints)},
    {.name = "model_name", .cmds = LLM, STR(llm.model_name),
     .def_s = "person_tagger"},
    {.name = "num_threads", .cmds = LLM, LONG(llm.num_threads), .lo = 1,
     .def_l = 20},
    {.name = "timeout", .cmds = LLM, DOUBLE(llm.timeout), .dlo = 0.001,
     .def_d = 10},
    {.name = "api", .cmds = LLM, CHOICE(llm.api, cli_llm_apis),
     .def_l = CLI_LLM_OLLAMA},
    {.name = "chat", .cmds = LLM, FLAG(llm.chat)},
    {.name = "think", .cmds = LLM, FLAG(llm.think)},
    {.name = "system-prompt", .cmds = LLM, STR(llm.system_prompt)},
    {.name = "temperature", .cmds = LLM, DOUBLE(llm.temperature), .def_d = -1},
    {.name = "max-tokens", .cmds = LLM, LONG(llm.max_tokens), .lo = 1},
    {.name = "decline-regex", .cmds = LLM, STR(llm.decline_regex)},

    /* struct cli_lang_opts */
    {.name = "lang", .cmds = LLM, STR(lang.codes), .def_s = "en"},
    {.name = "min-lang-score", .cmds = LLM, DOUBLE(lang.min_score)},
    {.name = "lang-model", .cmds = LLM, STR(lang.model)},

    /* struct cli_client_opts */
    {.name = "api-key-env", .cmds = SERVERS, STR(client.api_key_env)},
    {.name = "seed", .cmds = SERVERS, LONG(client.seed), .def_l = -1},
    {.name = "retries", .cmds = SERVERS, LONG(client.retries), .def_l = 4},
    {.name = "server-patience", .cmds = SERVERS,
     DOUBLE(client.server_patience), .def_d = 600},
    {.name = "endpoint-limit", .cmds = SERVERS, LONG(client.endpoint_limit),
     .lo = 1},
    {.name = "no-copies", .cmds = SERVERS, FLAG(client.no_copies)},

    /* struct cli_image_opts */
    {.name = "image-endpoint", .cmds = IMAGE, LIST(image.endpoints)},
    {.name = "image-api", .cmds = IMAGE, CHOICE(image.api, cli_image_apis),
     .def_l = CLI_IMAGE_A1111},
    {.name = "image-model", .cmds = IMAGE, STR(image.model)},
    {.name = "image-auth-env", .cmds = IMAGE, STR(image.auth_env)},
    {.name = "image-threads", .cmds = IMAGE, LONG(image.threads), .lo = 1},
    {.name = "image-timeout", .cmds = IMAGE, DOUBLE(image.timeout),
     .dlo = 0.001, .def_d = 300},
    {.name = "steps", .cmds = IMAGE, LONG(image.steps), .lo = 1},
    {.name = "cfg-scale", .cmds = IMAGE, DOUBLE(image.cfg_scale), .def_d = -1},
    {.name = "sampler", .cmds = IMAGE, STR(image.sampler)},
    {.name = "negative-prompt", .cmds = IMAGE, STR(image.negative_prompt)},
    {.name = "size", .cmds = IMAGE, STR(image.size), .def_s = "original"},
    {.name = "max-side", .cmds = IMAGE, LONG(image.max_side), .lo = 64,
     .def_l = 512},
    {.name = "resize", .cmds = IMAGE, FLAG(image.resize)},
    {.name = "quality", .cmds = IMAGE, LONG(image.quality), .lo = 1,
     .hi = 100, .def_l = 90},
    {.name = "leftover", .cmds = IMAGE, CHOICE(image.leftover, cli_leftovers),
     .def_l = CLI_LEFTOVER_BLUR},
    {.name = "llm-model", .cmds = IMAGE, STR(image.llm_model)},

    /* struct cli_spawn_opts */
    {.name = "spawn", .cmds = CLI_PROMPTS | CLI_GENERATE, STR(spawn.cmd)},
    {.name = "llm-spawn", .cmds = CLI_RUN, STR(spawn.llm_cmd)},
    {.name = "image-spawn", .cmds = CLI_RUN, STR(spawn.image_cmd)},
    {.name = "gpus", .cmds = SERVERS, LONG(spawn.gpus), .lo = 1},
    {.name = "spawn-timeout", .cmds = SERVERS, DOUBLE(spawn.timeout),
     .dlo = 1, .def_d = 600},
};
/* clang-format on */

#define NDEFS (sizeof(defs) / sizeof(*defs))

static void *field(struct cli_opts *o, const struct optdef *d)
{
	return (char *)o + d->off;
}

static int parse_long(const struct optdef *d, const char *v, long *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < d->lo) {
		fprintf(
		    stderr,
		    "hybridize: option --%s: '%s' is not an integer >= %ld\n",
		    d->name, v, d->lo);
		return -1;
	}
	if (d->hi && x > d->hi) {
		fprintf(stderr, "hybridize: --%s is %ld..%ld\n", d->name, d->lo,
			d->hi);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_double(const struct optdef *d, const char *v, double *out)
{
	char *end;
	double x = strtod(v, &end);

	/* !(x >= dlo): NaN is no number of seconds either */
	if (end == v || *end || !(x >= d->dlo)) {
		fprintf(stderr,
			"hybridize: option --%s: '%s' is not a number >= %g\n",
			d->name, v, d->dlo);
		return -1;
	}
	*out = x;
	return 0;
}

/* "'v' is not a, b or c", naming the command as the stage checks do. */
static int parse_choice(const struct optdef *d, const char *v, const char *cmd,
			int *out)
{
	size_t n = 0;

	for (; d->choices[n]; n++)
		if (!strcmp(d->choices[n], v)) {
			*out = (int)n;
			return 0;
		}
	fprintf(stderr, "hybridize %s: --%s: '%s' is not ", cmd, d->name, v);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%s", d->choices[i],
			i + 2 < n    ? ", "
			: i + 2 == n ? " or "
				     : "\n");
	return -1;
}

static int apply(struct cli_opts *o, const struct optdef *d, const char *v,
		 const char *cmd)
{
	void *f = field(o, d);

	switch (d->type) {
	case OT_FLAG: *(int *)f = 1; return 0;
	case OT_STR: *(const char **)f = v; return 0;
	case OT_LONG: return parse_long(d, v, f);
	case OT_DOUBLE: return parse_double(d, v, f);
	case OT_CHOICE: return parse_choice(d, v, cmd, f);
	case OT_LIST: {
		/* room for every argument: cli_parse */
		struct cli_strv *l = f;
		l->v[l->n++] = v;
		return 0;
	}
	case OT_MARK: *(const char **)f = "-"; return 0;
	}
	return 0;
}

/* Every field to its default; the lists get room for every argument. */
static int set_defaults(struct cli_opts *o, int argc)
{
	memset(o, 0, sizeof(*o));
	o->args.v = calloc((size_t)argc + 1, sizeof(*o->args.v));
	if (!o->args.v)
		return -1;
	for (size_t k = 0; k < NDEFS; k++) {
		const struct optdef *d = &defs[k];
		void *f = field(o, d);

		switch (d->type) {
		case OT_STR: *(const char **)f = d->def_s; break;
		case OT_LONG: *(long *)f = d->def_l; break;
		case OT_DOUBLE: *(double *)f = d->def_d; break;
		case OT_CHOICE: *(int *)f = (int)d->def_l; break;
		case OT_LIST: {
			struct cli_strv *l = f;
			if (!l->v &&
			    !(l->v = calloc((size_t)argc + 1, sizeof(*l->v))))
				return -1;
			break;
		}
		case OT_FLAG:
		case OT_MARK: break;
		}
	}
	return 0;
}

/* The row of option a (its name is written to name), preferring one that
 * cmd takes; NULL if the table has none. *val is set to an attached value
 * (--name=v, -jN). */
static const struct optdef *lookup(const char *a, unsigned cmd, char *name,
				   size_t namesz, const char **val)
{
	const struct optdef *d = NULL;

	*val = NULL;
	if (a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

		snprintf(name, namesz, "%.*s", (int)n, a + 2);
		if (eq)
			*val = eq + 1;
		for (size_t k = 0; k < NDEFS; k++)
			if (!strcmp(defs[k].name, name) &&
			    (!d || (defs[k].cmds & cmd)))
				d = &defs[k];
	} else {
		snprintf(name, namesz, "%c", a[1]);
		for (size_t k = 0; k < NDEFS; k++)
			if (defs[k].shrt == a[1])
				d = &defs[k];
		if (d && a[2])
			*val = a + 2; /* -j4 */
	}
	return d;
}

static int takes_value(const struct optdef *d)
{
	return d->type != OT_FLAG && d->type != OT_MARK;
}

int cli_parse(int argc, char **argv, unsigned cmd, const char *usage,
	      struct cli_opts *o)
{
	int only_args = 0;

	if (set_defaults(o, argc) < 0) {
		fprintf(stderr, "hybridize: out of memory\n");
		return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct optdef *d;
		char name[64];

		if (only_args || a[0] != '-' || a[1] == '\0') {
			o->args.v[o->args.n++] = a;
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
		d = lookup(a, cmd, name, sizeof(name), &val);
		if (!d || !(d->cmds & cmd)) {
			fprintf(stderr,
				"hybridize %s: unknown option '%s' (see "
				"'hybridize %s --help')\n",
				argv[0], a, argv[0]);
			return -1;
		}
		if (takes_value(d) && !val) {
			if (i + 1 >= argc) {
				fprintf(stderr,
					"hybridize %s: option '%s' needs a "
					"value\n",
					argv[0], a);
				return -1;
			}
			val = argv[++i];
		} else if (!takes_value(d) && val) {
			fprintf(stderr,
				"hybridize %s: option '%s' takes no value\n",
				argv[0], a);
			return -1;
		}
		if (apply(o, d, val, argv[0]))
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

	if (o->run.rank < 0 || o->run.world < 0) {
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
			if (o->run.world < 0 && r >= min &&
			    (r - min) % step == 0)
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
		if (o->run.rank < 0)
			o->run.rank = r;
		if (o->run.world < 0)
			o->run.world = w;
	}
	o->run.rank_source = src;
	if (o->run.world < 1 || o->run.rank >= o->run.world) {
		fprintf(stderr,
			"hybridize: rank %ld is not below world %ld (from %s); "
			"pass --rank R --world W explicitly\n",
			o->run.rank, o->run.world, src);
		return -1;
	}
	/* Read here, before anything starts, with the other SLURM
	 * variables: a value that is not a number is bad usage, not a
	 * silent fall-back to every core found half-way through. */
	if (o->run.jobs <= 0) {
		long j;
		int a = env_long("SLURM_CPUS_PER_TASK", &j);

		if (a < 0)
			return -1;
		if (a > 0 && j > 0)
			o->run.jobs = j;
	}
	return 0;
}

int cli_jobs(const struct cli_opts *o)
{
	/* SLURM_CPUS_PER_TASK is in o->run.jobs already (cli_resolve_rank). */
	if (o->run.jobs > 0)
		return (int)o->run.jobs;
	return workq_cpus();
}

void cli_free(struct cli_opts *o)
{
	/* -s fills args: the loop frees it once and leaves NULL behind */
	for (size_t k = 0; k < NDEFS; k++)
		if (defs[k].type == OT_LIST) {
			struct cli_strv *l = field(o, &defs[k]);
			free(l->v);
			*l = (struct cli_strv){0};
		}
	free(o->args.v);
	o->args = (struct cli_strv){0};
}
