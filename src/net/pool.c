/* HTTP request pool: libcurl multi, one event loop (curl_multi_poll, then
 * curl_multi_perform, then curl_multi_info_read mapped back to the
 * transfer through CURLINFO_PRIVATE). classify() is the one place that
 * decides whether a failed request is retried. */
#include "net/pool.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "net/limiter.h"
#include "util/clock.h"
#include "util/redact.h"

/* A body larger than this is not an answer (a base64 PNG of 2048x2048,
 * the largest image we ask for, is under 17 MiB); the transfer is cut. */
#define POOL_MAX_BODY (32u << 20)
/* All the answers in flight together, counted as the memory their buffers
 * hold. Without it 64 requests against a server whose body never ends held
 * 64 x 32 MiB (2.1 GB RSS). Text answers are kilobytes and images a few
 * hundred KB, so a full slot table of ordinary answers stays far below;
 * buffers grow by doubling, so a worst-case 2048x2048 PNG (under 17 MiB)
 * holds 32 MiB and 256 MiB still holds 8 of them at once, and the
 * client's share of a node that also runs the servers stays small. (The
 * copy generate's worker takes of an answer is not counted here.) */
#define POOL_MAX_TOTAL (256u << 20)
/* A finished transfer keeps its answer buffer for the next one (no
 * allocation per request) only up to this size: an idle slot must not
 * pin a large answer's memory outside the total above. */
#define POOL_KEEP_BODY (64u << 10)
/* Consecutive failures after which an endpoint is taken out and probed. */
#define POOL_DOWN_AFTER 3
/* Latencies kept per endpoint for the percentiles. */
#define POOL_LAT_RING 4096
/* Requests in flight an endpoint starts with, before its limit is learned
 * (limiter.h) or told (props_path). */
#define POOL_START_LIMIT 4
/* A copy goes to an idle endpoint only when it would save more than this
 * (seconds) over the answer expected from the slower one: against fast
 * servers a copy is wasted work. */
#define POOL_COPY_GAIN 0.05
/* The longest wait between two health probes of a down endpoint. */
#define POOL_PROBE_MAX 5.0

/* BROKEN: it answered 401, 403 or 404 (a wrong key, model or API for that
 * server): no request goes there again in this run. */
enum ep_state { EP_UP, EP_DOWN, EP_PROBING, EP_BROKEN };

struct endpoint {
	char *url;	/* as given, user-info included: for curl only */
	char name[256]; /* url without user-info: for every message */
	enum ep_state state;
	int in_flight;
	int fails;	   /* consecutive */
	double down_until; /* when DOWN: time of the next probe */
	double down_for;   /* current probe interval, doubles up to 5 s */
	double ewma;	   /* latency of successes, seconds */
	double min_rtt;	   /* lowest latency seen, 0 before any */
	long ok, errors;
	double *lat; /* ring of POOL_LAT_RING latencies */
	size_t nlat;
	CURL *probe; /* health probe transfer, or NULL */
	char probe_err[CURL_ERROR_SIZE];
	CURL *props; /* the props_path request at start, or NULL */
	struct buf props_body;
	int slots; /* total_slots the server told, 0 unknown */
	struct limiter lim;
};

struct transfer {
	CURL *easy;
	struct pool_job *job;
	int ep;
	double t0;
	struct buf url, path, body, resp;
	struct curl_slist *headers;
	char err[CURL_ERROR_SIZE];
	struct pool *pool;
	enum {
		CUT_NO,
		CUT_BODY,
		CUT_TOTAL,
		CUT_NOMEM
	} cut;		/* why on_body
			    stopped */
	int sock_errno; /* errno of a socket() that failed */
	int copy;	/* a copy of a job still in flight elsewhere */
	struct transfer *next_free;
};

struct pool {
	CURLM *multi;
	struct pool_opts o;
	struct pool_callbacks cb;
	struct endpoint *ep;
	size_t nep;
	struct transfer *tr;
	struct transfer *free_tr;
	int in_flight;
	struct pool_job *ready, *ready_tail; /* FIFO */
	struct pool_job *delayed;	     /* waiting for not_before */
	size_t queued;			     /* ready + delayed */
	size_t resp_bytes; /* buffer capacity of the answers in flight */
	long retries;
	long copies, copies_won;
	double dark_since; /* every endpoint down since then; 0: not */
	uint64_t rng;
	char broken[300];	    /* the last refusal, for HY_ECONFIG */
	char stop[800];		    /* a redirect or POOL_STOP: ends the run */
	struct curl_slist *headers; /* shared by all transfers */
	struct curl_slist *probe_headers; /* the Authorization alone */
	struct pool_ep_stats *stats;
};

static double rnd(struct pool *p) /* uniform in [0, 1) */
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return (double)(p->rng >> 11) / 9007199254740992.0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	struct pool *p = t->pool;
	size_t len = size * n, old = t->resp.cap, cap;

	/* Returning less than len makes curl fail the transfer. */
	if (t->resp.len + len > POOL_MAX_BODY) {
		t->cut = CUT_BODY;
		return 0;
	}
	cap = buf_next_cap(&t->resp, len);
	if (!cap || p->resp_bytes - old + cap > POOL_MAX_TOTAL) {
		t->cut = CUT_TOTAL;
		return 0;
	}
	if (buf_append(&t->resp, data, len)) {
		t->cut = CUT_NOMEM;
		return 0;
	}
	p->resp_bytes += t->resp.cap - old;
	return len;
}

