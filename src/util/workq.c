/* Fixed thread pool over an index range. */
#include "util/workq.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

struct wq {
	size_t n;
	atomic_size_t next;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	const atomic_int *stop;
};

static void *worker(void *arg)
{
	struct wq *q = arg;

	for (;;) {
		size_t i;

		if (q->stop && atomic_load(q->stop))
			break;
		i = atomic_fetch_add(&q->next, 1);
		if (i >= q->n)
			break;
		q->fn(q->ctx, i);
	}
	return NULL;
}

int workq_run(size_t n, int threads, void (*fn)(void *ctx, size_t i), void *ctx,
	      const atomic_int *stop)
{
	struct wq q = {.n = n, .fn = fn, .ctx = ctx, .stop = stop};
	pthread_t *t;
	int started = 0;

	atomic_init(&q.next, 0);
	if (threads < 1)
		threads = 1;
	if ((size_t)threads > n)
		threads = n ? (int)n : 1;
	if (threads == 1) {
		worker(&q);
		return 0;
	}
	t = calloc((size_t)threads, sizeof(*t));
	if (!t)
		return -1;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, &q) == 0)
			started++;
		else
			break;
	if (!started) {
		free(t);
		return -1;
	}
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
}

int workq_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return 1;
}
