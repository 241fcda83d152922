/* How many requests one endpoint gets in flight: a limit learned from
 * the latency of its answers, in the spirit of the adaptive concurrency
 * limiters (TCP Vegas, Netflix concurrency-limits, Envoy's adaptive
 * concurrency filter), but judged by throughput rather than by a latency
 * tolerance, because LLM servers batch.
 *
 * The limit moves in windows. A window begins when the requests in flight
 * first reach the limit (requests sent while the pool ramps up to a new
 * limit find free slots and would hide the queue that the new limit
 * builds) and holds the answers to the requests sent after that, at
 * least half as many as the limit (and 4), and its figure is their mean
 * latency: by Little's law limit / mean latency is the throughput at that
 * limit. (Not the lowest latency: against a server whose slots finish together,
 * the requests sent at that instant find free slots and never show the queue.)
 * The first window at a new limit is not used: its requests still queued behind
 * the old limit's queue. Without enough work to fill the limit a window never
 * ends: there is nothing to learn.
 *
 * Between two windows at limits L1 < L2 with latencies r1 <= r2, the
 * elasticity e = ln(r2/r1) / ln(L2/L1) says what the extra requests
 * bought: a server that batches them (vLLM up to max_num_seqs) answers
 * them nearly as fast (e well under 1: throughput L/r grew), while one
 * that queues them (past its slots, or past llama-server's HTTP threads)
 * makes each wait for the others (e = 1: throughput flat, latency paid for
 * nothing). So the limit grows (by a factor of 2 - e, at least 1.25)
 * while e < 0.9, and steps back to the last good limit when e
 * reaches 0.9. It then holds there for 2, 4, 8, 16, then 32 windows
 * before it probes again, alternately a step down (a fifth less: kept
 * when the requests taken away bought little, e >= 0.9, as when the
 * limit started above a small server's slots) and a step up (a server
 * that got faster is found out).
 * Latency above `ceiling` (a third of the request timeout) and above
 * twice the lowest latency seen (so: a queue) cuts the limit by a fifth:
 * a request must never queue into its own timeout. */
#ifndef HY_LIMITER_H
#define HY_LIMITER_H

enum limiter_probe { LIMITER_HOLD, LIMITER_UP, LIMITER_DOWN };

struct limiter {
	double limit; /* allowed in flight; limiter_room() rounds it */
	int cap;      /* hard bound (>= 1) */
	double ceiling;
	double min_rtt; /* lowest latency of any answer */
	/* the window being measured */
	double win_start, win_sum;
	int win_n;
	int filling;	/* the window waits for in_flight to reach the limit */
	int pool_bound; /* the window began with the pool full, not at the
			   limit: no growth from it */
	int fixed;	/* limiter_fix */
	int timed_out;	/* a timeout has cut the limit in this window */
	int settling;	/* the window is the first at a new limit: not used */
	/* the last limit known good and its latency; 0: none yet */
	int good_limit;
	double good_rtt;
	int hold;  /* windows to stay at the good limit before a probe */
	int holds; /* probes refused in a row */
	int cut;   /* the ceiling has cut the limit: no more doubling */
	enum limiter_probe probe, next; /* the step being measured; the
					   direction of the next probe */
};

/* Starts at `start` requests (clamped to 1..cap); `ceiling` in seconds
 * (<= 0: none); `now` a monotonic time. */
void limiter_init(struct limiter *l, int start, int cap, double ceiling,
		  double now);

/* The server said how many requests it serves at once (llama.cpp's
 * total_slots): start there, and never go past slots + 1. A server that
 * serves its slots and no more (llama-server answers on slots + 2 HTTP
 * threads on a small machine, and each keep-alive connection holds one)
 * gains nothing from more, and a connection past its threads would wait
 * unread until the request times out; the one extra request is there so
 * that a slot that frees finds the next request already waiting. */
void limiter_slots(struct limiter *l, int slots, double now);

/* Requests the endpoint may have in flight now (1..cap). */
int limiter_room(const struct limiter *l);

/* A request was sent at `now` and in_flight (counting it) are in flight;
 * pool_full: the pool has no transfer left (--num_threads binds before
 * this limit does), which starts a window too: one that measures the
 * latency (for the ceiling) but does not grow the limit. */
void limiter_sent(struct limiter *l, int in_flight, int pool_full, double now);

/* A request sent to this endpoint timed out: it never shows in a window's
 * latency, so it cuts the limit by a fifth here (once a window) and ends
 * any doubling. Returns 1 when the limit moved. */
int limiter_timed_out(struct limiter *l, double now);

/* --endpoint-limit: the limit stays at the cap; only the ceiling and
 * timeouts cut it, and it climbs back one by one. */
void limiter_fix(struct limiter *l);

/* A request sent at t0 was answered after rtt seconds; may end the window
 * and move the limit. Returns 1 when the limit moved. */
int limiter_answered(struct limiter *l, double t0, double rtt, double now);

#endif
