/* feed: the queue between two pipelined stages of `run`. Items come out in
 * the order they went in; feed_take waits at most max_wait; a closed, empty
 * feed says so; feed_wait_below lets an upstream stage wait for room and
 * wakes when a consumer takes or the feed closes. */
#include "unit.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "util/feed.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_fifo_and_close(void **state)
{
	struct feed f;
	size_t idx;

	(void)state;
	assert_int_equal(feed_init(&f, 4), 0);
	feed_put(&f, 7);
	feed_put(&f, 3);
	assert_int_equal(feed_len(&f), 2);
	assert_int_equal(feed_take(&f, &idx, 0), 1);
	assert_int_equal(idx, 7);
	assert_int_equal(feed_take(&f, &idx, 0), 1);
	assert_int_equal(idx, 3);
	assert_int_equal(feed_take(&f, &idx, 0), 0); /* empty, still open */
	feed_close(&f);
	assert_int_equal(feed_take(&f, &idx, 1), -1); /* at once */
	feed_destroy(&f);
}

static void test_take_waits_at_most_max_wait(void **state)
{
	struct feed f;
	size_t idx;
	double t0;

	(void)state;
	assert_int_equal(feed_init(&f, 2), 0);
	t0 = now();
	assert_int_equal(feed_take(&f, &idx, 0.1), 0);
	assert_true(now() - t0 >= 0.09);
	assert_true(now() - t0 < 2);
	feed_destroy(&f);
}

struct taker {
	struct feed *f;
	double delay;
	int close; /* close the feed instead of taking */
};

static void *take_later(void *arg)
{
	struct taker *t = arg;
	size_t idx;

	usleep((useconds_t)(t->delay * 1e6));
	if (t->close)
		feed_close(t->f);
	else
		feed_take(t->f, &idx, 0);
	return NULL;
}

static void test_wait_below(void **state)
{
	struct feed f;
	pthread_t th;
	struct taker t = {&f, 0.2, 0};
	double t0;

	(void)state;
	assert_int_equal(feed_init(&f, 8), 0);
	assert_int_equal(feed_wait_below(&f, 1, 0), 1); /* room already */
	feed_put(&f, 1);
	feed_put(&f, 2);
	t0 = now();
	assert_int_equal(feed_wait_below(&f, 2, 0.1), 0); /* full: times out */
	assert_true(now() - t0 >= 0.09);

	/* A take wakes the waiter long before its 10 s timeout. */
	assert_int_equal(pthread_create(&th, NULL, take_later, &t), 0);
	t0 = now();
	assert_int_equal(feed_wait_below(&f, 2, 10), 1);
	assert_true(now() - t0 < 5);
	assert_int_equal(feed_len(&f), 1);
	pthread_join(th, NULL);

	/* So does closing the feed. */
	feed_put(&f, 3);
	t.close = 1;
	assert_int_equal(pthread_create(&th, NULL, take_later, &t), 0);
	t0 = now();
	assert_int_equal(feed_wait_below(&f, 2, 10), 1);
	assert_true(now() - t0 < 5);
	assert_int_equal(feed_len(&f), 2);
	pthread_join(th, NULL);
	feed_destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_and_close),
	    cmocka_unit_test(test_take_waits_at_most_max_wait),
	    cmocka_unit_test(test_wait_below),
	};
	return cmocka_run_group_tests_name("feed", tests, NULL, NULL);
}
