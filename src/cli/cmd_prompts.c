/* hybridize prompts: English filter and LLM rewrite (step 3). */
#include "commands.h"

#include <curl/curl.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml/langid.h"
#include "util/outfile.h"
#include "tar/shardlist.h"
#include "util/progress.h"
#include "stages/prompts.h"
#include "net/spawn.h"
#include "opts.h"
#include "signals.h"
#include "stagecli.h"

static const char usage[] =
    "usage: hybridize prompts -i CAPTIONS_DIR -o PROMPTS_DIR [options]\n"
    "\n"
    "For every CAPTIONS_DIR/NAME.json ({\"KEY.json\": caption}) writes\n"
    "PROMPTS_DIR/NAME.json with the samples whose caption is in the wanted\n"
    "language and that an LLM rewrote into a de-identified text-to-image\n"
    "prompt. Identical captions are sent once. Answers are journaled as\n"
    "they arrive (.NAME.journal): a killed run resumes without asking again.\n"
    "\n"
    "LLM servers (names as in the script this replaces):\n"
    "      --ports P1,P2,...    ports on --host (default 11434-11437)\n"
    "      --host H             (default 127.0.0.1)\n"
    "      --endpoint URL       a server's base URL, e.g. http://node7:8000;\n"
    "                           repeatable; replaces --ports\n"
    "      --api ollama|openai|none  ollama: /api/generate (/api/chat with\n"
    "                           --chat); openai: /v1/chat/completions (vLLM,\n"
    "                           llama.cpp, SGLang, TGI); none: no server, the\n"
    "                           prompt is the caption (default ollama). An\n"
    "                           answer in the other API's format (llama.cpp\n"
    "                           answers /api/chat as OpenAI) stops the run\n"
    "                           with the --api to use\n"
    "      --model_name M       (default person_tagger)\n"
    "      --num_threads N      requests in flight over all servers at most\n"
    "                           (20); each server gets what it serves well,\n"
    "                           learned from its latency (see README)\n"
    "      --endpoint-limit N   N in flight per server, not learned: for\n"
    "                           servers whose slots you know (default:\n"
    "                           learned; llama.cpp's /props total_slots,\n"
    "                           at most + 1)\n"
    "      --timeout S          seconds per request (10)\n"
    "      --retries N          further tries of a failing request (4); a\n"
    "                           sample that still fails is reported and left\n"
    "                           for the next run\n"
    "      --server-patience S  while every server is down, requests wait\n"
    "                           for one (probing) without spending retries,\n"
    "                           for up to S seconds (600)\n"
    "      --no-copies          when nothing is left to send (the end of a\n"
    "                           run), never copy a request waiting on a slow\n"
    "                           server to an idle one\n"
    "      --api-key-env NAME   send the bearer token in $NAME\n"
    "      --system-prompt FILE system prompt (default: none for ollama,\n"
    "                           whose model may carry its own; a built-in\n"
    "                           de-identification prompt for openai)\n"
    "      --temperature T  --max-tokens N\n"
    "      --think              ollama: let a thinking model (qwen3,\n"
    "                           deepseek-r1) think before it answers; by\n"
    "                           default requests say \"think\": false, as\n"
    "                           its hidden thinking spends --max-tokens and\n"
    "                           --timeout (vLLM: the chat template decides)\n"
    "      --seed N             same seed for every request (default: per\n"
    "                           caption, the FNV-1a hash of its text)\n"
    "      --decline-regex RE   answers counted as declined (POSIX ERE,\n"
    "                           case-insensitive; default: common refusals)\n"
    "Servers started by us (instead of --ports / --endpoint):\n"
    "      --spawn 'CMD ... {port} ...'\n"
    "                           run CMD with /bin/sh once per server, {port}\n"
    "                           a free port on 127.0.0.1, {gpu} its GPU (also\n"
    "                           its CUDA_VISIBLE_DEVICES); wait until each\n"
    "                           answers (/api/version; /v1/models with --api\n"
    "                           openai), send the requests to them, stop them\n"
    "                           at the end. Their output goes to\n"
    "                           PROMPTS_DIR/.server-HOST-I.log. None started\n"
    "                           when no caption file is left to do. E.g.\n"
    "        --spawn 'OLLAMA_HOST=127.0.0.1:{port} ollama serve'\n"
    "      --gpus N             servers to start (default: one per GPU in\n"
    "                           CUDA_VISIBLE_DEVICES, else SLURM_STEP_GPUS,\n"
    "                           SLURM_JOB_GPUS or SLURM_GPUS_ON_NODE; else 1)\n"
    "      --spawn-timeout S    seconds for all of them to answer (600)\n"
    "Language filter (fastText lid.176, as DataComp):\n"
    "      --lang L1,L2         wanted languages (default en; 'any' = off)\n"
    "      --min-lang-score P   least probability of the top label (default\n"
    "                           0: the top label is enough)\n"
    "      --lang-model PATH    (default .cache/models/lid.176.ftz beside\n"
    "                           the build, or $HYBRIDIZE_LID_MODEL)\n"
    "Run:\n"
    "      --rank R --world W   caption files i with i % W == R (default\n"
    "                           from SLURM)\n"
    "      --no-fsync  --progress-interval S  -q\n"
    "\n"
    "Exit status: 0 all done (declined samples are reported, not errors),\n"
    "1 bad usage or configuration (servers refusing our key or model, a\n"
    "--spawn server that does not start), 2 some samples or files failed,\n"
    "130/143 on signals.\n";

