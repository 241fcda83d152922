/* Progress reporting thread. */
#include "util/progress.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

double progress_elapsed(const struct progress *p)
{
	return clock_now() - p->t0;
}

void progress_fmt_count(char *out, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(out, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.1fk", v / 1e3);
	else
		snprintf(out, n, "%.0f", v);
}

static void fmt_eta(char *out, size_t n, double secs)
{
	long s = (long)(secs + 0.5);

	if (secs < 0 || secs > 1e8)
		snprintf(out, n, "?");
	else if (s >= 3600)
		snprintf(out, n, "%ldh%02ldm", s / 3600, (s / 60) % 60);
	else
		snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
}

void progress_init(struct progress *p, const char *what, FILE *out, int tty,
		   double interval)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->out = out;
	p->tty = tty;
	p->interval = interval > 0 ? interval : 10;
	p->t0 = clock_now();
	pthread_mutex_init(&p->lock, NULL);
	clock_cond_init(&p->wake);
}

/* Caller holds p->lock. */
static void draw(struct progress *p)
{
	double el = progress_elapsed(p);
	long long done = atomic_load(&p->shards_done);
	double samples = (double)atomic_load(&p->samples);
	double bytes = (double)atomic_load(&p->bytes_done);
	double rate = el > 0 ? samples / el : 0;
	double frac = p->bytes_total > 0 ? bytes / (double)p->bytes_total : 0;
	char sbuf[32], rbuf[32], eta[32];

	if (frac > 1)
		frac = 1;
	progress_fmt_count(sbuf, sizeof(sbuf), samples);
	progress_fmt_count(rbuf, sizeof(rbuf), rate);
	fmt_eta(eta, sizeof(eta), frac > 0 ? el / frac - el : -1);
	if (p->tty) {
		char bar[31];
		int fill = (int)(frac * 30);

		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(p->out,
			"\r\033[K%s [%s] %lld/%lld shards  %s samples  "
			"%s/s  ETA %s%s%s",
			p->what, bar, done, (long long)p->shards_total, sbuf,
			rbuf, eta, p->note[0] ? "  " : "", p->note);
		p->drawn = 1;
	} else {
		fprintf(p->out,
			"%s: %lld/%lld shards, %s samples, %s samples/s, "
			"%.0f%% of input, ETA %s%s%s\n",
			p->what, done, (long long)p->shards_total, sbuf, rbuf,
			frac * 100, eta, p->note[0] ? "; " : "", p->note);
	}
	fflush(p->out);
}

static void clear_bar(struct progress *p)
{
	if (p->tty && p->drawn) {
		fputs("\r\033[K", p->out);
		p->drawn = 0;
	}
}

static void *run(void *arg)
{
	struct progress *p = arg;
	double period = p->tty ? 0.25 : p->interval;

	pthread_mutex_lock(&p->lock);
	while (!p->quit) {
		struct timespec ts;

		clock_abstime(&ts, period);
		if (pthread_cond_timedwait(&p->wake, &p->lock, &ts) ==
			ETIMEDOUT &&
		    !p->quit)
			draw(p);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void progress_add(struct progress *p, int64_t samples, int64_t bytes)
{
	if (!p)
		return;
	if (samples)
		atomic_fetch_add(&p->samples, samples);
	if (bytes)
		atomic_fetch_add(&p->bytes_done, bytes);
}

void progress_advance(struct progress *p, int64_t samples, int64_t now,
		      int64_t *last)
{
	if (now > *last) {
		progress_add(p, samples, now - *last);
		*last = now;
	} else {
		progress_add(p, samples, 0);
	}
}

int progress_start(struct progress *p)
{
	if (pthread_create(&p->thread, NULL, run, p) != 0)
		return -1;
	p->running = 1;
	return 0;
}

void progress_stop(struct progress *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->running = 0;
	pthread_mutex_lock(&p->lock);
	clear_bar(p);
	fflush(p->out);
	pthread_mutex_unlock(&p->lock);
}

void progress_set_note(struct progress *p, const char *note)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	snprintf(p->note, sizeof(p->note), "%s", note);
	pthread_mutex_unlock(&p->lock);
}

void progress_print(struct progress *p, const char *line)
{
	pthread_mutex_lock(&p->lock);
	clear_bar(p);
	fprintf(p->out, "%s\n", line);
	fflush(p->out);
	pthread_mutex_unlock(&p->lock);
}

void progress_report(void *arg, const char *line)
{
	struct progress *p = arg;

	pthread_mutex_lock(&p->lock);
	clear_bar(p);
	fprintf(p->out, "hybridize %s: %s\n", p->what, line);
	fflush(p->out);
	pthread_mutex_unlock(&p->lock);
}
