/* Tar writer: libarchive's pax_restricted format through a 1 MiB buffer. */
#include "tarw.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TARW_BUF (1 << 20)

struct tarw {
	struct archive *ar;
	int fd;
	const char *label;
	char *buf;
	size_t len;
	int64_t total;
	int werrno; /* errno of the first failed write(2) */
};

static int flush_buf(struct tarw *w)
{
	size_t off = 0;

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
			  archive_error_string(w->ar) ?
				  archive_error_string(w->ar) :
				  "unknown error");
}

int tarw_open(struct tarw **out, int fd, const char *label,
	      struct hy_err *err)
{
	struct tarw *w = calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	if (!w || !(w->buf = malloc(TARW_BUF)) || !(w->ar = archive_write_new())) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto fail;
	}
	w->fd = fd;
	w->label = label;
	archive_write_set_format_pax_restricted(w->ar);
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
		if (k <= 0)
			return werr(w, err, "cannot write member data");
		c += k;
		n -= (size_t)k;
	}
	return HY_OK;
}

int tarw_finish(struct tarw *w, struct hy_err *err)
{
	if (archive_write_close(w->ar) != ARCHIVE_OK || w->werrno)
		return werr(w, err, "cannot finish archive");
	if (flush_buf(w) < 0)
		return werr(w, err, "cannot finish archive");
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
	if (w->ar)
		archive_write_free(w->ar);
	free(w->buf);
	free(w);
}