/* Opens a socket as curl would, keeping the errno that curl drops. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose,
				 struct curl_sockaddr *a)
{
	struct transfer *t = arg;
	curl_socket_t fd = socket(a->family, a->socktype, a->protocol);

	(void)purpose;
	if (fd == CURL_SOCKET_BAD)
		t->sock_errno = errno;
	return fd;
}

/* Our requests carry the API key and the captions: they go to the URL
 * given and nowhere else. A redirect is never followed (classify stops
 * the run on one), and no URL may use another scheme than http(s), such
 * as file:// or a scheme a redirect would switch to. */
static void limit_protocols(CURL *h)
{
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* HTTP Basic (A1111 --api-auth user:password), sent with the first
 * request rather than after a 401. */
static void set_basic(struct pool *p, CURL *h)
{
	if (!p->o.basic)
		return;
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h, CURLOPT_USERPWD, p->o.basic);
}

/* The props_path answer, kept up to 64 KiB (llama.cpp's is ~2 KB). */
static size_t props_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > (64u << 10) || buf_append(b, data, size * n))
		return 0;
	return size * n;
}

/* Asks the server how many requests it serves at once (props_done). */
static void start_props(struct pool *p, struct endpoint *e)
{
	struct buf url = {0};

	if (!(e->props = curl_easy_init()))
		return;
	if (buf_append(&url, e->url, strlen(e->url)) ||
	    buf_append(&url, p->o.props_path, strlen(p->o.props_path))) {
		buf_release(&url);
		curl_easy_cleanup(e->props);
		e->props = NULL;
		return;
	}
	curl_easy_setopt(e->props, CURLOPT_URL, url.data);
	curl_easy_setopt(e->props, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(e->props, CURLOPT_WRITEFUNCTION, props_body);
	curl_easy_setopt(e->props, CURLOPT_WRITEDATA, &e->props_body);
	curl_easy_setopt(e->props, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->props, CURLOPT_PROXY, "");
	curl_easy_setopt(e->props, CURLOPT_HTTPHEADER, p->probe_headers);
	set_basic(p, e->props);
	limit_protocols(e->props);
	curl_easy_setopt(e->props, CURLOPT_TIMEOUT_MS,
			 (long)(fmin(p->o.timeout, 5) * 1000));
	buf_release(&url);
	curl_multi_add_handle(p->multi, e->props);
}

int pool_new(struct pool **out, const char *const *urls, size_t n,
	     const struct pool_opts *o, const struct pool_callbacks *cb,
	     struct hy_err *err)
{
	struct pool *p = calloc(1, sizeof(*p));
	int ret = HY_OK;

	*out = NULL;
	if (!p)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	p->o = *o;
	if (p->o.max_in_flight < 1)
		p->o.max_in_flight = 1;
	p->cb = *cb;
	p->rng = (uint64_t)time(NULL) * 2654435761u + 1;
	p->nep = n;
	p->ep = calloc(n ? n : 1, sizeof(*p->ep));
	p->tr = calloc((size_t)p->o.max_in_flight, sizeof(*p->tr));
	p->stats = calloc(n ? n : 1, sizeof(*p->stats));
	p->multi = curl_multi_init();
	if (!p->ep || !p->tr || !p->stats || !p->multi) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(urls[i]);
		p->ep[i].url = strdup(urls[i]);
		p->ep[i].lat = calloc(POOL_LAT_RING, sizeof(double));
		if (!p->ep[i].url || !p->ep[i].lat) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto fail;
		}
		while (l > 0 && p->ep[i].url[l - 1] == '/')
			p->ep[i].url[--l] = '\0'; /* paths start with '/' */
		/* A server may echo the password back in an error body. */
		if (redact_add_url(urls[i])) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto fail;
		}
		redact_url(p->ep[i].name, sizeof(p->ep[i].name), p->ep[i].url);
		p->ep[i].down_for = 1;
		limiter_init(&p->ep[i].lim, POOL_START_LIMIT,
			     p->o.ep_limit > 0 &&
				     p->o.ep_limit < p->o.max_in_flight
				 ? p->o.ep_limit
				 : p->o.max_in_flight,
			     p->o.timeout / 3, clock_now());
		/* --endpoint-limit N: N from the start, and never more;
		 * fewer only after a timeout or a queue near it. */
		if (p->o.ep_limit > 0)
			limiter_fix(&p->ep[i].lim);
	}
	/* Servers quote a wrong key back ("Incorrect API key provided"). */
	if ((o->bearer && redact_add(o->bearer)) ||
	    (o->basic && redact_add(o->basic)) ||
	    (o->basic && strchr(o->basic, ':') &&
	     redact_add(strchr(o->basic, ':') + 1))) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto fail;
	}
	p->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before each body. */
	p->headers = curl_slist_append(p->headers, "Expect:");
	if (o->bearer) {
		struct buf h = {0};
		if (buf_append(&h, "Authorization: Bearer ", 22) ||
		    buf_append(&h, o->bearer, strlen(o->bearer))) {
			buf_release(&h);
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto fail;
		}
		p->headers = curl_slist_append(p->headers, h.data);
		/* A probe without the key gets 401 from a server that asks
		 * for one, which says nothing about its health. */
		p->probe_headers = curl_slist_append(NULL, h.data);
		buf_release(&h);
	}
	for (int i = 0; i < p->o.max_in_flight; i++) {
		struct transfer *t = &p->tr[i];
		t->easy = curl_easy_init();
		if (!t->easy) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto fail;
		}
		t->pool = p;
		curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
		curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->err);
		curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETFUNCTION,
				 open_socket);
		curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETDATA, t);
		curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(t->easy, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, p->headers);
		curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS,
				 (long)(p->o.timeout * 1000));
		curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
				 (long)(fmin(p->o.timeout, 5) * 1000));
		curl_easy_setopt(t->easy, CURLOPT_PROXY, ""); /* no env proxy */
		set_basic(p, t->easy);
		limit_protocols(t->easy);
		t->next_free = p->free_tr;
		p->free_tr = t;
	}
	for (size_t i = 0; p->o.props_path && i < n; i++)
		start_props(p, &p->ep[i]);
	*out = p;
	return HY_OK;
