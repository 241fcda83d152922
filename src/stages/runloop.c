/* The loop shared by prompts and generate (see runloop.h). */
#include "stages/runloop.h"

#include "util/clock.h"
#include "util/progress.h"

/* The per-endpoint figures shown after the progress counters. */
static void endpoint_note(const struct runloop *l)
{
	char note[512];

	pool_note(l->pool, note, sizeof(note));
	progress_set_note(l->ctx->progress, note);
}

int runloop_run(const struct runloop *l, struct hy_err *err)
{
	size_t next = 0;
	int exhausted = 0;
	double last_note = 0;
	int ret = HY_OK;

	for (;;) {
		if (stage_stopped(l->ctx))
			return hy_err_set(err, HY_ESTOP, "stopped");
		/* The work of the inputs open, then open more while the
		 * servers could use more work. */
		ret = l->fill(l->arg);
		if (ret)
			return ret;
		while (!exhausted && *l->nactive < l->max_active &&
		       (!l->pool || pool_pending(l->pool) < l->room)) {
			size_t idx;
			int k = feed_next_input(l->link, l->n, &next,
						!*l->nactive, &idx);

			if (k <= 0) {
				exhausted = k < 0;
				break;
			}
			ret = l->open(l->arg, idx);
			if (ret)
				return ret;
		}
		if (!*l->nactive && exhausted)
			return HY_OK;
		if (l->pool) {
			ret = pool_step(l->pool, 0.25, err);
			if (ret)
				return ret;
			if (l->ctx->progress && clock_now() - last_note > 0.5) {
				endpoint_note(l);
				last_note = clock_now();
			}
		}
		ret = l->collect(l->arg);
		if (ret)
			return ret;
	}
}

int runloop_serve(struct runloop *l, const char *const *urls, size_t nurls,
		  const struct pool_opts *po, const struct pool_callbacks *cb,
		  struct pool **pool, struct hy_err *err)
{
	if (urls) {
		int ret = pool_new(pool, urls, nurls, po, cb, err);

		if (ret)
			return ret;
	}
	l->pool = *pool;
	return runloop_run(l, err);
}

void runloop_pool_end(struct pool *pool, long *retries, long *copies, long *won,
		      FILE *summary, const char *title)
{
	if (!pool)
		return;
	*retries = pool_retries(pool);
	*copies = pool_copies(pool, won);
	if (summary)
		pool_print_stats(pool, summary, title);
	pool_free(pool);
}
