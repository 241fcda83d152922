/* The queue between two pipelined stages (`run`): the upstream stage puts
 * a shard's index when its output for that shard is written, the
 * downstream stage takes indexes in that order. Thread-safe. */
#ifndef HY_FEED_H
#define HY_FEED_H

#include <pthread.h>
#include <stddef.h>

struct feed {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t *v;
	size_t head, len, cap;
	int closed;
};

/* cap: the most items ever queued at once (the number of shards). 0 or -1
 * (ENOMEM). */
int feed_init(struct feed *f, size_t cap);

/* Queues idx; never blocks (the queue holds every shard). */
void feed_put(struct feed *f, size_t idx);

/* Takes the oldest item into *idx: 1; 0 when none came within max_wait
 * seconds; -1 when the feed is closed and empty (no more will come). */
int feed_take(struct feed *f, size_t *idx, double max_wait);

/* Waits until fewer than n items wait or the feed is closed: 1; 0 when
 * max_wait seconds passed first. For an upstream stage that keeps only a
 * few items ahead of its consumer. */
int feed_wait_below(struct feed *f, size_t n, double max_wait);

/* No more items will be put. */
void feed_close(struct feed *f);

/* Items waiting. */
size_t feed_len(struct feed *f);

void feed_destroy(struct feed *f);

/* What a stage runner (prompts_run_fed, generate_run_fed) is given in a
 * pipeline: its shards come from `in` (indexes into its input array) instead of
 * the whole array, and `done` is called from the runner's thread as each shard
 * leaves it (ok = 1: output written; 0: failed). */
struct stage_link {
	struct feed *in;
	void (*done)(void *ctx, size_t idx, int ok);
	void *ctx;
};

/* The next input of a stage runner: from link->in when in a pipeline
 * (waiting up to 0.25 s when the runner is idle, so it does not spin),
 * else *next of n in order. 1 with *idx set; 0 none for now; -1 no more
 * will come. */
int feed_next_input(const struct stage_link *link, size_t n, size_t *next,
		    int idle, size_t *idx);

/* Tells the pipeline, if any (link may be NULL), that input idx left the
 * stage runner (ok: as for link->done). */
void feed_input_done(const struct stage_link *link, size_t idx, int ok);

#endif
