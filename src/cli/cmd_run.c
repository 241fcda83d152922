/* hybridize run: every stage, pipelined per shard, resumable. */
#include "commands.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/workdir.h"
#include "util/outfile.h"
#include "stages/pipeline.h"
#include "util/progress.h"
#include "tar/shardlist.h"
#include "opts.h"
#include "signals.h"
#include "stagecli.h"

static const char usage[] =
    "usage: hybridize run SHARD... -w WORK_DIR [-o OUT_DIR] [options]\n"
    "\n"
    "The whole pipeline in one command: scan, prompts, generate and\n"
    "reshard, pipelined per shard (shard k is resharded while k+1 is\n"
    "generating and k+2 is being prompted). Stage files are those of the\n"
    "separate commands: WORK_DIR/captions/NAME.json, prompts/NAME.json,\n"
    "edits/NAME/; final shards in OUT_DIR/NAME.tar (default\n"
    "WORK_DIR/shards; a folder holding the input shards is refused).\n"
    "Each shard resumes at the first stage whose output is missing, so a\n"
    "killed run is simply started again, and `run` mixes with single\n"
    "stages. `hybridize status WORK_DIR` shows a run's progress, also\n"
    "from another shell or node. A second run of the same rank on the\n"
    "same WORK_DIR is refused while the first is alive.\n"
    "\n"
    "Every option of scan, prompts and generate applies (see their\n"
    "--help): --min-faces; --api, --ports/--host/--endpoint, --model_name,\n"
    "--num_threads, --timeout, --think (ollama: let a thinking model\n"
    "think; off by default), --lang...; --image-api, --image-endpoint,\n"
    "--image-model, --size, --leftover...; --seed, --retries,\n"
    "--server-patience, --endpoint-limit and --no-copies apply to both\n"
    "kinds of server.\n"
    "Servers started by us (one per GPU, see prompts/generate --spawn):\n"
    "      --llm-spawn 'CMD ... {port} ...'    LLM servers\n"
    "      --image-spawn 'CMD ... {port} ...'  image servers\n"
    "      --gpus N  --spawn-timeout S\n"
    "Run:\n"
    "      -j N                 worker threads (default: cores)\n"
    "      --rank R --world W   shards i with i % W == R (default from "
    "SLURM)\n"
    "      --no-fsync  --progress-interval S  -q\n"
    "\n"
    "Offline (no servers): --api none --image-api none --leftover blur\n"
    "keeps English captions as they are and blurs every face.\n"
    "\n"
    "Exit status: 0 all done, 1 bad usage or configuration, 2 some shards\n"
    "or samples failed (named on stderr; run again to retry them),\n"
    "130/143 on signals.\n";

/* WORK_DIR/.hybridize/shards.json: the whole shard list (every rank's)
 * and the split, for `status --missing`. */
static int write_shard_list(const struct shardlist *l, long world,
			    const char *workdir)
{
	struct workdir_shard *v = calloc(l->n + 1, sizeof(*v));
	struct hy_err err = {0};
	int ret;

	for (size_t i = 0; v && i < l->n; i++)
		v[i] = (struct workdir_shard){.name = l->v[i].name,
					      .path = l->v[i].path};
	ret = v ? workdir_list_write(workdir, world, v, l->n, &err)
		: hy_err_set(&err, HY_EFATAL, "out of memory");
	if (ret != HY_OK)
		fprintf(stderr, "hybridize run: %s\n", err.msg);
	free(v);
	return ret != HY_OK ? -1 : 0;
}

/* Whether anything was left undone: a failed shard, a sample the servers
 * kept failing, or a bad sample scan left out. The headline and the exit
 * status both follow it. */
static int run_failed(const struct pipeline_counts *c)
{
	return c->failed[PL_SCAN] || c->failed[PL_PROMPTS] ||
	       c->failed[PL_GENERATE] || c->failed[PL_RESHARD] ||
	       c->prompts.failed || c->gen.failed || c->bad_samples;
}

