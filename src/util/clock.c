/* Monotonic time: now, timed waits, naps. */
#include "util/clock.h"

double clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void clock_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

void clock_abstime(struct timespec *ts, double secs)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)secs;
	ts->tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Short slices so that a set *stop is seen soon (the signal usually cuts
 * nanosleep short anyway). */
void clock_nap(double secs, const atomic_int *stop)
{
	double end = clock_now() + secs, left = secs;

	while (left > 0 && !(stop && atomic_load(stop))) {
		struct timespec ts = {0, left > 0.05 ? 50000000L
						     : (long)(left * 1e9)};

		nanosleep(&ts, NULL);
		left = end - clock_now();
	}
}
