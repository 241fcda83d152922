/* extract: shard -> folder, refusing paths that would escape it. */
#include "extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "progress.h"
#include "shard.h"

int extract_path_unsafe(const char *p)
{
	const char *c = p;

	if (p[0] == '/')
		return 1;
	while (*c) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 1;
		if (!e)
			break;
		c = e + 1;
	}
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A failure of the output (full, read-only, I/O) stops everything; any
 * other (a member that cannot be created as named) fails this shard. */
static int disk_err(struct archive *disk, struct hy_err *err, const char *shard,
		    const char *what, const char *path)
{
	int e = archive_errno(disk);
	int code = e == ENOSPC || e == EDQUOT || e == EROFS || e == EIO
		       ? HY_EFATAL
		       : HY_ESHARD;

	return hy_err_set(
	    err, code, "%s: cannot %s '%s': %s", shard, what, path,
	    archive_error_string(disk) ? archive_error_string(disk)
				       : strerror(e));
}

int extract_shard(const struct stage_ctx *ctx, const char *path,
		  const char *name, const char *outdir,
		  struct stage_counts *counts, struct hy_err *err)
{
	struct stage_counts c = {0};
	struct shard *sh = NULL;
	struct shard_member m;
	struct archive *disk = NULL;
	/* The folder is named by its real path: libarchive refuses to write
	 * through symlinks (SECURE_SYMLINKS), and $SCRATCH often is one. */
	char *real = realpath(outdir, NULL);
	char *final = NULL, *tmp = NULL, *tmpname = NULL;
	char *dst = NULL, *link = NULL;
	int64_t last = 0;
	int ret, k;

	if (!real) {
		ret = hy_err_set(err, HY_EFATAL, "cannot resolve '%s': %s",
				 outdir, strerror(errno));
		goto out;
	}
	final = path_join(real, name);
	if (!final || !(tmpname = malloc(strlen(name) + 7))) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	snprintf(tmpname, strlen(name) + 7, ".%s.part", name);
	tmp = path_join(real, tmpname);
	if (!tmp) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	rm_tree(tmp); /* a leftover of a killed run */
	if (mkdir(tmp, 0777) < 0) {
		ret = hy_err_set(err, HY_EFATAL, "cannot create '%s': %s", tmp,
				 strerror(errno));
		goto out;
	}
	ret = shard_open(&sh, path, err);
	if (ret)
		goto out;
	disk = archive_write_disk_new();
	if (!disk) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	archive_write_disk_set_options(
	    disk, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
		      ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	while ((k = shard_next(sh, &m, err)) > 0) {
		struct archive_entry *ent = shard_entry(sh);
		const char *hl;

		if (!ent) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		hl = archive_entry_hardlink(ent);

		if (stage_stopped(ctx)) {
			ret = hy_err_set(err, HY_ESTOP, "%s: stopped", path);
			goto out;
		}
		if (extract_path_unsafe(m.path) ||
		    (hl && extract_path_unsafe(hl))) {
			ret = hy_err_set(err, HY_ESHARD,
					 "%s: offset %lld: refusing member "
					 "'%s': %s",
					 path, (long long)m.offset,
					 hl && extract_path_unsafe(hl) ? hl
								       : m.path,
					 "absolute path or '..' would write "
					 "outside the output folder");
			goto out;
		}
		if (m.is_data && m.new_sample) {
			c.samples++;
			progress_advance(ctx->progress, 1,
					 shard_file_offset(sh), &last);
		}
		free(dst);
		free(link);
		link = NULL;
		dst = path_join(tmp, m.path);
		if (!dst || (hl && !(link = path_join(tmp, hl)))) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		archive_entry_set_pathname(ent, dst);
		if (hl)
			archive_entry_set_hardlink(ent, link);
		if (archive_write_header(disk, ent) < ARCHIVE_WARN) {
			ret = disk_err(disk, err, path, "create", dst);
			goto out;
		}
		for (;;) {
			const void *blk;
			int64_t at = 0,
				n = shard_read_block(sh, &blk, &at, err);
			if (n < 0) {
				ret = (int)n;
				goto out;
			}
			if (n == 0)
				break;
			if (archive_write_data_block(disk, blk, (size_t)n, at) <
			    ARCHIVE_WARN) {
				ret = disk_err(disk, err, path, "write", dst);
				goto out;
			}
			c.bytes_out += n;
		}
		if (archive_write_finish_entry(disk) < ARCHIVE_WARN) {
			ret = disk_err(disk, err, path, "write", dst);
			goto out;
		}
	}
	if (k < 0) {
		ret = k;
		goto out;
	}
	if (archive_write_close(disk) < ARCHIVE_WARN) {
		ret = hy_err_set(err, HY_EFATAL, "cannot finish '%s': %s", tmp,
				 archive_error_string(disk));
		goto out;
	}
	if (rename(tmp, final) < 0)
		ret =
		    hy_err_set(err, HY_EFATAL, "cannot rename '%s' to '%s': %s",
			       tmp, final, strerror(errno));
out:
	if (ret && tmp)
		rm_tree(tmp);
	if (sh)
		progress_advance(ctx->progress, 0, shard_file_offset(sh),
				 &last);
	*counts = c;
	if (disk)
		archive_write_free(disk);
	shard_close(sh);
	free(dst);
	free(link);
	free(final);
	free(real);
	free(tmp);
	free(tmpname);
	return ret;
}
