/* Edits folder index: a sorted list, searched once per sample. */
#include "formats/edits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/outfile.h"
#include "tar/shard.h"

static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int cmp_edit(const void *pa, const void *pb)
{
	const struct edit *a = pa, *b = pb;
	int c = keycmp(a->relpath, a->key_len, b->relpath, b->key_len);

	return c ? c : strcmp(a->ext, b->ext);
}

/* Adds the edit at rel (copied). */
static int add(struct edits *e, size_t *cap, const char *rel,
	       struct hy_err *err)
{
	struct edit *ed;
	size_t key_len, len = strlen(rel);

	if (len > UINT32_MAX)
		return hy_err_set(err, HY_ESHARD,
				  "edit path too long: '%.200s'", rel);
	if (e->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct edit *v = realloc(e->v, nc * sizeof(*v));
		if (!v)
			return hy_err_set(err, HY_EFATAL, "out of memory");
		e->v = v;
		*cap = nc;
	}
	ed = &e->v[e->n];
	memset(ed, 0, sizeof(*ed));
	ed->relpath = strpool_add(&e->paths, rel, len);
	if (!ed->relpath)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	shard_split_key(ed->relpath, &key_len, &ed->ext);
	ed->key_len = (uint32_t)key_len;
	e->n++;
	return HY_OK;
}

/* Walks dir (e->dir + "/" + rel) recursively. */
static int walk(struct edits *e, size_t *cap, const char *rel,
		struct hy_err *err)
{
	char *dir = rel[0] ? path_join(e->dir, rel) : strdup(e->dir);
	DIR *d = NULL;
	struct dirent *de;
	int ret = HY_OK;

	if (!dir)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT && !rel[0])
			goto out; /* no edits for this shard */
		ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
				 "cannot read edits '%s': %s", dir,
				 strerror(errno));
		goto out;
	}
	while ((errno = 0, de = readdir(d))) {
		char *sub;
		struct stat st;
		int type = de->d_type;

		if (de->d_name[0] == '.')
			continue;
		sub = rel[0] ? path_join(rel, de->d_name) : strdup(de->d_name);
		if (!sub) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		/* d_type saves a stat per file; links and file systems that
		 * leave it DT_UNKNOWN need the stat. */
		if (type == DT_UNKNOWN || type == DT_LNK) {
			char *full = path_join(e->dir, sub);
			if (!full)
				ret =
				    hy_err_set(err, HY_EFATAL, "out of memory");
			else if (stat(full, &st) < 0)
				ret = hy_err_set(err, HY_ESHARD,
						 "cannot read edit '%s': %s",
						 full, strerror(errno));
			else
				type = S_ISDIR(st.st_mode)   ? DT_DIR
				       : S_ISREG(st.st_mode) ? DT_REG
							     : DT_UNKNOWN;
			free(full);
		}
		if (!ret && type == DT_REG)
			ret = add(e, cap, sub, err);
		else if (!ret && type == DT_DIR)
			ret = walk(e, cap, sub, err);
		free(sub);
		if (ret)
			goto out;
	}
	if (errno)
		ret = hy_err_set(err, HY_ESHARD, "cannot read edits '%s': %s",
				 dir, strerror(errno));
out:
	if (d)
		closedir(d);
	free(dir);
	return ret;
}

int edits_load(struct edits *e, const char *edits_dir, const char *name,
	       struct hy_err *err)
{
	size_t cap = 0;
	int ret;

	memset(e, 0, sizeof(*e));
	e->dirfd = -1;
	e->dir = path_join(edits_dir, name);
	if (!e->dir)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	ret = walk(e, &cap, "", err);
	if (!ret && e->n) {
		e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (e->dirfd < 0)
			ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
					 "cannot read edits '%s': %s", e->dir,
					 strerror(errno));
	}
	if (ret) {
		edits_release(e);
		return ret;
	}
	if (e->n)
		qsort(e->v, e->n, sizeof(*e->v), cmp_edit);
	return HY_OK;
}

int edits_open(const struct edits *e, const struct edit *ed)
{
	return openat(e->dirfd, ed->relpath, O_RDONLY | O_CLOEXEC);
}

size_t edits_find(const struct edits *e, const char *key, size_t key_len,
		  size_t *first)
{
	size_t lo = 0, hi = e->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (keycmp(e->v[mid].relpath, e->v[mid].key_len, key, key_len) <
		    0)
			lo = mid + 1;
		else
			hi = mid;
	}
	end = lo;
	while (end < e->n &&
	       keycmp(e->v[end].relpath, e->v[end].key_len, key, key_len) == 0)
		end++;
	*first = lo;
	return end - lo;
}

void edits_release(struct edits *e)
{
	strpool_release(&e->paths);
	/* A zeroed struct (never loaded) has no dir and owns no fd 0. */
	if (e->dir && e->dirfd >= 0)
		close(e->dirfd);
	free(e->v);
	free(e->dir);
	memset(e, 0, sizeof(*e));
	e->dirfd = -1;
}
