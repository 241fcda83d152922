/* The edits folder being written (.NAME.part/): members written whole,
 * the resume check, the clean-up of a killed run's temporaries, and the
 * rename into place. */
#include "formats/editpart.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/digest.h"
#include "util/outfile.h"

/* The file in a .NAME.part/ folder that records the options its images
 * were made with. */
#define EDITPART_OPTIONS ".options"

/* Path of KEY.EXT under dir, split so that outfile can name its temporary
 * beside it: *sub = dir + the key's folders (created), *leaf = the file
 * name. Both malloc'd. */
static int member_path(const char *dir, const char *key, size_t key_len,
		       const char *ext, char **sub, char **leaf,
		       struct hy_err *err)
{
	const char *slash = memrchr(key, '/', key_len);
	size_t base = slash ? (size_t)(slash - key) + 1 : 0;
	char *folders = strndup(key, base);
	int ret = HY_OK;

	*sub = *leaf = NULL;
	if (!folders)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	*sub = base ? path_join(dir, folders) : strdup(dir);
	if (asprintf(leaf, "%.*s.%s", (int)(key_len - base), key + base, ext) <
	    0)
		*leaf = NULL;
	if (!*sub || !*leaf)
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
	else if (base)
		ret = mkdirs(*sub, err);
	free(folders);
	if (ret) {
		free(*sub);
		free(*leaf);
		*sub = *leaf = NULL;
	}
	return ret;
}

int editpart_put(const char *part, const char *key, size_t key_len,
		 const char *ext, const void *data, size_t len,
		 struct hy_err *err)
{
	char *sub, *leaf;
	int ret = member_path(part, key, key_len, ext, &sub, &leaf, err);

	if (ret)
		return ret;
	/* No fsync per file: the finish step syncs the file system once
	 * before the folder is renamed into place. */
	ret = outfile_put(sub, leaf, "", data, len, 0, err);
	free(sub);
	free(leaf);
	return ret;
}

int editpart_done(const char *part, const char *key, size_t key_len,
		  const char *ext)
{
	char *sub = NULL, *leaf = NULL, *path = NULL;
	struct buf b = {0};
	struct hy_err err;
	const char *at;
	char want[65], got[65];
	int done = 0;

	if (member_path(part, key, key_len, "json", &sub, &leaf, &err))
		return 0;
	path = path_join(sub, leaf);
	/* A blurred leftover of an earlier try has a KEY.json too. */
	if (!path || buf_read_file(&b, path, 0, NULL) || !b.data ||
	    !strstr(b.data, "\"synthetic\":"))
		goto out;
	at = strstr(b.data, "\"sha256\":\"");
	if (!at || strlen(at + 10) < 64)
		goto out;
	memcpy(want, at + 10, 64);
	want[64] = '\0';
	free(sub);
	free(leaf);
	free(path);
	path = NULL;
	if (member_path(part, key, key_len, ext, &sub, &leaf, &err)) {
		sub = leaf = NULL;
		goto out;
	}
	path = path_join(sub, leaf);
	if (!path || buf_read_file(&b, path, 0, NULL) ||
	    digest_sha256_hex(b.data ? b.data : "", b.len, got))
		goto out;
	done = !strcmp(want, got);
out:
	buf_release(&b);
	free(sub);
	free(leaf);
	free(path);
	return done;
}

/* Removes a temporary file a killed run left (".X.part", see outfile.h)
 * whose sample this run did not write again. */
static int rm_temporary(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	const char *leaf = path + ftw->base;
	size_t n = strlen(leaf);

	(void)st;
	if (flag == FTW_F && leaf[0] == '.' && n > 6 &&
	    !strcmp(leaf + n - 5, ".part") && unlink(path) < 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

int editpart_open(const char *part, const char *tag,
		  const struct hy_reporter *report, const char *shard,
		  struct hy_err *err)
{
	char *opt = path_join(part, EDITPART_OPTIONS);
	struct buf b = {0};
	int ret;

	if (!opt)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	if (buf_read_file(&b, opt, 0, NULL) == 0 &&
	    strcmp(b.data ? b.data : "", tag) != 0) {
		hy_report(report,
			  "%s: edits in progress were made with other options "
			  "(model, seed, size...): starting the shard afresh",
			  shard);
		if (rmtree(part) < 0) {
			ret =
			    hy_err_set(err, HY_EFATAL, "cannot remove '%s': %s",
				       part, strerror(errno));
			goto out;
		}
		buf_clear(&b);
	}
	ret = mkdirs(part, err);
	if (!ret && !b.len)
		ret = outfile_put(part, EDITPART_OPTIONS, "", tag, strlen(tag),
				  0, err);
out:
	buf_release(&b);
	free(opt);
	return ret;
}

int editpart_clean(const char *part, struct hy_err *err)
{
	if (nftw(part, rm_temporary, 16, FTW_PHYS) < 0)
		return hy_err_set(err, HY_EFATAL, "cannot clean up '%s': %s",
				  part, strerror(errno));
	return HY_OK;
}

int editpart_commit(const char *part, const char *final, const char *outdir,
		    int do_fsync, struct hy_err *err)
{
	int dfd;

	/* One flush of the file system instead of an fsync per file, then
	 * the folder appears whole. */
	if (do_fsync) {
		dfd = open(part, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || syncfs(dfd) < 0) {
			int ret =
			    hy_err_set(err, HY_EFATAL, "cannot sync '%s': %s",
				       part, strerror(errno));
			if (dfd >= 0)
				close(dfd);
			return ret;
		}
		close(dfd);
	}
	if (rename(part, final) < 0)
		return hy_err_set(err, HY_EFATAL,
				  "cannot rename '%s' to '%s': %s", part, final,
				  strerror(errno));
	if (do_fsync) {
		dfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return HY_OK;
}
