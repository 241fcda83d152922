/* reshard: stream copy of a shard with edits applied. */
#include "stages/reshard.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "formats/edits.h"
#include "formats/fates.h"
#include "util/infile.h"
#include "util/outfile.h"
#include "util/progress.h"
#include "tar/shard.h"
#include "tar/tarw.h"

/* Bodies from this size up are copied as a byte range of the input file;
 * smaller ones are already in the reader's buffer and cost less than the
 * system call. */
#define RESHARD_RANGE_COPY_MIN ((int64_t)16 * 1024)
/* A run of verbatim members is copied in pieces of this size, so that
 * progress moves and a stop request is seen within a fraction of a
 * second. */
#define RESHARD_RUN_PIECE ((int64_t)64 << 20)

struct rs {
	const struct stage_ctx *ctx;
	const char *path;
	struct shard *sh;
	struct tarw *w;
	struct edits ed;
	struct fates fates;	     /* generate's record: samples to drop */
	int dropping;		     /* the current sample is dropped */
	struct archive_entry *proto; /* shape of an added member (take_shape) */
	struct buf file;	     /* the edit being written, for messages */
	size_t first, n;	     /* edits of the current sample */
	struct buf key; /* the current sample's key, as in the tar */
	struct stage_counts c;
	int64_t done_off; /* input bytes written out so far, for progress */
	/* Members copied verbatim are gathered into one run of input bytes
	 * [run_start, run_end) and copied in one go; run_in NULL: no run. */
	struct infile *run_in;
	int64_t run_start, run_end;
};

/* Input up to `upto` has reached the output. */
static void advance(struct rs *r, int64_t upto)
{
	progress_advance(r->ctx->progress, 0, upto, &r->done_off);
}

static int flush_run(struct rs *r, struct hy_err *err)
{
	while (r->run_in && r->run_end > r->run_start) {
		int64_t len = r->run_end - r->run_start;
		int ret;

		if (len > RESHARD_RUN_PIECE)
			len = RESHARD_RUN_PIECE;
		ret = tarw_copy_raw(r->w, r->run_in, r->run_start, len, r->path,
				    err);
		if (ret)
			return ret;
		r->run_start += len;
		advance(r, r->run_start);
		if (stage_stopped(r->ctx))
			return hy_err_set(err, HY_ESTOP, "%s: stopped",
					  r->path);
	}
	r->run_in = NULL;
	return HY_OK;
}

/* Writes edit `e` as a member with the header `ent`, reshaped in place:
 * either the replaced member's own entry (ent and name NULL: the reader's
 * current member, name kept) or r->proto, the shape taken from the
 * sample's first member (name: the added member's). Only name, times, owner and
 * mode carry over; the size becomes the edit's. No copy of the reader's entry
 * is made: it is rebuilt at the next header, and libarchive's tar reader keeps
 * the body length it skips apart from the entry (bsdtar edits read entries in
 * place the same way). */
static int write_edit(struct rs *r, struct edit *e, struct archive_entry *ent,
		      const char *name, struct hy_err *err)
{
	unsigned char h[512];
	struct stat st;
	struct infile in;
	int fd = -1;
	int ret = flush_run(r, err);

	if (ret)
		return ret;
	/* The path names the edit in messages; the file itself is opened
	 * relative to the listed folder. */
	buf_clear(&r->file);
	if (buf_append(&r->file, r->ed.dir, strlen(r->ed.dir)) ||
	    buf_putc(&r->file, '/') ||
	    buf_append(&r->file, e->relpath, strlen(e->relpath) + 1))
		return hy_err_set(err, HY_EFATAL, "out of memory");
	fd = edits_open(&r->ed, e);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
				 "cannot read edit '%s': %s", r->file.data,
				 strerror(errno));
		goto out;
	}
	infile_init(&in, fd, st.st_size);
	/* The common case, a plain ustar member replaced: its header is
	 * kept, only the size changes. */
	if (!name && st.st_size <= TARW_USTAR_MAX_SIZE &&
	    shard_ustar_header(r->sh, h)) {
		ret = tarw_ustar_member(r->w, h, &in, 0, st.st_size,
					r->file.data, err);
		goto written;
	}
	if (!ent && !(ent = shard_entry(r->sh))) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	/* The sparse map, extended attributes, ACLs and link targets
	 * describe the original body, not the edit. */
	if (name)
		archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_hardlink(ent, NULL);
	archive_entry_set_symlink(ent, NULL);
	archive_entry_sparse_clear(ent);
	archive_entry_xattr_clear(ent);
	archive_entry_acl_clear(ent);
	archive_entry_set_size(ent, (la_int64_t)st.st_size);
	ret = tarw_header(r->w, ent, err);
	if (!ret)
		ret =
		    tarw_data_from(r->w, &in, 0, st.st_size, r->file.data, err);