static void print_summary(const struct pipeline_counts *c, double secs, int r)
{
	char rate[32];

	progress_fmt_count(rate, sizeof(rate),
			   secs > 0 ? (double)c->samples / secs : 0);
	printf("hybridize run: %s in %.2f s\n", cli_outcome(r, run_failed(c)),
	       secs);
	printf("  %-10s %8s %12s %8s\n", "stage", "done", "found done",
	       "failed");
	for (int s = 0; s < PL_N; s++)
		printf("  %-10s %8lld %12lld %8lld\n",
		       pipeline_stage_name((enum pipeline_stage)s),
		       (long long)c->done[s], (long long)c->skipped[s],
		       (long long)c->failed[s]);
	printf("  %-22s %lld\n", "samples scanned", (long long)c->samples);
	printf("  %-22s %lld\n", "  face samples", (long long)c->faces);
	printf("  %-22s %lld\n", "  bad samples", (long long)c->bad_samples);
	printf("  %-22s %lld\n", "  other lang/empty",
	       (long long)c->prompts.other_lang);
	printf("  %-22s %lld\n", "  prompts", (long long)c->prompts.ok);
	printf("  %-22s %lld\n", "  declined", (long long)c->prompts.declined);
	printf("  %-22s %lld\n", "  synthetic images",
	       (long long)c->gen.images);
	printf("  %-22s %lld\n", "  blurred", (long long)c->gen.blurred);
	printf("  %-22s %lld\n", "  dropped", (long long)c->gen.dropped);
	printf("  %-22s %lld\n", "  kept as they were", (long long)c->gen.kept);
	printf("  %-22s %lld\n", "  failed (run again)",
	       (long long)c->prompts.failed + (long long)c->gen.failed);
	printf("  %-22s %ld\n", "retries", c->prompts.retries + c->gen.retries);
	printf("  %-22s %ld (%ld answered first)\n", "copies",
	       c->prompts.copies + c->gen.copies,
	       c->prompts.copies_won + c->gen.copies_won);
	printf("  %-22s %lld\n", "bytes written", (long long)c->bytes_out);
	printf("  %-22s %s/s\n", "speed (scanned)", rate);
}

/* One --min-faces for every stage folder of WORK_DIR, recorded in each
 * (formats/facerule.h), so that the separate commands and verify, run on
 * them later, apply the same rule. */
static int face_rule(const struct cli_opts *o, struct generate_opts *go)
{
	const char *sub[] = {PIPELINE_DIR_CAPTIONS, PIPELINE_DIR_PROMPTS,
			     PIPELINE_DIR_EDITS};
	char *dirs[3] = {0};
	int r = -1;

	for (size_t i = 0; i < 3; i++)
		if (!(dirs[i] = path_join(o->workdir, sub[i])))
			goto out;
	r = cli_face_rule("run", o->min_faces, NULL, (const char **)dirs, 3, 1,
			  &go->min_faces);
out:
	for (size_t i = 0; i < 3; i++)
		free(dirs[i]);
	return r;
}

