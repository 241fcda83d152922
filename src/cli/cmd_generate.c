/* hybridize generate: synthetic images for the prompts (step 4), and the
 * leftover policy for face samples without one. */
#include "commands.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stages/generate.h"
#include "util/outfile.h"
#include "util/progress.h"
#include "tar/shardlist.h"
#include "net/spawn.h"
#include "opts.h"
#include "signals.h"
#include "stagecli.h"

static const char usage[] =
    "usage: hybridize generate -p PROMPTS_DIR -s SHARD... -o EDITS_DIR "
    "[options]\n"
    "\n"
    "For every prompt in PROMPTS_DIR/NAME.json ({\"KEY.json\": prompt})\n"
    "asks a text-to-image server for an image and writes\n"
    "EDITS_DIR/NAME/KEY.<ext> (the new image, in the format of the\n"
    "sample's image member), KEY.txt (the prompt) and KEY.json (the\n"
    "metadata: caption = prompt, face_bboxes = [], new width, height and\n"
    "sha256, url/exif/original_* removed, a \"synthetic\" object added).\n"
    "Face samples without a synthetic image (no prompt: not English or\n"
    "declined; refused by the server) follow --leftover. EDITS_DIR/NAME\n"
    "appears when the shard is complete, with .generate.json recording\n"
    "each face sample's fate; until then the work is in .NAME.part and a\n"
    "re-run continues it.\n"
    "\n"
    "Image servers:\n"
    "      --image-api a1111|openai|sdcpp|none  a1111: POST\n"
    "                           /sdapi/v1/txt2img (AUTOMATIC1111, Forge,\n"
    "                           SD.Next, stable-diffusion.cpp); openai: POST\n"
    "                           /v1/images/generations (b64_json); sdcpp:\n"
    "                           the same route of stable-diffusion.cpp's\n"
    "                           server, seed and sampling options sent in\n"
    "                           the prompt as <sd_cpp_extra_args>, the only\n"
    "                           place it reads them; none: no server, every\n"
    "                           face sample is a leftover (default a1111)\n"
    "      --image-endpoint URL base URL, repeatable (default\n"
    "                           http://127.0.0.1:7860)\n"
    "      --image-model M      checkpoint / model name (default: the\n"
    "                           server's)\n"
    "      --image-threads N    requests in flight over all servers\n"
    "                           (default 4 per endpoint)\n"
    "      --image-timeout S    seconds per request (300)\n"
    "      --retries N          further tries of a failing request (4)\n"
    "      --server-patience S  while every server is down, requests wait\n"
    "                           for one without spending retries (600)\n"
    "      --endpoint-limit N   N in flight per server, not learned\n"
    "                           (default: learned from its latency)\n"
    "      --no-copies          when nothing is left to send (the end of a\n"
    "                           run), never copy a request waiting on a\n"
    "                           slow server to an idle one\n"
    "      --api-key-env NAME   send the bearer token in $NAME\n"
    "      --image-auth-env NAME  HTTP Basic with $NAME = user:password\n"
    "                           (A1111's --api-auth)\n"
    "Servers started by us:\n"
    "      --spawn 'CMD ... {port} ...'  one server per GPU, told its GPU\n"
    "                           by CUDA_VISIBLE_DEVICES ({gpu} in CMD too),\n"
    "                           used as the endpoints, stopped at the end;\n"
    "                           logs in EDITS_DIR/.server-HOST-N.log\n"
    "      --gpus N             servers to start (default: the GPUs in\n"
    "                           CUDA_VISIBLE_DEVICES / SLURM, else 1)\n"
    "      --spawn-timeout S    seconds for them to get ready (600)\n"
    "Images:\n"
    "      --size WxH|original  asked size; original: the sample's aspect,\n"
    "                           longer side --max-side, multiples of 64\n"
    "                           (default original); with OpenAI's models\n"
    "                           (dall-e-2, dall-e-3, gpt-image-1), which make\n"
    "                           a few sizes only, the nearest of those\n"
    "      --max-side N         (default 512)\n"
    "      --resize             resample each image to the original's size\n"
    "      --quality Q          JPEG / WebP quality (90)\n"
    "      --steps N  --cfg-scale X  --sampler NAME  --negative-prompt T\n"
    "                           (default: the server's)\n"
    "      --seed N             same seed for every image (default: per\n"
    "                           sample, FNV-1a of its key, so re-runs give\n"
    "                           the same images)\n"
    "      --llm-model M        the LLM that wrote the prompts, recorded in\n"
    "                           the metadata\n"
    "Leftovers:\n"
    "      --leftover blur|drop|keep  blur: the photo with every face box\n"
    "                           strongly blurred (offline; JPEG blurred in\n"
    "                           the DCT domain, the rest of it bit-exact);\n"
    "                           drop: reshard leaves the sample out; keep:\n"
    "                           untouched (default blur). Malformed\n"
    "                           face_bboxes: the whole photo blurred, or\n"
    "                           dropped under keep/drop. Unreadable KEY.json,\n"
    "                           several image members, a key that cannot\n"
    "                           name a file (absolute, '..', '.x'): dropped\n"
    "      --min-faces N        face boxes that make a face sample (default:\n"
    "                           scan's, recorded in PROMPTS_DIR/.faces.json;\n"
    "                           else 1)\n"
    "Run:\n"
    "      -j N                 worker threads for images (default: cores)\n"
    "      --rank R --world W   shards i with i % W == R (default from "
    "SLURM)\n"
    "      --no-fsync  --progress-interval S  -q\n"
    "\n"
    "Exit status: 0 all done, 1 bad usage or configuration, 2 some samples\n"
    "or shards failed (named on stderr; a re-run retries them), 130/143 on\n"
    "signals.\n";

