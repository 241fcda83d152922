/* Append-only answer journal, one JSON array per line:
 * ["KEY.json", "ok", "the prompt"]. */
#include "formats/journal.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/jsonw.h"
#include "util/outfile.h"

static char *journal_path(const char *dir, const char *name)
{
	size_t n = strlen(name) + 10;
	char *base = malloc(n), *p;

	if (!base)
		return NULL;
	snprintf(base, n, ".%s.journal", name);
	p = path_join(dir, base);
	free(base);
	return p;
}

int journal_open(struct journal *j, const char *dir, const char *name,
		 int fresh, struct hy_err *err)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->path = journal_path(dir, name);
	if (!j->path)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	j->fd = open(j->path,
		     O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC |
			 (fresh ? O_TRUNC : 0),
		     0666);
	if (j->fd < 0)
		return hy_err_set(err, HY_EFATAL, "cannot write '%s': %s",
				  j->path, strerror(errno));
	/* A line cut by a full disk or a kill must not swallow the next
	 * one: end it before appending. */
	{
		off_t end = lseek(j->fd, 0, SEEK_END);
		char last = '\n';

		if (end > 0 && pread(j->fd, &last, 1, end - 1) == 1 &&
		    last != '\n' && write(j->fd, "\n", 1) != 1)
			return hy_err_set(err, HY_EFATAL,
					  "cannot write '%s': %s", j->path,
					  strerror(errno));
	}
	return HY_OK;
}

int journal_add(struct journal *j, const char *key, const char *status,
		const char *text, size_t len, struct hy_err *err)
{
	struct buf *l = &j->line;

	buf_clear(l);
	if (buf_putc(l, '[') || jsonw_string(l, key, strlen(key)) ||
	    buf_append(l, ", ", 2) || jsonw_string(l, status, strlen(status)) ||
	    buf_append(l, ", ", 2) || jsonw_string(l, text, len) ||
	    buf_append(l, "]\n", 2))
		return hy_err_set(err, HY_EFATAL, "out of memory");
	return write_all(j->fd, l->data, l->len, j->path, err);
}

int journal_load(const char *dir, const char *name,
		 void (*fn)(void *ctx, const char *key, const char *status,
			    const char *text, size_t len),
		 void *ctx, struct hy_err *err)
{
	char *path = journal_path(dir, name);
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = HY_OK;

	if (!path)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	f = fopen(path, "rb");
	if (!f) {
		if (errno != ENOENT)
			ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
					 "cannot read '%s': %s", path,
					 strerror(errno));
		free(path);
		return ret;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		cJSON *a, *k, *s, *t;

		if (line[n - 1] != '\n')
			break; /* cut by a kill mid-write */
		a = cJSON_ParseWithLength(line, (size_t)n);
		k = cJSON_GetArrayItem(a, 0);
		s = cJSON_GetArrayItem(a, 1);
		t = cJSON_GetArrayItem(a, 2);
		if (cJSON_IsString(k) && cJSON_IsString(s) && cJSON_IsString(t))
			fn(ctx, k->valuestring, s->valuestring, t->valuestring,
			   strlen(t->valuestring));
		cJSON_Delete(a);
	}
	if (ferror(f))
		ret = hy_err_set(err, HY_ESHARD, "cannot read '%s': %s", path,
				 strerror(errno));
	free(line);
	fclose(f);
	free(path);
	return ret;
}

/* 1 when line (without its newline) is the options tag line. */
static int is_tag_line(const char *line, size_t len)
{
	cJSON *a = cJSON_ParseWithLength(line, len);
	const char *k = cJSON_GetStringValue(cJSON_GetArrayItem(a, 0));
	int yes = cJSON_IsArray(a) && k && !strcmp(k, JOURNAL_TAG_KEY);

	cJSON_Delete(a);
	return yes;
}

int journal_count(const char *dir, const char *name, int64_t *answers,
		  struct hy_err *err)
{
	char *path = journal_path(dir, name);
	char chunk[65536];
	struct buf first = {0}; /* the first line, until its newline */
	int64_t lines = 0;
	int fd = -1, ret = HY_OK, in_first = 1;
	ssize_t got;

	*answers = -1;
	if (!path)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
				 "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		const char *p = chunk, *end = chunk + (got > 0 ? got : 0);
		const char *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
					 "cannot read '%s': %s", path,
					 strerror(errno));
			goto out;
		}
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			if (in_first) {
				if (buf_append(&first, p, (size_t)(nl - p)))
					goto nomem;
				in_first = 0;
				/* The tag is no answer. */
				lines -= is_tag_line(first.data, first.len);
			}
			lines++;
			p = nl + 1;
		}
		if (in_first && buf_append(&first, p, (size_t)(end - p)))
			goto nomem;
	}
	*answers = lines;
	goto out;
nomem:
	ret = hy_err_set(err, HY_EFATAL, "out of memory");
out:
	if (fd >= 0)
		close(fd);
	buf_release(&first);
	free(path);
	return ret;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	free(j->path);
	j->path = NULL;
	buf_release(&j->line);
}

void journal_remove(const char *dir, const char *name)
{
	char *path = journal_path(dir, name);

	if (path)
		unlink(path);
	free(path);
}
