/* run: a router thread sends each shard to the first stage whose output is
 * missing (scanning it itself, a few shards ahead of the prompts stage at
 * most), the prompts and generate event loops take shards from their
 * feeds as the stage before finishes them, and a reshard thread writes the
 * final shards. The main thread watches: it passes a signal on, stops every
 * stage when one fails for good, and rewrites the status file.
 *
 * Memory stays bounded: the router waits while `lookahead` captions files
 * are queued for prompts, and the prompts and generate loops hold a fixed
 * number of shards each. */
#include "stages/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/workdir.h"
#include "util/buf.h"
#include "util/outfile.h"
#include "util/clock.h"
#include "util/progress.h"
#include "stages/reshard.h"

/* Failure lines kept for the status file. */
#define PL_KEEP_FAILURES 32

const char *pipeline_stage_name(enum pipeline_stage s)
{
	return workdir_stage_name((enum workdir_folder)s);
}

int pipeline_lock(const char *workdir, long rank, int *fd, struct hy_err *err)
{
	char *dir = path_join(workdir, PIPELINE_DIR_STATE), *path = NULL;
	char leaf[64], pid[32];
	int ret = HY_OK, lfd = -1;
	ssize_t n;

	*fd = -1;
	snprintf(leaf, sizeof(leaf), "lock-%ld", rank);
	if (!dir || !(path = path_join(dir, leaf))) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	if ((ret = mkdirs(dir, err)) != HY_OK)
		goto out;
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		ret = hy_err_set(err, HY_EFATAL, "cannot open '%s': %s", path,
				 strerror(errno));
		goto out;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			/* Not an error: the caller warns and goes on. */
			hy_err_set(err, HY_OK,
				   "cannot lock '%s' (%s): nothing keeps a "
				   "second run of rank %ld off this work "
				   "folder",
				   path, strerror(errno), rank);
			goto out;
		}
		/* The holder writes its pid right after taking the lock; a
		 * read in between finds none. */
		n = pread(lfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		ret = hy_err_set(err, HY_ECONFIG,
				 "'%s' is in use by another run of rank %ld "
				 "(pid %s): wait for it or stop it",
				 workdir, rank, pid[0] ? pid : "unknown");
		goto out;
	}
	/* For the message above, in the run that finds the lock taken. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) < 0 || pwrite(lfd, pid, (size_t)n, 0) != n) {
		ret = hy_err_set(err, HY_EFATAL, "cannot write '%s': %s", path,
				 strerror(errno));
		goto out;
	}
	*fd = lfd;
	lfd = -1;
out:
	if (lfd >= 0)
		close(lfd);
	free(path);
	free(dir);
	return ret;
}

struct pl {
	const struct stage_ctx *uctx; /* the caller's: its stop flag */
	/* The stages': our stop flag. Only reshard moves the progress bar
	 * (shards finished, samples written); the others' counts would mix
	 * into it. */
	struct stage_ctx ctx, rctx;
	atomic_int halt;
	const struct pipeline_opts *o;
	const struct pipeline_input *in;
	size_t n;
	struct pipeline_counts *c;
	char *dir_cap, *dir_pr, *dir_ed, *dir_state;
	struct prompts_input *pin;
	struct generate_input *gin;
	char **paths; /* captions and prompts paths, 2 per shard */
	struct feed fp, fg, fr;
	pthread_mutex_t lock; /* counts, failures, ret */
	int ret;	      /* the first error that stopped the run */
	struct hy_err err;
	char *failures[PL_KEEP_FAILURES];
	size_t nfail;
	atomic_int running; /* stage threads not finished */
	char *summary[2];   /* endpoint tables of prompts and generate */
	size_t summary_len[2];
	double t0;
	time_t started;
};

static void keep_failure(struct pl *p, const char *line)
{
	pthread_mutex_lock(&p->lock);
	if (p->nfail == PL_KEEP_FAILURES) {
		free(p->failures[0]);
		memmove(p->failures, p->failures + 1,
			(PL_KEEP_FAILURES - 1) * sizeof(*p->failures));
		p->nfail--;
	}
	p->failures[p->nfail] = strdup(line);
	if (p->failures[p->nfail])
		p->nfail++;
	pthread_mutex_unlock(&p->lock);
}

/* Every stage reports through here: to the caller, and to the status
 * file's list of recent failures. */
static void report(void *ctx, const char *line)
{
	struct pl *p = ctx;

	keep_failure(p, line);
	if (p->uctx->report.fn)
		p->uctx->report.fn(p->uctx->report.ctx, line);
}

/* A stage failed for good (disk full, servers refusing us): everything
 * stops, the first reason is kept. */
