/* Shard argument expansion and the rank split. */
#include "tar/shardlist.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/outfile.h"

/* More names than this from one argument is a typo, not a dataset. */
#define MAX_EXPANSION 10000000L

struct expand {
	int (*fn)(void *ctx, const char *s);
	void *ctx;
	struct hy_err *err;
};

static int is_int(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i == n || n - i > 18)
		return 0;
	for (; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static char *splice(const char *s, size_t pre, const char *mid, size_t midn,
		    const char *post)
{
	size_t pl = strlen(post);
	char *r = malloc(pre + midn + pl + 1);

	if (!r)
		return NULL;
	memcpy(r, s, pre);
	memcpy(r + pre, mid, midn);
	memcpy(r + pre + midn, post, pl + 1);
	return r;
}

/* The first brace group of s at or after `from` that expands, as bash
 * reads it: an unmatched '{' and a "{x}" that is neither a list nor a
 * range are text, skipped in a loop (no recursion per literal brace). Both
 * the count and the expansion go by this, so they cannot disagree. */
struct group {
	enum { G_NONE, G_RANGE, G_LIST } kind;
	size_t i, j;	/* the group is s[i..j] */
	long long a, b; /* G_RANGE: from a to b, either way */
	int width;	/* G_RANGE: zero-padded to this many digits */
	const char *in; /* G_LIST: between the braces, n bytes */
	size_t n;
};

static void find_group(const char *s, size_t from, struct group *g)
{
	const char *open;

	memset(g, 0, sizeof(*g));
	for (; (open = strchr(s + from, '{')); from = g->i + 1) {
		const char *dots = NULL;
		size_t j, depth = 0;
		int commas = 0;

		g->i = (size_t)(open - s);
		for (j = g->i; s[j]; j++) {
			if (s[j] == '{')
				depth++;
			else if (s[j] == '}' && --depth == 0)
				break;
			else if (s[j] == ',' && depth == 1)
				commas++;
		}
		if (!s[j]) /* unmatched */
			continue;
		g->j = j;
		g->in = s + g->i + 1;
		g->n = j - g->i - 1;
		if (commas) {
			g->kind = G_LIST;
			return;
		}
		for (size_t k = 0; k + 1 < g->n; k++)
			if (g->in[k] == '.' && g->in[k + 1] == '.') {
				dots = g->in + k;
				break;
			}
		if (dots && is_int(g->in, (size_t)(dots - g->in)) &&
		    is_int(dots + 2, g->n - (size_t)(dots - g->in) - 2)) {
			size_t al = (size_t)(dots - g->in), bl = g->n - al - 2;
			int pad = (al > 1 && g->in[g->in[0] == '-'] == '0') ||
				  (bl > 1 && dots[2 + (dots[2] == '-')] == '0');

			g->kind = G_RANGE;
			g->a = strtoll(g->in, NULL, 10);
			g->b = strtoll(dots + 2, NULL, 10);
			g->width = pad ? (int)(al > bl ? al : bl) : 0;
			return;
		}
	}
	g->kind = G_NONE;
}

/* G_LIST: the next alternative (split at commas outside inner groups),
 * starting at *start. Returns 0 when there is none left. */
static int next_alt(const struct group *g, size_t *start, const char **a,
		    size_t *an)
{
	size_t depth = 0;

	if (*start > g->n)
		return 0;
	for (size_t k = *start; k <= g->n; k++) {
		if (k < g->n && g->in[k] == '{')
			depth++;
		else if (k < g->n && g->in[k] == '}')
			depth--;
		if (k == g->n || (g->in[k] == ',' && depth == 0)) {
			*a = g->in + *start;
			*an = k - *start;
			*start = k + 1;
			return 1;
		}
	}
	return 0;
}

/* The number of names s expands to from `from`, or MAX_EXPANSION + 1 for
 * more; -1 when out of memory. Computed before anything is expanded, so
 * that a product of groups ('{0..99999}{0..999}') is refused at once
 * instead of after ten million names. A group's alternatives without a
 * brace (every number of a range) are followed by the same names, counted
 * once; only alternatives holding groups are counted one by one, and the
 * count stops at the limit, so the work stays bounded too. */
static long long count_names(const char *s, size_t from)
{
	const long long over = MAX_EXPANSION + 1;
	struct group g;
	long long rest = -2, sum = 0;
	size_t start = 0, an;
	const char *a;

	find_group(s, from, &g);
	if (g.kind == G_NONE)
		return 1;
	if (g.kind == G_RANGE) {
		unsigned long long m = g.a <= g.b
					   ? (unsigned long long)(g.b - g.a)
					   : (unsigned long long)(g.a - g.b);

		if (m >= (unsigned long long)MAX_EXPANSION)
			return over;
		rest = count_names(s, g.j + 1);
		if (rest < 0)
			return rest;
		return (long long)(m + 1) * rest > MAX_EXPANSION
			   ? over
			   : (long long)(m + 1) * rest;
	}
	while (sum <= MAX_EXPANSION && next_alt(&g, &start, &a, &an)) {
		long long c;

		if (!memchr(a, '{', an)) {
			if (rest == -2)
				rest = count_names(s, g.j + 1);
			c = rest;
		} else {
			char *r = splice(s, g.i, a, an, s + g.j + 1);

			c = r ? count_names(r, g.i) : -1;
			free(r);
		}
		if (c < 0)
			return -1;
		sum += c;
	}
	return sum > MAX_EXPANSION ? over : sum;
}

static int emit(struct expand *x, char *s, size_t from);

/* Expands alternative `alt` for the group spanning s[i..j]. */
static int alt(struct expand *x, const char *s, size_t i, size_t j,
	       const char *a, size_t an)
{
	char *r = splice(s, i, a, an, s + j + 1);
	int ret;

	if (!r)
		return hy_err_set(x->err, HY_EFATAL, "out of memory");
	ret = emit(x, r, i);
	free(r);
	return ret;
}

static int emit(struct expand *x, char *s, size_t from)
{
	struct group g;
	size_t start = 0, an;
	const char *a;

	find_group(s, from, &g);
	if (g.kind == G_NONE)
		return x->fn(x->ctx, s);
	if (g.kind == G_RANGE) {
		long long step = g.a <= g.b ? 1 : -1;

		for (long long v = g.a;; v += step) {
			char num[32];
			int len =
			    snprintf(num, sizeof(num), "%0*lld", g.width, v);
			int ret = alt(x, s, g.i, g.j, num, (size_t)len);

			if (ret)
				return ret;
			if (v == g.b)
				break;
		}
		return HY_OK;
	}
	while (next_alt(&g, &start, &a, &an)) {
		int ret = alt(x, s, g.i, g.j, a, an);

		if (ret)
			return ret;
	}
	return HY_OK;
}

int shardlist_expand_braces(const char *word,
			    int (*fn)(void *ctx, const char *s), void *ctx,
			    struct hy_err *err)
{
	struct expand x = {fn, ctx, err};
	char *w = strdup(word);
	long long n;
	int ret;

	if (!w)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	n = count_names(w, 0);
	if (n < 0)
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
	else if (n > MAX_EXPANSION)
		ret = hy_err_set(err, HY_EFATAL,
				 "'%s' expands to more than %ld names", word,
				 MAX_EXPANSION);
	else
		ret = emit(&x, w, 0);
	free(w);
	return ret;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n > k && strcmp(s + n - k, suf) == 0;
}

char *shardlist_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (has_suffix(base, ".tar.gz"))
		n -= 7;
	else if (has_suffix(base, ".tar") || has_suffix(base, ".tgz"))
		n -= 4;
	return strndup(base, n);
}

