/* The event loop of the stages that keep servers busy (prompts,
 * generate): one thread opens inputs ahead while the request pool has
 * room, so that the servers stay busy across shard boundaries, steps the
 * pool, and lets the stage collect what finished, until every input has
 * left and no more will come (from the input array, or from the feed in a
 * pipeline). The stage keeps its own state; the loop calls it back, on
 * its own thread, through the functions below. */
#ifndef HY_RUNLOOP_H
#define HY_RUNLOOP_H

#include <stddef.h>
#include <stdio.h>

#include "net/pool.h"
#include "stages/stage.h"
#include "util/err.h"
#include "util/feed.h"

struct runloop {
	const struct stage_ctx *ctx;
	const struct stage_link *link; /* in a pipeline, else NULL */
	size_t n;		       /* inputs, without a link */
	size_t max_active;	       /* inputs open at once */
	struct pool *pool; /* NULL: no server (inputs settle on their own) */
	size_t room;	   /* another input opens only while the pool holds
			      fewer jobs than this */
	void *arg;	   /* passed to each function */
	/* Puts the work of the open inputs into the pool, up to room. */
	int (*fill)(void *arg);
	/* Opens input idx (an index into the stage's input array). */
	int (*open)(void *arg, size_t idx);
	/* The stage's count of the inputs open now, kept on the loop's
	 * thread: the loop waits for input while none is, and ends once none
	 * is and no more will come. */
	const size_t *nactive;
	/* After each turn (a pool step of up to 0.25 s, when there is a
	 * pool): collects what finished. */
	int (*collect)(void *arg);
};

/* Runs the loop. Each function returns HY_OK or an error that ends it
 * (err filled by the stage); the pool's own errors (HY_ECONFIG: every
 * server refuses us) fill err. Returns HY_OK when every input has left,
 * HY_ESTOP when ctx's stop flag was seen, or the first error. The
 * per-endpoint figures go to the progress note (ctx->progress) every
 * half second. */
int runloop_run(const struct runloop *l, struct hy_err *err);

/* runloop_run with the stage's servers: first makes the pool over
 * urls[0..nurls) (callbacks cb) into *pool, the stage's own pointer,
 * and l->pool; urls NULL: no server, *pool stays NULL. The pool is left
 * for runloop_pool_end, whatever this returns. */
int runloop_serve(struct runloop *l, const char *const *urls, size_t nurls,
		  const struct pool_opts *po, const struct pool_callbacks *cb,
		  struct pool **pool, struct hy_err *err);

/* After the loop, once nothing the stage still runs touches the pool: the
 * pool's retries and copies sent (*won: that answered first), its
 * per-endpoint table printed to summary (may be NULL) under title, and
 * the pool freed (jobs still in it are dropped: the stage frees what they
 * hold afterwards). Accepts pool NULL: the counts are left as they are. */
void runloop_pool_end(struct pool *pool, long *retries, long *copies, long *won,
		      FILE *summary, const char *title);

#endif
