/* limiter: the learned in-flight limit against simulated servers (a
 * discrete-event simulation, no clock, no network): one that queues past
 * its slots, one that batches up to a knee, and one whose queue would run
 * into the request timeout. The client keeps as many requests in flight
 * as the limiter allows, as the pool does when it has work. */
#include "unit.h"

#include "net/limiter.h"

#define SIM_MAX 512

/* A server with `slots` slots, FIFO queue past them; a request entering a
 * slot while n requests are in slots (itself included) holds it for
 * lat * (1 + (n - 1) / knee); knee 0: always lat. */
struct sim {
	int slots;
	double lat, knee;
	double now;
	/* requests in flight: sent time and end time (0: queued) */
	double sent[SIM_MAX], end[SIM_MAX];
	int n;
	long done;
};

static int busy(const struct sim *s)
{
	int b = 0;

	for (int i = 0; i < s->n; i++)
		b += s->end[i] > 0;
	return b;
}

/* Starts queued requests, in order of sending, while slots are free. */
static void admit(struct sim *s)
{
	for (;;) {
		int first = -1, b = busy(s);
		if (b >= s->slots)
			return;
		for (int i = 0; i < s->n; i++)
			if (s->end[i] == 0 &&
			    (first < 0 || s->sent[i] < s->sent[first]))
				first = i;
		if (first < 0)
			return;
		s->end[first] =
		    s->now + s->lat * (1 + (s->knee > 0 ? b / s->knee : 0));
	}
}

static void send(struct sim *s, struct limiter *l)
{
	s->sent[s->n] = s->now;
	s->end[s->n] = 0;
	s->n++;
	limiter_sent(l, s->n, 0, s->now);
	admit(s);
}

/* Runs for `secs` simulated seconds at the limiter's limit (or at a fixed
 * one when fixed > 0); returns answers per second over the last half. */
static double run(struct sim *s, struct limiter *l, int fixed, double secs,
		  int *last_room)
{
	long half_done = -1;
	double half_t = 0;

	s->now = 0;
	s->n = 0;
	s->done = 0;
	while (s->now < secs) {
		int room = fixed > 0 ? fixed : limiter_room(l), k = -1;
		while (s->n < room && s->n < SIM_MAX)
			send(s, l);
		for (int i = 0; i < s->n; i++)
			if (s->end[i] > 0 && (k < 0 || s->end[i] < s->end[k]))
				k = i;
		assert_true(k >= 0);
		s->now = s->end[k];
		limiter_answered(l, s->sent[k], s->now - s->sent[k], s->now);
		s->sent[k] = s->sent[s->n - 1];
		s->end[k] = s->end[s->n - 1];
		s->n--;
		s->done++;
		admit(s);
		if (half_done < 0 && s->now >= secs / 2) {
			half_done = s->done;
			half_t = s->now;
		}
	}
	if (last_room)
		*last_room = limiter_room(l);
	return (double)(s->done - half_done) / (s->now - half_t);
}

/* Past its slots a server only queues: the limit settles near the slots
 * (a doubling step may leave a queue of up to half the slots: latency,
 * not throughput; the run may end inside a step up from there), and the
 * slots stay full. */
static void test_queueing_server(void **state)
{
	static const int slots[] = {1, 4, 16, 64};
	static struct sim s = {.lat = 0.2};
	struct limiter l;
	int room;
	double x;

	(void)state;
	for (size_t i = 0; i < sizeof(slots) / sizeof(*slots); i++) {
		s.slots = slots[i];
		limiter_init(&l, 2, 256, 0, 0);
		x = run(&s, &l, 0, 600, &room);
		print_message("queueing, %d slots: %.1f/s at %d\n", s.slots, x,
			      room);
		assert_true(x >= 0.95 * s.slots / s.lat);
		assert_in_range(room, s.slots, 2 * s.slots + 1);
	}
}

/* A batching server: the learned limit gets >= 95% of the best fixed
 * limit that a sweep finds. */
static void test_batching_server(void **state)
{
	static struct sim s = {.slots = 32, .lat = 0.1, .knee = 8};
	struct limiter l;
	double best = 0, x;
	int room;

	(void)state;
	for (int fixed = 1; fixed <= 64; fixed++) {
		limiter_init(&l, 1, 256, 0, 0);
		x = run(&s, &l, fixed, 60, NULL);
		if (x > best)
			best = x;
	}
	limiter_init(&l, 2, 256, 0, 0);
	x = run(&s, &l, 0, 600, &room);
	print_message("batching: learned %.1f/s at %d, best fixed %.1f/s\n", x,
		      room, best);
	assert_true(x >= 0.95 * best);
	assert_true(room <= 40);
}

/* A slow server whose queue would reach the timeout: the ceiling keeps
 * the latency under it. */
static void test_ceiling(void **state)
{
	static struct sim s = {.slots = 1, .lat = 1};
	struct limiter l;
	int room;

	(void)state;
	limiter_init(&l, 8, 256, 2.5, 0);
	run(&s, &l, 0, 300, &room);
	assert_in_range(room, 1, 2);
}

/* A limit that starts far above a small server's slots comes down near
 * them (within the queue test_queueing_server allows): the requests
 * taken away bought nothing. */
static void test_comes_down(void **state)
{
	static struct sim s = {.slots = 2, .lat = 0.5};
	struct limiter l;
	int room;

	(void)state;
	limiter_init(&l, 16, 256, 0, 0);
	run(&s, &l, 0, 1200, &room);
	assert_in_range(room, 2, 5);
}

/* --endpoint-limit: a fixed limit stays where it is against a server that
 * only queues past it (a learned one would come down), a timeout cuts it
 * and it climbs back. */
static void test_fixed(void **state)
{
	static struct sim s = {.slots = 1, .lat = 0.1};
	struct limiter l;
	int room;

	(void)state;
	limiter_init(&l, 4, 8, 0, 0);
	limiter_fix(&l);
	run(&s, &l, 0, 300, &room);
	assert_int_equal(room, 8);
	assert_int_equal(limiter_timed_out(&l, 1000), 1);
	assert_int_equal(limiter_room(&l), 6);
	assert_int_equal(limiter_timed_out(&l, 1000), 0); /* once a window */
	run(&s, &l, 0, 300, &room);
	assert_int_equal(room, 8);
}

/* A timeout cuts a learned limit and ends its doubling. */
static void test_timed_out(void **state)
{
	struct limiter l;

	(void)state;
	limiter_init(&l, 10, 256, 0, 0);
	assert_int_equal(limiter_timed_out(&l, 1), 1);
	assert_int_equal(limiter_room(&l), 8);
	assert_true(l.cut);
}

/* The cap bounds the limit, however fast the server. */
static void test_cap(void **state)
{
	static struct sim s = {.slots = 64, .lat = 0.1};
	struct limiter l;
	int room;

	(void)state;
	limiter_init(&l, 2, 6, 0, 0);
	run(&s, &l, 0, 100, &room);
	assert_int_equal(room, 6);
	/* a server's slots lower the cap to slots + 1 */
	limiter_slots(&l, 2, 0);
	assert_int_equal(limiter_room(&l), 2);
	run(&s, &l, 0, 100, &room);
	assert_in_range(room, 2, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queueing_server),
	    cmocka_unit_test(test_batching_server),
	    cmocka_unit_test(test_ceiling),
	    cmocka_unit_test(test_comes_down),
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_timed_out),
	    cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
