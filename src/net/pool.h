/* HTTP request pool on libcurl's multi interface: one thread, one event
 * loop, many requests in flight over several endpoints with keep-alive;
 * balancing, retries with backoff and jitter, and endpoint health. The LLM
 * stage (and later the image stage) describe their requests and read their
 * answers through callbacks. A pool is used by one thread only. */
#ifndef HY_POOL_H
#define HY_POOL_H

#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/err.h"

/* What a response callback decides. */
enum pool_verdict {
	POOL_DONE,  /* the job is finished */
	POOL_RETRY, /* malformed or truncated answer: try again, elsewhere */
	POOL_FAIL,  /* final failure (declined, bad request): no retry */
	POOL_DEFER, /* the caller checks the answer elsewhere (a worker
		       thread) and calls pool_resolve later; the body must be
		       copied, as it is reused */
	POOL_STOP,  /* a well-formed answer that says the configuration is
		       wrong (another API's format): the run stops with
		       HY_ECONFIG, why naming the reason; the job is kept,
		       unreported */
};

/* How a job left the pool. */
enum pool_result {
	POOL_OK,       /* answered (POOL_DONE) */
	POOL_FAILED,   /* retries spent, or POOL_FAIL: try again next run */
	POOL_REJECTED, /* the server refused this request for good (HTTP 4xx
			  other than 401/403/404/408/429): retrying the same
			  request cannot help */
};

/* Embedded by the caller at the start of its own job struct; the pool
 * links it into its queues. The caller owns the memory, which must stay
 * valid until the done callback has run. */
struct pool_job {
	struct pool_job *next;
	int attempts;	   /* requests sent so far, 429s, copies and
			      failures during an outage not counted */
	int flying;	   /* transfers carrying it now: 2 while a copy
			      races the first (see pool_opts.no_copies) */
	int copied;	   /* a copy was sent (at most one per attempt) */
	int busy;	   /* 429 answers so far */
	int last_ep;	   /* endpoint of the last attempt, -1 before */
	double not_before; /* monotonic seconds: backoff */
	double latency;	   /* of a deferred answer, for the stats */
	char why[256];	   /* the last failure, for reports */
};

struct pool_callbacks {
	/* Writes the request for `job`: the path after the endpoint's base
	 * URL (e.g. "/api/generate") and the JSON body. Returns 0, or -1 to
	 * fail the job (out of memory). */
	int (*request)(void *ctx, struct pool_job *job, struct buf *path,
		       struct buf *body);
	/* Reads a 2xx response body; may write a reason into why. */
	enum pool_verdict (*response)(void *ctx, struct pool_job *job,
				      const char *body, size_t len, char *why,
				      size_t why_size);
	/* The job has left the pool with one of enum pool_result (job->why
	 * says why when not POOL_OK). The job may be freed here. */
	void (*done)(void *ctx, struct pool_job *job, int result);
	void *ctx;
};

struct pool_opts {
	int max_in_flight;	 /* requests in flight over all endpoints */
	double timeout;		 /* seconds per request */
	int retries;		 /* further attempts after the first */
	double backoff_base;	 /* seconds; doubles per attempt, +-50% */
	double backoff_max;	 /* cap of one wait */
	const char *bearer;	 /* Authorization: Bearer token, or NULL */
	const char *basic;	 /* "user:password" for HTTP Basic (A1111's
				    --api-auth), or NULL */
	const char *health_path; /* GET probe of a dead endpoint; it carries
				    the same Authorization header */
	double patience; /* seconds: while no endpoint is up, jobs wait this
			    long (probes going on) without spending attempts;
			    past it they fail as with any failure */
	int ep_limit;	 /* requests in flight per endpoint: this many, not
			    learned (fewer only when a queue nears the
			    timeout); 0: learned, up to max_in_flight */
	int no_copies;	 /* 1: never send a copy to an idle endpoint */
	const char *props_path; /* GET at start, e.g. llama.cpp's "/props":
				   a JSON "total_slots" there sets the
				   endpoint's limit; NULL: none */
};

struct pool_ep_stats {
	const char *url; /* without user-info (redact_url) */
	int in_flight;
	int limit; /* requests in flight allowed now (learned) */
	int slots; /* what the server said it has (props_path), or 0 */
	int healthy;
	long ok, errors;
	double p50, p95, p99; /* latency of successful requests, seconds */
};

struct pool;

/* Creates a pool over the base URLs (e.g. "http://127.0.0.1:11434"; the
 * strings are copied). Returns HY_OK or HY_EFATAL. */
int pool_new(struct pool **out, const char *const *urls, size_t n,
	     const struct pool_opts *o, const struct pool_callbacks *cb,
	     struct hy_err *err);

/* Queues a job; it is sent when a slot and a healthy endpoint are free. */
void pool_submit(struct pool *p, struct pool_job *job);

/* Runs the event loop once: starts what can start, waits at most
 * max_wait seconds for network activity, and handles what finished
 * (calling the callbacks). Returns HY_OK, HY_EFATAL, or HY_ECONFIG when
 * every endpoint refused us for good (HTTP 401, 403 or 404 to a request
 * or a health probe: a wrong key, model or API), err naming the last one
 * and its answer, or at once when an endpoint answered with a redirect
 * (3xx, never followed), err naming the endpoint and the Location, or an
 * answer the response callback judged POOL_STOP; the job is kept,
 * unreported. After a redirect or a stop, every later call returns it
 * again. */
int pool_step(struct pool *p, double max_wait, struct hy_err *err);

/* Settles a job whose answer was deferred (POOL_DEFER): POOL_DONE
 * finishes it, POOL_RETRY counts against its endpoint and retries it as a
 * bad answer would be, POOL_FAIL fails it. Called from the pool's thread;
 * the done callback runs inside. */
void pool_resolve(struct pool *p, struct pool_job *job, enum pool_verdict v);

/* Makes a pool_step waiting in another thread return early; the only
 * function that may be called from another thread. */
void pool_wakeup(struct pool *p);

/* Jobs queued, waiting for a retry, in flight, or deferred. */
size_t pool_pending(const struct pool *p);

/* Per-endpoint figures; returns the number of endpoints and points *out
 * at an array owned by the pool (valid until the next call). */
size_t pool_stats(struct pool *p, const struct pool_ep_stats **out);

/* One line of live per-endpoint figures for a progress note ("host:port 3
 * in flight 120 ok 2 err, ..."). */
void pool_note(struct pool *p, char *out, size_t n);

/* The per-endpoint table of a summary (ok, errors, latency percentiles),
 * its first column headed `title`. */
void pool_print_stats(struct pool *p, FILE *f, const char *title);

/* Total retries so far (all endpoints). */
long pool_retries(const struct pool *p);

/* Copies sent to idle endpoints so far, and how many of them answered
 * first (the other transfer was then cancelled). */
long pool_copies(const struct pool *p, long *won);

/* 1 while every endpoint is down and jobs wait for one (within the
 * patience); *for_s says for how long so far. */
int pool_waiting(const struct pool *p, double *for_s);

/* Frees the pool; jobs still inside are dropped without callbacks.
 * Accepts NULL. */
void pool_free(struct pool *p);

#endif
