/* Growable byte buffer. */
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t buf_next_cap(const struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;

	/* Without wrapping need > len: extra = SIZE_MAX wraps to len itself. */
	if (need <= b->len)
		return 0;
	if (need <= b->cap)
		return b->cap;
	cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > (size_t)-1 / 2)
			return 0;
		cap *= 2;
	}
	return cap;
}

int buf_reserve(struct buf *b, size_t extra)
{
	size_t cap = buf_next_cap(b, extra);
	char *p;

	if (!cap)
		return -1;
	if (cap == b->cap)
		return 0;
	p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

void buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* read(2) retried on EINTR. */
static ssize_t read_some(int fd, void *p, size_t n)
{
	ssize_t got;

	do
		got = read(fd, p, n);
	while (got < 0 && errno == EINTR);
	return got;
}

int buf_read_file(struct buf *b, const char *path, size_t max,
		  struct hy_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved = 0, code;
	struct stat st;

	buf_clear(b);
	if (fd < 0) {
		saved = errno;
		goto fail;
	}
	/* Exactly the file's size (plus the NUL): buf_reserve would round up
	 * to a power of two, twice the memory for a large stage file. */
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (uintmax_t)st.st_size < SIZE_MAX / 2 &&
	    (!max || (uintmax_t)st.st_size <= max) &&
	    (size_t)st.st_size + 1 > b->cap) {
		char *p = realloc(b->data, (size_t)st.st_size + 1);

		if (!p) {
			saved = ENOMEM;
			goto fail;
		}
		b->data = p;
		b->cap = (size_t)st.st_size + 1;
	}
	for (;;) {
		size_t room = b->cap ? b->cap - b->len - 1 : 0;
		char spare[4096];
		ssize_t got;

		/* Full as sized: the end is most likely here, and a read into
		 * the stack finds it without growing the buffer. */
		if (!room && b->cap) {
			got = read_some(fd, spare, sizeof(spare));
			if (got > 0 && buf_append(b, spare, (size_t)got)) {
				saved = ENOMEM;
				goto fail;
			}
		} else {
			if (!room && buf_reserve(b, 65536)) {
				saved = ENOMEM;
				goto fail;
			}
			got = read_some(fd, b->data + b->len,
					b->cap - b->len - 1);
			if (got > 0)
				b->len += (size_t)got;
		}
		if (got < 0) {
			saved = errno;
			goto fail;
		}
		if (max && b->len > max) {
			saved = EFBIG;
			goto fail;
		}
		if (got == 0)
			break;
	}
	close(fd);
	fd = -1;
	if (buf_reserve(b, 0)) {
		saved = ENOMEM;
		goto fail;
	}
	b->data[b->len] = '\0';
	return HY_OK;
fail:
	if (fd >= 0)
		close(fd);
	buf_clear(b);
	code = saved == ENOMEM ? HY_EFATAL : hy_err_input(saved, HY_ESHARD);
	if (saved == ENOMEM)
		hy_err_set(err, code, "out of memory");
	else
		hy_err_set(err, code, "cannot read '%s': %s", path,
			   strerror(saved));
	errno = saved; /* for callers that word their own message */
	return code;
}
