/* prompts: language filter, then one LLM request per distinct caption,
 * with answers fanned out to every sample that has that caption, journaled
 * per shard, and NAME.json written when a shard is complete. One thread
 * runs the event loop; shards are loaded ahead while the pool has room, so
 * the servers stay busy across shard boundaries. */
#include "stages/prompts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/capfile.h"
#include "util/hash.h"
#include "formats/journal.h"
#include "ml/langid.h"
#include "util/outfile.h"
#include "util/progress.h"
#include "stages/runloop.h"

/* Shards open at once: enough to keep the pool fed, bounded memory. */
#define PROMPTS_MAX_ACTIVE 8

enum res { R_PENDING, R_OK, R_DECLINED, R_FAILED, R_OTHER_LANG };

struct shardst;

struct waiter {
	struct shardst *sh;
	size_t idx;
	struct waiter *next;
};

/* One distinct caption text: its request and its answer. */
struct dentry {
	char *text;
	size_t len;
	uint64_t hash;
	enum res state; /* R_PENDING while in flight */
	char *answer;	/* the prompt, or the declined answer */
	struct waiter *waiters;
	struct pjob *job; /* in flight (owned by the run), or NULL */
};

struct pjob {
	struct pool_job base; /* first: the pool hands this pointer back */
	struct dentry *d;
	int declined;
	int sent; /* counted in requests (its first send) */
	struct buf answer;
};

struct shardst {
	const struct prompts_input *in;
	struct capfile_in caps;
	enum res *res;
	char **answer; /* per entry; owned */
	size_t pending;
	size_t cursor; /* the next entry to put on its way (advance) */
	int64_t nfailed;
	struct journal j;
	double bytes_per_sample;
	struct shardst *next;
};

struct run {
	const struct stage_ctx *ctx;
	const struct prompts_opts *o;
	const char *outdir;
	struct prompts_counts *c;
	struct pool *pool;
	struct dentry **tab; /* open addressing by hash */
	size_t tabn, tabcount;
	struct shardst *active;
	size_t nactive;
	size_t room; /* requests the pool may hold: advance stops there */
	struct hy_err *err;
	int fatal;
	char tag[32]; /* hash of the options that shape answers */
	const struct stage_link *link; /* in a pipeline, else NULL */
	const struct prompts_input *base;
};

/* Tells the pipeline, if any, that a captions file left this stage. */
static void notify(struct run *r, const struct prompts_input *in, int ok)
{
	feed_input_done(r->link, (size_t)(in - r->base), ok);
}

unsigned long prompts_seed(const char *text, size_t len)
{
	return hash_fnv1a32(text, len);
}

static void dentry_free(struct dentry *d)
{
	if (!d)
		return;
	free(d->text);
	free(d->answer);
	free(d);
}

/* Slot of text in the table (empty slot if absent). */
static size_t dfind(struct run *r, const char *t, size_t n, uint64_t h)
{
	size_t mask = r->tabn - 1, i = (size_t)h & mask;

	while (r->tab[i] && !(r->tab[i]->hash == h && r->tab[i]->len == n &&
			      memcmp(r->tab[i]->text, t, n) == 0))
		i = (i + 1) & mask;
	return i;
}

/* Frees the entry in slot i and closes the gap (backward-shift deletion,
 * which keeps every probe chain of linear probing intact). A failed caption
 * leaves the table so that its next occurrence asks again. */
static void ddelete(struct run *r, size_t i)
{
	size_t mask = r->tabn - 1, j = i;

	dentry_free(r->tab[i]);
	r->tab[i] = NULL;
	r->tabcount--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!r->tab[j])
			return;
		home = (size_t)r->tab[j]->hash & mask;
		/* Move j back into the hole unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			r->tab[i] = r->tab[j];
			r->tab[j] = NULL;
			i = j;
		}
	}
}

/* Rebuilds the table at `size` slots, dropping finished entries when
 * `keep_done` is 0 (the reuse cache is full: memory stays bounded). */
static int drebuild(struct run *r, size_t size, int keep_done)
{
	struct dentry **old = r->tab;
	size_t oldn = r->tabn;

	r->tab = calloc(size, sizeof(struct dentry *));
	if (!r->tab) {
		r->tab = old;
		return -1;
	}
	r->tabn = size;
	r->tabcount = 0;
	for (size_t i = 0; i < oldn; i++) {
		struct dentry *d = old[i];
		if (!d)
			continue;
		if (!keep_done && d->state != R_PENDING) {
			dentry_free(d);
			continue;
		}
		r->tab[dfind(r, d->text, d->len, d->hash)] = d;
		r->tabcount++;
	}
	free(old);
	return 0;
}