static int parse_size(const char *s, int *w, int *h)
{
	char *end;
	long a, b;

	if (!strcmp(s, "original")) {
		*w = *h = 0;
		return 0;
	}
	a = strtol(s, &end, 10);
	if (*end != 'x')
		return -1;
	b = strtol(end + 1, &end, 10);
	if (*end || a < 64 || b < 64 || a > 4096 || b > 4096 || a % 8 || b % 8)
		return -1;
	*w = (int)a;
	*h = (int)b;
	return 0;
}

/* --image-auth-env NAME: HTTP Basic, as A1111 started with --api-auth
 * user:password wants it. The value is never printed. */
static int auth_opt(const struct cli_opts *o, struct generate_opts *go,
		    const char *cmd)
{
	const char *v = getenv(o->image.auth_env);

	if (!v || !*v) {
		fprintf(stderr,
			"hybridize %s: --image-auth-env: $%s is not set\n", cmd,
			o->image.auth_env);
		return -1;
	}
	if (!strchr(v, ':') || *v == ':') {
		fprintf(stderr,
			"hybridize %s: --image-auth-env: $%s is not "
			"user:password\n",
			cmd, o->image.auth_env);
		return -1;
	}
	if (go->pool.bearer && !strcmp(cmd, "run")) {
		/* run: --api-key-env is the LLM servers' key (vLLM's
		 * --api-key) and Basic the image servers' (A1111's
		 * --api-auth); the image servers get Basic only. */
		go->pool.bearer = NULL;
	} else if (go->pool.bearer) {
		/* one Authorization header: the server would read one of the
		 * two */
		fprintf(stderr,
			"hybridize %s: --image-auth-env and --api-key-env both "
			"set the Authorization header: give one\n",
			cmd);
		return -1;
	}
	go->pool.basic = v;
	return 0;
}

/* What the chosen API cannot carry is said before anything starts,
 * rather than dropped from every request (or refused by the server in
 * each). */