written:
	if (!ret) {
		e->applied = 1;
		r->c.edited++;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Keeps what an added member takes from the sample's first member (mode,
 * owner, mtime) in r->proto, one entry reused for every sample: a clone
 * per edited sample cost more than the rest of its header work. */
static int take_shape(struct rs *r, struct hy_err *err)
{
	struct archive_entry *first = shard_entry(r->sh);

	if (!first || (!r->proto && !(r->proto = archive_entry_new())))
		return hy_err_set(err, HY_EFATAL, "out of memory");
	archive_entry_clear(r->proto);
	archive_entry_set_filetype(r->proto, AE_IFREG);
	archive_entry_set_perm(r->proto, archive_entry_perm(first));
	archive_entry_set_uid(r->proto, archive_entry_uid(first));
	archive_entry_set_gid(r->proto, archive_entry_gid(first));
	archive_entry_copy_uname(r->proto, archive_entry_uname(first));
	archive_entry_copy_gname(r->proto, archive_entry_gname(first));
	if (archive_entry_mtime_is_set(first))
		archive_entry_set_mtime(r->proto, archive_entry_mtime(first),
					archive_entry_mtime_nsec(first));
	return HY_OK;
}

/* End of a sample: edits for member names it did not have are added. */
static int finish_sample(struct rs *r, struct hy_err *err)
{
	int ret = HY_OK;

	struct buf name = {0};

	for (size_t i = r->first; i < r->first + r->n && !ret; i++) {
		struct edit *e = &r->ed.v[i];
		if (e->applied)
			continue;
		buf_clear(&name);
		if (buf_append(&name, r->key.data, r->key.len) ||
		    buf_putc(&name, '.') ||
		    buf_append(&name, e->ext, strlen(e->ext)))
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
		else
			ret = write_edit(r, e, r->proto, name.data, err);
	}
	buf_release(&name);
	r->n = 0;
	return ret;
}

static int copy_body(struct rs *r, const struct shard_member *m,
		     struct hy_err *err)
{
	static const char zeros[4096];
	int64_t pos = 0, off;
	struct infile *in;

	/* Plain tar: a large body (an image) is read by range straight into
	 * the writer's buffer, never through libarchive's reader. */
	if (m->size >= RESHARD_RANGE_COPY_MIN &&
	    shard_data_range(r->sh, &in, &off))
		return tarw_data_from(r->w, in, off, m->size, r->path, err);

	for (;;) {
		const void *blk;
		int64_t at = 0;
		int64_t n = shard_read_block(r->sh, &blk, &at, err);
		int ret;

		if (n < 0)
			return (int)n;
		if (n == 0)
			return HY_OK;
		while (pos < at) { /* a hole in a sparse member */
			size_t k = at - pos < (int64_t)sizeof(zeros)
				       ? (size_t)(at - pos)
				       : sizeof(zeros);
			ret = tarw_data(r->w, zeros, k, err);
			if (ret)
				return ret;
			pos += (int64_t)k;
		}
		ret = tarw_data(r->w, blk, (size_t)n, err);
		if (ret)
			return ret;
		pos += n;
	}
}

