/* clock: the monotonic time the loops and queues wait on. */
#include "unit.h"

#include <errno.h>

#include "util/clock.h"

static void test_now_moves_forward(void **state)
{
	double a = clock_now(), b;
	struct timespec ts = {0, 20000000L};

	(void)state;
	nanosleep(&ts, NULL);
	b = clock_now();
	assert_true(b - a >= 0.019);
	assert_true(b - a < 5);
}

/* A timed wait on a clock_cond_init condition ends when clock_abstime
 * says, on the same clock. */
static void test_timed_wait_times_out_on_time(void **state)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	struct timespec ts;
	double t0;
	int rc;

	(void)state;
	clock_cond_init(&c);
	pthread_mutex_lock(&m);
	t0 = clock_now();
	clock_abstime(&ts, 0.05);
	assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
	do
		rc = pthread_cond_timedwait(&c, &m, &ts);
	while (rc == 0);
	pthread_mutex_unlock(&m);
	assert_int_equal(rc, ETIMEDOUT);
	assert_true(clock_now() - t0 >= 0.049);
	assert_true(clock_now() - t0 < 2);
	pthread_cond_destroy(&c);
}

/* Fractions that carry into the seconds stay a valid timespec. */
static void test_abstime_carries_nanoseconds(void **state)
{
	struct timespec ts;

	(void)state;
	for (int i = 0; i < 200; i++) {
		clock_abstime(&ts, 1.999999);
		assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
	}
}

static void test_nap_sleeps_and_stops_early(void **state)
{
	atomic_int stop = 0;
	double t0 = clock_now();

	(void)state;
	clock_nap(0.06, &stop);
	assert_true(clock_now() - t0 >= 0.059);
	clock_nap(0.02, NULL);
	atomic_store(&stop, 1);
	t0 = clock_now();
	clock_nap(10, &stop);
	assert_true(clock_now() - t0 < 0.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_now_moves_forward),
	    cmocka_unit_test(test_timed_wait_times_out_on_time),
	    cmocka_unit_test(test_abstime_carries_nanoseconds),
	    cmocka_unit_test(test_nap_sleeps_and_stops_early),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
