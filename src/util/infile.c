/* Input reads with read-ahead on a page-cache miss (see infile.h). */
#include "util/infile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

void infile_init(struct infile *f, int fd, int64_t size)
{
	f->fd = fd;
	f->size = size;
	f->nowait = 1;
	f->ahead = 0;
}

/* Asks for [off, off + INFILE_AHEAD), what was not asked for yet. Advice
 * only: a refusal leaves the plain read to fetch what it needs. */
static void read_ahead(struct infile *f, int64_t off)
{
	int64_t from = off > f->ahead ? off : f->ahead;
	int64_t end =
	    off + INFILE_AHEAD < f->size ? off + INFILE_AHEAD : f->size;

	for (; from < end; from += INFILE_PIECE)
		(void)posix_fadvise(f->fd, (off_t)from, (off_t)INFILE_PIECE,
				    POSIX_FADV_WILLNEED);
	if (from > f->ahead)
		f->ahead = from;
}

ssize_t infile_pread(struct infile *f, void *buf, size_t n, int64_t off)
{
	if (f->nowait) {
		struct iovec iov = {.iov_base = buf, .iov_len = n};
		/* RWF_NOWAIT: served from the page cache, else EAGAIN (a
		 * partial hit returns what is cached). */
		ssize_t k = preadv2(f->fd, &iov, 1, (off_t)off, RWF_NOWAIT);

		if (k >= 0)
			return k;
		if (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)
			f->nowait = 0; /* tmpfs, /proc: plain reads */
		else if (errno != EAGAIN)
			return -1;
		else if (off + INFILE_AHEAD / 2 > f->ahead)
			read_ahead(f, off);
	}
	return pread(f->fd, buf, n, (off_t)off);
}