/* suffix: what the name is without; NULL: a shard's suffix */
static int push(struct shardlist *l, const char *path, int64_t size,
		const char *suffix, struct hy_err *err)
{
	struct shard_input *in;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct shard_input *v = realloc(l->v, nc * sizeof(*v));
		if (!v)
			return hy_err_set(err, HY_EFATAL, "out of memory");
		l->v = v;
		l->cap = nc;
	}
	in = &l->v[l->n];
	in->path = strdup(path);
	if (suffix) {
		const char *base = strrchr(path, '/');

		base = base ? base + 1 : path;
		in->name = strndup(base, strlen(base) - strlen(suffix));
	} else {
		in->name = shardlist_name(path);
	}
	in->size = size;
	if (!in->path || !in->name) {
		free(in->path);
		free(in->name);
		return hy_err_set(err, HY_EFATAL, "out of memory");
	}
	l->n++;
	return HY_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is f a file add_dir takes: not hidden, ending in suffix, or in a
 * shard's suffix when suffix is NULL? */
static int wanted(const char *f, const char *suffix)
{
	if (f[0] == '.')
		return 0;
	if (suffix)
		return strlen(f) > strlen(suffix) && has_suffix(f, suffix);
	return has_suffix(f, ".tar") || has_suffix(f, ".tar.gz") ||
	       has_suffix(f, ".tgz");
}