static void count_sample(struct run *r, struct shardst *s)
{
	progress_add(r->ctx->progress, 1, (int64_t)s->bytes_per_sample);
}

/* Settles entry idx of shard s. */
static void settle(struct run *r, struct shardst *s, size_t idx, enum res v,
		   const char *answer, int journal)
{
	struct capentry *e = &s->caps.v[idx];
	struct hy_err err;

	s->res[idx] = v;
	s->pending--;
	count_sample(r, s);
	switch (v) {
	case R_OK:
		r->c->ok++;
		/* The caption itself (--api none) is not copied: finish
		 * reads it from the captions. */
		if (answer == e->text)
			break;
		s->answer[idx] = strdup(answer);
		if (!s->answer[idx])
			r->fatal =
			    hy_err_set(r->err, HY_EFATAL, "out of memory");
		break;
	case R_DECLINED:
		r->c->declined++;
		hy_report(&r->ctx->report,
			  "%s: sample '%s': LLM declined: %.120s", s->in->path,
			  e->name, answer);
		break;
	case R_FAILED:
		r->c->failed++;
		s->nfailed++;
		hy_report(&r->ctx->report, "%s: sample '%s': %s", s->in->path,
			  e->name, answer);
		break;
	default: break;
	}
	if (journal && (v == R_OK || v == R_DECLINED) &&
	    journal_add(&s->j, e->name, v == R_OK ? "ok" : "declined", answer,
			strlen(answer), &err) != HY_OK &&
	    !r->fatal)
		r->fatal = hy_err_set(r->err, err.code, "%s", err.msg);
}

/* Only white space (ASCII, as langid's cleaning sees it) or nothing. */
static int blank(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\n\r\f\v", t[i]) || t[i] == '\0')
			return 0;
	return 1;
}

/* pool callbacks */

static int on_request(void *ctx, struct pool_job *job, struct buf *path,
		      struct buf *body)
{
	struct run *r = ctx;
	struct pjob *j = (struct pjob *)job;
	unsigned long seed = r->o->seed >= 0
				 ? (unsigned long)r->o->seed
				 : prompts_seed(j->d->text, j->d->len);

	if (llm_request(&r->o->llm, j->d->text, j->d->len, seed, path, body))
		return -1;
	/* Counted when it goes out, not when it is queued: a run stopped by
	 * a refused key or a wrong API sent a few requests, not every one
	 * it had lined up. Retries and copies are counted by the pool. */
	if (!j->sent) {
		j->sent = 1;
		r->c->requests++;
	}
	return 0;
}

static enum pool_verdict on_response(void *ctx, struct pool_job *job,
				     const char *body, size_t len, char *why,
				     size_t why_size)
{
	struct run *r = ctx;
	struct pjob *j = (struct pjob *)job;
	int cut = 0, rc;

	rc = llm_parse(&r->o->llm, body, len, &j->answer, &cut, why, why_size);
	if (rc == HY_ECONFIG)
		return POOL_STOP; /* the wrong --api: stop, record nothing */
	if (rc != HY_OK)
		return POOL_RETRY;
	llm_clean(&j->answer);
	j->declined = llm_declined(&j->answer, r->o->decline);
	if (cut) {
		/* Stopped at --max-tokens: the same seed would stop there
		 * again, and half a prompt is not a prompt. */
		static const char at[] = "cut at --max-tokens: ";
		static const char thinking[] =
		    "cut at --max-tokens before any answer: the model spent "
		    "them reasoning (raise --max-tokens)";
		struct buf note = {0};
		if ((cut == 2
			 ? buf_append(&note, thinking, sizeof(thinking) - 1)
			 : buf_append(&note, at, sizeof(at) - 1)) ||
		    buf_append(&note, j->answer.data ? j->answer.data : "",
			       j->answer.len))
			return POOL_RETRY;
		buf_release(&j->answer);
		j->answer = note;
		j->declined = 1;
	}
	return POOL_DONE;
}

