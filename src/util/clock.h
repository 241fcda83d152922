/* The monotonic clock in seconds, and timed waits on it: what the event
 * loops, the queues between threads and the progress reporter measure
 * time with. A clock step (NTP, a resumed VM) neither stretches nor cuts
 * any of them. */
#ifndef HY_CLOCK_H
#define HY_CLOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin: compare, never print). */
double clock_now(void);

/* Initialises *c as a condition variable whose pthread_cond_timedwait
 * takes CLOCK_MONOTONIC times (clock_abstime's). Destroy it with
 * pthread_cond_destroy as any other. */
void clock_cond_init(pthread_cond_t *c);

/* The time `secs` (>= 0) from now on CLOCK_MONOTONIC, for
 * pthread_cond_timedwait on a clock_cond_init condition. */
void clock_abstime(struct timespec *ts, double secs);

/* Sleeps `secs` in slices of at most 50 ms, returning early once *stop is
 * set (stop may be NULL). */
void clock_nap(double secs, const atomic_int *stop);

#endif
