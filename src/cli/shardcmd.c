/* Shared driver for per-shard commands. */
#include "shardcmd.h"

#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/outfile.h"
#include "util/progress.h"
#include "tar/shardlist.h"
#include "util/workq.h"
#include "signals.h"

enum result { R_WAITING, R_DONE, R_SKIPPED, R_FAILED, R_STOPPED };

struct run {
	struct shardcmd *c;
	struct shardcmd_ext x;
	struct shardlist *list;
	struct stage_ctx ctx;
	struct progress prog;
	enum result *res;
	size_t *queue;	      /* indexes of the shards still to do */
	pthread_mutex_t lock; /* guards totals */
	struct stage_counts total;
};

static void one(void *arg, size_t k)
{
	struct run *r = arg;
	size_t i = r->queue[k];
	struct shard_input *in = &r->list->v[i];
	struct stage_counts counts = {0};
	struct hy_err err = {0};
	int rc;

	rc = r->c->run(r->c, &r->ctx, in->path, in->name, &counts, &err);
	pthread_mutex_lock(&r->lock);
	r->total.samples += counts.samples;
	r->total.faces += counts.faces;
	r->total.sample_errors += counts.sample_errors;
	r->total.edited += counts.edited;
	r->total.dropped += counts.dropped;
	r->total.bytes_out += counts.bytes_out;
	pthread_mutex_unlock(&r->lock);
	if (rc == HY_OK) {
		r->res[i] = R_DONE;
		atomic_fetch_add(&r->prog.shards_done, 1);
		return;
	}
	if (rc == HY_ESTOP) {
		r->res[i] = R_STOPPED;
		return;
	}
	r->res[i] = R_FAILED;
	progress_report(&r->prog, err.msg);
	if (rc == HY_EFATAL) {
		int zero = 0;
		atomic_compare_exchange_strong(&cli_stop, &zero, -1);
	}
}

static void summary(struct run *r, double secs, int sig)
{
	size_t n = r->list->n, done = 0, skipped = 0, failed = 0, stopped = 0;
	char rate[32];
	FILE *o = stdout;

	for (size_t i = 0; i < n; i++) {
		done += r->res[i] == R_DONE;
		skipped += r->res[i] == R_SKIPPED;
		failed += r->res[i] == R_FAILED;
		stopped += r->res[i] == R_STOPPED || r->res[i] == R_WAITING;
	}
	if (r->x.summary) {
		struct shardcmd_tally t = {.shards = n,
					   .done = done,
					   .skipped = skipped,
					   .failed = failed,
					   .stopped = stopped,
					   .secs = secs,
					   .sig = sig,
					   .total = &r->total};
		r->x.summary(r->c, &t, o);
		return;
	}
	progress_fmt_count(rate, sizeof(rate),
			   secs > 0 ? (double)r->total.samples / secs : 0);
	fprintf(o, "hybridize %s: %s in %.2f s\n", r->c->name,
		sig				   ? "stopped"
		: failed || r->total.sample_errors ? "finished with failures"
						   : "done",
		secs);
	fprintf(o, "  %-16s %zu\n", "shards", n);
	fprintf(o, "  %-16s %zu\n", "  done", done);
	fprintf(o, "  %-16s %zu\n", "  already done", skipped);
	fprintf(o, "  %-16s %zu\n", "  failed", failed);
	if (stopped)
		fprintf(o, "  %-16s %zu\n", "  not finished", stopped);
	fprintf(o, "  %-16s %lld\n", "samples", (long long)r->total.samples);
	if (!strcmp(r->c->name, "scan"))
		fprintf(o, "  %-16s %lld\n", "face samples",
			(long long)r->total.faces);
	if (!strcmp(r->c->name, "reshard"))
		fprintf(o, "  %-16s %lld\n", "edited members",
			(long long)r->total.edited);
	if (r->total.dropped)
		fprintf(o, "  %-16s %lld\n", "dropped samples",
			(long long)r->total.dropped);
	fprintf(o, "  %-16s %lld\n", "bad samples",
		(long long)r->total.sample_errors);
	fprintf(o, "  %-16s %s/s\n", "speed", rate);
}

