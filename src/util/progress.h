/* Progress of a long command: live counters updated by worker threads, and
 * a reporter thread that draws a bar on a terminal or writes a log line
 * every few seconds otherwise (done/total, samples/s, ETA). */
#ifndef HY_PROGRESS_H
#define HY_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
	/* Counters: workers add with progress_add; anyone may read. */
	atomic_llong shards_done;
	atomic_llong samples;
	atomic_llong bytes_done; /* input bytes consumed */

	/* Set before progress_start. */
	const char *what; /* command name for the log lines */
	int64_t shards_total;
	int64_t bytes_total; /* input bytes, for the ETA */
	FILE *out;
	int tty;	 /* draw a bar instead of log lines */
	double interval; /* seconds between log lines */

	double t0;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int running, quit;
	int drawn;	/* a bar is on screen and must be cleared before text */
	char note[512]; /* guarded by lock */
};

/* Zeroes the counters and takes the start time. */
void progress_init(struct progress *p, const char *what, FILE *out, int tty,
		   double interval);
/* Adds to the live counters; accepts NULL (no progress wanted). */
void progress_add(struct progress *p, int64_t samples, int64_t bytes);
/* For a worker reading a shard: adds `samples`, and the input bytes
 * between *last and the shard's offset `now` (when it moved forward),
 * then sets *last = now. Accepts p == NULL. */
void progress_advance(struct progress *p, int64_t samples, int64_t now,
		      int64_t *last);
/* Starts the reporter thread; returns 0 or -1. */
int progress_start(struct progress *p);
/* Stops the reporter thread and erases the bar. */
void progress_stop(struct progress *p);
/* Prints one line (a failure, say) with the bar cleared first, so the two
 * do not mix; safe from any thread. */
void progress_print(struct progress *p, const char *line);
/* progress_print of "hybridize WHAT: line": the report callback of every
 * command (arg is the struct progress). */
void progress_report(void *arg, const char *line);
/* Sets a short text shown after the counters (per-endpoint figures, say);
 * copied; safe from any thread. */
void progress_set_note(struct progress *p, const char *note);
/* Seconds since progress_init. */
double progress_elapsed(const struct progress *p);
/* Formats a count the way the lines show them: 950, 12.3k, 4.56M. */
void progress_fmt_count(char *out, size_t n, double v);

#endif
