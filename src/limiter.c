/* The learned in-flight limit of one endpoint: see limiter.h. */
#include "limiter.h"

#include <math.h>

/* Elasticity at which more requests in flight stop buying throughput. */
#define LIMITER_E_STOP 0.9
/* Below this the server is far from busy: double instead of +25%. */
#define LIMITER_E_FAST 0.25

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
}

void limiter_init(struct limiter *l, int start, int cap, double ceiling,
		  double now)
{
	l->cap = cap < 1 ? 1 : cap;
	l->limit = clamp(l, start);
	l->ceiling = ceiling;
	l->good_limit = 0;
	l->good_rtt = 0;
	l->hold = 0;
	l->holds = 0;
	l->windows = 0;
	l->settling = 0;
	l->min_rtt = 0;
	new_window(l, now);
}

void limiter_set_cap(struct limiter *l, int cap, double now)
{
	l->cap = cap < 1 ? 1 : cap;
	if (l->limit > l->cap) {
		l->limit = l->cap;
		new_window(l, now);
		l->settling = 1;
	}
	if (l->good_limit > l->cap)
		l->good_limit = 0;
}

void limiter_slots(struct limiter *l, int slots, double now)
{
	if (slots < 1)
		return;
	if (slots + 1 < l->cap)
		l->cap = slots + 1;
	l->limit = clamp(l, slots);
	l->good_limit = 0;
	new_window(l, now);
	l->settling = 1;
}

int limiter_room(const struct limiter *l)
{
	return clamp(l, l->limit);
}

int limiter_sent(const struct limiter *l, int in_flight)
{
	return in_flight >= limiter_room(l);
}

static int grow(const struct limiter *l, int at, double e)
{
	double next = e < LIMITER_E_FAST ? 2.0 * at : ceil(1.25 * at);

	if (next < at + 1)
		next = at + 1;
	return clamp(l, next);
}

/* The window is over: decide. */
static void settle(struct limiter *l, double r)
{
	int at = limiter_room(l);

	l->windows++;
	if (l->ceiling > 0 && r > l->ceiling && r > 2 * l->min_rtt) {
		/* Queued toward the timeout: back off whatever e says. (A
		 * server that is slow without a queue is left alone: fewer
		 * requests would not make it faster.) */
		l->limit = clamp(l, at * 0.8);
		l->good_limit = 0;
		return;
	}
	if (!l->good_limit || at <= l->good_limit || l->hold > 0) {
		/* A first measure, or one at (or below) the good limit:
		 * it becomes the reference; step up unless holding. */
		l->good_limit = at;
		l->good_rtt = r;
		if (l->hold > 0) {
			l->hold--;
			return;
		}
		l->limit = grow(l, at, 0.5);
		return;
	}
	{
		double e = r <= l->good_rtt
			       ? 0
			       : log(r / l->good_rtt) /
				     log((double)at / l->good_limit);
		if (e < LIMITER_E_STOP) {
			l->good_limit = at;
			l->good_rtt = r;
			l->holds = 0;
			l->limit = at >= l->cap ? at : grow(l, at, e);
			return;
		}
		/* The step bought latency, not throughput: back to the last
		 * good limit, and wait longer before the next try. */
		l->limit = l->good_limit;
		l->hold = 2 << (l->holds < 3 ? l->holds : 3);
		l->holds++;
	}
}

int limiter_answered(struct limiter *l, double t0, int full, double rtt,
		     double now)
{
	int before = limiter_room(l), need;

	if (l->min_rtt == 0 || rtt < l->min_rtt)
		l->min_rtt = rtt;
	if (t0 < l->win_start || !full)
		return 0; /* sent under another limit, or below it */
	l->win_sum += rtt;
	l->win_n++;
	need = before < 4 ? 4 : before;
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
