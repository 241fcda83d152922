/* Tar writer: libarchive's pax_restricted format through a 256 KiB buffer of
 * ours. libarchive runs unblocked (bytes_per_block 0) so that every byte it
 * produces reaches on_write at once and in order; that lets member bodies
 * bypass it: tarw_data_from reads a byte range of a file straight into
 * the buffer, and on_write then drops the zeros libarchive writes in place
 * of the body it never saw. */
#include "tar/tarw.h"

#include <archive.h>
#include <stdint.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/infile.h"
#include "tar/ustar.h"

/* Every write(2) is one full buffer. 256 KiB, not more: the page cache
 * sizes its folios by the write, and on VMs whose free memory the host
 * reclaims (Firecracker page reporting, as on our CI machines) the large
 * ones 1 MiB writes get are the cold ones: 3 runs in 10 took 3x longer
 * (issue #3). 256 KiB measured best of 64 KiB - 1 MiB and steady. */
#define TARW_BUF (256 << 10)
/* Past the expected size, disk space is reserved this much at a time. */
#define TARW_RESERVE_STEP ((int64_t)32 << 20)

struct tarw {
	struct archive *ar;
	int fd;
	const char *label;
	char *buf;
	size_t len;
	int64_t total;
	int werrno;   /* errno of the first failed write(2) */
	int64_t drop; /* zero bytes from libarchive to discard (see top) */
	/* Set by tarw_free: the archive is abandoned, nothing more may reach
	 * fd (see tarw_free). */
	int abandoned;
	/* Disk space reserved ahead of the writes (tarw_expect): up to
	 * reserved_end; reserving stops at the first refusal. `reserved`:
	 * some space may have been reserved, to be given back at the end. */
	int reserve, reserved;
	int64_t expect, reserved_end;
};

/* Output is padded to whole 10 KiB records, as GNU tar and Python do. */
#define TAR_RECORD 10240

/* Reserves the output's blocks before the writes reach them. On ext4 a
 * write into reserved (unwritten) blocks skips delayed allocation's
 * per-block bookkeeping: a 495 MB copy took 76 ms of CPU instead of
 * 108 ms, and finished sooner with fsync too (issue #3). It also keeps
 * the file in few extents. A file system that refuses (no support, no
 * space) just gets plain writes, which report any real error. */
static void reserve_ahead(struct tarw *w, int64_t need)
{
	int64_t end = w->expect;

	if (end < need) { /* past the expected size: step by step */
		end = w->reserved_end + TARW_RESERVE_STEP;
		if (end < need)
			end = need;
	}
	if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, w->reserved_end,
		      end - w->reserved_end) < 0) {
		/* A refusal for want of space may have reserved part. */
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			w->reserved = 1;
		w->reserve = 0;
		return;
	}
	w->reserved = 1;
	w->reserved_end = end;
}

static int flush_buf(struct tarw *w)
{
	size_t off = 0;

	if (w->reserve && w->total + (int64_t)w->len > w->reserved_end)
		reserve_ahead(w, w->total + (int64_t)w->len);
	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w->werrno = errno;
			return -1;
		}
		off += (size_t)n;
	}
	w->total += (int64_t)w->len;
	w->len = 0;
	return 0;
}

static la_ssize_t on_write(struct archive *a, void *ctx, const void *p,
			   size_t n)
{
	struct tarw *w = ctx;
	const char *c = p;
	size_t left = n;

	if (w->abandoned) {
		archive_set_error(a, ECANCELED, "archive abandoned");
		return -1;
	}
	if (w->drop > 0) {
		size_t k = (uint64_t)w->drop < left ? (size_t)w->drop : left;
		w->drop -= (int64_t)k;
		c += k;
		left -= k;
	}
	while (left) {
		size_t k = TARW_BUF - w->len;
		if (k > left)
			k = left;
		memcpy(w->buf + w->len, c, k);
		w->len += k;
		c += k;
		left -= k;
		if (w->len == TARW_BUF && flush_buf(w) < 0) {
			archive_set_error(a, w->werrno, "write failed");
			return -1;
		}
	}
	return (la_ssize_t)n;
}

