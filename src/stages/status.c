/* status: a WORK_DIR's report gathered from the names in its stage folders
 * (one readdir each), the small stage JSON files (entry counts, fates),
 * journal lines and .part folders, and the progress files of `run`. */
#include "stages/status.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/capfile.h"
#include "formats/fates.h"
#include "formats/journal.h"
#include "formats/workdir.h"
#include "util/buf.h"
#include "util/outfile.h"
#include "util/workq.h"

/* Threads reading the stage files (at most). */
#define STATUS_THREADS 8

/* Bits of status_shard.seen: which stage files a shard has. */
enum {
	SEEN_CAPTIONS = 1u << 0,
	SEEN_CAPTIONS_PART = 1u << 1,
	SEEN_PROMPTS = 1u << 2,
	SEEN_JOURNAL = 1u << 3,
	SEEN_PROMPTS_PART = 1u << 4,
	SEEN_EDITS = 1u << 5,
	SEEN_EDITS_PART = 1u << 6,
	SEEN_TAR = 1u << 7,
	SEEN_TAR_PART = 1u << 8,
};

/* Each stage's in-progress marker (its output: SEEN_CAPTIONS, SEEN_PROMPTS,
 * SEEN_EDITS, SEEN_TAR). */
static const unsigned stage_marker[PL_N] = {SEEN_CAPTIONS_PART,
					    SEEN_JOURNAL | SEEN_PROMPTS_PART,
					    SEEN_EDITS_PART, SEEN_TAR_PART};

/* The bit of each kind of entry (workdir.h) in each stage folder. */
static const unsigned seen_bit[PL_N][3] = {
    [PL_SCAN] =
	{[WORKDIR_OUTPUT] = SEEN_CAPTIONS, [WORKDIR_PART] = SEEN_CAPTIONS_PART},
    [PL_PROMPTS] = {[WORKDIR_OUTPUT] = SEEN_PROMPTS,
		    [WORKDIR_PART] = SEEN_PROMPTS_PART,
		    [WORKDIR_JOURNAL] = SEEN_JOURNAL},
    [PL_GENERATE] =
	{[WORKDIR_OUTPUT] = SEEN_EDITS, [WORKDIR_PART] = SEEN_EDITS_PART},
    [PL_RESHARD] =
	{[WORKDIR_OUTPUT] = SEEN_TAR, [WORKDIR_PART] = SEEN_TAR_PART},
};

/* A stage file found by its name. */
struct found {
	char *name; /* the shard's */
	unsigned bit;
};

struct gather {
	struct status_report *r;
	struct found *v;
	size_t n, cap;
	size_t *byname;	      /* shard indexes sorted by name */
	char *dir[PL_N];      /* captions, prompts, edits, OUT_DIR */
	char *state;	      /* WORK_DIR/.hybridize */
	struct buf file;      /* the state files are read into this */
	pthread_mutex_t lock; /* r->warnings */
	/* By owner index: 0 no progress file for it, else the
	 * status_rank_state of its rank + 1. */
	signed char *owner_state;
	int any_live;
	char host[256];
};

static const char *const rank_state_names[] = {"live", "finished", "stale"};

const char *status_rank_state_name(enum status_rank_state s)
{
	return rank_state_names[s];
}

/* Adds a line to r->warnings (from any thread); out of memory only loses
 * the warning. */
static void warn(struct gather *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(struct gather *g, const char *fmt, ...)
{
	struct status_report *r = g->r;
	char *line = NULL;
	char **v;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	pthread_mutex_lock(&g->lock);
	v = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*v));
	if (v) {
		r->warnings = v;
		r->warnings[r->nwarnings++] = line;
		line = NULL;
	}
	pthread_mutex_unlock(&g->lock);
	free(line);
}

/* The path of shard name's entry of that kind in the folder of stage
 * (workdir.h), or NULL (ENOMEM). */
static char *entry_path(struct gather *g, int stage, enum workdir_kind kind,
			const char *name)
{
	const struct workdir_name *n =
	    workdir_names((enum workdir_folder)stage);

	while (n->prefix && n->kind != kind)
		n++;
	return n->prefix ? workdir_path(g->dir[stage], n, name) : NULL;
}