static int check_api_fields(const struct generate_opts *go, const char *cmd)
{
	const struct imgapi_opts *a = &go->api;
	const char *const *sizes = imgapi_fixed_sizes(a->model);
	char want[32];

	if (go->api_none)
		return 0;
	if (a->kind == IMGAPI_SDCPP && a->model) {
		fprintf(stderr,
			"hybridize %s: --image-model: stable-diffusion.cpp's "
			"server makes images with the model it was started "
			"with, whatever the request names\n",
			cmd);
		return -1;
	}
	if (a->kind != IMGAPI_OPENAI || !imgapi_openai_model(a->model))
		return 0;
	if (a->steps > 0 || a->cfg_scale >= 0 || a->sampler || a->negative) {
		fprintf(stderr,
			"hybridize %s: --steps, --cfg-scale, --sampler and "
			"--negative-prompt are not fields of OpenAI's images "
			"API (%s refuses them)\n",
			cmd, a->model);
		return -1;
	}
	if (!sizes || go->size_w <= 0)
		return 0;
	snprintf(want, sizeof(want), "%dx%d", go->size_w, go->size_h);
	for (const char *const *s = sizes; *s; s++)
		if (!strcmp(*s, want))
			return 0;
	fprintf(stderr, "hybridize %s: --size %s: %s makes only", cmd, want,
		a->model);
	for (const char *const *s = sizes; *s; s++)
		fprintf(stderr, "%s %s", s == sizes ? "" : ",", *s);
	fprintf(stderr, " (or --size original: the nearest of them)\n");
	return -1;
}

int generate_cli_opts(const struct cli_opts *o, struct generate_opts *go,
		      const char *cmd)
{
	static const enum imgapi_kind kinds[] = {
	    [CLI_IMAGE_A1111] = IMGAPI_A1111,
	    [CLI_IMAGE_OPENAI] = IMGAPI_OPENAI,
	    [CLI_IMAGE_SDCPP] = IMGAPI_SDCPP,
	};
	static const enum leftover leftovers[] = {
	    [CLI_LEFTOVER_BLUR] = LEFTOVER_BLUR,
	    [CLI_LEFTOVER_DROP] = LEFTOVER_DROP,
	    [CLI_LEFTOVER_KEEP] = LEFTOVER_KEEP,
	};

	go->api_none = o->image.api == CLI_IMAGE_NONE;
	if (!go->api_none)
		go->api.kind = kinds[o->image.api];
	go->generator = cli_image_apis[o->image.api];
	if (parse_size(o->image.size, &go->size_w, &go->size_h) < 0) {
		fprintf(stderr,
			"hybridize %s: --size: '%s' is not WxH (multiples of "
			"8, 64..4096) or 'original'\n",
			cmd, o->image.size);
		return -1;
	}
	go->leftover = leftovers[o->image.leftover];
	go->api.model = o->image.model;
	go->api.steps = o->image.steps;
	go->api.cfg_scale = o->image.cfg_scale;
	go->api.sampler = o->image.sampler;
	go->api.negative = o->image.negative_prompt;
	go->seed = o->client.seed;
	go->max_side = (int)o->image.max_side;
	go->resize = o->image.resize;
	go->quality = (int)o->image.quality;
	go->llm_model = o->image.llm_model;
	go->threads = cli_jobs(o);
	go->pool.timeout = o->image.timeout;
	go->pool.backoff_base = 1;
	go->pool.backoff_max = 60;
	go->pool.health_path = imgapi_health_path(go->api.kind);
	if (cli_pool_opts(o, &go->pool, cmd) < 0)
		return -1;
	if (o->image.auth_env && auth_opt(o, go, cmd) < 0)
		return -1;
	return check_api_fields(go, cmd);
}

int generate_cli_servers(const struct cli_opts *o, struct generate_opts *go,
			 const char *spawn_cmd, const char *log_dir,
			 struct spawn **sp, const char *cmd)
{
	static const char *const default_url[] = {"http://127.0.0.1:7860"};
	const char *const *urls = NULL;
	size_t nurls = 0;