static void fail_all(struct pl *p, int ret, const struct hy_err *e)
{
	pthread_mutex_lock(&p->lock);
	if (!p->ret) {
		p->ret = ret;
		p->err = *e;
	}
	pthread_mutex_unlock(&p->lock);
	atomic_store(&p->halt, -1);
	feed_close(&p->fp);
	feed_close(&p->fg);
	feed_close(&p->fr);
}

static void count(struct pl *p, int64_t *field, int64_t v)
{
	pthread_mutex_lock(&p->lock);
	*field += v;
	pthread_mutex_unlock(&p->lock);
}

static int halted(struct pl *p)
{
	return atomic_load(&p->halt) != 0;
}

/* Shard idx left stage st: counted done or failed; a done one goes on
 * to the next stage's feed (next; NULL after the last stage). */
static void passed(struct pl *p, enum pipeline_stage st, size_t idx, int ok,
		   struct feed *next)
{
	if (ok) {
		count(p, &p->c->done[st], 1);
		if (next)
			feed_put(next, idx);
	} else {
		count(p, &p->c->failed[st], 1);
	}
}

/* What a per-shard stage (scan, reshard) returned for shard idx: a shard
 * that failed is reported, an error other than a stop ends the whole
 * run. 1 when the shard is done. */
static int shard_result(struct pl *p, enum pipeline_stage st, size_t idx,
			int ret, const struct hy_err *err, struct feed *next)
{
	if (ret == HY_OK || ret == HY_ESHARD)
		passed(p, st, idx, ret == HY_OK, next);
	if (ret == HY_ESHARD)
		report(p, err->msg);
	else if (ret != HY_OK && ret != HY_ESTOP)
		fail_all(p, ret, err);
	return ret == HY_OK;
}

static void after_prompts(void *ctx, size_t idx, int ok)
{
	struct pl *p = ctx;

	passed(p, PL_PROMPTS, idx, ok, &p->fg);
}

static void after_generate(void *ctx, size_t idx, int ok)
{
	struct pl *p = ctx;

	passed(p, PL_GENERATE, idx, ok, &p->fr);
}

static int exists(const char *dir, const char *name, const char *suffix)
{
	char *leaf = NULL;
	int yes;

	if (asprintf(&leaf, "%s%s", name, suffix) < 0)
		return 0;
	yes = outfile_exists(dir, leaf);
	free(leaf);
	return yes;
}

/* A stage thread ends: the next stage (next; NULL after the last) learns
 * that no more will come. */
static void *leave(struct pl *p, struct feed *next)
{
	if (next)
		feed_close(next);
	atomic_fetch_sub(&p->running, 1);
	return NULL;
}

static void *router(void *arg)
{
	struct pl *p = arg;
	const struct pipeline_opts *o = p->o;

	for (size_t i = 0; i < p->n && !halted(p); i++) {
		const struct pipeline_input *in = &p->in[i];
		struct stage_counts sc = {0};
		struct hy_err err = {0};
		int ret;

		if (exists(o->outdir, in->name, ".tar")) {
			count(p, &p->c->skipped[PL_RESHARD], 1);
			if (p->rctx.progress)
				atomic_fetch_add(&p->rctx.progress->shards_done,
						 1);
			continue;
		}
		if (exists(p->dir_ed, in->name, "")) {
			count(p, &p->c->skipped[PL_GENERATE], 1);
			feed_put(&p->fr, i);
			continue;
		}
		if (exists(p->dir_pr, in->name, ".json")) {
			count(p, &p->c->skipped[PL_PROMPTS], 1);
			feed_put(&p->fg, i);
			continue;
		}
		if (exists(p->dir_cap, in->name, ".json")) {
			count(p, &p->c->skipped[PL_SCAN], 1);
			feed_put(&p->fp, i);
			continue;
		}
		/* Stay a few shards ahead of the LLM, no more. The timeout
		 * only bounds how late a halt without a closed feed is seen. */
		while (!halted(p) &&
		       !feed_wait_below(
			   &p->fp,
			   (size_t)(o->lookahead > 0 ? o->lookahead : 1), 0.2))
			;
		if (halted(p))
			break;
		ret = scan_shard(&p->ctx, &o->scan, in->path, in->name,
				 p->dir_cap, &sc, &err);
		count(p, &p->c->samples, sc.samples);
		count(p, &p->c->faces, sc.faces);
		count(p, &p->c->bad_samples, sc.sample_errors);
		shard_result(p, PL_SCAN, i, ret, &err, &p->fp);
	}
	return leave(p, &p->fp);
}

/* A server stage's thread (k = 0: prompts, 1: generate): its endpoint
 * table goes to summary[k]; an error other than a stop ends the whole
 * run. */