int shardcmd_main_ext(struct shardcmd *c, const struct shardcmd_ext *x)
{
	const struct cli_opts *o = c->opts;
	struct shardlist list = {0};
	struct run r = {0};
	int prepared = 0;
	struct hy_err err = {0};
	int64_t bytes = 0;
	size_t nqueue = 0, failed = 0;
	char *out = NULL;
	int status = 1, sig;
	double secs;

	pthread_mutex_init(&r.lock, NULL);
	if (x)
		r.x = *x;
	progress_init(&r.prog, c->name, stderr, isatty(2),
		      o->run.progress_interval);
	if (!o->args.n) {
		hy_err_set(&err, HY_EFATAL,
			   "no SHARD given (see 'hybridize %s --help')",
			   c->name);
		goto fail;
	}
	if (!o->output || !*o->output) {
		hy_err_set(&err, HY_EFATAL, "-o DIR is required");
		goto fail;
	}
	for (size_t i = 0; i < o->args.n; i++)
		if (shardlist_add_arg(&list, o->args.v[i], &err))
			goto fail;
	if (shardlist_finish(&list, &err))
		goto fail;
	{
		size_t all = list.n;
		shardlist_select(&list, o->run.rank, o->run.world);
		/* A split that is not what the user meant (sbatch --ntasks
		 * without srun, say) must be visible. */
		if (o->run.world > 1)
			fprintf(
			    stderr,
			    "hybridize %s: rank %ld of %ld (from %s): %zu of "
			    "%zu shards\n",
			    c->name, o->run.rank, o->run.world,
			    o->run.rank_source, list.n, all);
	}
	if (shardlist_check_output(&list, o->output, c->out_suffix, "-o", &err))
		goto fail;
	if (r.x.flags & SHARDCMD_READ_OUTPUT) {
		if (access(o->output, R_OK | X_OK) < 0) {
			hy_err_set(&err, HY_EFATAL, "cannot read '%s': %s",
				   o->output, strerror(errno));
			goto fail;
		}
	} else {
		if (mkdirs(o->output, &err))
			goto fail;
		if (access(o->output, W_OK) < 0) {
			hy_err_set(&err, HY_EFATAL, "cannot write to '%s': %s",
				   o->output, strerror(errno));
			goto fail;
		}
	}
	if (r.x.prepare && (prepared = r.x.prepare(c)) < 0) {
		status = 1;
		goto out;
	}
	r.c = c;
	r.list = &list;
	r.res = calloc(list.n + 1, sizeof(*r.res));
	r.queue = calloc(list.n + 1, sizeof(*r.queue));
	if (!r.res || !r.queue) {
		hy_err_set(&err, HY_EFATAL, "out of memory");
		goto fail;
	}
	/* An existing output is a finished unit of work: skip it (unless
	 * the command is there to read it). */
	for (size_t i = 0; i < list.n; i++) {
		size_t len = strlen(list.v[i].name) + strlen(c->out_suffix) + 1;

		out = malloc(len);
		if (!out) {
			hy_err_set(&err, HY_EFATAL, "out of memory");
			goto fail;
		}
		snprintf(out, len, "%s%s", list.v[i].name, c->out_suffix);
		if (!(r.x.flags & SHARDCMD_READ_OUTPUT) &&
		    outfile_exists(o->output, out)) {
			r.res[i] = R_SKIPPED;
		} else {
			r.queue[nqueue++] = i;
			if (list.v[i].size > 0)
				bytes += list.v[i].size;
		}
		free(out);
		out = NULL;
	}
	r.prog.shards_total = (int64_t)nqueue;
	r.prog.bytes_total = bytes;
	r.ctx.report.fn = progress_report;
	r.ctx.report.ctx = &r.prog;
	r.ctx.progress = &r.prog;
	r.ctx.stop = &cli_stop;
	r.ctx.fsync = !o->run.no_fsync;

	cli_catch_signals();

	if (!o->run.quiet)
		progress_start(&r.prog);
	if (workq_run(nqueue, cli_jobs(o), one, &r, &cli_stop) < 0) {
		progress_stop(&r.prog);
		hy_err_set(&err, HY_EFATAL, "cannot start worker threads");
		goto fail;
	}
	progress_stop(&r.prog);
	secs = progress_elapsed(&r.prog);
	sig = atomic_load(&cli_stop);
	summary(&r, secs, sig > 0 ? sig : 0);
	for (size_t i = 0; i < list.n; i++)
		failed += r.res[i] == R_FAILED;
	status = cli_exit_status(failed || r.total.sample_errors || prepared);
	goto out;
fail:
	fprintf(stderr, "hybridize %s: %s\n", c->name, err.msg);
	status = 1;
out:
	free(out);
	shardlist_release(&list);
	free(r.res);
	free(r.queue);
	return status;
}

int shardcmd_cli(int argc, char **argv, unsigned which, const char *usage,
		 struct shardcmd *c, const struct shardcmd_ext *x)
{
	struct cli_opts o;
	int r = cli_parse(argc, argv, which, usage, &o);
	/* A copy that points at the options while they live (c outlives
	 * them; the commands that use this do not embed it in a larger
	 * struct, see shardcmd_ext). */
	struct shardcmd run = *c;

	run.opts = &o;
	if (r == 0 && cli_resolve_rank(&o) < 0)
		r = -1;
	if (r == 0)
		r = shardcmd_main_ext(&run, x);
	else
		r = r > 0 ? 0 : 1;
	cli_free(&o);
	return r;
}
