/* The learned in-flight limit of one endpoint: see limiter.h. */
#include "net/limiter.h"

#include <math.h>

/* Elasticity at which more requests in flight stop buying throughput. */
#define LIMITER_E_STOP 0.9
/* A mean latency below this (seconds) is our own event loop's, not a
 * server's queue: more requests in flight then only cost the client
 * less per request (an instant server: 25,000 req/s at a learned limit
 * of 5, 40,000 at 64), so the limit grows to its cap. */
#define LIMITER_INSTANT 0.005
/* A step down is kept when the requests it took away had bought no more
 * than this: the same as LIMITER_E_STOP, or a band between the two would
 * keep both moves and the limit would go back and forth. */
#define LIMITER_E_DOWN 0.9

static int clamp(const struct limiter *l, double v)
{
	int n = (int)v;

	if (n > l->cap)
		n = l->cap;
	return n < 1 ? 1 : n;
}

static void new_window(struct limiter *l, double now)
{
	l->win_start = now;
	l->win_sum = 0;
	l->win_n = 0;
	l->filling = 1;
	l->pool_bound = 0;
	l->timed_out = 0;
}

void limiter_init(struct limiter *l, int start, int cap, double ceiling,
		  double now)
{
	*l = (struct limiter){.cap = cap < 1 ? 1 : cap,
			      .ceiling = ceiling,
			      .probe = LIMITER_UP,
			      .next = LIMITER_DOWN};
	l->limit = clamp(l, start);
	new_window(l, now);
}

void limiter_slots(struct limiter *l, int slots, double now)
{
	if (slots < 1)
		return;
	if (slots + 1 < l->cap)
		l->cap = slots + 1;
	l->limit = clamp(l, slots);
	l->good_limit = 0;
	l->holds = 0;
	l->hold = 0;
	new_window(l, now);
	l->settling = 1;
}

int limiter_room(const struct limiter *l)
{
	return clamp(l, l->limit);
}

void limiter_sent(struct limiter *l, int in_flight, int pool_full, double now)
{
	if (l->filling && (in_flight >= limiter_room(l) || pool_full)) {
		l->filling = 0;
		l->pool_bound = in_flight < limiter_room(l);
		l->win_start = now;
	}
}

int limiter_timed_out(struct limiter *l, double now)
{
	int before = limiter_room(l);

	if (l->timed_out)
		return 0;
	l->limit = clamp(l, before * 0.8);
	l->good_limit = 0;
	l->cut = 1;
	new_window(l, now);
	l->timed_out = 1;
	l->settling = limiter_room(l) != before;
	return l->settling;
}

void limiter_fix(struct limiter *l)
{
	l->fixed = 1;
	l->limit = l->cap;
}

static int shrink(int at)
{
	int next = (int)(0.8 * at);

	if (next > at - 1)
		next = at - 1;
	return next < 1 ? 1 : next;
}

static int grow(const struct limiter *l, int at, double e)
{
	/* The less the last step cost, the bigger the next: x2 at e = 0,
	 * x1.25 from e = 0.75 on. */
	double f = 2 - e < 1.25 ? 1.25 : 2 - e > 2 ? 2 : 2 - e;
	double next = ceil(f * at);

	if (next < at + 1)
		next = at + 1;
	return clamp(l, next);
}

/* e between the limits lo < hi, from their mean latencies. */
static double elasticity(int lo, double r_lo, int hi, double r_hi)
{
	if (r_hi <= r_lo)
		return 0;
	return log(r_hi / r_lo) / log((double)hi / lo);
}

/* A probe did not pay: back to the good limit, hold there longer each
 * time, then probe the other way. */
static void refuse(struct limiter *l, enum limiter_probe next)
{
	l->limit = l->good_limit;
	l->hold = 2 << (l->holds < 4 ? l->holds : 4);
	l->holds++;
	l->probe = LIMITER_HOLD;
	l->next = next;
}