fail:
	pool_free(p);
	return ret;
}

static void push_ready(struct pool *p, struct pool_job *j)
{
	j->next = NULL;
	if (p->ready_tail)
		p->ready_tail->next = j;
	else
		p->ready = j;
	p->ready_tail = j;
}

void pool_submit(struct pool *p, struct pool_job *job)
{
	job->attempts = 0;
	job->flying = 0;
	job->copied = 0;
	job->last_ep = -1;
	job->not_before = 0;
	job->why[0] = '\0';
	push_ready(p, job);
	p->queued++;
}

static int any_up(const struct pool *p)
{
	for (size_t i = 0; i < p->nep; i++)
		if (p->ep[i].state == EP_UP)
			return 1;
	return 0;
}

/* Every endpoint is down, and has been for less than the patience: jobs
 * wait for one to come back instead of spending their attempts. */
static int patient(const struct pool *p, double now)
{
	return p->dark_since > 0 && now - p->dark_since < p->o.patience;
}

/* When a new request sent to e now is expected to be answered: the
 * recent latency there, scaled by how full its limit would be. An
 * endpoint with no answer yet is expected at once (so that it gets
 * measured; its starting limit is small). */
static double expected(const struct endpoint *e)
{
	if (e->ewma == 0 && e->errors > 0)
		return 1e9; /* errors and no answer yet: last choice */
	return e->ewma * (e->in_flight + 1) / limiter_room(&e->lim);
}

/* Where a job goes: among the endpoints that are up and below their
 * learned limit, the one expected to answer first; one where the job has
 * just failed only when no other has room. Returns the endpoint, -2 when
 * the job must wait (every limit full, or every endpoint down within the
 * patience), -1 when every endpoint refuses us. Past the patience, with
 * every endpoint down, the job goes to a down one: its attempt counts, so
 * that the sample fails (and is left for the next run) after --retries. */
static int pick(struct pool *p, const struct pool_job *j, double now)
{
	int best = -1, usable = 0;
	int down_ok = !any_up(p) && !patient(p, now);

	for (int pass = 0; pass < 2 && best < 0; pass++) {
		for (size_t i = 0; i < p->nep; i++) {
			struct endpoint *e = &p->ep[i];
			if (e->state == EP_BROKEN)
				continue;
			usable = 1;
			if (e->state != EP_UP && !down_ok)
				continue;
			if (e->in_flight >= limiter_room(&e->lim))
				continue;
			if (pass == 0 && (int)i == j->last_ep)
				continue;
			if (best < 0 || expected(e) < expected(&p->ep[best]) ||
			    (expected(e) == expected(&p->ep[best]) &&
			     e->fails < p->ep[best].fails))
				best = (int)i;
		}
	}
	if (best >= 0)
		return best;
	return usable ? -2 : -1;
}

/* Sends job j to endpoint ep on a free transfer; a copy (a second
 * transfer of a job in flight elsewhere) spends no attempt. */
static int start(struct pool *p, struct pool_job *j, int ep, double now,
		 int copy)
{
	struct transfer *t = p->free_tr;
	struct endpoint *e = &p->ep[ep];

	buf_clear(&t->path);
	buf_clear(&t->body);
	buf_clear(&t->resp);
	buf_clear(&t->url);
	if (p->cb.request(p->cb.ctx, j, &t->path, &t->body) != 0)
		return -1;
	if (buf_append(&t->url, e->url, strlen(e->url)) ||
	    buf_append(&t->url, t->path.data ? t->path.data : "", t->path.len))
		return -1;
	t->cut = CUT_NO;
	t->copy = copy;
	t->sock_errno = 0;
	t->err[0] = '\0';
	curl_easy_setopt(t->easy, CURLOPT_URL, t->url.data);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body.data);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)t->body.len);
	if (curl_multi_add_handle(p->multi, t->easy) != CURLM_OK)
		return -1; /* the transfer stays free */
	p->free_tr = t->next_free;
	t->job = j;
	t->ep = ep;
	t->t0 = now;
	p->resp_bytes += t->resp.cap; /* counted while in flight */
	if (!copy) {
		j->attempts++;
		j->last_ep = ep;
	}
	j->flying++;
	e->in_flight++;
	p->in_flight++;
	limiter_sent(&e->lim, e->in_flight, p->free_tr == NULL, now);
	return 0;
}

