/* extract: shard -> folder, refusing members that would escape it or create
 * anything but files, folders and links. */
#include "stages/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/outfile.h"
#include "util/progress.h"
#include "tar/shard.h"

/* Whether the component [c, c + n) of a path is "" or ".", which move
 * nowhere, or "..". */
static int comp_is_empty(const char *c, size_t n)
{
	return n == 0 || (n == 1 && c[0] == '.');
}

static int comp_is_dotdot(const char *c, size_t n)
{
	return n == 2 && c[0] == '.' && c[1] == '.';
}

/* Length of the component starting at c. */
static size_t comp_len(const char *c)
{
	const char *e = strchr(c, '/');

	return e ? (size_t)(e - c) : strlen(c);
}

int extract_path_unsafe(const char *p)
{
	const char *c = p;

	if (p[0] == '/')
		return 1;
	for (;;) {
		size_t n = comp_len(c);
		if (comp_is_dotdot(c, n))
			return 1;
		if (!c[n])
			break;
		c += n + 1;
	}
	return 0;
}

int extract_symlink_unsafe(const char *member, const char *target)
{
	long depth = -1; /* of the link's folder below the shard's folder */
	int named = 0;

	if (target[0] == '/')
		return 1;
	for (const char *c = member;;) {
		size_t n = comp_len(c);
		if (!comp_is_empty(c, n))
			depth++;
		if (!c[n])
			break;
		c += n + 1;
	}
	for (const char *c = target;;) {
		size_t n = comp_len(c);
		if (comp_is_dotdot(c, n)) {
			/* After a name, ".." climbs from wherever that name
			 * leads, which may be another link: "sub/s" -> ".."
			 * makes "sub/s/../.." climb out although it reads as
			 * staying in. Leading ".."s climb real folders (the
			 * writer never extracts through a link), so counting
			 * them is exact. */
			if (named || --depth < 0)
				return 1;
		} else if (!comp_is_empty(c, n)) {
			named = 1;
		}
		if (!c[n])
			break;
		c += n + 1;
	}
	return 0;
}

/* Why extract refuses to create a member of type `ft`; NULL for files,
 * folders and symbolic links. Never mknod: as root that would make device
 * nodes out of a downloaded shard. */
static const char *special_kind(int ft)
{
	switch (ft) {
	case AE_IFREG:
	case AE_IFDIR:
	case AE_IFLNK: return NULL;
	case AE_IFCHR:
		return "a character device; extract creates only files, "
		       "folders and links";
	case AE_IFBLK:
		return "a block device; extract creates only files, folders "
		       "and links";
	case AE_IFIFO:
		return "a FIFO; extract creates only files, folders and links";
	case AE_IFSOCK:
		return "a socket; extract creates only files, folders and "
		       "links";
	default:
		return "a special file; extract creates only files, folders "
		       "and links";
	}
}

/* Why member `m` (entry `ent`) must not be extracted, or NULL. Every reason
 * fails the whole shard: a shard holding such a member was not written as
 * a dataset, and half of it would be a surprise. */
static const char *refusal(const struct shard_member *m,
			   struct archive_entry *ent, const char **subject)
{
	const char *hl = archive_entry_hardlink(ent);
	const char *sl = archive_entry_symlink(ent);
	const char *kind;

	*subject = m->path;
	if (extract_path_unsafe(m->path))
		return "absolute path or '..' would write outside the output "
		       "folder";
	if (hl) { /* created with link(2) whatever its type says */
		*subject = hl;
		return extract_path_unsafe(hl)
			   ? "hard link to an absolute path or through '..' "
			     "would reach outside the output folder"
			   : NULL;
	}
	kind = special_kind((int)archive_entry_filetype(ent));
	if (kind)
		return kind;
	/* libarchive's writer makes a symbolic link of any entry with a
	 * target, whatever its type says. */
	if (sl && extract_symlink_unsafe(m->path, sl)) {
		*subject = sl;
		return "symbolic link target is absolute or climbs with '..' "
		       "out of the shard's folder";
	}
	return NULL;
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
	struct buf mname = {0}; /* the member's own name, reused */
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
	rmtree(tmp); /* a leftover of a killed run */
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
		const char *hl, *why, *subject;
		struct stat lst;

		if (!ent) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		hl = archive_entry_hardlink(ent);

		if (stage_stopped(ctx)) {
			ret = hy_err_set(err, HY_ESTOP, "%s: stopped", path);
			goto out;
		}
		why = refusal(&m, ent, &subject);
		if (why) {
			ret = hy_err_set(err, HY_ESHARD,
					 "%s: offset %lld: refusing member "
					 "'%s'%s%s%s: %s",
					 path, (long long)m.offset, m.path,
					 subject != m.path ? " (link to '" : "",
					 subject != m.path ? subject : "",
					 subject != m.path ? "')" : "", why);
			goto out;
		}
		/* No setuid, setgid or sticky bit: as root these would be
		 * honoured, and a shard's files are data. */
		archive_entry_set_perm(ent, archive_entry_perm(ent) & 0777);
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
		/* The disk writer gets the path in the temporary folder; the
		 * shard's entry then gets the member's own name back (the
		 * writer keeps a copy), since the reader's messages about the
		 * body name it. m.path points into the entry: copied first. */
		buf_clear(&mname);
		if (buf_append(&mname, m.path, strlen(m.path) + 1)) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		/* link(2) of a symbolic link makes another symbolic link with
		 * the same target, read from the new place: checked where the
		 * first one was made, it may climb out from here. */
		if (hl && lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode)) {
			ret = hy_err_set(err, HY_ESHARD,
					 "%s: offset %lld: refusing member "
					 "'%s' (link to '%s'): hard link to a "
					 "symbolic link, whose target would "
					 "be read from another folder",
					 path, (long long)m.offset, m.path, hl);
			goto out;
		}
		archive_entry_set_pathname(ent, dst);
		if (hl)
			archive_entry_set_hardlink(ent, link);
		if (archive_write_header(disk, ent) < ARCHIVE_WARN) {
			ret = disk_err(disk, err, path, "create", dst);
			goto out;
		}
		archive_entry_copy_pathname(ent, mname.data);
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
		rmtree(tmp);
	if (sh)
		progress_advance(ctx->progress, 0, shard_file_offset(sh),
				 &last);
	*counts = c;
	if (disk)
		archive_write_free(disk);
	shard_close(sh);
	free(dst);
	free(link);
	buf_release(&mname);
	free(final);
	free(real);
	free(tmp);
	free(tmpname);
	return ret;
}