	*sp = NULL;
	if (go->api_none)
		return 0;
	if (spawn_cmd && o->image.endpoints.n) {
		fprintf(stderr,
			"hybridize %s: the image servers are either started by "
			"us (--spawn, --image-spawn) or given with "
			"--image-endpoint, not both\n",
			cmd);
		return 1;
	}
	if (spawn_cmd) {
		int r = cli_spawn(o, spawn_cmd, go->pool.health_path, "image",
				  log_dir, sp, &urls, &nurls, cmd);
		if (r)
			return r;
	} else if (o->image.endpoints.n) {
		urls = o->image.endpoints.v;
		nurls = o->image.endpoints.n;
	} else {
		urls = default_url;
		nurls = 1;
	}
	for (size_t i = 0;
	     go->api.kind == IMGAPI_OPENAI && !go->api.model && i < nurls; i++)
		if (strstr(urls[i], "api.openai.com")) {
			/* its default model (dall-e-2) decides the sizes it
			 * takes: ours must be chosen knowing it */
			fprintf(stderr,
				"hybridize %s: api.openai.com: name OpenAI's "
				"model with --image-model (dall-e-2, dall-e-3, "
				"gpt-image-1...): the sizes it accepts depend "
				"on it\n",
				cmd);
			return 1;
		}
	go->urls = urls;
	go->nurls = nurls;
	/* 4 a server by default: room for each endpoint's learned limit to
	 * find its slots. At 2 a server (the slots of the bench's fake
	 * servers) the total bound, not the servers, decided, and requests
	 * routed by each endpoint's (higher) learned limit queued on some
	 * servers while others idled: 79.5% of the ideal throughput in
	 * bench/generate.sh, against 99.6% at 4. */
	go->pool.max_in_flight =
	    o->image.threads ? (int)o->image.threads : (int)(4 * nurls);
	return 0;
}

static void print_summary(const struct generate_counts *c, size_t nshards,
			  long skipped, double secs, int r)
{
	char rate[32];

	progress_fmt_count(rate, sizeof(rate),
			   secs > 0 ? (double)c->images / secs : 0);
	printf("hybridize generate: %s in %.2f s\n",
	       r == HY_ESTOP			    ? "stopped"
	       : r || c->failed || c->shards_failed ? "finished with failures"
						    : "done",
	       secs);
	cli_summary_units("shards", nshards, skipped, c->shards_done,
			  c->shards_failed);
	printf("  %-22s %lld\n", "samples", (long long)c->samples);
	printf("  %-22s %lld\n", "face samples", (long long)c->faces);
	printf("  %-22s %lld\n", "  synthetic images", (long long)c->images);
	printf("  %-22s %lld\n", "  from an earlier run",
	       (long long)c->resumed);
	printf("  %-22s %lld\n", "  blurred", (long long)c->blurred);
	printf("  %-22s %lld\n", "  dropped", (long long)c->dropped);
	printf("  %-22s %lld\n", "  kept as they were", (long long)c->kept);
	printf("  %-22s %lld\n", "  refused by server", (long long)c->rejected);
	printf("  %-22s %lld\n", "  failed (run again)", (long long)c->failed);
	printf("  %-22s %ld\n", "retries", c->retries);
	printf("  %-22s %ld (%ld answered first)\n", "copies", c->copies,
	       c->copies_won);
	printf("  %-22s %s/s\n", "images", rate);
}