/* Takes a transfer out of the multi handle and back to the free list;
 * its answer stays in t->resp until forget_answer (no callback that
 * classify calls can start a transfer). */
static void unlink_transfer(struct pool *p, struct transfer *t)
{
	curl_multi_remove_handle(p->multi, t->easy);
	p->ep[t->ep].in_flight--;
	p->in_flight--;
	t->job->flying--;
	t->job = NULL;
	t->next_free = p->free_tr;
	p->free_tr = t;
}

/* An idle transfer keeps a small answer buffer for the next request. */
static void forget_answer(struct pool *p, struct transfer *t)
{
	p->resp_bytes -= t->resp.cap;
	if (t->resp.cap > POOL_KEEP_BODY)
		buf_release(&t->resp);
}

/* The first answer won: the job's other transfer is cancelled (its
 * server sees the connection close; llama.cpp and vLLM then stop
 * generating it). */
static void cancel_others(struct pool *p, struct pool_job *j)
{
	for (int i = 0; j->flying > 0 && i < p->o.max_in_flight; i++)
		if (p->tr[i].job == j) {
			unlink_transfer(p, &p->tr[i]);
			forget_answer(p, &p->tr[i]);
		}
}

/* A request failed at endpoint ep. Returns 1 when the failure is an
 * outage (no endpoint is up now, within the patience): the job's attempt
 * is then not counted. */
static int ep_failed(struct pool *p, int ep, double now)
{
	struct endpoint *e = &p->ep[ep];

	e->errors++;
	if (++e->fails >= POOL_DOWN_AFTER && e->state == EP_UP) {
		e->state = EP_DOWN;
		e->down_until = now + e->down_for;
	}
	if (any_up(p))
		return 0;
	if (!p->dark_since)
		p->dark_since = now;
	return patient(p, now);
}

static void ep_ok(struct pool *p, struct endpoint *e, double lat)
{
	e->ok++;
	e->fails = 0;
	e->down_for = 1; /* only a real answer resets the probe interval */
	if (e->state == EP_DOWN || e->state == EP_PROBING)
		e->state = EP_UP; /* answered while all were down */
	p->dark_since = 0;
	e->ewma = e->ewma > 0 ? 0.8 * e->ewma + 0.2 * lat : lat;
	e->lat[e->nlat++ % POOL_LAT_RING] = lat;
}

/* Hands a job back to the caller. Its reason may quote a server's answer
 * (which may echo the key): masked here, before anyone prints or stores
 * it. */
static void job_done(struct pool *p, struct pool_job *j, int result)
{
	redact(j->why, sizeof(j->why));
	p->cb.done(p->cb.ctx, j, result);
}

/* A failed attempt: back off and queue again, or give up. */
static void retry(struct pool *p, struct pool_job *j, double now,
		  double at_least)
{
	double wait;

	/* A busy server (429) gets ten times the patience of a failing
	 * one: being rate-limited is no reason to give a sample up. */
	if (j->attempts > p->o.retries || j->busy > 10 * (p->o.retries + 1)) {
		p->queued--;
		job_done(p, j, POOL_FAILED);
		return;
	}
	p->retries++;
	j->copied = 0; /* the next attempt may be copied again */
	wait = p->o.backoff_base * pow(2, j->attempts - 1) * (0.5 + rnd(p));
	if (wait < at_least)
		wait = at_least; /* Retry-After */
	if (wait > p->o.backoff_max)
		wait = p->o.backoff_max;
	j->not_before = now + wait;
	j->next = p->delayed;
	p->delayed = j;
}