int cmd_run(int argc, char **argv)
{
	struct cli_opts o;
	struct prompts_cli pc = {0};
	struct generate_opts go = {0};
	struct pipeline_opts po = {0};
	struct pipeline_counts c;
	struct pipeline_input *in = NULL;
	struct shardlist list = {0};
	struct progress prog;
	struct stage_ctx ctx = {0};
	struct hy_err err = {0};
	struct spawn *llm = NULL, *img = NULL;
	char *outdir = NULL;
	int status = 1, r, curl_up = 0, have_pc = 0, lock_fd = -1;
	int64_t bytes = 0;

	r = cli_parse(argc, argv, CLI_RUN, usage, &o);
	if (r != 0) {
		cli_free(&o);
		return r > 0 ? 0 : 1;
	}
	if (cli_resolve_rank(&o) < 0)
		goto out;
	if (!o.workdir || !*o.workdir || !o.args.n || o.prompts) {
		fprintf(stderr, "hybridize run: needs SHARD... and -w WORK_DIR "
				"(the stage folders are inside it: no -p; see "
				"--help)\n");
		goto out;
	}
	have_pc = 1; /* released also when it fails half-way */
	if (prompts_cli_opts(&o, &pc, "run") < 0)
		goto out;
	if (generate_cli_opts(&o, &go, "run") < 0)
		goto out;
	outdir = o.output ? strdup(o.output)
			  : path_join(o.workdir, PIPELINE_DIR_SHARDS);
	if (!outdir)
		goto out;
	if (cli_shard_args(&list, &o, "run") < 0)
		goto out;
	/* Before anything is created: with the final shards folder holding
	 * the inputs, every shard would look finished. */
	if (shardlist_check_output(&list, outdir, ".tar",
				   o.output ? "-o" : "-w or give -o",
				   &err) != HY_OK) {
		fprintf(stderr, "hybridize run: %s\n", err.msg);
		goto out;
	}
	if (cli_writable_dir(o.workdir, "WORK_DIR", "run") < 0)
		goto out;
	r = pipeline_lock(o.workdir, o.run.rank, &lock_fd, &err);
	if (r != HY_OK || lock_fd < 0)
		fprintf(stderr, "hybridize run: %s%s\n",
			r == HY_OK ? "warning: " : "", err.msg);
	if (r != HY_OK)
		goto out;
	if (write_shard_list(&list, o.run.world, o.workdir) < 0)
		goto out;
	if ((r = face_rule(&o, &go)) != 0) {
		status = r > 0 ? 2 : 1; /* 2: the record could not be written */
		goto out;
	}
	shardlist_select(&list, o.run.rank, o.run.world);
	if (o.run.world > 1)
		fprintf(
		    stderr,
		    "hybridize run: rank %ld of %ld (from %s): %zu shards\n",
		    o.run.rank, o.run.world, o.run.rank_source, list.n);
	in = calloc(list.n + 1, sizeof(*in));
	if (!in)
		goto out;
	for (size_t i = 0; i < list.n; i++) {
		in[i].path = list.v[i].path;
		in[i].name = list.v[i].name;
		in[i].size = list.v[i].size;
		bytes += list.v[i].size > 0 ? list.v[i].size : 0;
	}

	cli_catch_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_up = 1;
	if ((r = prompts_cli_servers(&o, &pc, o.spawn.llm_cmd, o.workdir, &llm,
				     "run")) ||
	    (r = generate_cli_servers(&o, &go, o.spawn.image_cmd, o.workdir,
				      &img, "run"))) {
		status = r;
		goto out;
	}
	po.workdir = o.workdir;
	po.outdir = outdir;
	po.scan.min_faces = go.min_faces;
	po.prompts = &pc.po;
	po.gen = &go;
	po.rank = o.run.rank;
	po.world = o.run.world;
	po.lookahead = 2;

	cli_stage_ctx(&ctx, &prog, &o, "run");
	prog.shards_total = (int64_t)list.n;
	prog.bytes_total = bytes;
	if (!o.run.quiet)
		progress_start(&prog);
	r = pipeline_run(&ctx, &po, in, list.n, &c, stdout, &err);
	progress_stop(&prog);
	if (r != HY_OK && r != HY_ESTOP)
		fprintf(stderr, "hybridize run: %s\n", err.msg);
	print_summary(&c, progress_elapsed(&prog), r);
	status = cli_stage_status(r, run_failed(&c));
out:
	spawn_stop(llm);
	spawn_stop(img);
	if (curl_up)
		curl_global_cleanup();
	if (have_pc)
		prompts_cli_release(&pc);
	/* Last: the lock guards the work folder until the work is over. */
	if (lock_fd >= 0)
		close(lock_fd);
	free(in);
	free(outdir);
	shardlist_release(&list);
	cli_free(&o);
	return status;
}