static void on_done(void *ctx, struct pool_job *job, int result)
{
	struct run *r = ctx;
	struct pjob *j = (struct pjob *)job;
	struct dentry *d = j->d;
	char rejected[300];
	enum res v;
	const char *text;

	if (result == POOL_FAILED) {
		v = R_FAILED;
		text = job->why;
	} else if (result == POOL_REJECTED) {
		/* The server refuses this caption for good (too long, a
		 * content filter): a decline, not a failure to retry. */
		v = R_DECLINED;
		snprintf(rejected, sizeof(rejected),
			 "rejected by the server: %s", job->why);
		text = rejected;
	} else {
		v = j->declined ? R_DECLINED : R_OK;
		text = j->answer.data ? j->answer.data : "";
	}
	struct waiter *w = d->waiters;

	d->state = v;
	d->job = NULL;
	/* A failure is not kept: a later shard with this caption retries. */
	d->answer = v == R_FAILED ? NULL : strdup(text);
	if (v != R_FAILED && !d->answer && !r->fatal)
		r->fatal = hy_err_set(r->err, HY_EFATAL, "out of memory");
	d->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		/* Every waiter but the one that asked (the last: waiters are
		 * pushed in front) got its answer without a request. */
		if (next)
			r->c->reused++;
		settle(r, w->sh, w->idx, v, text, 1);
		free(w);
		w = next;
	}
	if (v == R_FAILED)
		ddelete(r, dfind(r, d->text, d->len, d->hash));
	buf_release(&j->answer);
	free(j);
}

/* Makes room for one more entry. Returns 0, or -1 on ENOMEM. */
static int dgrow(struct run *r)
{
	if ((r->tabcount + 1) * 2 > r->tabn) {
		/* Full: grow while under the cap; at the cap, drop the finished
		 * answers and size the table for what is left (in flight), so
		 * memory stays bounded however many captions a run sees. */
		int keep = r->tabcount < r->o->dedupe_cap;
		size_t size = r->tabn * 2;

		if (!keep) {
			size_t pending = 0;
			for (size_t i = 0; i < r->tabn; i++)
				pending +=
				    r->tab[i] && r->tab[i]->state == R_PENDING;
			for (size = 1024; size < 4 * (pending + 1);)
				size *= 2;
		}
		if (drebuild(r, size, keep))
			return -1;
	}
	return 0;
}

/* Makes an answer read back from a journal reusable for identical captions
 * later in this run, as an answer received now would be: a server that is
 * not deterministic must not give one caption two prompts. */
static int dremember(struct run *r, const char *text, size_t len, enum res v,
		     const char *answer)
{
	uint64_t h = hash_fnv1a64(text, len);
	struct dentry *d;
	size_t slot;

	if (dgrow(r))
		return -1;
	slot = dfind(r, text, len, h);
	if (r->tab[slot])
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->text = malloc(len + 1)) ||
	    !(d->answer = strdup(answer))) {
		dentry_free(d);
		return -1;
	}
	memcpy(d->text, text, len);
	d->text[len] = '\0';
	d->len = len;
	d->hash = h;
	d->state = v;
	r->tab[slot] = d;
	r->tabcount++;
	return 0;
}