int cmd_generate(int argc, char **argv)
{
	struct cli_opts o;
	struct generate_opts go = {0};
	struct generate_counts c = {0};
	struct generate_input *in = NULL;
	struct shardlist list = {0};
	struct progress prog;
	struct stage_ctx ctx = {0};
	struct hy_err err = {0};
	struct spawn *sp = NULL;
	size_t nin = 0, total = 0;
	long skipped = 0, missing = 0;
	int status = 1, r, curl_up = 0;

	r = cli_parse(argc, argv, CLI_GENERATE, usage, &o);
	if (r != 0) {
		cli_free(&o);
		return r > 0 ? 0 : 1;
	}
	if (cli_resolve_rank(&o) < 0)
		goto out;
	if (generate_cli_opts(&o, &go, "generate") < 0)
		goto out;
	if (o.spawn.cmd && (o.image.endpoints.n || go.api_none)) {
		fprintf(stderr,
			"hybridize generate: --spawn starts the image "
			"servers: it goes with neither --image-endpoint "
			"nor --image-api none\n");
		goto out;
	}
	if (!o.output || !*o.output || !o.args.n ||
	    (!o.prompts && !go.api_none)) {
		fprintf(stderr, "hybridize generate: needs -p PROMPTS_DIR, -s "
				"SHARD... and -o EDITS_DIR (see --help)\n");
		goto out;
	}
	if (cli_shard_args(&list, &o, "generate") < 0)
		goto out;
	total = list.n;
	shardlist_select(&list, o.run.rank, o.run.world);
	if (cli_writable_dir(o.output, "the output", "generate") < 0)
		goto out;
	if ((r = cli_face_rule("generate", o.min_faces, o.prompts,
			       (const char *[]){o.output}, 1, 1,
			       &go.min_faces)) != 0) {
		status = r > 0 ? 2 : 1; /* 2: the record could not be written */
		goto out;
	}

	cli_stage_ctx(&ctx, &prog, &o, "generate");

	in = calloc(list.n + 1, sizeof(*in));
	if (!in)
		goto out;
	for (size_t i = 0; i < list.n; i++) {
		char *pp = NULL;

		if (outfile_exists(o.output, list.v[i].name)) {
			skipped++;
			continue;
		}
		if (o.prompts) {
			char *leaf = NULL;
			if (asprintf(&leaf, "%s.json", list.v[i].name) < 0)
				goto out;
			pp = path_join(o.prompts, leaf);
			free(leaf);
			if (!pp)
				goto out;
			if (access(pp, F_OK) < 0 && !go.api_none) {
				fprintf(stderr,
					"hybridize generate: %s: no prompts "
					"file '%s' (run prompts first)\n",
					list.v[i].path, pp);
				free(pp);
				missing++;
				continue;
			}
			if (access(pp, F_OK) < 0) {
				free(pp);
				pp = NULL;
			}
		}
		in[nin].shard = list.v[i].path;
		in[nin].name = list.v[i].name;
		in[nin].prompts = pp;
		nin++;
	}
	if (o.run.world > 1)
		fprintf(stderr,
			"hybridize generate: rank %ld of %ld (from %s): %zu of "
			"%zu shards to do\n",
			o.run.rank, o.run.world, o.run.rank_source, nin, total);
	cli_catch_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_up = 1;
	if (nin && (r = generate_cli_servers(&o, &go, o.spawn.cmd, o.output,
					     &sp, "generate"))) {
		status = r;
		goto out;
	}

	prog.shards_total = (int64_t)nin;
	prog.bytes_total = (int64_t)nin;
	if (!o.run.quiet)
		progress_start(&prog);
	r = generate_run_fed(&ctx, &go, in, nin, NULL, o.output, &c, stdout,
			     &err);
	progress_stop(&prog);
	if (r != HY_OK && r != HY_ESTOP)
		fprintf(stderr, "hybridize generate: %s\n", err.msg);
	c.shards_failed += missing;
	print_summary(&c, nin + (size_t)missing, skipped,
		      progress_elapsed(&prog), r);
	status = cli_stage_status(r, c.failed || c.shards_failed);
out:
	spawn_stop(sp);
	if (curl_up)
		curl_global_cleanup();
	for (size_t i = 0; in && i < nin; i++)
		free((char *)in[i].prompts);
	free(in);
	shardlist_release(&list);
	cli_free(&o);
	return status;
}
