/* Atomic outputs: every stage file is written under a temporary name in the
 * same directory and renamed into place when complete, so an output that
 * exists is a finished unit of work and a crash leaves nothing half-written
 * under the final name. */
#ifndef HY_OUTFILE_H
#define HY_OUTFILE_H

#include <stddef.h>

#include "util/err.h"

struct outfile {
	int fd;
	int fsync; /* fsync the file and its directory on commit */
	char *final_path;
	char *tmp_path;
};

/* Creates dir/.NAMESUFFIX.part (truncating a leftover of a killed run:
 * each output has exactly one writer, its shard's rank) for the output
 * dir/NAMESUFFIX (suffix ".json", ".tar", or ""). Returns HY_OK, or
 * HY_EFATAL when the directory is not writable (every other shard would
 * fail the same way). */
int outfile_open(struct outfile *f, const char *dir, const char *name,
		 const char *suffix, int do_fsync, struct hy_err *err);

/* outfile_open for an output that several processes may write at once,
 * alike (every rank of `run` writes the same shard list): its temporary
 * name .NAMESUFFIX.HOST.PID.part is this process's own, so that no writer
 * truncates or renames another's; the last rename wins. */
int outfile_open_shared(struct outfile *f, const char *dir, const char *name,
			const char *suffix, int do_fsync, struct hy_err *err);

/* Writes all of p, retrying short writes; HY_EFATAL on error (disk full). */
int outfile_write(struct outfile *f, const void *p, size_t n,
		  struct hy_err *err);

/* The same for any open file descriptor fd; path names it in err. */
int write_all(int fd, const void *p, size_t n, const char *path,
	      struct hy_err *err);

/* fsync (if asked), close and rename into place. On failure the temporary
 * file is removed. */
int outfile_commit(struct outfile *f, struct hy_err *err);

/* Writes a whole output dir/NAMESUFFIX of len bytes at once: open, write,
 * commit; nothing is left behind on failure. */
int outfile_put(const char *dir, const char *name, const char *suffix,
		const void *data, size_t len, int do_fsync, struct hy_err *err);

/* Closes and removes the temporary file; accepts a never-opened struct
 * (fd < 0, paths NULL). */
void outfile_abort(struct outfile *f);

/* 1 when dir/name exists. */
int outfile_exists(const char *dir, const char *name);

/* Joins dir and name with one '/'; returns a malloc'd string or NULL. */
char *path_join(const char *dir, const char *name);

/* mkdir -p; HY_OK or HY_EFATAL naming the directory and the reason. */
int mkdirs(const char *path, struct hy_err *err);

/* rm -rf: removes path and all below it, not following links (what is
 * already gone counts as removed). 0, or -1 with errno set; a path that
 * does not exist is -1 (ENOENT). */
int rmtree(const char *path);

#endif