/* The start of an error body, on one line, for a report. */
static void snippet(char *out, size_t n, const struct buf *b)
{
	size_t k = 0;

	for (size_t i = 0; b->data && i < b->len && k + 1 < n; i++) {
		unsigned char c = (unsigned char)b->data[i];
		out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[k] = '\0';
}

/* Records the first redirect for pool_step's HY_ECONFIG. */
static void redirected(struct pool *p, struct transfer *t, long status)
{
	struct curl_header *h = NULL;
	const char *loc = NULL;

	if (p->stop[0])
		return;
	if (curl_easy_header(t->easy, "Location", 0, CURLH_HEADER, -1, &h) ==
		CURLHE_OK &&
	    h)
		loc = h->value;
	if (loc)
		snprintf(p->stop, sizeof(p->stop),
			 "%.200s: HTTP %ld redirect to '%.400s', not followed: "
			 "give the server's own URL as the endpoint",
			 p->ep[t->ep].name, status, loc);
	else
		snprintf(p->stop, sizeof(p->stop),
			 "%.200s: HTTP %ld (a redirect without a Location), "
			 "not followed: check the endpoint URL",
			 p->ep[t->ep].name, status);
}

/* The answer says the configuration is wrong (POOL_STOP): the run stops
 * with the endpoint and the reason; the job goes back unreported, so a
 * re-run with the right settings does it. */
static void stopped(struct pool *p, struct pool_job *j, int ep)
{
	if (!p->stop[0]) {
		snprintf(p->stop, sizeof(p->stop), "%.200s: %.500s",
			 p->ep[ep].name, j->why);
		redact(p->stop, sizeof(p->stop));
	}
	p->ep[ep].errors++;
	if (!j->flying)
		push_ready(p, j);
}

/* The job goes back to the queue at once, unless its copy is still in
 * flight (then that one decides). */
static void requeue(struct pool *p, struct pool_job *j)
{
	if (!j->flying)
		push_ready(p, j);
}

/* The server went away (a restart, a crash, a model reload): what an
 * outage looks like from here, unlike a timeout or an answer. */
static int server_gone(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT ||
	       rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_RECV_ERROR ||
	       rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_PARTIAL_FILE;
}

/* A failed attempt of job j: retried, unless its copy still flies. An
 * outage (no endpoint up, within the patience) does not count as an
 * attempt. */
static void failed(struct pool *p, struct pool_job *j, double now, int outage,
		   int copy)
{
	if (j->flying)
		return;
	if (outage && j->attempts > 0 && !copy)
		j->attempts--;
	retry(p, j, now, 0);
}

/* The caller's verdict v on the answer endpoint ep gave to job j (after
 * lat seconds; copy: that answer came from a copy), given at once
 * (classify) or after POOL_DEFER (pool_resolve): the one place that acts
 * on a verdict. */
static void judged(struct pool *p, struct pool_job *j, int ep,
		   enum pool_verdict v, double lat, int copy, double now)
{
	struct endpoint *e = &p->ep[ep];

	if (v == POOL_RETRY) {
		char tmp[256];
		int outage;

		snprintf(tmp, sizeof(tmp), "%.100s: %.150s", e->name, j->why);
		memcpy(j->why, tmp, sizeof(j->why));
		outage = ep_failed(p, ep, now);
		failed(p, j, now, outage, copy);
		return;
	}
	if (v == POOL_STOP) {
		stopped(p, j, ep);
		return;
	}
	ep_ok(p, e, lat);
	p->queued--;
	job_done(p, j, v == POOL_DONE ? POOL_OK : POOL_FAILED);
}

/* Decides what a finished transfer (already released, t->job cleared:
 * the job is j) means; the one place that does. */
static void classify(struct pool *p, struct transfer *t, struct pool_job *j,
		     CURLcode rc, double now)
{
	struct endpoint *e = &p->ep[t->ep];
	long status = 0;
	curl_off_t retry_after = 0;
	enum pool_verdict v;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		const char *what =
		    t->cut == CUT_BODY	  ? "answer over 32 MiB"
		    : t->cut == CUT_TOTAL ? "answers in flight over 256 MiB in "
					    "all, this one cut"
		    : t->cut == CUT_NOMEM ? "out of memory for the answer"
		    : t->err[0]		  ? t->err
					  : curl_easy_strerror(rc);
		int outage = 0;
		/* Out of file descriptors (ulimit -n), curl says only
		 * "Couldn't connect": name the cause. */
		if (t->sock_errno)
			snprintf(j->why, sizeof(j->why), "%.100s: %.150s (%s)",
				 e->name, what, strerror(t->sock_errno));
		else
			snprintf(j->why, sizeof(j->why), "%.100s: %.150s",
				 e->name, what);
		/* Our own limits (the memory bound, ulimit -n) are no fault
		 * of the endpoint, and no outage to wait out: the job is
		 * retried (its attempt counts, so it cannot loop), the
		 * endpoint is not taken out for it. */
		if (t->cut != CUT_TOTAL && !t->sock_errno) {
			outage = ep_failed(p, t->ep, now) && server_gone(rc);
			/* A timeout is a queue too long for this limit (or a
			 * server stuck), not a server gone. */
			if (rc == CURLE_OPERATION_TIMEDOUT)
				limiter_timed_out(&e->lim, now);
		} else {
			e->errors++;
		}
		failed(p, j, now, outage, t->copy);
		return;
	}
	if (status < 200 || status >= 300) {
		char body[121];

		snippet(body, sizeof(body), &t->resp);
		snprintf(j->why, sizeof(j->why), "%.100s: HTTP %ld%s%s",
			 e->name, status, body[0] ? ": " : "", body);
	}
	if (status == 429) {
		curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after);
		e->errors++;
		if (j->flying)
			return;
		j->attempts--; /* busy is not failing: see retry() */
		j->busy++;
		retry(p, j, now, (double)retry_after);
		return;
	}
	if (status == 408 || status >= 500) {
		/* 502/503/504: a proxy without its server, a server loading
		 * its model; 500 and 408 are the server's answer. */
		int dark = ep_failed(p, t->ep, now);
		if (status == 408)
			limiter_timed_out(&e->lim, now);
		failed(p, j, now,
		       dark &&
			   (status == 502 || status == 503 || status == 504),
		       t->copy);
		return;
	}
	if (status >= 300 && status < 400) {
		/* The URL we were given is not where the server answers
		 * (http for https, a moved host or path): a configuration
		 * error. Following it would send the key and the captions to
		 * a place nobody chose, and declining the sample would fail
		 * every sample for a typo; so the run stops, the job
		 * unrecorded, and the message says where it points. */
		e->errors++;
		redirected(p, t, status);
		requeue(p, j);
		return;
	}
	if (status == 401 || status == 403 || status == 404) {
		/* This server will refuse every request of ours: a wrong key,
		 * model name or API. Others may still take the job. */
		e->errors++;
		e->state = EP_BROKEN;
		snprintf(p->broken, sizeof(p->broken), "%s", j->why);
		redact(p->broken, sizeof(p->broken));
		if (!any_up(p) && !p->dark_since)
			p->dark_since = now;
		/* the server's settings, not the sample's fault */
		if (j->attempts > 0 && !t->copy)
			j->attempts--;
		requeue(p, j);
		return;
	}
	if (status < 200 || status >= 300) {
		/* This request is wrong for this server (too long for the
		 * context, say): the same request will fail again. */
		e->errors++;
		if (j->flying)
			return;
		p->queued--;
		job_done(p, j, POOL_REJECTED);
		return;
	}
	/* A whole answer: the server's latency, whatever the verdict. */
	limiter_answered(&e->lim, t->t0, now - t->t0, now);
	if (now - t->t0 < e->min_rtt || e->min_rtt == 0)
		e->min_rtt = now - t->t0;
	j->why[0] = '\0';
	v = p->cb.response(p->cb.ctx, j, t->resp.data ? t->resp.data : "",
			   t->resp.len, j->why, sizeof(j->why));
	if (v != POOL_RETRY) {
		/* The first answer wins; a copy still in flight is
		 * cancelled. */
		cancel_others(p, j);
		if (t->copy)
			p->copies_won++;
		j->last_ep = t->ep;
	}
	if (v == POOL_DEFER) {
		/* Its slot is free again; the job stays counted as queued. */
		j->latency = now - t->t0;
		return;
	}
	judged(p, j, t->ep, v, now - t->t0, t->copy, now);
}