/* Puts entry idx of shard s on its way: reuse, wait, or ask. */
static int ask(struct run *r, struct shardst *s, size_t idx)
{
	struct capentry *e = &s->caps.v[idx];
	uint64_t h = hash_fnv1a64(e->text, e->text_len);
	struct dentry *d;
	struct waiter *w;
	struct pjob *j;
	size_t slot;

	if (dgrow(r))
		return hy_err_set(r->err, HY_EFATAL, "out of memory");
	slot = dfind(r, e->text, e->text_len, h);
	d = r->tab[slot];
	if (d && d->state != R_PENDING) {
		r->c->reused++;
		settle(r, s, idx, d->state, d->answer, 1);
		return HY_OK;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return hy_err_set(r->err, HY_EFATAL, "out of memory");
	w->sh = s;
	w->idx = idx;
	if (d) {
		/* Counted as reused when the answer comes (on_done): a run
		 * that stops first saved nothing. */
		w->next = d->waiters;
		d->waiters = w;
		return HY_OK;
	}
	d = calloc(1, sizeof(*d));
	j = calloc(1, sizeof(*j));
	if (!d || !j || !(d->text = malloc(e->text_len + 1))) {
		free(w);
		free(j);
		dentry_free(d);
		return hy_err_set(r->err, HY_EFATAL, "out of memory");
	}
	memcpy(d->text, e->text, e->text_len + 1);
	d->len = e->text_len;
	d->hash = h;
	d->state = R_PENDING;
	d->waiters = w;
	r->tab[slot] = d;
	r->tabcount++;
	j->d = d;
	d->job = j;
	pool_submit(r->pool, &j->base);
	return HY_OK;
}

/* The first line of a journal (its key JOURNAL_TAG_KEY, journal.h)
 * records the options its answers were made with; a journal made with
 * others (another model, system prompt, language...) is started afresh
 * rather than mixed into NAME.json. */

struct jload {
	struct shardst *s;
	struct run *r;
	size_t *idx; /* entries sorted by name, to find a journal key */
	int lines;   /* lines seen */
	int valid;   /* the first line carried our options tag */
};

static int cmp_idx(const void *a, const void *b, void *caps)
{
	const struct capfile_in *c = caps;

	return strcmp(c->v[*(const size_t *)a].name,
		      c->v[*(const size_t *)b].name);
}

static void on_journal(void *ctx, const char *key, const char *status,
		       const char *text, size_t len)
{
	struct jload *jl = ctx;
	struct shardst *s = jl->s;
	size_t lo = 0, hi = s->caps.n;

	(void)len;
	if (jl->lines++ == 0)
		jl->valid =
		    !strcmp(key, JOURNAL_TAG_KEY) && !strcmp(text, jl->r->tag);
	if (!jl->valid)
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->caps.v[jl->idx[mid]].name, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->caps.n || strcmp(s->caps.v[jl->idx[lo]].name, key) != 0)
		return; /* a key the captions no longer have */
	lo = jl->idx[lo];
	if (s->res[lo] != R_PENDING)
		return;
	if (!strcmp(status, "ok") || !strcmp(status, "declined")) {
		enum res v = !strcmp(status, "ok") ? R_OK : R_DECLINED;
		struct capentry *e = &s->caps.v[lo];

		jl->r->c->resumed++;
		settle(jl->r, s, lo, v, text, 0);
		if (dremember(jl->r, e->text, e->text_len, v, text) &&
		    !jl->r->fatal)
			jl->r->fatal =
			    hy_err_set(jl->r->err, HY_EFATAL, "out of memory");
	}
}

static void shard_free(struct shardst *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->answer && i < s->caps.n; i++)
		free(s->answer[i]);
	free(s->answer);
	free(s->res);
	capfile_in_release(&s->caps);
	journal_close(&s->j);
	free(s);
}

/* Puts the samples of shard s on their way, from s->cursor on, while the
 * pool holds fewer than r->room requests (all at once with --api none): a
 * request (about 400 bytes with its caption entry) is made when it is
 * near, not for every sample of a shard at once, so that memory stays flat
 * in the samples of a shard. */
static int advance(struct run *r, struct shardst *s)
{
	const struct prompts_opts *o = r->o;
	int ret;

	while (s->cursor < s->caps.n && !r->fatal &&
	       (o->api_none || pool_pending(r->pool) < r->room)) {
		size_t i = s->cursor++;
		struct capentry *e = &s->caps.v[i];
		int yes = 1;

		if (s->res[i] != R_PENDING)
			continue;
		/* A caption with no text has nothing to rewrite and no
		 * language: the filter leaves it out, and with --lang any it
		 * is left out the same way rather than sent (a server answers
		 * it with a 400 or with a prompt made up from nothing). */
		if (blank(e->text, e->text_len))
			yes = 0;
		else if (o->lid) {
			struct hy_err lerr;
			if (langid_is(o->lid, e->text, e->text_len, o->langs,
				      o->nlangs, o->min_lang_score, &yes,
				      &lerr) != HY_OK)
				return hy_err_set(r->err, HY_EFATAL, "%s",
						  lerr.msg);
		}
		if (!yes) {
			r->c->other_lang++;
			settle(r, s, i, R_OTHER_LANG, "", 0);
		} else if (o->api_none) {
			settle(r, s, i, R_OK, e->text, 0);
		} else if ((ret = ask(r, s, i)) != HY_OK) {
			return ret;
		}
	}
	return r->fatal ? r->fatal : HY_OK;
}

/* advance on every active shard, oldest first. */
static int advance_all(struct run *r, struct shardst *s)
{
	int ret;

	if (!s)
		return HY_OK;
	ret = advance_all(r, s->next);
	return ret ? ret : advance(r, s);
}

