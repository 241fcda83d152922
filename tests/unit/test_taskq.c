/* taskq: worker threads run each pushed task once and hand it back
 * finished; taskq_done waits for one; taskq_drain hands back the tasks
 * that never ran. */
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "util/taskq.h"

struct item {
	struct task t; /* first: the task is embedded in the caller's struct */
	int id;
	atomic_int runs;
	pthread_t by;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count_run(struct task *t)
{
	struct item *it = (struct item *)t;

	atomic_fetch_add(&it->runs, 1);
	it->by = pthread_self();
}

static atomic_int notified;
static void *notify_ctx;

static void notify(void *ctx)
{
	notify_ctx = ctx;
	atomic_fetch_add(&notified, 1);
}

static void test_every_task_runs_once(void **state)
{
	enum { N = 2000 };
	struct item *v = calloc(N, sizeof(*v));
	struct taskq *q;
	size_t got = 0;
	int threads = 0, ctx;
	pthread_t seen[8];
	double t0 = now();

	(void)state;
	assert_non_null(v);
	atomic_store(&notified, 0);
	assert_int_equal(taskq_new(&q, 4, notify, &ctx), 0);
	for (int i = 0; i < N; i++) {
		v[i].id = i;
		v[i].t.run = count_run;
		v[i].t.ran = 7;
		taskq_push(q, &v[i].t);
	}
	while (got < N) {
		struct task *t = taskq_done(q, 1.0);
		if (now() - t0 > 30)
			fail_msg("only %zu of %d tasks came back", got, N);
		for (; t; t = t->next, got++) {
			struct item *it = (struct item *)t;
			int k;
			assert_int_equal(t->ran, 1);
			assert_int_equal(atomic_load(&it->runs), 1);
			for (k = 0; k < threads; k++)
				if (pthread_equal(seen[k], it->by))
					break;
			if (k == threads) {
				assert_true(threads < 4);
				seen[threads++] = it->by;
			}
		}
	}
	assert_int_equal(got, N);
	assert_int_equal(taskq_busy(q), 0);
	assert_null(taskq_done(q, 0));
	for (int i = 0; i < N; i++)
		assert_int_equal(atomic_load(&v[i].runs), 1);
	assert_int_equal(atomic_load(&notified), N);
	assert_ptr_equal(notify_ctx, &ctx);
	taskq_drain(q);
	assert_null(taskq_done(q, 0));
	taskq_free(q);
	free(v);
}

static void test_fifo_with_one_thread(void **state)
{
	enum { N = 50 };
	struct item v[N];
	struct taskq *q;
	int next = 0;
	double t0 = now();

	(void)state;
	memset(v, 0, sizeof(v));
	assert_int_equal(taskq_new(&q, 0, NULL, NULL), 0); /* 0: one thread */
	for (int i = 0; i < N; i++) {
		v[i].id = i;
		v[i].t.run = count_run;
		taskq_push(q, &v[i].t);
	}
	/* finished oldest first, one thread runs them in queue order */
	while (next < N && now() - t0 < 30)
		for (struct task *t = taskq_done(q, 1.0); t; t = t->next)
			assert_int_equal(((struct item *)t)->id, next++);
	assert_int_equal(next, N);
	taskq_free(q);
}

/* A gate that blocked tasks wait at. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int gate_waiting;

static void gate_reset(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = 0;
	gate_waiting = 0;
	pthread_mutex_unlock(&gate_lock);
}

static void gate_set(int open)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = open;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

static void blocked_run(struct task *t)
{
	pthread_mutex_lock(&gate_lock);
	gate_waiting++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	count_run(t);
}

static void wait_waiting(int n)
{
	pthread_mutex_lock(&gate_lock);
	while (gate_waiting < n)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void *open_later(void *arg)
{
	usleep((useconds_t)(*(double *)arg * 1e6));
	gate_set(1);
	return NULL;
}

static void test_done_waits_and_returns_early(void **state)
{
	struct item a = {0};
	struct taskq *q;
	struct task *t;
	pthread_t th;
	double t0, delay = 0.2;

	(void)state;
	gate_reset();
	assert_int_equal(taskq_new(&q, 2, NULL, NULL), 0);
	/* nothing queued: no wait at all */
	t0 = now();
	assert_null(taskq_done(q, 5.0));
	assert_true(now() - t0 < 1.0);

