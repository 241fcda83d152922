/* Shard reader on libarchive. One reader per thread; nothing is shared. */
#include "shard.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyset.h"

/* Large reads: on a parallel file system each request is a round trip. */
#define SHARD_BLOCK (1 << 20)

struct shard {
	struct archive *ar;
	struct archive_entry *entry;
	const char *path;
	int fd;
	int in_body; /* 1 while the current member's body may be read */
	struct buf key;	     /* key of the current sample */
	int have_key;
	struct keyset seen;  /* keys of finished samples */
};

void shard_split_key(const char *path, size_t *key_len, const char **ext)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base ? base + 1 : path;
	dot = strchr(base, '.');
	if (dot) {
		*key_len = (size_t)(dot - path);
		*ext = dot + 1;
	} else {
		*key_len = strlen(path);
		*ext = path + *key_len;
	}
}

static int arerr(struct shard *s, struct hy_err *err, const char *what)
{
	const char *msg = archive_error_string(s->ar);

	return hy_err_set(err, HY_ESHARD, "%s: offset %lld: %s%s%s", s->path,
			  (long long)archive_filter_bytes(s->ar, 0), what,
			  msg ? ": " : "", msg ? msg : "");
}

int shard_open(struct shard **out, const char *path, struct hy_err *err)
{
	struct shard *s;
	struct stat st;
	int ret;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", path);
	s->path = path;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		ret = hy_err_set(err, HY_ESHARD, "%s: cannot open: %s", path,
				 strerror(errno));
		goto fail;
	}
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = hy_err_set(err, HY_ESHARD, "%s: not a regular file",
				 path);
		goto fail;
	}
	if (st.st_size == 0) {
		ret = hy_err_set(err, HY_ESHARD,
				 "%s: offset 0: empty file, not a tar archive",
				 path);
		goto fail;
	}
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s->ar = archive_read_new();
	if (!s->ar) {
		ret = hy_err_set(err, HY_EFATAL, "%s: out of memory", path);
		goto fail;
	}
	archive_read_support_filter_all(s->ar);
	archive_read_support_format_tar(s->ar);
	if (archive_read_open_fd(s->ar, s->fd, SHARD_BLOCK) != ARCHIVE_OK) {
		ret = arerr(s, err, "cannot read");
		goto fail;
	}
	*out = s;
	return HY_OK;
fail:
	shard_close(s);
	return ret;
}

int shard_next(struct shard *s, struct shard_member *m, struct hy_err *err)
{
	int r;

	s->in_body = 0;
	r = archive_read_next_header(s->ar, &s->entry);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return arerr(s, err, "cannot read next member");
	memset(m, 0, sizeof(*m));
	m->entry = s->entry;
	m->path = archive_entry_pathname(s->entry);
	if (!m->path)
		m->path = archive_entry_pathname_utf8(s->entry);
	if (!m->path)
		return hy_err_set(err, HY_ESHARD,
				  "%s: offset %lld: member without a name",
				  s->path,
				  (long long)archive_read_header_position(s->ar));
	m->size = archive_entry_size(s->entry);
	m->offset = archive_read_header_position(s->ar);
	m->is_data = archive_entry_filetype(s->entry) == AE_IFREG &&
		     archive_entry_hardlink(s->entry) == NULL;
	shard_split_key(m->path, &m->key_len, &m->ext);
	s->in_body = 1;
	if (!m->is_data)
		return 1;
	if (s->have_key && s->key.len == m->key_len &&
	    memcmp(s->key.data, m->path, m->key_len) == 0)
		return 1;
	/* A new key: the previous one is finished and must not come back. */
	if (s->have_key && keyset_add(&s->seen, s->key.data, s->key.len) < 0)
		return hy_err_set(err, HY_EFATAL, "%s: out of memory",
				  s->path);
	if (keyset_contains(&s->seen, m->path, m->key_len))
		return hy_err_set(
			err, HY_ESHARD,
			"%s: offset %lld: key '%.*s' reappears at member '%s' "
			"after other keys (members of a sample must be "
			"consecutive)",
			s->path, (long long)m->offset, (int)m->key_len, m->path,
			m->path);
	buf_clear(&s->key);
	if (buf_append(&s->key, m->path, m->key_len))
		return hy_err_set(err, HY_EFATAL, "%s: out of memory",
				  s->path);
	s->have_key = 1;
	m->new_sample = 1;
	return 1;
}

int shard_read_body(struct shard *s, struct buf *dst, size_t max,
		    struct hy_err *err)
{
	int64_t size = archive_entry_size(s->entry);
	const char *name = archive_entry_pathname(s->entry);

	buf_clear(dst);
	if (!s->in_body)
		return hy_err_set(err, HY_ESHARD, "%s: no member to read",
				  s->path);
	if (size < 0 || (uint64_t)size > max)
		return hy_err_set(err, HY_ESAMPLE,
				  "%s: member '%s': %lld bytes, over the "
				  "limit of %zu",
				  s->path, name ? name : "?", (long long)size,
				  max);
	if (buf_reserve(dst, (size_t)size))
		return hy_err_set(err, HY_EFATAL, "%s: out of memory",
				  s->path);
	while (dst->len < (size_t)size) {
		la_ssize_t n = archive_read_data(s->ar, dst->data + dst->len,
						 (size_t)size - dst->len);
		if (n < 0)
			return arerr(s, err, "cannot read member body");
		if (n == 0)
			break;
		dst->len += (size_t)n;
	}
	dst->data[dst->len] = '\0';
	s->in_body = 0;
	return HY_OK;
}

int64_t shard_read_block(struct shard *s, const void **block, int64_t *at,
			 struct hy_err *err)
{
	size_t size = 0;
	la_int64_t off = 0;
	int r;

	if (!s->in_body)
		return 0;
	r = archive_read_data_block(s->ar, block, &size, &off);
	if (r == ARCHIVE_EOF) {
		s->in_body = 0;
		return 0;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return arerr(s, err, "cannot read member body");
	*at = off;
	return (int64_t)size;
}

int64_t shard_stream_offset(struct shard *s)
{
	return archive_filter_bytes(s->ar, 0);
}

int64_t shard_file_offset(struct shard *s)
{
	return archive_filter_bytes(s->ar, -1);
}

const char *shard_current_key(struct shard *s, size_t *len)
{
	*len = s->key.len;
	return s->key.data ? s->key.data : "";
}

void shard_close(struct shard *s)
{
	if (!s)
		return;
	if (s->ar)
		archive_read_free(s->ar);
	if (s->fd >= 0)
		close(s->fd);
	buf_release(&s->key);
	keyset_release(&s->seen);
	free(s);
}