/* Reads a captions file, its journal, and starts its samples. */
static int load(struct run *r, const struct prompts_input *in)
{
	const struct prompts_opts *o = r->o;
	struct shardst *s = calloc(1, sizeof(*s));
	struct jload jl = {.s = s, .r = r};
	int ret;

	if (!s)
		return hy_err_set(r->err, HY_EFATAL, "out of memory");
	s->in = in;
	s->j.fd = -1;
	ret = capfile_load(&s->caps, in->path, r->err);
	if (ret)
		goto fail;
	s->res = calloc(s->caps.n + 1, sizeof(*s->res));
	s->answer = calloc(s->caps.n + 1, sizeof(*s->answer));
	jl.idx = malloc((s->caps.n + 1) * sizeof(*jl.idx));
	if (!s->res || !s->answer || !jl.idx) {
		ret = hy_err_set(r->err, HY_EFATAL, "out of memory");
		goto fail;
	}
	s->pending = s->caps.n;
	s->bytes_per_sample =
	    s->caps.n ? (double)in->size / (double)s->caps.n : 0;
	r->c->samples += (int64_t)s->caps.n;
	if (!o->api_none) {
		for (size_t i = 0; i < s->caps.n; i++)
			jl.idx[i] = i;
		qsort_r(jl.idx, s->caps.n, sizeof(*jl.idx), cmp_idx, &s->caps);
		ret =
		    journal_load(r->outdir, in->name, on_journal, &jl, r->err);
		if (ret)
			goto fail;
		if (jl.lines && !jl.valid)
			hy_report(&r->ctx->report,
				  "%s: journal made with other options (model, "
				  "API, system prompt, language...): starting "
				  "the shard afresh",
				  in->path);
		ret =
		    journal_open(&s->j, r->outdir, in->name, !jl.valid, r->err);
		if (!ret && !jl.valid)
			ret = journal_add(&s->j, JOURNAL_TAG_KEY, "", r->tag,
					  strlen(r->tag), r->err);
		if (ret)
			goto fail;
	}
	s->next = r->active;
	r->active = s;
	r->nactive++;
	free(jl.idx);
	return advance(r, s);
fail:
	free(jl.idx);
	if (ret == HY_ESHARD) { /* this captions file is bad: report, go on */
		hy_report(&r->ctx->report, "%s", r->err->msg);
		r->c->shards_failed++;
		notify(r, in, 0);
		ret = HY_OK;
	}
	shard_free(s);
	return ret;
}

/* Writes NAME.json of a shard whose samples are all settled. */
static int finish(struct run *r, struct shardst *s)
{
	struct capfile cf = {0};
	int ret = HY_OK;

	if (s->nfailed) {
		hy_report(&r->ctx->report,
			  "%s: %lld samples failed: no output; run again to "
			  "retry them (finished answers are kept in the "
			  "journal)",
			  s->in->path, (long long)s->nfailed);
		r->c->shards_failed++;
		notify(r, s->in, 0);
		return HY_OK;
	}
	capfile_begin(&cf);
	for (size_t i = 0; i < s->caps.n; i++) {
		const char *a = s->answer[i] ? s->answer[i] : s->caps.v[i].text;

		if (s->res[i] != R_OK)
			continue;
		if (capfile_add_name(&cf, s->caps.v[i].name,
				     strlen(s->caps.v[i].name), a, strlen(a))) {
			ret = hy_err_set(r->err, HY_EFATAL, "out of memory");
			goto out;
		}
		ret = capfile_flush(&cf, r->outdir, s->in->name, r->ctx->fsync,
				    r->err);
		if (ret)
			goto out;
	}
	ret = capfile_commit(&cf, r->outdir, s->in->name, r->ctx->fsync, NULL,
			     r->err);
	if (!ret) {
		journal_remove(r->outdir, s->in->name);
		r->c->shards_done++;
		notify(r, s->in, 1);
		if (r->ctx->progress)
			atomic_fetch_add(&r->ctx->progress->shards_done, 1);
	}
out:
	capfile_release(&cf);
	return ret;
}

static int reap(struct run *r)
{
	struct shardst **pp = &r->active;
	int ret = HY_OK;

	while (*pp && !ret) {
		struct shardst *s = *pp;
		if (s->pending) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		r->nactive--;
		ret = finish(r, s);
		shard_free(s);
	}
	return ret;
}

