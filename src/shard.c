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

#include "infile.h"
#include "keyset.h"

/* A plain tar is read 4 KiB at a time, so that skipping a body moves an
 * offset and its bytes are never copied; 4 KiB holds the .txt and .json
 * members of a DataComp sample and the next header. Measured (scan of a
 * 10k-sample shard, one core): 4 KiB 77 ms, 8 KiB 84 ms, 10 KiB 86 ms,
 * 3 KiB 92 ms, 1 MiB 121 ms; bsdtar -tf (10 KiB) 90 ms. A compressed shard
 * must be decompressed whole; it is read 1 MiB at a time, as each request
 * is a round trip on a parallel file system. */
#define SHARD_BLOCK_PLAIN      4096
#define SHARD_BLOCK_COMPRESSED (1 << 20)

struct shard {
	struct archive *ar;
	struct archive_entry *entry;
	const char *path;
	int fd;
	struct infile in; /* reads of fd */
	int plain;	  /* not compressed: bodies are byte ranges of fd */
	int in_body;	  /* 1 while the current member's body may be read */
	/* Our read callback's state: pread at pos into two alternating
	 * blocks (libarchive may still look at the previous one), whose file
	 * offsets and lengths are kept so that a member's header can be
	 * looked at again without a system call. */
	int64_t pos;
	int64_t size;	    /* of the file when opened */
	int64_t member_end; /* stream offset where the last member ends */
	size_t block;
	char *blk[2];
	int64_t blk_off[2];
	size_t blk_len[2];
	int cur;
	struct buf key; /* key of the current sample */
	int have_key;
	struct keyset seen; /* keys of finished samples */
	struct shard_id id;
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

/* gzip, bzip2, xz, zstd and lz4 magic numbers. */
static int is_compressed(int fd)
{
	unsigned char m[4] = {0};

	if (pread(fd, m, sizeof(m), 0) < 2)
		return 0;
	return (m[0] == 0x1f && m[1] == 0x8b) ||
	       (m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') ||
	       (m[0] == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X') ||
	       (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) ||
	       (m[0] == 0x04 && m[1] == 0x22 && m[2] == 0x4d && m[3] == 0x18);
}

static la_ssize_t on_read(struct archive *a, void *ctx, const void **out)
{
	struct shard *s = ctx;
	ssize_t n;

	do
		n = infile_pread(&s->in, s->blk[s->cur], s->block, s->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read failed");
		return -1;
	}
	*out = s->blk[s->cur];
	s->blk_off[s->cur] = s->pos;
	s->blk_len[s->cur] = (size_t)n;
	s->cur ^= 1;
	s->pos += n;
	return n;
}

/* Skipping is free: the next pread starts further on. A skip past the end
 * of the file is cut short, which libarchive reports as truncation (a body
 * cut in the middle must not pass for a clean end of archive). */
static la_int64_t on_skip(struct archive *a, void *ctx, la_int64_t request)
{
	struct shard *s = ctx;

	(void)a;
	if (!s->plain)
		return 0; /* not seekable in a useful way: read through */
	if (request > s->size - s->pos)
		request = s->size > s->pos ? s->size - s->pos : 0;
	s->pos += request;
	return request;
}

/* Copies the 512 bytes at file offset off from our recent blocks; 0 if
 * they are not all in one of them. */
static int recent_bytes(const struct shard *s, int64_t off, void *dst)
{
	for (int i = 0; i < 2; i++) {
		if (s->blk_len[i] && off >= s->blk_off[i] &&
		    off + 512 <= s->blk_off[i] + (int64_t)s->blk_len[i]) {
			memcpy(dst, s->blk[i] + (off - s->blk_off[i]), 512);
			return 1;
		}
	}
	return 0;
}

static int arerr(struct shard *s, struct hy_err *err, const char *what)
{
	const char *msg = archive_error_string(s->ar);

	return hy_err_set(err, HY_ESHARD, "%s: offset %lld: %s%s%s", s->path,
			  (long long)archive_filter_bytes(s->ar, 0), what,
			  msg ? ": " : "", msg ? msg : "");
}

/* A body that cannot be read is named by its member, whose header offset
 * leads to it with `tar -tvR` or a hex editor. */
static int body_err(struct shard *s, struct hy_err *err)
{
	const char *msg = archive_error_string(s->ar);
	const char *name = archive_entry_pathname(s->entry);

	return hy_err_set(err, HY_ESHARD,
			  "%s: offset %lld: cannot read the body of member "
			  "'%s' (header at offset %lld)%s%s",
			  s->path, (long long)archive_filter_bytes(s->ar, 0),
			  name ? name : "?",
			  (long long)archive_read_header_position(s->ar),
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
		ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
				 "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret =
		    hy_err_set(err, HY_ESHARD, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size == 0) {
		ret = hy_err_set(err, HY_ESHARD,
				 "%s: offset 0: empty file, not a tar archive",
				 path);
		goto fail;
	}
	s->size = st.st_size;
	s->id.dev = (uint64_t)st.st_dev;
	s->id.ino = (uint64_t)st.st_ino;
	s->id.size = (int64_t)st.st_size;
	s->id.mtime_ns =
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	infile_init(&s->in, s->fd, st.st_size);
	s->plain = !is_compressed(s->fd);
	s->block = s->plain ? SHARD_BLOCK_PLAIN : SHARD_BLOCK_COMPRESSED;
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s->ar = archive_read_new();
	s->blk[0] = malloc(s->block);
	s->blk[1] = malloc(s->block);
	if (!s->ar || !s->blk[0] || !s->blk[1]) {
		ret = hy_err_set(err, HY_EFATAL, "%s: out of memory", path);
		goto fail;
	}
	archive_read_support_filter_all(s->ar);
	archive_read_support_format_tar(s->ar);
	if (archive_read_open2(s->ar, s, NULL, on_read, on_skip, NULL) !=
	    ARCHIVE_OK) {
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
	if (r == ARCHIVE_EOF) {
		/* A tar ends with zero blocks. Without them the file was cut
		 * at a member boundary (a writer killed before closing), and
		 * libarchive would call it a clean end. */
		if (archive_filter_bytes(s->ar, 0) <= s->member_end)
			return hy_err_set(
			    err, HY_ESHARD,
			    "%s: offset %lld: truncated: no "
			    "end-of-archive blocks after the last "
			    "member",
			    s->path, (long long)s->member_end);
		return 0;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return arerr(s, err, "cannot read next member");
	memset(m, 0, sizeof(*m));
	m->entry = s->entry;
	m->path = archive_entry_pathname(s->entry);
	if (!m->path)
		m->path = archive_entry_pathname_utf8(s->entry);
	if (!m->path)
		return hy_err_set(
		    err, HY_ESHARD, "%s: offset %lld: member without a name",
		    s->path, (long long)archive_read_header_position(s->ar));
	m->size = archive_entry_size(s->entry);
	m->offset = archive_read_header_position(s->ar);
	s->member_end = archive_filter_bytes(s->ar, 0) +
			(m->size > 0 ? (m->size + 511) / 512 * 512 : 0);
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
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", s->path);
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
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", s->path);
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
		return hy_err_set(
		    err, HY_ESAMPLE,
		    "%s: offset %lld: member '%s': %lld bytes, "
		    "over the limit of %zu for this member",
		    s->path, (long long)archive_read_header_position(s->ar),
		    name ? name : "?", (long long)size, max);
	if (buf_reserve(dst, (size_t)size))
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", s->path);
	while (dst->len < (size_t)size) {
		la_ssize_t n = archive_read_data(s->ar, dst->data + dst->len,
						 (size_t)size - dst->len);
		if (n < 0)
			return body_err(s, err);
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
		return body_err(s, err);
	*at = off;
	return (int64_t)size;
}

int shard_data_range(struct shard *s, struct infile **in, int64_t *off)
{
	if (!s->in_body || !s->plain || archive_filter_count(s->ar) != 1 ||
	    archive_entry_sparse_count(s->entry) > 0)
		return 0;
	/* Right after a header the consumer position of the only filter is
	 * the first byte of the body (checked against every dialect of
	 * ../shared/fixtures/tar-variants by the reshard tests). */
	*off = archive_filter_bytes(s->ar, 0);
	/* A body cut by the end of the file is read the slow way, where
	 * libarchive reports the truncation with its offset. */
	if (*off + archive_entry_size(s->entry) > s->id.size)
		return 0;
	*in = &s->in;
	return 1;
}

/* The current member's header when it is one POSIX ustar header and its
 * body (no pax, no GNU extension) lying whole inside a plain tar: fills h,
 * *hdr (its offset) and *end (past its padding). */
static int raw_header(struct shard *s, unsigned char h[512], int64_t *hdr,
		      int64_t *end)
{
	int64_t data, size;

	if (!s->in_body || !s->plain || archive_filter_count(s->ar) != 1)
		return 0;
	*hdr = archive_read_header_position(s->ar);
	data = archive_filter_bytes(s->ar, 0);
	size = archive_entry_size(s->entry);
	if (data - *hdr != 512 || size < 0)
		return 0;
	if (!recent_bytes(s, *hdr, h) &&
	    infile_pread(&s->in, h, 512, *hdr) != 512)
		return 0;
	/* POSIX ustar magic and version; GNU tar's "ustar  " is not. */
	if (memcmp(h + 257,
		   "ustar\0"
		   "00",
		   8) != 0)
		return 0;
	switch (h[156]) {
	case '0':
	case '\0':
	case '1':
	case '2':
	case '5': break;
	default: return 0;
	}
	/* A member cut by the end of the file (header, body or padding) is
	 * left to the reader, which reports the truncation. */
	*end = data + (size + 511) / 512 * 512;
	return *end <= s->id.size;
}

int shard_raw_member(struct shard *s, struct infile **in, int64_t *start,
		     int64_t *end)
{
	unsigned char h[512];

	if (!raw_header(s, h, start, end))
		return 0;
	*in = &s->in;
	return 1;
}

int shard_ustar_header(struct shard *s, unsigned char h[512])
{
	int64_t hdr, end;

	return raw_header(s, h, &hdr, &end) && (h[156] == '0' || h[156] == 0);
}

void shard_get_id(const struct shard *s, struct shard_id *id)
{
	*id = s->id;
}

int shard_id_equal(const struct shard_id *a, const struct shard_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

int64_t shard_file_offset(struct shard *s)
{
	return s->pos;
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
	free(s->blk[0]);
	free(s->blk[1]);
	buf_release(&s->key);
	keyset_release(&s->seen);
	free(s);
}

size_t shard_key_skip(const char *path, size_t key_len)
{
	size_t skip = 0;

	while (key_len - skip >= 2 && path[skip] == '.' &&
	       path[skip + 1] == '/')
		skip += 2;
	return skip;
}
