/* Worker threads with one mutex and two condition variables: tasks are few
 * and long (milliseconds), so a simple lock costs nothing measurable. */
#include "util/taskq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/clock.h"

struct taskq {
	pthread_mutex_t lock;
	pthread_cond_t work;	    /* a task was queued, or quit */
	pthread_cond_t done;	    /* a task finished */
	struct task *head, *tail;   /* queued */
	struct task *dhead, *dtail; /* finished */
	size_t busy;		    /* queued + running */
	int quit;
	void (*notify)(void *ctx);
	void *ctx;
	pthread_t *threads;
	int nthreads;
};

static void append(struct task **head, struct task **tail, struct task *t)
{
	t->next = NULL;
	if (*tail)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

static void *worker(void *arg)
{
	struct taskq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct task *t;

		while (!q->head && !q->quit)
			pthread_cond_wait(&q->work, &q->lock);
		if (!q->head)
			break; /* quit, and nothing left to run */
		t = q->head;
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->lock);
		t->run(t);
		t->ran = 1;
		pthread_mutex_lock(&q->lock);
		append(&q->dhead, &q->dtail, t);
		q->busy--;
		pthread_cond_broadcast(&q->done);
		if (q->notify)
			q->notify(q->ctx);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int taskq_new(struct taskq **out, int threads, void (*notify)(void *ctx),
	      void *ctx)
{
	struct taskq *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return -1;
	if (threads < 1)
		threads = 1;
	q->threads = calloc((size_t)threads, sizeof(*q->threads));
	if (!q->threads) {
		free(q);
		return -1;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	clock_cond_init(&q->done);
	q->notify = notify;
	q->ctx = ctx;
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
			break;
		q->nthreads++;
	}
	if (!q->nthreads) {
		taskq_free(q);
		return -1;
	}
	*out = q;
	return 0;
}

void taskq_push(struct taskq *q, struct task *t)
{
	t->ran = 0;
	pthread_mutex_lock(&q->lock);
	append(&q->head, &q->tail, t);
	q->busy++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

struct task *taskq_done(struct taskq *q, double max_wait)
{
	struct task *t;

	pthread_mutex_lock(&q->lock);
	if (!q->dhead && max_wait > 0 && q->busy) {
		struct timespec ts;

		clock_abstime(&ts, max_wait);
		while (!q->dhead && q->busy &&
		       pthread_cond_timedwait(&q->done, &q->lock, &ts) !=
			   ETIMEDOUT)
			;
	}
	t = q->dhead;
	q->dhead = q->dtail = NULL;
	pthread_mutex_unlock(&q->lock);
	return t;
}

size_t taskq_busy(struct taskq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->busy;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void taskq_drain(struct taskq *q)
{
	struct task *t;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	/* Unstarted tasks go back to their owner instead of running. */
	while ((t = q->head)) {
		q->head = t->next;
		q->busy--;
		append(&q->dhead, &q->dtail, t);
	}
	q->tail = NULL;
	q->quit = 1;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	q->nthreads = 0;
}

void taskq_free(struct taskq *q)
{
	if (!q)
		return;
	taskq_drain(q);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->done);
	free(q->threads);
	free(q);
}
