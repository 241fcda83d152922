/* pool: answers deferred to another thread (POOL_DEFER) and settled
 * later with pool_resolve; pool_wakeup ends a waiting pool_step. Runs
 * against a tiny HTTP server on a thread of its own. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/pool.h"

static int lfd = -1;
static int port;
static atomic_int served, stop;
static pthread_t server;

/* Answers every request with a small JSON body and closes. */
static void *serve(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\n"
				     "Content-Type: application/json\r\n"
				     "Content-Length: 11\r\n"
				     "Connection: close\r\n\r\n"
				     "{\"ok\":true}";

	(void)arg;
	while (!atomic_load(&stop)) {
		struct pollfd pf = {lfd, POLLIN, 0};
		char req[8192], *hdr_end;
		size_t got = 0;
		long clen = 0;
		int c;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		/* headers, then Content-Length bytes of body */
		for (;;) {
			ssize_t r = read(c, req + got, sizeof(req) - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			hdr_end = strstr(req, "\r\n\r\n");
			if (!hdr_end)
				continue;
			{
				const char *cl =
				    strcasestr(req, "content-length:");
				clen = cl ? atol(cl + 15) : 0;
			}
			if (got >= (size_t)(hdr_end + 4 - req) + (size_t)clen)
				break;
		}
		if (got) {
			/* counted before the client can see the answer */
			atomic_fetch_add(&served, 1);
			if (write(c, answer, sizeof(answer) - 1) < 0)
				(void)0;
		}
		close(c);
	}
	return NULL;
}

static int setup(void **state)
{
	struct sockaddr_in a = {0};
	socklen_t al = sizeof(a);

	(void)state;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 16) || getsockname(lfd, (struct sockaddr *)&a, &al))
		return -1;
	port = ntohs(a.sin_port);
	atomic_store(&served, 0);
	atomic_store(&stop, 0);
	return pthread_create(&server, NULL, serve, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	atomic_store(&stop, 1);
	pthread_join(server, NULL);
	close(lfd);
	return 0;
}

struct job {
	struct pool_job base; /* first */
	int responses, done, result;
};

static int on_request(void *ctx, struct pool_job *job, struct buf *path,
		      struct buf *body)
{
	(void)ctx;
	(void)job;
	return buf_append(path, "/x", 2) || buf_append(body, "{}", 2) ? -1 : 0;
}

static enum pool_verdict on_response(void *ctx, struct pool_job *job,
				     const char *body, size_t len, char *why,
				     size_t why_size)
{
	struct job *j = (struct job *)job;

	(void)ctx;
	(void)why;
	(void)why_size;
	assert_int_equal(len, 11);
	assert_memory_equal(body, "{\"ok\":true}", 11);
	j->responses++;
	return POOL_DEFER;
}

static void on_done(void *ctx, struct pool_job *job, int result)
{
	struct job *j = (struct job *)job;

	(void)ctx;
	j->done++;
	j->result = result;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct pool *new_pool(void)
{
	char url[64];
	const char *urls[1] = {url};
	struct pool_opts o = {.max_in_flight = 4,
			      .timeout = 10,
			      .retries = 2,
			      .backoff_base = 0.01,
			      .backoff_max = 0.05,
			      .health_path = "/health"};
	struct pool_callbacks cb = {on_request, on_response, on_done, NULL};
	struct pool *p;
	struct hy_err err = {0};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	assert_int_equal(pool_new(&p, urls, 1, &o, &cb, &err), HY_OK);
	return p;
}

/* Steps until the job has had `n` responses. */
static void step_until_responses(struct pool *p, struct job *j, int n)
{
	struct hy_err err = {0};
	double t0 = now();

	while (j->responses < n) {
		assert_int_equal(pool_step(p, 0.05, &err), HY_OK);
		if (now() - t0 > 20)
			fail_msg("no answer after 20 s");
	}
}

static void test_deferred_then_done(void **state)
{
	struct pool *p = new_pool();
	struct job j = {0};
	struct hy_err err = {0};

	(void)state;
	pool_submit(p, &j.base);
	step_until_responses(p, &j, 1);
	/* deferred: still pending, not done, not sent again */
	assert_int_equal(j.done, 0);
	assert_int_equal(pool_pending(p), 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(pool_step(p, 0.02, &err), HY_OK);
	assert_int_equal(j.responses, 1);
	assert_int_equal(atomic_load(&served), 1);
	assert_int_equal(j.done, 0);
	pool_resolve(p, &j.base, POOL_DONE);
	assert_int_equal(j.done, 1);
	assert_int_equal(j.result, POOL_OK);
	assert_int_equal(pool_pending(p), 0);
	assert_int_equal(pool_retries(p), 0);
	pool_free(p);
}

static void test_deferred_retry_sends_again(void **state)
{
	struct pool *p = new_pool();
	struct job j = {0};

	(void)state;
	pool_submit(p, &j.base);
	step_until_responses(p, &j, 1);
	snprintf(j.base.why, sizeof(j.base.why), "image is 64x64");
	pool_resolve(p, &j.base, POOL_RETRY);
	assert_int_equal(j.done, 0);
	assert_int_equal(pool_pending(p), 1);
	assert_int_equal(pool_retries(p), 1);
	assert_non_null(strstr(j.base.why, "image is 64x64"));
	step_until_responses(p, &j, 2);
	assert_int_equal(j.base.attempts, 2);
	assert_int_equal(atomic_load(&served), 2);
	pool_resolve(p, &j.base, POOL_FAIL);
	assert_int_equal(j.done, 1);
	assert_int_equal(j.result, POOL_FAILED);
	assert_int_equal(pool_pending(p), 0);
	pool_free(p);
}

static void test_deferred_retries_run_out(void **state)
{
	struct pool *p = new_pool(); /* retries = 2: three attempts */
	struct job j = {0};

	(void)state;
	pool_submit(p, &j.base);
	for (int i = 1; i <= 3; i++) {
		step_until_responses(p, &j, i);
		assert_int_equal(j.done, 0);
		pool_resolve(p, &j.base, POOL_RETRY);
	}
	assert_int_equal(j.done, 1);
	assert_int_equal(j.result, POOL_FAILED);
	assert_int_equal(pool_pending(p), 0);
	pool_free(p);
}

static void *wake_later(void *arg)
{
	usleep(100000);
	pool_wakeup(arg);
	return NULL;
}

static void test_wakeup_ends_a_wait(void **state)
{
	struct pool *p = new_pool();
	struct hy_err err = {0};
	pthread_t th;
	double t0;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, wake_later, p), 0);
	t0 = now();
	assert_int_equal(pool_step(p, 10.0, &err), HY_OK);
	assert_true(now() - t0 < 5.0);
	pthread_join(th, NULL);
	pool_free(p);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_deferred_then_done),
	    T(test_deferred_retry_sends_again),
	    T(test_deferred_retries_run_out),
	    T(test_wakeup_ends_a_wait),
	};
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