static const char default_system[] =
    "Rewrite the image caption you are given into a prompt for a "
    "text-to-image model. Describe the scene, the people in it by generic "
    "attributes only (age group, clothing, pose, expression) and the "
    "setting. Never include names, usernames, brands tied to a person, or "
    "any detail that identifies a real individual. Answer with the prompt "
    "only.";

static char *read_text(const char *path)
{
	struct buf b = {0};

	if (buf_read_file(&b, path, 0, NULL) != HY_OK)
		return NULL;
	return b.data; /* NUL-terminated, ours */
}

/* Fills urls from --endpoint, else --host and --ports. */
static int endpoints(const struct cli_opts *o, char ***urls, size_t *n)
{
	const char *ports =
	    o->llm.ports ? o->llm.ports : "11434,11435,11436,11437";
	char *list = NULL, *tok, *save = NULL;
	size_t cap = 8;

	*n = 0;
	*urls = calloc(cap + o->llm.endpoints.n, sizeof(**urls));
	if (!*urls)
		return -1;
	if (o->llm.endpoints.n) {
		for (size_t i = 0; i < o->llm.endpoints.n; i++)
			if (!((*urls)[(*n)++] = strdup(o->llm.endpoints.v[i])))
				return -1;
		return 0;
	}
	list = strdup(ports);
	if (!list)
		return -1;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char url[512];
		char *end;
		long p = strtol(tok, &end, 10);

		if (*end || p < 1 || p > 65535) {
			fprintf(stderr,
				"hybridize prompts: --ports: '%s' is not a "
				"port\n",
				tok);
			free(list);
			return -1;
		}
		if (*n == cap) {
			char **nv = realloc(*urls, (cap *= 2) * sizeof(**urls));
			if (!nv) {
				free(list);
				return -1;
			}
			*urls = nv;
		}
		snprintf(url, sizeof(url), "http://%s:%ld", o->llm.host, p);
		if (!((*urls)[(*n)++] = strdup(url))) {
			free(list);
			return -1;
		}
	}
	free(list);
	return *n ? 0 : -1;
}