static int copy_members(struct rs *r, struct hy_err *err)
{
	struct shard_member m;
	int ret, k;

	while ((k = shard_next(r->sh, &m, err)) > 0) {
		if (stage_stopped(r->ctx))
			return hy_err_set(err, HY_ESTOP, "%s: stopped",
					  r->path);
		if (m.is_data && m.new_sample) {
			ret = finish_sample(r, err);
			if (ret)
				return ret;
			r->c.samples++;
			progress_add(r->ctx->progress, 1, 0);
			buf_clear(&r->key);
			if (buf_append(&r->key, m.path, m.key_len))
				return hy_err_set(err, HY_EFATAL,
						  "out of memory");
			/* Edits are files under EDITS_DIR/NAME/: a key
			 * written as "./KEY" by `tar -cf x.tar .` is KEY. */
			size_t skip = shard_key_skip(m.path, m.key_len);
			const struct fate_entry *fe = fates_find(
			    &r->fates, m.path + skip, m.key_len - skip);

			r->dropping = fe && fe->fate == FATE_DROPPED;
			if (r->dropping) {
				r->c.dropped++;
				r->n = 0;
				continue;
			}
			r->n = edits_find(&r->ed, m.path + skip,
					  m.key_len - skip, &r->first);
			if (r->n) {
				ret = take_shape(r, err);
				if (ret)
					return ret;
				for (size_t i = r->first; i < r->first + r->n;
				     i++)
					r->ed.v[i].used = 1;
			}
		}
		if (m.is_data && r->dropping)
			continue; /* its body is skipped, never copied */
		if (m.is_data && r->n) {
			struct edit *hit = NULL;
			for (size_t i = r->first; i < r->first + r->n; i++)
				if (strcmp(r->ed.v[i].ext, m.ext) == 0)
					hit = &r->ed.v[i];
			if (hit) {
				ret = write_edit(r, hit, NULL, NULL, err);
				if (ret)
					return ret;
				continue; /* the original body is skipped */
			}
		}
		struct archive_entry *ent;
		struct infile *in;
		int64_t start, end;
		if (shard_raw_member(r->sh, &in, &start, &end)) {
			if (r->run_in && r->run_end != start &&
			    (ret = flush_run(r, err)))
				return ret;
			if (!r->run_in) {
				r->run_in = in;
				r->run_start = start;
			}
			r->run_end = end;
			if (r->run_end - r->run_start >= RESHARD_RUN_PIECE &&
			    (ret = flush_run(r, err)))
				return ret;
			continue;
		}
		/* libarchive writes links and folders without a body; one that
		 * carries data (pax allows it for hard links) cannot be
		 * rewritten faithfully. */
		if (!m.is_data && m.size > 0)
			return hy_err_set(err, HY_ESHARD,
					  "%s: offset %lld: member '%s' is a "
					  "link or folder carrying %lld bytes "
					  "of data, which cannot be rewritten",
					  r->path, (long long)m.offset, m.path,
					  (long long)m.size);
		ret = flush_run(r, err);
		if (!ret && !(ent = shard_entry(r->sh)))
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
		if (!ret)
			ret = tarw_header(r->w, ent, err);
		if (!ret)
			ret = copy_body(r, &m, err);
		if (ret)
			return ret;
		advance(r, shard_file_offset(r->sh));
	}
	if (k < 0)
		return k;
	ret = finish_sample(r, err);
	return ret ? ret : flush_run(r, err);
}

int reshard_shard(const struct stage_ctx *ctx, const struct reshard_opts *o,
		  const char *path, const char *name, const char *outdir,
		  struct stage_counts *counts, struct hy_err *err)
{
	struct rs r = {.ctx = ctx, .path = path};
	struct outfile of = {.fd = -1};
	struct shard_id id;
	int ret;

	ret = shard_open(&r.sh, path, err);
	if (ret)
		goto out;
	if (o->edits_dir) {
		ret = edits_load(&r.ed, o->edits_dir, name, err);
		if (!ret)
			ret = fates_load(&r.fates, o->edits_dir, name, err);
		if (ret)
			goto out;
	}
	ret = outfile_open(&of, outdir, name, ".tar", ctx->fsync, err);
	if (ret)
		goto out;
	ret = tarw_open(&r.w, of.fd, of.tmp_path, err);
	if (ret)
		goto out;
	shard_get_id(r.sh, &id);
	tarw_expect(r.w, id.size);
	ret = copy_members(&r, err);
	if (ret)
		goto out;
	for (size_t i = 0; i < r.ed.n; i++) {
		if (!r.ed.v[i].used) {
			ret = hy_err_set(
			    err, HY_ESHARD,
			    "%s/%s: edit for key '%.*s', which shard %s "
			    "does not have",
			    r.ed.dir, r.ed.v[i].relpath, (int)r.ed.v[i].key_len,
			    r.ed.v[i].relpath, path);
			goto out;
		}
	}
	ret = tarw_finish(r.w, err);
	if (ret)
		goto out;
	r.c.bytes_out = tarw_bytes(r.w);
	ret = outfile_commit(&of, err);
out:
	if (r.sh)
		advance(&r, shard_file_offset(r.sh));
	tarw_free(r.w);
	if (ret)
		outfile_abort(&of);
	*counts = r.c;
	archive_entry_free(r.proto);
	edits_release(&r.ed);
	fates_release(&r.fates);
	buf_release(&r.file);
	buf_release(&r.key);
	shard_close(r.sh);
	return ret;
}
