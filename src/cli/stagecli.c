/* What the stage commands share beyond the option parser. */
#include "stagecli.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "formats/facerule.h"
#include "signals.h"
#include "util/outfile.h"

/* A server answered its probe: the one line a long start shows. */
static void spawn_ready(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "hybridize: %s\n", line);
}

/* The GPUs this job sees, from the environment: the list CUDA or SLURM
 * set, else SLURM's count for the node. SLURM's lists are node-wide
 * indices: right when the job sees every GPU of the node; where cgroups
 * hide the others SLURM also sets CUDA_VISIBLE_DEVICES, which comes
 * first. */
static void spawn_gpus_from_env(struct spawn_opts *so)
{
	static const char *const lists[] = {
	    "CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"};

	for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++)
		if ((so->gpu_list = getenv(lists[i]))) {
			so->gpu_list_from = lists[i];
			return;
		}
	so->gpus_on_node = getenv("SLURM_GPUS_ON_NODE");
}

int cli_spawn(const struct cli_opts *o, const char *spawn_cmd,
	      const char *health_path, const char *what, const char *log_dir,
	      struct spawn **sp, const char *const **urls, size_t *nurls,
	      const char *cmd)
{
	struct spawn_opts so = {
	    .cmd = spawn_cmd,
	    .n = (int)o->spawn.gpus,
	    .health_path = health_path,
	    .timeout = o->spawn.timeout,
	    .log_dir = log_dir,
	    .what = what,
	    .ready = {.fn = spawn_ready},
	};
	struct hy_err err = {0};
	int r;

	spawn_gpus_from_env(&so);
	r = spawn_start(sp, &so, &cli_stop, &err);

	if (r != HY_OK) {
		fprintf(stderr, "hybridize %s: %s\n", cmd, err.msg);
		return r == HY_ESTOP ? cli_exit_status(1) : 1;
	}
	*nurls = spawn_urls(*sp, urls);
	return 0;
}

int cli_face_rule(const char *cmd, long given, const char *from,
		  const char *const *to, size_t nto, int decides, long *used)
{
	const char *dirs[8];
	struct hy_err err = {0};
	size_t i;
	int recorded, rc = HY_OK;

	if (nto + 1 > sizeof(dirs) / sizeof(dirs[0]))
		return -1;
	dirs[0] = from;
	for (i = 0; i < nto; i++)
		dirs[i + 1] = to[i];
	rc = facerule_agree(dirs, nto + 1, given, used, &recorded, &err);
	/* A stage that only passes the folders on (prompts) records a value
	 * only when it is known; one that applies the rule records what it
	 * used, the default included. */
	for (i = 0; rc == HY_OK && i < nto; i++)
		if (recorded || given != FACERULE_UNSET || decides)
			if ((rc = mkdirs(to[i], &err)) == HY_OK)
				rc = facerule_write(to[i], *used, &err);
	if (rc == HY_OK)
		return 0;
	fprintf(stderr, "hybridize %s: %s\n", cmd, err.msg);
	return rc == HY_ECONFIG ? -1 : 1;
}

void cli_stage_ctx(struct stage_ctx *ctx, struct progress *prog,
		   const struct cli_opts *o, const char *cmd)
{
	progress_init(prog, cmd, stderr, isatty(2), o->run.progress_interval);
	ctx->report.fn = progress_report;
	ctx->report.ctx = prog;
	ctx->progress = prog;
	ctx->stop = &cli_stop;
	ctx->fsync = !o->run.no_fsync;
}

int cli_shard_args(struct shardlist *list, const struct cli_opts *o,
		   const char *cmd)
{
	struct hy_err err = {0};

	for (size_t i = 0; i < o->args.n; i++)
		if (shardlist_add_arg(list, o->args.v[i], &err) != HY_OK)
			goto fail;
	if (shardlist_finish(list, &err) != HY_OK)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "hybridize %s: %s\n", cmd, err.msg);
	return -1;
}

int cli_writable_dir(const char *dir, const char *what, const char *cmd)
{
	struct hy_err err = {0};

	if (mkdirs(dir, &err) == HY_OK && access(dir, W_OK) == 0)
		return 0;
	if (err.msg[0])
		fprintf(stderr, "hybridize %s: %s\n", cmd, err.msg);
	else
		fprintf(stderr, "hybridize %s: cannot write to %s\n", cmd,
			what);
	return -1;
}

void cli_summary_units(const char *what, size_t n, long skipped, int64_t done,
		       int64_t failed)
{
	printf("  %-22s %zu\n", what, n + (size_t)skipped);
	printf("  %-22s %lld\n", "  done", (long long)done);
	printf("  %-22s %ld\n", "  already done", skipped);
	printf("  %-22s %lld\n", "  failed", (long long)failed);
	if ((int64_t)n > done + failed)
		printf("  %-22s %lld\n", "  not finished",
		       (long long)((int64_t)n - done - failed));
}

int cli_pool_opts(const struct cli_opts *o, struct pool_opts *p,
		  const char *cmd)
{
	p->retries = (int)o->client.retries;
	p->patience = o->client.server_patience;
	p->ep_limit =
	    (int)(o->client.endpoint_limit > 65536 ? 65536
						   : o->client.endpoint_limit);
	p->no_copies = o->client.no_copies;
	if (o->client.api_key_env) {
		p->bearer = getenv(o->client.api_key_env);
		if (!p->bearer || !*p->bearer) {
			fprintf(stderr,
				"hybridize %s: --api-key-env: $%s is not set\n",
				cmd, o->client.api_key_env);
			return -1;
		}
	}
	return 0;
}

const char *cli_outcome(int r, int failed)
{
	if (r == HY_ESTOP)
		return "stopped";
	if (r == HY_ECONFIG)
		return "stopped by a configuration error";
	return r || failed ? "finished with failures" : "done";
}