static void *server_thread(struct pl *p, int k)
{
	struct stage_link link = {k ? &p->fg : &p->fp,
				  k ? after_generate : after_prompts, p};
	struct hy_err err = {0};
	FILE *mem = open_memstream(&p->summary[k], &p->summary_len[k]);
	int ret;

	if (k)
		ret = generate_run_fed(&p->ctx, p->o->gen, p->gin, p->n, &link,
				       p->dir_ed, &p->c->gen, mem, &err);
	else
		ret =
		    prompts_run_fed(&p->ctx, p->o->prompts, p->pin, p->n, &link,
				    p->dir_pr, &p->c->prompts, mem, &err);
	if (mem)
		fclose(mem);
	if (ret && ret != HY_ESTOP)
		fail_all(p, ret, &err);
	return leave(p, k ? &p->fr : &p->fg);
}

static void *prompts_thread(void *arg)
{
	return server_thread(arg, 0);
}

static void *generate_thread(void *arg)
{
	return server_thread(arg, 1);
}

static void *reshard_thread(void *arg)
{
	struct pl *p = arg;
	struct reshard_opts ro = {p->dir_ed};
	size_t i;
	int k;

	while ((k = feed_take(&p->fr, &i, 0.25)) >= 0 && !halted(p)) {
		struct stage_counts sc = {0};
		struct hy_err err = {0};
		int ret;

		if (!k)
			continue;
		ret = reshard_shard(&p->rctx, &ro, p->in[i].path, p->in[i].name,
				    p->o->outdir, &sc, &err);
		count(p, &p->c->bytes_out, sc.bytes_out);
		count(p, &p->c->dropped, sc.dropped);
		if (shard_result(p, PL_RESHARD, i, ret, &err, NULL) &&
		    p->rctx.progress)
			atomic_fetch_add(&p->rctx.progress->shards_done, 1);
	}
	return leave(p, NULL);
}

/* WORK_DIR/.hybridize/progress-RANK.json: what `status` shows of a run,
 * rewritten every few seconds and at the end. */
static void write_status(struct pl *p, int finished)
{
	struct workdir_progress w = {.rank = p->o->rank,
				     .world = p->o->world,
				     .pid = (long)getpid(),
				     .started = (int64_t)p->started,
				     .finished = finished,
				     .shards = (int64_t)p->n};
	struct buf b = {0};
	struct hy_err err;
	char host[256] = "";
	int bad;

	gethostname(host, sizeof(host) - 1);
	w.host = host;
	pthread_mutex_lock(&p->lock);
	w.updated = (int64_t)time(NULL);
	w.elapsed = clock_now() - p->t0;
	memcpy(w.done, p->c->done, sizeof(w.done));
	memcpy(w.skipped, p->c->skipped, sizeof(w.skipped));
	memcpy(w.failed, p->c->failed, sizeof(w.failed));
	w.samples = p->c->samples;
	w.faces = p->c->faces;
	w.bad_samples = p->c->bad_samples;
	w.bytes_out = p->c->bytes_out;
	/* The prompts and generate loops update their counts unlocked:
	 * read once they have ended. */
	if (finished) {
		const struct prompts_counts *pc = &p->c->prompts;
		const struct generate_counts *gc = &p->c->gen;

		w.prompts = pc->ok;
		w.declined = pc->declined;
		w.other_lang = pc->other_lang;
		w.images = gc->images;
		w.blurred = gc->blurred;
		w.dropped = gc->dropped;
		w.kept = gc->kept;
		w.failed_samples = (int64_t)pc->failed + (int64_t)gc->failed;
	}
	w.failures = p->failures;
	w.nfailures = p->nfail;
	bad = workdir_progress_text(&b, &w); /* the lines are the lock's */
	pthread_mutex_unlock(&p->lock);
	/* Best effort: a status file that cannot be written must not stop
	 * the work. */
	if (!bad)
		workdir_progress_put(p->o->workdir, p->o->rank, &b, &err);
	buf_release(&b);
}

static void progress_note(struct pl *p)
{
	char note[256];
	struct pipeline_counts *c = p->c;

	pthread_mutex_lock(&p->lock);
	snprintf(note, sizeof(note),
		 "scan %lld prompts %lld generate %lld reshard %lld",
		 (long long)c->done[PL_SCAN] + (long long)c->skipped[PL_SCAN],
		 (long long)c->done[PL_PROMPTS] +
		     (long long)c->skipped[PL_PROMPTS],
		 (long long)c->done[PL_GENERATE] +
		     (long long)c->skipped[PL_GENERATE],
		 (long long)c->done[PL_RESHARD]);
	pthread_mutex_unlock(&p->lock);
	progress_set_note(p->rctx.progress, note);
}