static int add_dir(struct shardlist *l, const char *dir, const char *suffix,
		   struct hy_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = HY_OK;

	if (!d)
		return hy_err_set(err, HY_EFATAL,
				  "cannot read directory '%s': %s", dir,
				  strerror(errno));
	while ((de = readdir(d))) {
		if (!wanted(de->d_name, suffix))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **v = realloc(names, nc * sizeof(*v));
			if (!v) {
				ret =
				    hy_err_set(err, HY_EFATAL, "out of memory");
				goto out;
			}
			names = v;
			cap = nc;
		}
		names[n] = path_join(dir, de->d_name);
		if (!names[n]) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !ret; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		ret = push(l, names[i],
			   stat(names[i], &st) == 0 ? st.st_size : -1, suffix,
			   err);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

struct add_ctx {
	struct shardlist *l;
	struct hy_err *err;
};

static int add_word(void *ctx, const char *s)
{
	struct add_ctx *a = ctx;
	struct stat st;

	if (stat(s, &st) == 0 && S_ISDIR(st.st_mode))
		return add_dir(a->l, s, NULL, a->err);
	return push(a->l, s, stat(s, &st) == 0 ? st.st_size : -1, NULL, a->err);
}

int shardlist_add_arg(struct shardlist *l, const char *arg, struct hy_err *err)
{
	struct add_ctx a = {l, err};

	return shardlist_expand_braces(arg, add_word, &a, err);
}

int shardlist_add_files(struct shardlist *l, const char *dir,
			const char *suffix, struct hy_err *err)
{
	return add_dir(l, dir, suffix, err);
}

static int cmp_name_path(const void *pa, const void *pb)
{
	const struct shard_input *a = *(const struct shard_input *const *)pa;
	const struct shard_input *b = *(const struct shard_input *const *)pb;
	int c = strcmp(a->name, b->name);

	if (!c)
		c = strcmp(a->path, b->path);
	if (!c) /* keep the first of repeated paths */
		c = a < b ? -1 : a > b;
	return c;
}

int shardlist_finish(struct shardlist *l, struct hy_err *err)
{
	struct shard_input **by = NULL;
	char *drop = NULL;
	size_t out = 0;
	int ret = HY_OK;

	/* Dot names in the stage folders are ours: temporaries (.NAME.part)
	 * and records (.faces.json). A shard named so would be taken for one
	 * (and every reader of stage folders skips dot files). */
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].name[0] == '.')
			return hy_err_set(
			    err, HY_EFATAL,
			    "shard '%s': its name '%s' starts with '.', which "
			    "the stage folders keep for temporaries and "
			    "records; rename the file",
			    l->v[i].path, l->v[i].name);
	if (l->n < 2)
		return HY_OK;
	by = malloc(l->n * sizeof(struct shard_input *));
	drop = calloc(l->n, 1);
	if (!by || !drop) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		by[i] = &l->v[i];
	qsort(by, l->n, sizeof(struct shard_input *), cmp_name_path);
	for (size_t i = 1; i < l->n; i++) {
		if (strcmp(by[i]->name, by[i - 1]->name) != 0)
			continue;
		if (strcmp(by[i]->path, by[i - 1]->path) != 0) {
			ret = hy_err_set(
			    err, HY_EFATAL,
			    "shards '%s' and '%s' have the same "
			    "name '%s': their outputs would collide",
			    by[i - 1]->path, by[i]->path, by[i]->name);
			goto out;
		}
		drop[by[i] - l->v] = 1;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (drop[i]) {
			free(l->v[i].path);
			free(l->v[i].name);
		} else {
			l->v[out++] = l->v[i];
		}
	}
	l->n = out;
out:
	free(by);
	free(drop);
	return ret;
}

int shardlist_check_output(const struct shardlist *l, const char *dir,
			   const char *suffix, const char *option,
			   struct hy_err *err)
{
	struct stat dst, ost, ist;
	char *leaf = NULL, *opath = NULL;
	int ret = HY_OK;

	/* A folder not there yet holds no input. */
	if (stat(dir, &dst) < 0)
		return HY_OK;
	for (size_t i = 0; i < l->n; i++) {
		if (asprintf(&leaf, "%s%s", l->v[i].name, suffix) < 0) {
			leaf = NULL;
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		opath = path_join(dir, leaf);
		if (!opath) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		if (stat(opath, &ost) == 0 && stat(l->v[i].path, &ist) == 0 &&
		    ost.st_dev == ist.st_dev && ost.st_ino == ist.st_ino) {
			ret = hy_err_set(err, HY_EFATAL,
					 "output '%s' is the input shard '%s' "
					 "itself: choose another %s",
					 opath, l->v[i].path, option);
			goto out;
		}
		free(leaf);
		free(opath);
		leaf = opath = NULL;
	}
out:
	free(leaf);
	free(opath);
	return ret;
}

void shardlist_select(struct shardlist *l, long rank, long world)
{
	size_t out = 0;

	if (world <= 1)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if ((long)(i % (size_t)world) == rank) {
			l->v[out++] = l->v[i];
		} else {
			free(l->v[i].path);
			free(l->v[i].name);
		}
	}
	l->n = out;
}

void shardlist_release(struct shardlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].name);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}