	a.t.run = blocked_run;
	taskq_push(q, &a.t);
	wait_waiting(1);
	assert_int_equal(taskq_busy(q), 1);
	/* max_wait 0: a look, not a wait */
	t0 = now();
	assert_null(taskq_done(q, 0));
	assert_true(now() - t0 < 1.0);
	/* a fractional wait times out */
	t0 = now();
	assert_null(taskq_done(q, 0.3));
	assert_true(now() - t0 >= 0.25);
	assert_true(now() - t0 < 3.0);
	/* and returns as soon as the task finishes, long before max_wait */
	assert_int_equal(pthread_create(&th, NULL, open_later, &delay), 0);
	t0 = now();
	t = taskq_done(q, 20.0);
	assert_ptr_equal(t, &a.t);
	assert_null(t->next);
	assert_true(now() - t0 < 10.0);
	assert_int_equal(t->ran, 1);
	assert_int_equal(taskq_busy(q), 0);
	pthread_join(th, NULL);
	taskq_free(q);
}

struct drain_arg {
	struct taskq *q;
	size_t want_busy;
};

/* Opens the gate once drain has taken the unstarted tasks out. */
static void *open_after_drain(void *arg)
{
	struct drain_arg *d = arg;

	while (taskq_busy(d->q) != d->want_busy)
		usleep(1000);
	gate_set(1);
	return NULL;
}

static void test_drain_returns_unstarted(void **state)
{
	enum { RUNNING = 2, QUEUED = 5 };
	struct item v[RUNNING + QUEUED];
	struct drain_arg d;
	struct taskq *q;
	struct task *t;
	pthread_t th;
	int ran = 0, not_ran = 0;

	(void)state;
	memset(v, 0, sizeof(v));
	gate_reset();
	atomic_store(&notified, 0);
	assert_int_equal(taskq_new(&q, RUNNING, notify, NULL), 0);
	for (int i = 0; i < RUNNING + QUEUED; i++) {
		v[i].id = i;
		v[i].t.run = blocked_run;
		taskq_push(q, &v[i].t);
		if (i == RUNNING - 1)
			wait_waiting(RUNNING); /* both workers are held */
	}
	/* queued + running */
	assert_int_equal(taskq_busy(q), RUNNING + QUEUED);
	d.q = q;
	d.want_busy = RUNNING;
	assert_int_equal(pthread_create(&th, NULL, open_after_drain, &d), 0);
	taskq_drain(q); /* returns once the running tasks finished */
	pthread_join(th, NULL);
	assert_int_equal(taskq_busy(q), 0);
	for (t = taskq_done(q, 0); t; t = t->next) {
		struct item *it = (struct item *)t;
		if (t->ran) {
			assert_true(it->id < RUNNING);
			assert_int_equal(atomic_load(&it->runs), 1);
			ran++;
		} else {
			assert_true(it->id >= RUNNING);
			assert_int_equal(atomic_load(&it->runs), 0);
			not_ran++;
		}
	}
	assert_int_equal(ran, RUNNING);
	assert_int_equal(not_ran, QUEUED);
	assert_int_equal(atomic_load(&notified), RUNNING);
	for (int i = RUNNING; i < RUNNING + QUEUED; i++)
		assert_int_equal(atomic_load(&v[i].runs), 0);
	/* drained twice (taskq_free drains too) is harmless */
	taskq_drain(q);
	assert_null(taskq_done(q, 0));
	taskq_free(q);
}

static void test_busy_counts_queued_and_running(void **state)
{
	struct item v[3];
	struct taskq *q;
	size_t got = 0;
	double t0 = now();

	(void)state;
	memset(v, 0, sizeof(v));
	gate_reset();
	assert_int_equal(taskq_new(&q, 1, NULL, NULL), 0);
	assert_int_equal(taskq_busy(q), 0);
	for (int i = 0; i < 3; i++) {
		v[i].t.run = blocked_run;
		taskq_push(q, &v[i].t);
	}
	wait_waiting(1);
	assert_int_equal(taskq_busy(q), 3); /* 1 running, 2 queued */
	assert_null(taskq_done(q, 0));
	gate_set(1);
	while (got < 3 && now() - t0 < 30)
		for (struct task *t = taskq_done(q, 1.0); t; t = t->next)
			got++;
	assert_int_equal(got, 3);
	assert_int_equal(taskq_busy(q), 0);
	taskq_free(q);
}

static void test_free_accepts_null(void **state)
{
	(void)state;
	taskq_free(NULL);
	taskq_drain(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_task_runs_once),
	    cmocka_unit_test(test_fifo_with_one_thread),
	    cmocka_unit_test(test_done_waits_and_returns_early),
	    cmocka_unit_test(test_drain_returns_unstarted),
	    cmocka_unit_test(test_busy_counts_queued_and_running),
	    cmocka_unit_test(test_free_accepts_null),
	};
	return cmocka_run_group_tests_name("taskq", tests, NULL, NULL);
}