static int werr(struct tarw *w, struct hy_err *err, const char *what)
{
	if (w->werrno)
		return hy_err_set(err, HY_EFATAL, "cannot write '%s': %s",
				  w->label, strerror(w->werrno));
	return hy_err_set(err, HY_ESHARD, "%s: %s: %s", w->label, what,
			  archive_error_string(w->ar)
			      ? archive_error_string(w->ar)
			      : "unknown error");
}

int tarw_open(struct tarw **out, int fd, const char *label, struct hy_err *err)
{
	struct tarw *w = calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	if (!w || !(w->buf = malloc(TARW_BUF)) ||
	    !(w->ar = archive_write_new())) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto fail;
	}
	w->fd = fd;
	w->label = label;
	archive_write_set_format_pax_restricted(w->ar);
	archive_write_set_bytes_per_block(w->ar, 0);
	if (archive_write_open2(w->ar, w, NULL, on_write, NULL, NULL) !=
	    ARCHIVE_OK) {
		ret = werr(w, err, "cannot start archive");
		goto fail;
	}
	*out = w;
	return HY_OK;
fail:
	tarw_free(w);
	return ret;
}

void tarw_expect(struct tarw *w, int64_t size)
{
	w->reserve = 1;
	w->expect = size;
}

int tarw_header(struct tarw *w, struct archive_entry *e, struct hy_err *err)
{
	int r = archive_write_header(w->ar, e);

	if (r == ARCHIVE_OK)
		return HY_OK;
	if (r == ARCHIVE_WARN && !w->werrno)
		return HY_OK;
	return werr(w, err, "cannot write header");
}

int tarw_data(struct tarw *w, const void *p, size_t n, struct hy_err *err)
{
	const char *c = p;

	while (n) {
		la_ssize_t k = archive_write_data(w->ar, c, n);
		if (k == 0 && !w->werrno)
			return hy_err_set(err, HY_ESHARD,
					  "%s: member body longer than its "
					  "header allows",
					  w->label);
		if (k <= 0)
			return werr(w, err, "cannot write member data");
		c += k;
		n -= (size_t)k;
	}
	return HY_OK;
}

/* Outcome of copy_range. */
enum { COPY_OK = 0, COPY_SHORT = -2, COPY_EREAD = -3, COPY_EWRITE = -4 };

/* Appends n bytes at off of `in` to the output through the buffer: pread
 * straight into it, a write(2) of the whole buffer whenever it fills. On
 * ext4 that beats copy_file_range (measured, issue #3: a 495 MB shard,
 * 117-122 ms against 131-137 ms), and far more so for the many short
 * ranges of an edited shard, whose copies land at offsets that are not
 * page aligned: the output only ever sees full, aligned buffer writes.
 * Sets *at to the input offset reached; errno on errors. */