/* Entries of the stage file {"KEY.json": text, ...} (capfile.h) of stage
 * (scan or prompts); -1 when it cannot be read. */
static int64_t count_entries(struct gather *g, struct buf *b, int stage,
			     const char *name)
{
	char *path = entry_path(g, stage, WORKDIR_OUTPUT, name);
	struct hy_err err;
	int64_t n = -1;

	if (path && capfile_count(path, b, &n, &err) < 0)
		warn(g, "%s", err.msg);
	free(path);
	return n;
}

/* Fates of edits/NAME/.generate.json by enum fate; 0 when there is none
 * (edits made by other tools), -1 when unreadable. */
static int count_fates(struct gather *g, struct buf *b, const char *name,
		       int64_t *out)
{
	struct hy_err err;

	if (fates_count(g->dir[PL_GENERATE], name, b, out, &err) < 0) {
		warn(g, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* Answers in prompts/.NAME.journal (journal.h); -1 when unreadable. */
static int64_t count_journal(struct gather *g, const char *name)
{
	struct hy_err err;
	int64_t n;

	if (journal_count(g->dir[PL_PROMPTS], name, &n, &err) != HY_OK) {
		warn(g, "%s", err.msg);
		return -1;
	}
	return n;
}

/* KEY.json files under a generate .part folder (keys may hold folders:
 * part1/000123), not counting temporaries and records (dot names). */
static int64_t count_json_files(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int64_t n = 0;

	if (!d) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		int type = de->d_type;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (type == DT_UNKNOWN && fstatat(dirfd(d), de->d_name, &st,
						  AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(st.st_mode)   ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
						     : DT_UNKNOWN;
		if (type == DT_DIR && depth < 16) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub >= 0)
				n += count_json_files(sub, depth + 1);
		} else if (type == DT_REG && len > 5 &&
			   !strcmp(de->d_name + len - 5, ".json")) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static int64_t count_part(struct gather *g, const char *name)
{
	char *path = entry_path(g, PL_GENERATE, WORKDIR_PART, name);
	int64_t n = -1;
	int fd;

	fd = path ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0)
		n = count_json_files(fd, 0);
	else if (path)
		warn(g, "cannot read '%s': %s", path, strerror(errno));
	free(path);
	return n;
}

/* 1 when dir/PREFIX NAME SUFFIX changed within STATUS_LIVE_SECS: a stage
 * command outside `run` (no progress file) is working on it. */
static int touched_lately(struct gather *g, int stage, const char *name,
			  enum workdir_kind kind)
{
	char *path = entry_path(g, stage, kind, name);
	struct stat st;
	int yes = 0;

	if (!path)
		return 0;
	if (stat(path, &st) == 0)
		yes = g->r->now - st.st_mtime <= STATUS_LIVE_SECS;
	free(path);
	return yes;
}

static int add_found(struct gather *g, const char *name, size_t len,
		     unsigned bit)
{
	if (g->n == g->cap) {
		size_t nc = g->cap ? 2 * g->cap : 256;
		struct found *v = realloc(g->v, nc * sizeof(*v));

		if (!v)
			return -1;
		g->v = v;
		g->cap = nc;
	}
	g->v[g->n].name = strndup(name, len);
	if (!g->v[g->n].name)
		return -1;
	g->v[g->n++].bit = bit;
	return 0;
}

/* Notes every entry of dir that names a shard's stage file. Returns 1 when
 * the folder is there, 0 when it is not, -1 on ENOMEM. */
static int scan_folder(struct gather *g, int stage)
{
	const char *dir = g->dir[stage];
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 1;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		warn(g, "cannot read '%s': %s", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		const char *nm = de->d_name;

		for (const struct workdir_name *p =
			 workdir_names((enum workdir_folder)stage);
		     p->prefix; p++) {
			size_t len = workdir_match(p, nm);
			int type = de->d_type;
			struct stat st;

			if (!len)
				continue;
			/* Symbolic links count for what they point to. */
			if (type == DT_UNKNOWN || type == DT_LNK) {
				if (fstatat(dirfd(d), nm, &st, 0) < 0)
					break;
				type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
			}
			if ((type == DT_DIR) != p->is_dir)
				continue;
			if (add_found(g, nm + strlen(p->prefix), len,
				      seen_bit[stage][p->kind]) < 0)
				ret = -1;
			break;
		}
	}
	closedir(d);
	return ret;
}

static int add_shard(struct status_report *r, size_t *cap, const char *name,
		     const char *path)
{
	struct status_shard *s;

	if (r->nshards == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		struct status_shard *v = realloc(r->shards, nc * sizeof(*v));

		if (!v)
			return -1;
		r->shards = v;
		*cap = nc;
	}
	s = &r->shards[r->nshards];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	s->path = path ? strdup(path) : NULL;
	if (!s->name || (path && !s->path)) {
		free(s->name);
		free(s->path);
		return -1;
	}
	s->owner = -1;
	r->nshards++;
	return 0;
}

/* WORK_DIR/.hybridize/shards.json, written by `run`: every rank's shards
 * and the split. Returns 0 (read, or not there: r->have_list says which),
 * -1 on ENOMEM. A malformed one is warned about and not used. */
static int load_list(struct gather *g, size_t *cap)
{
	struct status_report *r = g->r;
	struct workdir_list l;
	struct hy_err err;
	int ret = workdir_list_load(&l, r->workdir, &g->file, &err);

	if (ret == HY_EFATAL)
		return -1;
	if (ret == 1)
		return 0;
	if (ret != HY_OK) {
		warn(g, "%s; shards are taken from the stage folders", err.msg);
		return 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (add_shard(r, cap, l.v[i].name, l.v[i].path) < 0) {
			workdir_list_release(&l);
			return -1;
		}
		r->shards[r->nshards - 1].owner =
		    (long)((r->nshards - 1) % (size_t)l.world);
	}
	r->have_list = 1;
	r->world = l.world;
	workdir_list_release(&l);
	return 0;
}

static int cmp_found(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->name,
		      ((const struct found *)b)->name);
}

static int cmp_byname(const void *a, const void *b, void *report)
{
	const struct status_report *r = report;

	return strcmp(r->shards[*(const size_t *)a].name,
		      r->shards[*(const size_t *)b].name);
}

/* The shard called name[0..len), or NULL. */
static struct status_shard *find_shard(struct gather *g, const char *name,
				       size_t len)
{
	size_t lo = 0, hi = g->r->nshards;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = g->r->shards[g->byname[mid]].name;
		int c = strncmp(s, name, len);

		if (c == 0 && s[len])
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return &g->r->shards[g->byname[mid]];
	}
	return NULL;
}

/* Builds the shard list (from shards.json, else the names found) and
 * marks what each shard has. -1 on ENOMEM. */
static int apply_found(struct gather *g, size_t *cap)
{
	struct status_report *r = g->r;

	qsort(g->v, g->n, sizeof(*g->v), cmp_found);
	if (!r->have_list)
		for (size_t i = 0; i < g->n; i++)
			if ((i == 0 ||
			     strcmp(g->v[i].name, g->v[i - 1].name) != 0) &&
			    add_shard(r, cap, g->v[i].name, NULL) < 0)
				return -1;
	g->byname = malloc((r->nshards + 1) * sizeof(*g->byname));
	if (!g->byname)
		return -1;
	for (size_t i = 0; i < r->nshards; i++)
		g->byname[i] = i;
	qsort_r(g->byname, r->nshards, sizeof(*g->byname), cmp_byname, r);
	for (size_t i = 0; i < g->n; i++) {
		const char *nm = g->v[i].name;
		struct status_shard *s = find_shard(g, nm, strlen(nm));

		if (s)
			s->seen |= g->v[i].bit;
		else if (i == 0 || strcmp(nm, g->v[i - 1].name) != 0)
			r->unlisted++;
	}
	return 0;
}

static int cmp_rank(const void *a, const void *b)
{
	const struct status_rank *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* Reads one progress-R.json into a new r->ranks entry. -1 on ENOMEM. */
static int load_rank(struct gather *g, const char *leaf)
{
	struct status_report *r = g->r;
	struct workdir_progress p;
	struct status_rank *k, *v;
	struct hy_err err;
	char *path = path_join(g->state, leaf);
	int ret, stale;

	if (!path)
		return -1;
	ret = workdir_progress_load(&p, path, &g->file, &err);
	free(path);
	if (ret == HY_EFATAL)
		return -1;
	if (ret == HY_ESHARD)
		warn(g, "%s", err.msg);
	if (ret != HY_OK)
		return 0;
	v = realloc(r->ranks, (r->nranks + 1) * sizeof(*v));
	if (!v)
		goto nomem;
	r->ranks = v;
	k = &r->ranks[r->nranks];
	*k = (struct status_rank){.file = strdup(leaf),
				  .rank = p.rank,
				  .world = p.world,
				  .pid = p.pid,
				  .host = p.host,
				  .started = p.started,
				  .updated = p.updated,
				  .elapsed = p.elapsed,
				  .finished = p.finished,
				  .shards = p.shards,
				  .samples = p.samples,
				  .faces = p.faces,
				  .failed_samples = p.failed_samples,
				  .bytes_out = p.bytes_out,
				  .bad_samples = p.bad_samples,
				  .eta = -1,
				  .failures = p.failures,
				  .nfailures = p.nfailures};
	if (!k->file)
		goto nomem;
	memcpy(k->done, p.done, sizeof(k->done));
	memcpy(k->skipped, p.skipped, sizeof(k->skipped));
	memcpy(k->failed, p.failed, sizeof(k->failed));
	r->nranks++; /* owns host and failures now */
	stale = r->now - k->updated > STATUS_LIVE_SECS;
	/* On this very host a vanished pid settles it at once (a killed run
	 * looks live for STATUS_LIVE_SECS otherwise). */
	if (!k->finished && !stale && strcmp(k->host, g->host) == 0 &&
	    k->pid > 0)
		stale = kill((pid_t)k->pid, 0) < 0 && errno == ESRCH;
	k->state = k->finished ? STATUS_RANK_FINISHED
		   : stale     ? STATUS_RANK_STALE
			       : STATUS_RANK_LIVE;
	if (k->elapsed > 0)
		k->shards_per_hour =
		    (double)k->done[PL_RESHARD] * 3600.0 / k->elapsed;
	return 0;
nomem:
	workdir_progress_release(&p);
	return -1;
}

static int load_ranks(struct gather *g)
{
	DIR *d = opendir(g->state);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		if (errno != ENOENT)
			warn(g, "cannot read '%s': %s", g->state,
			     strerror(errno));
		return 0;
	}
	while (!ret && (de = readdir(d))) {
		if (workdir_is_progress(de->d_name))
			ret = load_rank(g, de->d_name);
	}
	closedir(d);
	if (g->r->nranks)
		qsort(g->r->ranks, g->r->nranks, sizeof(*g->r->ranks),
		      cmp_rank);
	return ret;
}

/* A failure line's shard: "SUBJECT: reason" where SUBJECT is the shard or
 * its captions file. Lines about one sample or member ("...: sample 'K':",
 * "...: member 'M':"), and notes that a shard was started afresh, do not
 * make the shard failed. */
static struct status_shard *failure_shard(struct gather *g, const char *line)
{
	const char *colon = strstr(line, ": "), *base, *end;
	static const char *const exts[] = {".tar.gz", ".tgz", ".tar", ".json"};

	if (!colon || strstr(line, ": sample '") ||
	    strstr(line, ": member '") || strstr(line, "shard afresh"))
		return NULL;
	end = colon;
	base = memrchr(line, '/', (size_t)(end - line));
	base = base ? base + 1 : line;
	for (size_t i = 0; i < sizeof(exts) / sizeof(*exts); i++) {
		size_t n = strlen(exts[i]);

		if ((size_t)(end - base) > n && !memcmp(end - n, exts[i], n)) {
			end -= n;
			break;
		}
	}
	return find_shard(g, base, (size_t)(end - base));
}

/* Where each shard stands, and the stage counts. */
static void classify(struct gather *g)
{
	struct status_report *r = g->r;

	for (size_t k = 0; k < r->nranks; k++)
		for (size_t i = 0; i < r->ranks[k].nfailures; i++) {
			const char *line = r->ranks[k].failures[i];
			struct status_shard *s = failure_shard(g, line);

			if (s)
				s->failure = line; /* the latest one wins */
		}
	for (size_t i = 0; i < r->nshards; i++) {
		struct status_shard *s = &r->shards[i];
		unsigned m;
		int live, left, ost;

		s->stage = s->seen & SEEN_TAR	     ? PL_N
			   : s->seen & SEEN_EDITS    ? PL_RESHARD
			   : s->seen & SEEN_PROMPTS  ? PL_GENERATE
			   : s->seen & SEEN_CAPTIONS ? PL_PROMPTS
						     : PL_SCAN;
		if (s->stage == PL_N) {
			s->state = STATUS_DONE;
			s->failure = NULL;
			goto count;
		}
		m = s->seen & stage_marker[s->stage];
		ost = s->owner >= 0 ? g->owner_state[s->owner] : 0;
		live =
		    s->owner >= 0 ? ost == STATUS_RANK_LIVE + 1 : g->any_live;
		/* A marker written lately without a live run: a stage
		 * command is on it, unless its rank just died. */
		if (m && !live && ost != STATUS_RANK_STALE + 1)
			live = touched_lately(g, s->stage, s->name,
					      m & SEEN_JOURNAL ? WORKDIR_JOURNAL
							       : WORKDIR_PART);
		/* Answers or images kept for the next run, but no run is on
		 * them. (A stale .part of scan or reshard is just redone.) */
		left = m && !live &&
		       (s->stage == PL_PROMPTS || s->stage == PL_GENERATE);
		if (s->failure || left)
			s->state = STATUS_FAILED;
		else if (m && live)
			s->state = STATUS_IN_PROGRESS;
		else
			s->state = STATUS_NOT_STARTED;
	count:
		for (int t = 0; t < PL_N; t++)
			r->stages[t][t < s->stage    ? STATUS_DONE
				     : t == s->stage ? s->state
						     : STATUS_NOT_STARTED]++;
	}
	/* The progress files keep only their last failure lines (declines
	 * fill them): a rank may count more failed shards than its lines
	 * name. */
	for (int t = 0; t < PL_N; t++) {
		int64_t said = 0, extra;

		for (size_t k = 0; k < r->nranks; k++)
			if (!r->have_list || r->ranks[k].world == r->world)
				said += r->ranks[k].failed[t];
		extra = said - r->stages[t][STATUS_FAILED];
		if (extra > r->stages[t][STATUS_NOT_STARTED])
			extra = r->stages[t][STATUS_NOT_STARTED];
		if (extra > 0) {
			r->failed_unnamed[t] = extra;
			r->stages[t][STATUS_FAILED] += extra;
			r->stages[t][STATUS_NOT_STARTED] -= extra;
		}
	}
}

/* Entry counts of one shard's stage files and of its work in progress.
 * Runs on several threads: on a parallel file system the time goes to
 * opening thousands of small files, one after the other. */
static void count_shard(void *ctx, size_t i)
{
	struct gather *g = ctx;
	struct status_shard *s = &g->r->shards[i];
	struct buf b = {0};

	s->faces = s->prompts = s->part_done = s->part_of = -1;
	for (int k = 0; k < 4; k++)
		s->fates[k] = -1;
	if (s->seen & SEEN_CAPTIONS)
		s->faces = count_entries(g, &b, PL_SCAN, s->name);
	if (s->seen & SEEN_PROMPTS)
		s->prompts = count_entries(g, &b, PL_PROMPTS, s->name);
	if (s->seen & SEEN_EDITS) {
		int64_t f[4] = {0, 0, 0, 0};

		if (count_fates(g, &b, s->name, f) == 0)
			memcpy(s->fates, f, sizeof(f));
	}
	if (s->stage == PL_PROMPTS && (s->seen & SEEN_JOURNAL))
		s->part_done = count_journal(g, s->name);
	else if (s->stage == PL_GENERATE && (s->seen & SEEN_EDITS_PART))
		s->part_done = count_part(g, s->name);
	if (s->part_done >= 0)
		s->part_of = s->faces;
	buf_release(&b);
}

static void count_files(struct gather *g)
{
	struct status_report *r = g->r;
	int threads = workq_cpus();

	if (threads > STATUS_THREADS)
		threads = STATUS_THREADS;
	if (workq_run(r->nshards, threads, count_shard, g, NULL) < 0)
		for (size_t i = 0; i < r->nshards; i++)
			count_shard(g, i);
	for (size_t i = 0; i < r->nshards; i++) {
		const struct status_shard *s = &r->shards[i];

		if (s->faces >= 0)
			r->faces += s->faces;
		if (s->prompts >= 0)
			r->prompts += s->prompts;
		if (s->faces >= 0 && s->prompts >= 0 && s->faces > s->prompts)
			r->no_prompt += s->faces - s->prompts;
		for (int k = 0; k < 4; k++)
			if (s->fates[k] > 0)
				r->fates[k] += s->fates[k];
		if (s->part_done > 0)
			r->part_done += s->part_done;
	}
}

/* The state of each array index's rank (owners run 0..min(world, n)). */
static int mark_live(struct gather *g)
{
	struct status_report *r = g->r;
	size_t nown = r->have_list ? (size_t)r->world : 0;

	if (nown > r->nshards)
		nown = r->nshards;
	g->owner_state = calloc(nown + 1, 1);
	if (!g->owner_state)
		return -1;
	for (size_t k = 0; k < r->nranks; k++) {
		const struct status_rank *rk = &r->ranks[k];

		if (rk->state == STATUS_RANK_LIVE) {
			r->live++;
			g->any_live = 1;
		}
		if (r->have_list && rk->world == r->world && rk->rank >= 0 &&
		    (size_t)rk->rank < nown)
			g->owner_state[rk->rank] = (signed char)(rk->state + 1);
	}
	return 0;
}

/* Missing final shards, SLURM array indices, and the rates and ETAs. */
static int finish_report(struct gather *g)
{
	struct status_report *r = g->r;
	size_t nown = r->have_list ? (size_t)r->world : 0;
	int64_t *own = NULL, *own_done = NULL;
	long *idx = NULL;
	size_t nidx = 0;
	int ret = -1;

	if (nown > r->nshards)
		nown = r->nshards;
	own = calloc(nown + 1, sizeof(*own));
	own_done = calloc(nown + 1, sizeof(*own_done));
	idx = calloc(nown + 1, sizeof(*idx));
	if (!own || !own_done || !idx)
		goto out;
	for (size_t i = 0; i < r->nshards; i++) {
		const struct status_shard *s = &r->shards[i];

		if (s->stage != PL_N)
			r->missing++;
		if (s->owner < 0)
			continue;
		own[s->owner]++;
		own_done[s->owner] += s->stage == PL_N;
	}
	for (size_t o = 0; o < nown; o++)
		if (own_done[o] < own[o])
			idx[nidx++] = (long)o;
	if (r->have_list && !(r->array = status_ranges(idx, nidx)))
		goto out;
	for (size_t k = 0; k < r->nranks; k++) {
		struct status_rank *rk = &r->ranks[k];

		if (r->have_list && rk->world == r->world && rk->rank >= 0) {
			/* The files say it even when the rank is gone. */
			size_t o = (size_t)rk->rank;

			rk->shards = o < nown ? own[o] : 0;
			rk->shards_done = o < nown ? own_done[o] : 0;
		} else {
			rk->shards_done =
			    rk->done[PL_RESHARD] + rk->skipped[PL_RESHARD];
		}
		if (rk->state != STATUS_RANK_LIVE)
			continue;
		r->shards_per_hour += rk->shards_per_hour;
		if (rk->shards_per_hour > 0)
			rk->eta = (double)(rk->shards > rk->shards_done
					       ? rk->shards - rk->shards_done
					       : 0) *
				  3600.0 / rk->shards_per_hour;
	}
	/* `run -o` is not recorded: say so when its shards are elsewhere. */
	if (r->stages[PL_RESHARD][STATUS_DONE] == 0) {
		int64_t wrote = 0;

		for (size_t k = 0; k < r->nranks; k++)
			wrote += r->ranks[k].done[PL_RESHARD] +
				 r->ranks[k].skipped[PL_RESHARD];
		if (wrote)
			warn(g,
			     "the progress files count %lld final shards, but "
			     "'%s' has none: pass the -o OUT_DIR given to run",
			     (long long)wrote, r->outdir);
	}
	if (r->missing == 0)
		r->eta = 0;
	else if (r->shards_per_hour > 0)
		r->eta = (double)r->missing * 3600.0 / r->shards_per_hour;
	else
		r->eta = -1;
	ret = 0;
out:
	free(own);
	free(own_done);
	free(idx);
	return ret;
}

int status_gather(struct status_report *r, const char *workdir,
		  const char *outdir, time_t now, struct hy_err *err)
{
	struct gather g = {.r = r};
	struct stat st;
	size_t cap = 0;
	int ret = HY_EFATAL, any = 0, k;

	memset(r, 0, sizeof(*r));
	r->now = now ? now : time(NULL);
	r->eta = -1;
	if (stat(workdir, &st) < 0 || access(workdir, R_OK | X_OK) < 0)
		return hy_err_set(err, HY_EFATAL,
				  "cannot read work dir '%s': %s", workdir,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return hy_err_set(err, HY_EFATAL,
				  "work dir '%s' is not a directory", workdir);
	pthread_mutex_init(&g.lock, NULL);
	r->workdir = strdup(workdir);
	r->outdir =
	    outdir ? strdup(outdir) : path_join(workdir, PIPELINE_DIR_SHARDS);
	g.dir[PL_SCAN] = path_join(workdir, PIPELINE_DIR_CAPTIONS);
	g.dir[PL_PROMPTS] = path_join(workdir, PIPELINE_DIR_PROMPTS);
	g.dir[PL_GENERATE] = path_join(workdir, PIPELINE_DIR_EDITS);
	g.dir[PL_RESHARD] = r->outdir ? strdup(r->outdir) : NULL;
	g.state = path_join(workdir, PIPELINE_DIR_STATE);
	if (!r->workdir || !r->outdir || !g.dir[0] || !g.dir[1] || !g.dir[2] ||
	    !g.dir[3] || !g.state)
		goto nomem;
	if (gethostname(g.host, sizeof(g.host) - 1) < 0)
		g.host[0] = '\0';
	for (int s = 0; s < PL_N; s++) {
		if ((k = scan_folder(&g, s)) < 0)
			goto nomem;
		any |= k;
	}
	if (!any && access(g.state, F_OK) < 0) {
		hy_err_set(err, HY_EFATAL,
			   "'%s' is not a work dir of hybridize: none of "
			   "captions/, prompts/, edits/, .hybridize/ in it, "
			   "and no '%s'",
			   workdir, r->outdir);
		goto out;
	}
	if (load_list(&g, &cap) < 0 || apply_found(&g, &cap) < 0 ||
	    load_ranks(&g) < 0 || mark_live(&g) < 0)
		goto nomem;
	classify(&g);
	count_files(&g);
	if (finish_report(&g) < 0)
		goto nomem;
	ret = HY_OK;
	goto out;
nomem:
	hy_err_set(err, HY_EFATAL, "out of memory");
out:
	for (size_t i = 0; i < g.n; i++)
		free(g.v[i].name);
	free(g.v);
	free(g.byname);
	free(g.owner_state);
	for (int s = 0; s < PL_N; s++)
		free(g.dir[s]);
	free(g.state);
	buf_release(&g.file);
	pthread_mutex_destroy(&g.lock);
	return ret;
}

void status_release(struct status_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nshards; i++) {
		free(r->shards[i].name);
		free(r->shards[i].path);
	}
	for (size_t k = 0; k < r->nranks; k++) {
		for (size_t i = 0; i < r->ranks[k].nfailures; i++)
			free(r->ranks[k].failures[i]);
		free(r->ranks[k].failures);
		free(r->ranks[k].file);
		free(r->ranks[k].host);
	}
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->shards);
	free(r->ranks);
	free(r->warnings);
	free(r->array);
	free(r->workdir);
	free(r->outdir);
	memset(r, 0, sizeof(*r));
}

char *status_ranges(const long *v, size_t n)
{
	struct buf b = {0};
	char num[48];

	if (buf_reserve(&b, 1))
		return NULL;
	b.data[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		int len;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		len = j > i ? snprintf(num, sizeof(num), "%s%ld-%ld",
				       i ? "," : "", v[i], v[j])
			    : snprintf(num, sizeof(num), "%s%ld", i ? "," : "",
				       v[i]);
		if (buf_append(&b, num, (size_t)len)) {
			buf_release(&b);
			return NULL;
		}
		i = j;
	}
	b.data[b.len] = '\0';
	return b.data;
}
