/* Atomic output files: temporary name, fsync, rename. */
#include "util/outfile.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (dl && dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, name, nl + 1);
	return p;
}

int mkdirs(const char *path, struct hy_err *err)
{
	char *p = strdup(path);
	struct stat st;
	int ret = HY_OK;

	if (!p)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	if (!*p) {
		free(p);
		return hy_err_set(err, HY_EFATAL, "empty directory name");
	}
	for (char *q = p + 1;; q++) {
		if (*q != '/' && *q != '\0')
			continue;
		char c = *q;
		*q = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			ret = hy_err_set(err, HY_EFATAL,
					 "cannot create directory '%s': %s", p,
					 strerror(errno));
			goto out;
		}
		*q = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ret =
		    hy_err_set(err, HY_EFATAL, "'%s' is not a directory", path);
		goto out;
	}
out:
	free(p);
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int rmtree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* outfile_open, with the temporary name .NAMESUFFIX.part, or
 * .NAMESUFFIX.PID.part when pid is not 0. */
static int open_tmp(struct outfile *f, const char *dir, const char *name,
		    const char *suffix, const char *tag, int do_fsync,
		    struct hy_err *err)
{
	size_t n = strlen(name) + strlen(suffix) + 8 + (tag ? strlen(tag) : 0);
	char *tmpname = malloc(n);
	int ret = HY_OK;

	f->fd = -1;
	f->fsync = do_fsync;
	f->final_path = NULL;
	f->tmp_path = NULL;
	if (!tmpname) {
		/* ret set apart: the analyzer cannot see hy_err_set's value */
		ret = HY_EFATAL;
		hy_err_set(err, ret, "out of memory");
		goto out;
	}
	snprintf(tmpname, n, "%s%s", name, suffix);
	f->final_path = path_join(dir, tmpname);
	if (tag)
		snprintf(tmpname, n, ".%s%s.%s.part", name, suffix, tag);
	else
		snprintf(tmpname, n, ".%s%s.part", name, suffix);
	f->tmp_path = path_join(dir, tmpname);
	if (!f->final_path || !f->tmp_path) {
		ret = HY_EFATAL;
		hy_err_set(err, ret, "out of memory");
		goto out;
	}
	f->fd =
	    open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (f->fd < 0)
		ret = hy_err_set(err, HY_EFATAL, "cannot create '%s': %s",
				 f->tmp_path, strerror(errno));
out:
	free(tmpname);
	if (ret)
		outfile_abort(f);
	return ret;
}

int outfile_open(struct outfile *f, const char *dir, const char *name,
		 const char *suffix, int do_fsync, struct hy_err *err)
{
	return open_tmp(f, dir, name, suffix, NULL, do_fsync, err);
}

int outfile_open_shared(struct outfile *f, const char *dir, const char *name,
			const char *suffix, int do_fsync, struct hy_err *err)
{
	/* The host too: ranks on different nodes of a shared file system
	 * may have the same pid (containers each start their own pid
	 * namespace). */
	char tag[HOST_NAME_MAX + 1 + 24] = "";

	if (gethostname(tag, HOST_NAME_MAX) != 0 || strchr(tag, '/'))
		tag[0] = '\0';
	tag[HOST_NAME_MAX] = '\0';
	snprintf(tag + strlen(tag), 24, "%s%ld", tag[0] ? "." : "",
		 (long)getpid());
	return open_tmp(f, dir, name, suffix, tag, do_fsync, err);
}

int outfile_put(const char *dir, const char *name, const char *suffix,
		const void *data, size_t len, int do_fsync, struct hy_err *err)
{
	struct outfile f;
	int ret = outfile_open(&f, dir, name, suffix, do_fsync, err);

	if (!ret)
		ret = outfile_write(&f, data, len, err);
	if (!ret)
		ret = outfile_commit(&f, err); /* aborts by itself on failure */
	else
		outfile_abort(&f);
	return ret;
}

int write_all(int fd, const void *p, size_t n, const char *path,
	      struct hy_err *err)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return hy_err_set(err, HY_EFATAL,
					  "cannot write '%s': %s", path,
					  strerror(errno));
		c += w;
		n -= (size_t)w;
	}
	return HY_OK;
}

int outfile_write(struct outfile *f, const void *p, size_t n,
		  struct hy_err *err)
{
	return write_all(f->fd, p, n, f->tmp_path, err);
}

static void fsync_dir_of(const char *path)
{
	char *d = strdup(path);
	int fd;

	if (!d)
		return;
	fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(d);
}

int outfile_commit(struct outfile *f, struct hy_err *err)
{
	int ret = HY_OK;

	if (f->fsync && fsync(f->fd) < 0) {
		ret = hy_err_set(err, HY_EFATAL, "cannot write '%s': %s",
				 f->tmp_path, strerror(errno));
		goto fail;
	}
	if (close(f->fd) < 0) {
		f->fd = -1;
		ret = hy_err_set(err, HY_EFATAL, "cannot write '%s': %s",
				 f->tmp_path, strerror(errno));
		goto fail;
	}
	f->fd = -1;
	if (rename(f->tmp_path, f->final_path) < 0) {
		ret =
		    hy_err_set(err, HY_EFATAL, "cannot rename '%s' to '%s': %s",
			       f->tmp_path, f->final_path, strerror(errno));
		goto fail;
	}
	if (f->fsync)
		fsync_dir_of(f->final_path);
	free(f->tmp_path);
	free(f->final_path);
	f->tmp_path = f->final_path = NULL;
	return HY_OK;
fail:
	outfile_abort(f);
	return ret;
}

void outfile_abort(struct outfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp_path)
		unlink(f->tmp_path);
	free(f->tmp_path);
	free(f->final_path);
	f->tmp_path = f->final_path = NULL;
}

int outfile_exists(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	struct stat st;
	int r;

	if (!p)
		return 0;
	r = stat(p, &st) == 0;
	free(p);
	return r;
}