static void start_probe(struct pool *p, struct endpoint *e)
{
	struct buf url = {0};

	if (!e->probe && !(e->probe = curl_easy_init()))
		return;
	if (buf_append(&url, e->url, strlen(e->url)) ||
	    buf_append(&url, p->o.health_path, strlen(p->o.health_path))) {
		buf_release(&url);
		return;
	}
	curl_easy_reset(e->probe);
	curl_easy_setopt(e->probe, CURLOPT_URL, url.data);
	curl_easy_setopt(e->probe, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(e->probe, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e->probe, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->probe, CURLOPT_PROXY, "");
	curl_easy_setopt(e->probe, CURLOPT_HTTPHEADER, p->probe_headers);
	set_basic(p, e->probe);
	limit_protocols(e->probe);
	curl_easy_setopt(e->probe, CURLOPT_ERRORBUFFER, e->probe_err);
	curl_easy_setopt(e->probe, CURLOPT_TIMEOUT_MS,
			 (long)(fmin(p->o.timeout, 5) * 1000));
	buf_release(&url); /* libcurl copies the URL */
	curl_multi_add_handle(p->multi, e->probe);
	e->state = EP_PROBING;
}

static void probe_done(struct pool *p, struct endpoint *e, CURLcode rc,
		       double now)
{
	long status = 0;

	curl_multi_remove_handle(p->multi, e->probe);
	curl_easy_getinfo(e->probe, CURLINFO_RESPONSE_CODE, &status);
	if (e->state == EP_BROKEN)
		return; /* a request was refused while the probe flew */
	if (rc == CURLE_OK &&
	    (status == 401 || status == 403 || status == 404) && !e->ok) {
		/* A wrong key, or not the server (or API) we were told: the
		 * requests would be refused the same way. (One that has
		 * answered in this run is restarting: A1111 adds its API
		 * routes after the UI is up; it stays down, probed.) */
		e->state = EP_BROKEN;
		snprintf(p->broken, sizeof(p->broken),
			 "%.200s: health probe GET %.60s: HTTP %ld", e->name,
			 p->o.health_path, status);
		return;
	}
	if (rc == CURLE_OK && status > 0 && status < 500 && status != 401 &&
	    status != 403 && status != 404) {
		/* Up again; down_for stays until a real request succeeds, so
		 * a server whose probe answers but whose requests fail is not
		 * tried every second. */
		e->state = EP_UP;
		e->fails = 0;
		return;
	}
	/* Probes are a GET each: every few seconds is cheap, and a server
	 * back from a restart is found within POOL_PROBE_MAX. */
	e->state = EP_DOWN;
	e->down_for = fmin(e->down_for * 2, POOL_PROBE_MAX);
	e->down_until = now + e->down_for;
}

/* The props_path answer: a JSON object with "total_slots" sets where the
 * endpoint's limit starts and its cap (limiter_slots). Anything else (a
 * 404 from a server without it) changes nothing. */
static void props_done(struct pool *p, struct endpoint *e, CURLcode rc,
		       double now)
{
	long status = 0;
	cJSON *root, *n;

	curl_multi_remove_handle(p->multi, e->props);
	curl_easy_getinfo(e->props, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && status == 200) {
		root = cJSON_ParseWithLength(
		    e->props_body.data ? e->props_body.data : "",
		    e->props_body.len);
		n = cJSON_GetObjectItemCaseSensitive(root, "total_slots");
		if (cJSON_IsNumber(n) && n->valuedouble >= 1 &&
		    n->valuedouble <= 65536) {
			e->slots = (int)n->valuedouble;
			if (p->o.ep_limit <= 0) /* the user's N stands */
				limiter_slots(&e->lim, e->slots, now);
		}
		cJSON_Delete(root);
	}
	curl_easy_cleanup(e->props);
	e->props = NULL;
	buf_release(&e->props_body);
}

/* Sends copies of the jobs that wait longest on slow endpoints to the
 * endpoints that have room, when nothing else is waiting to be sent: the
 * end of a run is then not one slow server draining its queue while the
 * fast ones idle. One copy per job; the first answer wins. */
static void send_copies(struct pool *p, double now)
{
	for (size_t i = 0; i < p->nep && p->free_tr; i++) {
		struct endpoint *e = &p->ep[i];
		struct transfer *best = NULL;
		double best_left = 0;

		if (e->state != EP_UP || e->min_rtt == 0 ||
		    e->in_flight >= limiter_room(&e->lim))
			continue;
		for (int k = 0; k < p->o.max_in_flight; k++) {
			struct transfer *t = &p->tr[k];
			double left;
			if (!t->job || t->ep == (int)i || t->job->copied ||
			    t->job->flying != 1)
				continue;
			/* What is left of its expected latency there; with
			 * no answer from there yet, as long again as it has
			 * waited so far. */
			left = p->ep[t->ep].ewma > now - t->t0
				   ? t->t0 + p->ep[t->ep].ewma - now
				   : now - t->t0;
			if (left > best_left) {
				best_left = left;
				best = t;
			}
		}
		if (!best || best_left < e->min_rtt + POOL_COPY_GAIN)
			continue;
		if (start(p, best->job, (int)i, now, 1) == 0) {
			best->job->copied = 1;
			p->copies++;
		}
	}
}

int pool_step(struct pool *p, double max_wait, struct hy_err *err)
{
	double now = clock_now(), next = now + max_wait;
	struct pool_job **pp;
	CURLMsg *msg;
	int left, running;

	if (p->stop[0]) /* called again after HY_ECONFIG */
		return hy_err_set(err, HY_ECONFIG, "%s", p->stop);
	/* Backoffs that are over go back to the ready queue. */
	for (pp = &p->delayed; *pp;) {
		struct pool_job *j = *pp;
		if (j->not_before <= now) {
			*pp = j->next;
			push_ready(p, j);
		} else {
			if (j->not_before < next)
				next = j->not_before;
			pp = &j->next;
		}
	}
	for (size_t i = 0; i < p->nep; i++) {
		struct endpoint *e = &p->ep[i];
		if (e->state == EP_DOWN) {
			if (e->down_until <= now)
				start_probe(p, e);
			else if (e->down_until < next)
				next = e->down_until;
		}
	}
	while (p->free_tr && p->ready) {
		struct pool_job *j = p->ready;
		int ep = pick(p, j, now);
		if (ep == -1)
			return hy_err_set(
			    err, HY_ECONFIG,
			    "every endpoint refuses our requests; "
			    "last: %s",
			    p->broken);
		if (ep < 0)
			break; /* every endpoint full, or all down: wait */
		p->ready = j->next;
		if (!p->ready)
			p->ready_tail = NULL;
		if (start(p, j, ep, now, 0) != 0) {
			snprintf(j->why, sizeof(j->why), "out of memory");
			p->queued--;
			job_done(p, j, POOL_FAILED);
		}
	}
	if (!p->ready && !p->o.no_copies && p->free_tr)
		send_copies(p, now);
	if (curl_multi_poll(p->multi, NULL, 0,
			    (int)fmax(0, (next - now) * 1000),
			    NULL) != CURLM_OK)
		return hy_err_set(err, HY_EFATAL, "curl_multi_poll failed");
	if (curl_multi_perform(p->multi, &running) != CURLM_OK)
		return hy_err_set(err, HY_EFATAL, "curl_multi_perform failed");
	now = clock_now();
	while ((msg = curl_multi_info_read(p->multi, &left))) {
		struct transfer *t = NULL;
		struct pool_job *j;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
		if (!t) {
			for (size_t i = 0; i < p->nep; i++) {
				if (p->ep[i].probe == msg->easy_handle)
					probe_done(p, &p->ep[i],
						   msg->data.result, now);
				else if (p->ep[i].props == msg->easy_handle)
					props_done(p, &p->ep[i],
						   msg->data.result, now);
			}
			continue;
		}
		if (!t->job)
			continue; /* cancelled while its message waited */
		j = t->job;
		unlink_transfer(p, t);
		classify(p, t, j, msg->data.result, now);
		forget_answer(p, t);
	}
	if (p->stop[0])
		return hy_err_set(err, HY_ECONFIG, "%s", p->stop);
	return HY_OK;
}

void pool_resolve(struct pool *p, struct pool_job *j, enum pool_verdict v)
{
	/* Its transfers are gone (a deferred answer cancelled its copies),
	 * so no copy still flies: the attempt is the job's own. */
	judged(p, j, j->last_ep, v, j->latency, 0, clock_now());
}

void pool_wakeup(struct pool *p)
{
	curl_multi_wakeup(p->multi);
}

size_t pool_pending(const struct pool *p)
{
	return p->queued;
}

void pool_note(struct pool *p, char *out, size_t n)
{
	const struct pool_ep_stats *st;
	size_t k = pool_stats(p, &st), off = 0;

	double dark;

	if (!n)
		return;
	out[0] = '\0';
	if (pool_waiting(p, &dark))
		off += (size_t)snprintf(out, n,
					"waiting for a server: none up for "
					"%.0f s (patience %.0f s); ",
					dark, p->o.patience);
	for (size_t i = 0; i < k && off + 64 < n; i++)
		off += (size_t)snprintf(
		    out + off, n - off, "%s%s %d/%d in flight %ld ok %ld err%s",
		    i ? ", " : "",
		    st[i].url + (strncmp(st[i].url, "http://", 7) ? 0 : 7),
		    st[i].in_flight, st[i].limit, st[i].ok, st[i].errors,
		    st[i].healthy ? "" : " down");
}

void pool_print_stats(struct pool *p, FILE *f, const char *title)
{
	const struct pool_ep_stats *st;
	size_t n = pool_stats(p, &st);

	fprintf(f, "  %-32s %8s %8s %8s %8s %8s %6s\n", title, "ok", "errors",
		"p50 s", "p95 s", "p99 s", "limit");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-32s %8ld %8ld %8.3f %8.3f %8.3f %6d\n",
			st[i].url, st[i].ok, st[i].errors, st[i].p50, st[i].p95,
			st[i].p99, st[i].limit);
}