/* runloop callbacks */

/* The samples of the shards loaded, then the shards they completed. */
static int loop_fill(void *arg)
{
	struct run *r = arg;
	int ret = advance_all(r, r->active);

	return ret ? ret : reap(r);
}

static int loop_open(void *arg, size_t idx)
{
	struct run *r = arg;
	int ret = load(r, &r->base[idx]);

	return ret ? ret : reap(r);
}

static int loop_collect(void *arg)
{
	struct run *r = arg;

	return r->fatal ? r->fatal : reap(r);
}

/* A hash of every option that changes what an answer is. */
static void options_tag(const struct prompts_opts *o, char *out, size_t n)
{
	struct buf b = {0};
	char num[96];

	snprintf(num, sizeof(num), "%d|%d|%.6g|%ld|%ld|%.6g|", o->api_none,
		 (int)o->llm.api, o->llm.temperature, o->llm.max_tokens,
		 o->seed, (double)o->min_lang_score);
	buf_append(&b, num, strlen(num));
	buf_append(&b, o->llm.model ? o->llm.model : "",
		   o->llm.model ? strlen(o->llm.model) : 0);
	buf_putc(&b, '|');
	if (o->llm.system)
		buf_append(&b, o->llm.system, strlen(o->llm.system));
	buf_putc(&b, '|');
	for (size_t i = 0; i < o->nlangs; i++) {
		buf_append(&b, o->langs[i], strlen(o->langs[i]));
		buf_putc(&b, ',');
	}
	buf_putc(&b, '|');
	if (o->decline_src)
		buf_append(&b, o->decline_src, strlen(o->decline_src));
	/* Only when set, so that journals made before the option resume. */
	if (o->llm.think && o->llm.api != LLM_OPENAI)
		buf_append(&b, "|think", 6);
	snprintf(out, n, "%016llx",
		 (unsigned long long)hash_fnv1a64(b.data ? b.data : "", b.len));
	buf_release(&b);
}

/* Set up as generate_run_fed is, on purpose: the loop itself is shared
 * (runloop.h); what stays alike here is each stage filling its own struct
 * run and freeing its own shard type. */
int prompts_run_fed(const struct stage_ctx *ctx, const struct prompts_opts *o,
		    const struct prompts_input *in, size_t n,
		    const struct stage_link *link, const char *outdir,
		    struct prompts_counts *counts, FILE *summary,
		    struct hy_err *err)
{
	struct pool_callbacks cb = {on_request, on_response, on_done, NULL};
	struct run r = {.ctx = ctx,
			.o = o,
			.outdir = outdir,
			.c = counts,
			.err = err,
			.link = link,
			.base = in};
	struct runloop loop = {
	    .ctx = ctx,
	    .link = link,
	    .n = n,
	    .max_active = PROMPTS_MAX_ACTIVE,
	    .room = o->api_none ? 0 : (size_t)o->pool.max_in_flight * 4,
	    .arg = &r,
	    .fill = loop_fill,
	    .open = loop_open,
	    .nactive = &r.nactive,
	    .collect = loop_collect,
	};
	int ret;

	memset(counts, 0, sizeof(*counts));
	r.room = loop.room;
	cb.ctx = &r;
	options_tag(o, r.tag, sizeof(r.tag));
	r.tabn = 1024;
	r.tab = calloc(r.tabn, sizeof(struct dentry *));
	if (!r.tab)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	ret = runloop_serve(&loop, o->api_none ? NULL : o->urls, o->nurls,
			    &o->pool, &cb, &r.pool, err);
	/* Drops the jobs in flight; freed below. */
	runloop_pool_end(r.pool, &counts->retries, &counts->copies,
			 &counts->copies_won, summary, "endpoint");
	while (r.active) {
		struct shardst *s = r.active;
		r.active = s->next;
		shard_free(s);
	}
	for (size_t i = 0; i < r.tabn; i++) {
		if (!r.tab[i])
			continue;
		for (struct waiter *w = r.tab[i]->waiters, *nx; w; w = nx) {
			nx = w->next;
			free(w);
		}
		if (r.tab[i]->job) {
			buf_release(&r.tab[i]->job->answer);
			free(r.tab[i]->job);
		}
		dentry_free(r.tab[i]);
	}
	free(r.tab);
	return ret;
}