int prompts_cli_opts(const struct cli_opts *o, struct prompts_cli *pc,
		     const char *cmd)
{
	struct prompts_opts *po = &pc->po;
	struct hy_err err = {0};

	memset(pc, 0, sizeof(*pc));
	switch (o->llm.api) {
	case CLI_LLM_NONE: po->api_none = 1; break;
	case CLI_LLM_OLLAMA:
		po->llm.api = o->llm.chat ? LLM_OLLAMA_CHAT : LLM_OLLAMA;
		break;
	case CLI_LLM_OPENAI:
		po->llm.api = LLM_OPENAI;
		if (o->llm.think) {
			fprintf(stderr,
				"hybridize %s: --think is ollama's \"think\" "
				"(--api ollama); an OpenAI server's chat "
				"template decides whether its model thinks\n",
				cmd);
			return -1;
		}
		break;
	}
	if (o->llm.system_prompt) {
		pc->system = read_text(o->llm.system_prompt);
		if (!pc->system) {
			fprintf(stderr,
				"hybridize %s: cannot read --system-prompt "
				"'%s': %s\n",
				cmd, o->llm.system_prompt, strerror(errno));
			return -1;
		}
		po->llm.system = pc->system;
	} else if (po->llm.api == LLM_OPENAI) {
		po->llm.system = default_system;
	}
	po->llm.model = o->llm.model_name;
	po->llm.temperature = o->llm.temperature;
	po->llm.max_tokens = o->llm.max_tokens;
	po->llm.think = o->llm.think;
	po->seed = o->client.seed;
	po->dedupe_cap = 1000000;
	if (regcomp(&pc->decline,
		    o->llm.decline_regex ? o->llm.decline_regex
					 : llm_default_decline,
		    REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
		fprintf(stderr,
			"hybridize %s: --decline-regex: invalid expression\n",
			cmd);
		return -1;
	}
	pc->have_re = 1;
	po->decline = &pc->decline;
	po->decline_src =
	    o->llm.decline_regex ? o->llm.decline_regex : llm_default_decline;
	po->pool.max_in_flight = (int)o->llm.num_threads;
	po->pool.timeout = o->llm.timeout;
	po->pool.backoff_base = 0.5;
	po->pool.backoff_max = 30;
	po->pool.health_path =
	    po->llm.api == LLM_OPENAI ? "/v1/models" : "/api/version";
	/* llama.cpp's server tells its slots there; others answer 404. */
	po->pool.props_path = po->llm.api == LLM_OPENAI ? "/props" : NULL;
	if (cli_pool_opts(o, &po->pool, cmd) < 0)
		return -1;
	if (strcmp(o->lang.codes, "any") != 0) {
		const char *env = getenv("HYBRIDIZE_LID_MODEL");
		const char *model = o->lang.model ? o->lang.model
				    : env && *env ? env
						  : langid_default_model();
		char *tok, *save = NULL;

		pc->langs_buf = strdup(o->lang.codes);
		for (tok = pc->langs_buf ? strtok_r(pc->langs_buf, ",", &save)
					 : NULL;
		     tok && pc->nlangs < 64; tok = strtok_r(NULL, ",", &save))
			pc->langs[pc->nlangs++] = tok;
		if (!pc->nlangs) {
			fprintf(stderr, "hybridize %s: --lang is empty\n", cmd);
			return -1;
		}
		if (langid_open(&pc->lid, model, &err) != HY_OK) {
			fprintf(stderr,
				"hybridize %s: %s (run scripts/fetch-model.sh, "
				"or pass --lang-model, or --lang any)\n",
				cmd, err.msg);
			return -1;
		}
		po->lid = pc->lid;
		po->langs = pc->langs;
		po->nlangs = pc->nlangs;
		po->min_lang_score = (float)o->lang.min_score;
	}
	return 0;
}

int prompts_cli_servers(const struct cli_opts *o, struct prompts_cli *pc,
			const char *spawn_cmd, const char *log_dir,
			struct spawn **sp, const char *cmd)
{
	struct prompts_opts *po = &pc->po;

	*sp = NULL;
	if (po->api_none)
		return 0;
	if (spawn_cmd && (o->llm.endpoints.n || o->llm.ports)) {
		fprintf(stderr,
			"hybridize %s: the LLM servers are either started by "
			"us (--spawn, --llm-spawn) or given with --endpoint / "
			"--ports, not both\n",
			cmd);
		return 1;
	}
	if (spawn_cmd)
		return cli_spawn(o, spawn_cmd, po->pool.health_path, "LLM",
				 log_dir, sp, &po->urls, &po->nurls, cmd);
	if (endpoints(o, &pc->urls, &pc->nurls) < 0) {
		fprintf(stderr,
			"hybridize %s: no usable --ports / --endpoint\n", cmd);
		return 1;
	}
	po->urls = (const char *const *)pc->urls;
	po->nurls = pc->nurls;
	return 0;
}

void prompts_cli_release(struct prompts_cli *pc)
{
	for (size_t i = 0; i < pc->nurls; i++)
		free(pc->urls[i]);
	free(pc->urls);
	if (pc->have_re)
		regfree(&pc->decline);
	langid_close(pc->lid);
	free(pc->system);
	free(pc->langs_buf);
	memset(pc, 0, sizeof(*pc));
}

/* The combinations of options that cannot go together; prints the first. */
static int check_usage(const struct cli_opts *o)
{
	const char *bad = NULL;

	if (!o->input || !o->output || !*o->output || o->args.n)
		bad = "needs -i CAPTIONS_DIR and -o PROMPTS_DIR, and no other "
		      "arguments (see --help)";
	else if (o->spawn.cmd && o->llm.api == CLI_LLM_NONE)
		bad = "--spawn starts LLM servers, which --api none does not "
		      "use";
	else if (o->spawn.gpus && !o->spawn.cmd)
		bad = "--gpus counts the servers of --spawn, which is missing";
	else if (o->spawn.cmd && (o->llm.endpoints.n || o->llm.ports))
		bad = "--spawn uses the servers it starts: drop --endpoint / "
		      "--ports";
	if (bad)
		fprintf(stderr, "hybridize prompts: %s\n", bad);
	return bad ? -1 : 0;
}

/* Keeps this rank's caption files of list (shardlist_select: file i goes
 * where shard i does) and puts those without a prompts file yet in *in,
 * which points into list (free *in only). */
static int select_inputs(const struct cli_opts *o, struct shardlist *list,
			 struct prompts_input **in, size_t *nin, long *skipped,
			 int64_t *bytes)
{
	size_t all = list->n;

	shardlist_select(list, o->run.rank, o->run.world);
	*in = calloc(list->n + 1, sizeof(**in));
	if (!*in) {
		fprintf(stderr, "hybridize prompts: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct shard_input *f = &list->v[i];
		const char *leaf = strrchr(f->path, '/'); /* NAME.json */

		if (outfile_exists(o->output, leaf ? leaf + 1 : f->path)) {
			(*skipped)++;
			continue;
		}
		(*in)[*nin] = (struct prompts_input){
		    .path = f->path,
		    .name = f->name,
		    .size = f->size > 0 ? f->size : 0,
		};
		*bytes += (*in)[*nin].size;
		(*nin)++;
	}
	if (o->run.world > 1)
		fprintf(stderr,
			"hybridize prompts: rank %ld of %ld (from %s): %zu of "
			"%zu files to do\n",
			o->run.rank, o->run.world, o->run.rank_source, *nin,
			all);
	return 0;
}

static void print_summary(const struct prompts_counts *c,
			  const struct cli_opts *o, int api_none, size_t nin,
			  long skipped, double secs, int r)
{
	char rate[32];

	progress_fmt_count(rate, sizeof(rate),
			   secs > 0 ? (double)c->samples / secs : 0);
	printf("hybridize prompts: %s in %.2f s\n",
	       cli_outcome(r, c->failed || c->shards_failed), secs);
	cli_summary_units("caption files", nin, skipped, c->shards_done,
			  c->shards_failed);
	printf("  %-22s %lld\n", "samples", (long long)c->samples);
	printf("  %-22s %lld\n", "  other lang/empty",
	       (long long)c->other_lang);
	printf("  %-22s %lld\n", "  prompts", (long long)c->ok);
	printf("  %-22s %lld\n", "  declined", (long long)c->declined);
	printf("  %-22s %lld\n", "  failed", (long long)c->failed);
	printf("  %-22s %lld\n", "  from journal", (long long)c->resumed);
	if (!api_none) {
		printf("  %-22s %lld\n", "requests", (long long)c->requests);
		printf("  %-22s %lld\n", "  saved (same caption)",
		       (long long)c->reused);
		printf("  %-22s %ld\n", "  retries", c->retries);
		printf("  %-22s %ld (%ld answered first)\n", "  copies",
		       c->copies, c->copies_won);
		printf("  %-22s %s\n", "seed",
		       o->client.seed >= 0
			   ? "fixed (--seed)"
			   : "per caption (FNV-1a of the text)");
	}
	printf("  %-22s %s/s\n", "speed", rate);
}

int cmd_prompts(int argc, char **argv)
{
	struct cli_opts o;
	struct prompts_cli pc = {0};
	struct prompts_counts c = {0};
	struct shardlist list = {0};
	struct prompts_input *in = NULL;
	struct progress prog;
	struct stage_ctx ctx = {0};
	struct hy_err err = {0};
	struct spawn *sp = NULL;
	int have_pc = 0, have_curl = 0, status = 1, r;
	size_t nin = 0;
	int64_t bytes = 0;
	long skipped = 0;

	r = cli_parse(argc, argv, CLI_PROMPTS, usage, &o);
	if (r != 0) {
		cli_free(&o);
		return r > 0 ? 0 : 1;
	}
	if (cli_resolve_rank(&o) < 0 || check_usage(&o) < 0)
		goto out;
	/* Released also when it fails half-way (the regex, the model). */
	have_pc = 1;
	if (prompts_cli_opts(&o, &pc, "prompts") < 0)
		goto out;
	if (shardlist_add_files(&list, o.input, ".json", &err) != HY_OK) {
		fprintf(stderr, "hybridize prompts: %s\n", err.msg);
		goto out;
	}
	if (cli_writable_dir(o.output, "the output", "prompts") < 0)
		goto out;
	/* Passes scan's --min-faces on to generate (formats/facerule.h). */
	if ((r = cli_face_rule("prompts", FACERULE_UNSET, o.input,
			       (const char *[]){o.output}, 1, 0, &(long){0})) !=
	    0) {
		status = r > 0 ? 2 : 1; /* 2: the record could not be written */
		goto out;
	}
	if (select_inputs(&o, &list, &in, &nin, &skipped, &bytes) < 0)
		goto out;

	cli_stage_ctx(&ctx, &prog, &o, "prompts");
	prog.shards_total = (int64_t)nin;
	prog.bytes_total = bytes;
	cli_catch_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	have_curl = 1;
	/* Servers take minutes to load a model: none when nothing is left. */
	if (nin && (r = prompts_cli_servers(&o, &pc, o.spawn.cmd, o.output, &sp,
					    "prompts"))) {
		status = r;
		goto out;
	}
	if (!o.run.quiet)
		progress_start(&prog);
	r = prompts_run_fed(&ctx, &pc.po, in, nin, NULL, o.output, &c, stdout,
			    &err);
	progress_stop(&prog);
	if (r != HY_OK && r != HY_ESTOP)
		fprintf(stderr, "hybridize prompts: %s\n", err.msg);
	print_summary(&c, &o, pc.po.api_none, nin, skipped,
		      progress_elapsed(&prog), r);
	status = cli_stage_status(r, c.failed || c.shards_failed);
out:
	/* Every path, a signal's included, stops the servers we started. */
	spawn_stop(sp);
	if (have_curl)
		curl_global_cleanup();
	free(in);
	shardlist_release(&list);
	if (have_pc)
		prompts_cli_release(&pc);
	cli_free(&o);
	return status;
}
