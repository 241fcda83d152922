/* A ring buffer under a mutex: a few items per second at most. */
#include "util/feed.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "util/clock.h"

int feed_init(struct feed *f, size_t cap)
{
	f->v = calloc(cap ? cap : 1, sizeof(*f->v));
	if (!f->v)
		return -1;
	f->cap = cap ? cap : 1;
	f->head = f->len = 0;
	f->closed = 0;
	pthread_mutex_init(&f->lock, NULL);
	clock_cond_init(&f->cond);
	return 0;
}

void feed_put(struct feed *f, size_t idx)
{
	pthread_mutex_lock(&f->lock);
	if (f->len < f->cap) {
		f->v[(f->head + f->len) % f->cap] = idx;
		f->len++;
	}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

int feed_wait_below(struct feed *f, size_t n, double max_wait)
{
	struct timespec ts;
	int ok;

	pthread_mutex_lock(&f->lock);
	clock_abstime(&ts, max_wait);
	while (f->len >= n && !f->closed &&
	       pthread_cond_timedwait(&f->cond, &f->lock, &ts) != ETIMEDOUT)
		;
	ok = f->len < n || f->closed;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

int feed_take(struct feed *f, size_t *idx, double max_wait)
{
	int got;

	pthread_mutex_lock(&f->lock);
	if (!f->len && !f->closed && max_wait > 0) {
		struct timespec ts;

		clock_abstime(&ts, max_wait);
		while (!f->len && !f->closed &&
		       pthread_cond_timedwait(&f->cond, &f->lock, &ts) !=
			   ETIMEDOUT)
			;
	}
	if (f->len) {
		*idx = f->v[f->head];
		f->head = (f->head + 1) % f->cap;
		f->len--;
		got = 1;
		/* An upstream stage may wait for room (feed_wait_below). */
		pthread_cond_broadcast(&f->cond);
	} else {
		got = f->closed ? -1 : 0;
	}
	pthread_mutex_unlock(&f->lock);
	return got;
}

void feed_close(struct feed *f)
{
	pthread_mutex_lock(&f->lock);
	f->closed = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

size_t feed_len(struct feed *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->len;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int feed_next_input(const struct stage_link *link, size_t n, size_t *next,
		    int idle, size_t *idx)
{
	if (link)
		return feed_take(link->in, idx, idle ? 0.25 : 0);
	if (*next >= n)
		return -1;
	*idx = (*next)++;
	return 1;
}

void feed_input_done(const struct stage_link *link, size_t idx, int ok)
{
	if (link && link->done)
		link->done(link->ctx, idx, ok);
}

void feed_destroy(struct feed *f)
{
	free(f->v);
	f->v = NULL;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
}