/* The window is over: decide. */
static void settle(struct limiter *l, double r)
{
	int at = limiter_room(l);

	if (l->ceiling > 0 && r > l->ceiling && r > 2 * l->min_rtt) {
		/* Queued toward the timeout: back off whatever e says. (A
		 * server that is slow without a queue is left alone: fewer
		 * requests would not make it faster.) */
		l->limit = clamp(l, at * 0.8);
		l->good_limit = 0;
		l->cut = 1;
		return;
	}
	if (l->fixed) {
		/* Back up to the user's N after a cut. */
		l->limit = clamp(l, at + 1);
		return;
	}
	if (l->pool_bound)
		return; /* the pool, not this limit, held the requests */
	if (!l->good_limit) {
		/* A first measure: double, as a slow start does; after a
		 * cut, hold there and probe by small steps. */
		l->good_limit = at;
		l->good_rtt = r;
		if (l->cut) {
			l->probe = LIMITER_HOLD;
			l->next = LIMITER_UP;
			l->hold = 2;
			return;
		}
		l->probe = LIMITER_UP;
		l->limit = grow(l, at, 0);
		return;
	}
	if (l->probe == LIMITER_UP && at > l->good_limit) {
		double e = elasticity(l->good_limit, l->good_rtt, at, r);
		if (e >= LIMITER_E_STOP && r >= LIMITER_INSTANT) {
			/* The step bought latency, not throughput. */
			refuse(l, LIMITER_DOWN);
			return;
		}
		l->good_limit = at;
		l->good_rtt = r;
		l->holds = 0;
		if (at >= l->cap) {
			l->probe = LIMITER_HOLD;
			return;
		}
		l->limit = grow(l, at, e);
		return;
	}
	if (l->probe == LIMITER_DOWN && at < l->good_limit) {
		/* The requests taken away bought nothing: a server that
		 * was only queueing them (a start above its slots). */
		if (elasticity(at, r, l->good_limit, l->good_rtt) <
		    LIMITER_E_DOWN) {
			refuse(l, LIMITER_UP);
			return;
		}
		l->good_limit = at;
		l->good_rtt = r;
		l->holds = 0;
		l->limit = at > 1 ? shrink(at) : at;
		if (at == 1)
			l->probe = LIMITER_HOLD;
		return;
	}
	/* Holding at the good limit: measure it again (the server may have
	 * changed), then probe. */
	l->good_limit = at;
	l->good_rtt = r;
	if (l->hold > 0) {
		l->hold--;
		return;
	}
	/* A step down costs throughput where the limit is right, so it is
	 * only tried where the latency shows a queue (well above the
	 * lowest seen). */
	if (l->next == LIMITER_DOWN && at > 1 && r > 1.5 * l->min_rtt &&
	    r >= LIMITER_INSTANT) {
		l->limit = shrink(at);
		l->probe = LIMITER_DOWN;
		l->next = LIMITER_UP;
	} else if (at < l->cap) {
		l->limit = grow(l, at, 0.5);
		l->probe = LIMITER_UP;
		l->next = LIMITER_DOWN;
	} else {
		l->next = LIMITER_DOWN;
	}
}

int limiter_answered(struct limiter *l, double t0, double rtt, double now)
{
	int before = limiter_room(l), need;

	if (l->min_rtt == 0 || rtt < l->min_rtt)
		l->min_rtt = rtt;
	if (l->filling || t0 < l->win_start)
		return 0; /* sent before the limit was reached */
	l->win_sum += rtt;
	l->win_n++;
	need = before / 2 < 4 ? 4 : before / 2;
	if (l->win_n < need)
		return 0;
	if (l->settling) {
		/* The first window at a new limit still holds requests
		 * queued behind the old one's (shorter or longer) queue. */
		l->settling = 0;
		new_window(l, now);
		return 0;
	}
	settle(l, l->win_sum / l->win_n);
	new_window(l, now);
	l->settling = limiter_room(l) != before;
	return l->settling;
}