static int setup(struct pl *p, struct hy_err *err)
{
	const struct pipeline_opts *o = p->o;

	p->dir_cap = path_join(o->workdir, PIPELINE_DIR_CAPTIONS);
	p->dir_pr = path_join(o->workdir, PIPELINE_DIR_PROMPTS);
	p->dir_ed = path_join(o->workdir, PIPELINE_DIR_EDITS);
	p->dir_state = path_join(o->workdir, PIPELINE_DIR_STATE);
	p->pin = calloc(p->n + 1, sizeof(*p->pin));
	p->gin = calloc(p->n + 1, sizeof(*p->gin));
	p->paths = calloc(2 * p->n + 1, sizeof(*p->paths));
	if (!p->dir_cap || !p->dir_pr || !p->dir_ed || !p->dir_state ||
	    !p->pin || !p->gin || !p->paths)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	for (size_t i = 0; i < p->n; i++) {
		char *leaf = NULL;

		if (asprintf(&leaf, "%s.json", p->in[i].name) < 0)
			return hy_err_set(err, HY_EFATAL, "out of memory");
		p->paths[2 * i] = path_join(p->dir_cap, leaf);
		p->paths[2 * i + 1] = path_join(p->dir_pr, leaf);
		free(leaf);
		if (!p->paths[2 * i] || !p->paths[2 * i + 1])
			return hy_err_set(err, HY_EFATAL, "out of memory");
		p->pin[i].path = p->paths[2 * i];
		p->pin[i].name = p->in[i].name;
		p->gin[i].shard = p->in[i].path;
		p->gin[i].name = p->in[i].name;
		p->gin[i].prompts = p->paths[2 * i + 1];
	}
	if (mkdirs(p->dir_cap, err) || mkdirs(p->dir_pr, err) ||
	    mkdirs(p->dir_ed, err) || mkdirs(p->dir_state, err) ||
	    mkdirs(o->outdir, err))
		return err->code;
	if (feed_init(&p->fp, p->n) || feed_init(&p->fg, p->n) ||
	    feed_init(&p->fr, p->n))
		return hy_err_set(err, HY_EFATAL, "out of memory");
	return HY_OK;
}

int pipeline_run(const struct stage_ctx *ctx, const struct pipeline_opts *o,
		 const struct pipeline_input *in, size_t n,
		 struct pipeline_counts *c, FILE *summary, struct hy_err *err)
{
	struct pl p = {.uctx = ctx, .o = o, .in = in, .n = n, .c = c};
	void *(*fns[PL_N])(void *) = {router, prompts_thread, generate_thread,
				      reshard_thread};
	pthread_t th[PL_N];
	int started = 0, ret;
	double last = 0;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&p.lock, NULL);
	p.t0 = clock_now();
	p.started = time(NULL);
	p.ctx = *ctx;
	p.ctx.stop = &p.halt;
	p.ctx.report.fn = report;
	p.ctx.report.ctx = &p;
	p.rctx = p.ctx;
	p.ctx.progress = NULL;
	ret = setup(&p, err);
	if (ret)
		goto out;
	write_status(&p, 0);
	atomic_store(&p.running, PL_N);
	for (; started < PL_N; started++)
		if (pthread_create(&th[started], NULL, fns[started], &p)) {
			atomic_fetch_sub(&p.running, PL_N - started);
			fail_all(&p, HY_EFATAL,
				 &(struct hy_err){HY_EFATAL,
						  "cannot start threads"});
			break;
		}
	while (atomic_load(&p.running) > 0) {
		int sig = ctx->stop ? atomic_load(ctx->stop) : 0;

		if (sig && !halted(&p)) {
			atomic_store(&p.halt, sig);
			feed_close(&p.fp);
			feed_close(&p.fg);
			feed_close(&p.fr);
		}
		if (clock_now() - last > 2) {
			write_status(&p, 0);
			if (p.rctx.progress)
				progress_note(&p);
			last = clock_now();
		}
		usleep(50000);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	write_status(&p, 1);
	for (int i = 0; i < 2 && summary; i++)
		if (p.summary[i] && p.summary_len[i]) {
			fprintf(summary, "%s\n", i ? "generate" : "prompts");
			fwrite(p.summary[i], 1, p.summary_len[i], summary);
		}
	if (p.ret) {
		*err = p.err;
		ret = p.ret;
	} else if (atomic_load(&p.halt)) {
		ret = hy_err_set(err, HY_ESTOP, "stopped");
	}
out:
	feed_destroy(&p.fp);
	feed_destroy(&p.fg);
	feed_destroy(&p.fr);
	for (size_t i = 0; p.paths && i < 2 * n; i++)
		free(p.paths[i]);
	for (size_t i = 0; i < p.nfail; i++)
		free(p.failures[i]);
	free(p.paths);
	free(p.pin);
	free(p.gin);
	free(p.dir_cap);
	free(p.dir_pr);
	free(p.dir_ed);
	free(p.dir_state);
	free(p.summary[0]);
	free(p.summary[1]);
	pthread_mutex_destroy(&p.lock);
	return ret;
}
