/* workq: one function over N items on a fixed number of threads. */
#include "unit.h"

#include <pthread.h>
#include <sched.h>

#include "util/workq.h"

#define N 1000

struct seen {
	atomic_int calls[N];
	atomic_int total;
	atomic_int running, most; /* items running at once, at most */
	atomic_int *stop;	  /* set once `stop_after` items ran */
	int stop_after;
	pthread_t first;  /* the thread of item 0 */
	int wait_for_two; /* item 0 and 1 wait until both started */
};

static void item(void *ctx, size_t i)
{
	struct seen *s = ctx;
	int now = atomic_fetch_add(&s->running, 1) + 1;
	int most = atomic_load(&s->most);

	while (now > most &&
	       !atomic_compare_exchange_weak(&s->most, &most, now))
		;
	if (i == 0)
		s->first = pthread_self();
	/* Two threads or more: items 0 and 1 are handed out first, to two
	 * threads, so both run at once; wait for that (bounded, so a broken
	 * pool fails the count below instead of hanging). */
	for (int k = 0; s->wait_for_two && i < 2 && k < 2000000 &&
			atomic_load(&s->most) < 2;
	     k++)
		sched_yield();
	atomic_fetch_add(&s->calls[i], 1);
	if (atomic_fetch_add(&s->total, 1) + 1 == s->stop_after && s->stop)
		atomic_store(s->stop, 1);
	atomic_fetch_sub(&s->running, 1);
}

static struct seen *fresh(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	return s;
}

static void each_once(struct seen *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(atomic_load(&s->calls[i]), 1);
	assert_int_equal(atomic_load(&s->total), (int)n);
}

static void test_one_thread_runs_in_caller(void **state)
{
	struct seen *s = fresh();

	(void)state;
	assert_int_equal(workq_run(N, 1, item, s, NULL), 0);
	each_once(s, N);
	assert_int_equal(atomic_load(&s->most), 1);
	assert_true(pthread_equal(s->first, pthread_self()));
	free(s);
}

static void test_threads_share_items_each_once(void **state)
{
	struct seen *s = fresh();

	(void)state;
	s->wait_for_two = 1;
	assert_int_equal(workq_run(N, 4, item, s, NULL), 0);
	each_once(s, N);
	assert_true(atomic_load(&s->most) >= 2);
	assert_true(atomic_load(&s->most) <= 4);
	assert_false(pthread_equal(s->first, pthread_self()));
	free(s);
}

static void test_more_threads_than_items(void **state)
{
	struct seen *s = fresh();

	(void)state;
	assert_int_equal(workq_run(3, 64, item, s, NULL), 0);
	each_once(s, 3);
	assert_true(atomic_load(&s->most) <= 3);
	free(s);
}

static void test_no_items_and_no_threads(void **state)
{
	struct seen *s = fresh();

	(void)state;
	assert_int_equal(workq_run(0, 8, item, s, NULL), 0);
	assert_int_equal(atomic_load(&s->total), 0);
	/* threads < 1 means one: in the caller. */
	assert_int_equal(workq_run(5, 0, item, s, NULL), 0);
	each_once(s, 5);
	assert_true(pthread_equal(s->first, pthread_self()));
	free(s);
}

static void test_stop_starts_no_new_item(void **state)
{
	atomic_int stop;
	struct seen *s = fresh();

	(void)state;
	/* Already set: nothing runs. */
	atomic_init(&stop, 1);
	assert_int_equal(workq_run(N, 4, item, s, &stop), 0);
	assert_int_equal(atomic_load(&s->total), 0);
	/* Set by the 10th item on one thread: items 0..9, in order, then none.
	 */
	atomic_store(&stop, 0);
	s->stop = &stop;
	s->stop_after = 10;
	assert_int_equal(workq_run(N, 1, item, s, &stop), 0);
	each_once(s, 10);
	assert_int_equal(atomic_load(&s->calls[10]), 0);
	free(s);
	/* On four threads, each finishes its item then takes no new one. */
	s = fresh();
	atomic_store(&stop, 0);
	s->stop = &stop;
	s->stop_after = 10;
	assert_int_equal(workq_run(N, 4, item, s, &stop), 0);
	assert_true(atomic_load(&s->total) >= 10);
	assert_true(atomic_load(&s->total) <= 10 + 3);
	free(s);
}

static void test_cpus_is_the_affinity_mask(void **state)
{
	cpu_set_t set;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(workq_cpus(), CPU_COUNT(&set));
	assert_true(workq_cpus() >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_thread_runs_in_caller),
	    cmocka_unit_test(test_threads_share_items_each_once),
	    cmocka_unit_test(test_more_threads_than_items),
	    cmocka_unit_test(test_no_items_and_no_threads),
	    cmocka_unit_test(test_stop_starts_no_new_item),
	    cmocka_unit_test(test_cpus_is_the_affinity_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