static int copy_range(struct tarw *w, struct infile *in, int64_t off, int64_t n,
		      int64_t *at)
{
	while (n > 0) {
		size_t room = TARW_BUF - w->len;
		size_t want = (uint64_t)n < room ? (size_t)n : room;
		ssize_t k;

		*at = off;
		k = infile_pread(in, w->buf + w->len, want, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return COPY_EREAD;
		if (k == 0)
			return COPY_SHORT;
		w->len += (size_t)k;
		off += k;
		n -= k;
		if (w->len == TARW_BUF && flush_buf(w) < 0)
			return COPY_EWRITE;
	}
	*at = off;
	return COPY_OK;
}

/* Turns a failed copy_range into the error: a bad input kills the shard,
 * a failing output (disk full) stops everything. */
static int copy_error(struct tarw *w, int r, int64_t at, int64_t want,
		      const char *src, struct hy_err *err)
{
	if (r == COPY_SHORT)
		return hy_err_set(
		    err, HY_ESHARD,
		    "%s: offset %lld: truncated (the member needs "
		    "%lld more bytes)",
		    src, (long long)at, (long long)want);
	if (r == COPY_EREAD)
		return hy_err_set(err, HY_ESHARD,
				  "%s: offset %lld: cannot read: %s", src,
				  (long long)at, strerror(errno));
	w->werrno = errno;
	return werr(w, err, "cannot write member data");
}

int tarw_data_from(struct tarw *w, struct infile *in, int64_t off, int64_t size,
		   const char *src, struct hy_err *err)
{
	int64_t at;
	int r;

	r = copy_range(w, in, off, size, &at);
	if (r != COPY_OK)
		return copy_error(w, r, at, size - (at - off), src, err);
	w->drop = size;
	if (archive_write_finish_entry(w->ar) != ARCHIVE_OK || w->werrno)
		return werr(w, err, "cannot write member data");
	/* libarchive must have written exactly `size` zeros in place of the
	 * body; if its header said otherwise the tar would be malformed. */
	if (w->drop != 0) {
		w->drop = 0;
		return hy_err_set(err, HY_ESHARD,
				  "%s: offset %lld: member body of %lld bytes "
				  "does not match its rewritten header",
				  src, (long long)off, (long long)size);
	}
	return HY_OK;
}

int tarw_copy_raw(struct tarw *w, struct infile *in, int64_t off, int64_t len,
		  const char *src, struct hy_err *err)
{
	int64_t at;
	int r;

	/* Close libarchive's open member: its padding lands in our buffer
	 * before the raw bytes. */
	if (archive_write_finish_entry(w->ar) != ARCHIVE_OK || w->werrno)
		return werr(w, err, "cannot write member data");
	r = copy_range(w, in, off, len, &at);
	if (r != COPY_OK)
		return copy_error(w, r, at, len - (at - off), src, err);
	return HY_OK;
}

int tarw_ustar_member(struct tarw *w, const unsigned char hdr[512],
		      struct infile *in, int64_t off, int64_t size,
		      const char *src, struct hy_err *err)
{
	static const char zeros[512];
	unsigned char h[512];
	int64_t at;
	size_t pad;
	int r;

	if (size < 0 || size > TARW_USTAR_MAX_SIZE)
		return hy_err_set(err, HY_EFATAL,
				  "%s: %lld bytes do not fit a ustar header",
				  src, (long long)size);
	memcpy(h, hdr, sizeof(h));
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	/* The checksum goes out as six octal digits, NUL, space (what GNU
	 * tar writes). */
	snprintf((char *)h + 148, 8, "%06o", ustar_checksum(h));
	h[155] = ' ';
	/* libarchive's open member, if any, is closed first: its padding
	 * lands in our buffer before this header. */
	if (archive_write_finish_entry(w->ar) != ARCHIVE_OK || w->werrno ||
	    on_write(w->ar, w, h, sizeof(h)) < 0)
		return werr(w, err, "cannot write header");
	r = copy_range(w, in, off, size, &at);
	if (r != COPY_OK)
		return copy_error(w, r, at, size - (at - off), src, err);
	pad = (size_t)((512 - size % 512) % 512);
	if (pad && on_write(w->ar, w, zeros, pad) < 0)
		return werr(w, err, "cannot write member data");
	return HY_OK;
}

int tarw_finish(struct tarw *w, struct hy_err *err)
{
	int64_t pad;

	if (archive_write_close(w->ar) != ARCHIVE_OK || w->werrno)
		return werr(w, err, "cannot finish archive");
	pad = (TAR_RECORD - tarw_bytes(w) % TAR_RECORD) % TAR_RECORD;
	if (w->len + (size_t)pad > TARW_BUF && flush_buf(w) < 0)
		return werr(w, err, "cannot finish archive");
	memset(w->buf + w->len, 0, (size_t)pad);
	w->len += (size_t)pad;
	if (flush_buf(w) < 0)
		return werr(w, err, "cannot finish archive");
	/* Blocks reserved past the end are given back: a truncate to the
	 * same size frees them. */
	if (w->reserved && ftruncate(w->fd, w->total) < 0) {
		w->werrno = errno;
		return werr(w, err, "cannot finish archive");
	}
	return HY_OK;
}

int64_t tarw_bytes(const struct tarw *w)
{
	return w->total + (int64_t)w->len;
}

void tarw_free(struct tarw *w)
{
	if (!w)
		return;
	/* Freed without tarw_finish, the output is an error's leftover. Yet
	 * archive_write_free closes an open archive, and closing pads the open
	 * member with zeros up to the size its header declared: for a body
	 * cut short by a truncated input whose header claims gigabytes, that
	 * wrote gigabytes into a temporary file about to be removed (issue
	 * #16). The refusal in on_write ends the close at its first write. */
	w->abandoned = 1;
	if (w->ar)
		archive_write_free(w->ar);
	free(w->buf);
	free(w);
}