long pool_retries(const struct pool *p)
{
	return p->retries;
}

long pool_copies(const struct pool *p, long *won)
{
	if (won)
		*won = p->copies_won;
	return p->copies;
}

int pool_waiting(const struct pool *p, double *for_s)
{
	double now = clock_now();

	if (for_s)
		*for_s = p->dark_since > 0 ? now - p->dark_since : 0;
	return !any_up(p) && patient(p, now);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

size_t pool_stats(struct pool *p, const struct pool_ep_stats **out)
{
	double *tmp = malloc(POOL_LAT_RING * sizeof(double));

	for (size_t i = 0; i < p->nep; i++) {
		struct endpoint *e = &p->ep[i];
		struct pool_ep_stats *s = &p->stats[i];
		size_t n = e->nlat < POOL_LAT_RING ? e->nlat : POOL_LAT_RING;

		s->url = e->name;
		s->in_flight = e->in_flight;
		s->limit = limiter_room(&e->lim);
		s->slots = e->slots;
		s->healthy = e->state == EP_UP;
		s->ok = e->ok;
		s->errors = e->errors;
		s->p50 = s->p95 = s->p99 = 0;
		if (tmp && n) {
			memcpy(tmp, e->lat, n * sizeof(double));
			qsort(tmp, n, sizeof(double), cmp_double);
			s->p50 = tmp[(n - 1) * 50 / 100];
			s->p95 = tmp[(n - 1) * 95 / 100];
			s->p99 = tmp[(n - 1) * 99 / 100];
		}
	}
	free(tmp);
	*out = p->stats;
	return p->nep;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (int i = 0; p->tr && i < p->o.max_in_flight; i++) {
		struct transfer *t = &p->tr[i];
		if (!t->easy)
			continue;
		if (t->job)
			curl_multi_remove_handle(p->multi, t->easy);
		curl_easy_cleanup(t->easy);
		buf_release(&t->url);
		buf_release(&t->path);
		buf_release(&t->body);
		buf_release(&t->resp);
	}
	for (size_t i = 0; p->ep && i < p->nep; i++) {
		if (p->ep[i].probe) {
			curl_multi_remove_handle(p->multi, p->ep[i].probe);
			curl_easy_cleanup(p->ep[i].probe);
		}
		if (p->ep[i].props) {
			curl_multi_remove_handle(p->multi, p->ep[i].props);
			curl_easy_cleanup(p->ep[i].props);
		}
		buf_release(&p->ep[i].props_body);
		free(p->ep[i].url);
		free(p->ep[i].lat);
	}
	if (p->multi)
		curl_multi_cleanup(p->multi);
	curl_slist_free_all(p->headers);
	curl_slist_free_all(p->probe_headers);
	free(p->tr);
	free(p->ep);
	free(p->stats);
	free(p);
}
