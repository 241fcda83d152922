/* Shard reader: our own walk over plain ustar members (ustar.h), libarchive
 * for everything else. One reader per thread; nothing is shared but the
 * libarchive-only switch, set before any reader opens. */
#include "tar/shard.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/infile.h"
#include "util/keyset.h"
#include "tar/ustar.h"

/* A plain tar is read 4 KiB at a time, so that skipping a body moves an
 * offset and its bytes are never copied; 4 KiB holds the .txt and .json
 * members of a DataComp sample and the next header. Measured (scan of a
 * 10k-sample shard, one core): 4 KiB 77 ms, 8 KiB 84 ms, 10 KiB 86 ms,
 * 3 KiB 92 ms, 1 MiB 121 ms; bsdtar -tf (10 KiB) 90 ms. A compressed shard
 * must be decompressed whole; it is read 1 MiB at a time, as each request
 * is a round trip on a parallel file system. */
#define SHARD_BLOCK_PLAIN      4096
#define SHARD_BLOCK_COMPRESSED (1 << 20)

/* A fast_next outcome: the member at s->next is for libarchive. */
#define FAST_GIVE_UP 2

static int libarchive_only; /* shard_use_libarchive */

/* Where a member whose body of `size` bytes starts at `data` ends, its
 * padding included; INT64_MAX when that is past any file (libarchive
 * hands over sizes up to INT64_MAX from pax headers). */
static int64_t member_end_at(int64_t data, int64_t size)
{
	if (size <= 0)
		return data;
	if (size > INT64_MAX - 511 || data > INT64_MAX - ustar_padded(size))
		return INT64_MAX;
	return data + ustar_padded(size);
}

struct shard {
	struct archive *ar;
	struct archive_entry *entry; /* libarchive's, for its members */
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
	/* Our own walk (fast_next): on while every header so far was a plain
	 * ustar one; libarchive takes over for good at the first that is
	 * not. */
	int fast;
	int fast_end;		      /* the end-of-archive block was reached */
	struct ustar_hdr hdr;	      /* the current member */
	unsigned char raw[512];	      /* its header block */
	int64_t hoff;		      /* its header's offset */
	int64_t next;		      /* the next header's offset */
	int64_t body_at;	      /* body bytes handed out by read_block */
	struct archive_entry *fentry; /* built from hdr on demand */
	int fentry_ready;
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

/* Where file offset off lies in one of our recent blocks with at least
 * `need` bytes from it on: *avail (those bytes) and the pointer; NULL when
 * no block holds them. */
static const char *recent(const struct shard *s, int64_t off, size_t need,
			  int64_t *avail)
{
	for (int i = 0; i < 2; i++) {
		int64_t end = s->blk_off[i] + (int64_t)s->blk_len[i];
		if (s->blk_len[i] && off >= s->blk_off[i] &&
		    off + (int64_t)need <= end) {
			*avail = end - off;
			return s->blk[i] + (off - s->blk_off[i]);
		}
	}
	return NULL;
}

/* Copies the 512 bytes at file offset off from our recent blocks; 0 if
 * they are not all in one of them. */
static int recent_bytes(const struct shard *s, int64_t off, void *dst)
{
	int64_t avail;
	const char *p = recent(s, off, 512, &avail);

	if (p)
		memcpy(dst, p, 512);
	return p != NULL;
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

void shard_use_libarchive(int on)
{
	libarchive_only = on;
}

/* Points *p at file offset off, in a recent block or in one read there,
 * and returns how many bytes of the block follow it: at least `need`
 * unless the file ends first; -1 on a read error (errno set). */
static ssize_t fast_bytes(struct shard *s, int64_t off, size_t need,
			  const unsigned char **p)
{
	const char *hit;
	int64_t avail;
	size_t got = 0;
	int i;

	if ((hit = recent(s, off, need, &avail))) {
		*p = (const unsigned char *)hit;
		return (ssize_t)avail;
	}
	i = s->cur;
	s->blk_len[i] = 0;
	while (got < s->block) {
		ssize_t n = infile_pread(&s->in, s->blk[i] + got,
					 s->block - got, off + (int64_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	s->blk_off[i] = off;
	s->blk_len[i] = got;
	s->cur ^= 1;
	*p = (const unsigned char *)s->blk[i];
	return (ssize_t)got;
}

/* The next member by our own walk: 1 with *m filled, 0 at the end of the
 * archive, HY_ESHARD on a read error, or FAST_GIVE_UP when the header at
 * s->next is not a plain ustar one, or the member is cut by the end of
 * the file: libarchive reads it, or reports what is wrong. */
static int fast_next(struct shard *s, struct shard_member *m,
		     struct hy_err *err)
{
	const unsigned char *h;
	ssize_t n;
	int64_t end;

	if (s->fast_end)
		return 0;
	n = fast_bytes(s, s->next, USTAR_BLOCK, &h);
	if (n < 0)
		return hy_err_set(
		    err, hy_err_input(errno, HY_ESHARD),
		    "%s: offset %lld: cannot read next member: %s", s->path,
		    (long long)s->next, strerror(errno));
	if (n < USTAR_BLOCK)
		return FAST_GIVE_UP;
	switch (ustar_parse(h, &s->hdr)) {
	case USTAR_END:
		/* As libarchive: one block of zeros ends the archive, and
		 * what follows is not read. */
		s->fast_end = 1;
		return 0;
	case USTAR_OTHER: return FAST_GIVE_UP;
	case USTAR_MEMBER: break;
	}
	end = s->next + USTAR_BLOCK + ustar_padded(s->hdr.size);
	if (end > s->size)
		return FAST_GIVE_UP;
	memcpy(s->raw, h, USTAR_BLOCK);
	s->hoff = s->next;
	s->next = end;
	s->body_at = 0;
	s->fentry_ready = 0;
	memset(m, 0, sizeof(*m));
	m->path = s->hdr.path;
	m->size = s->hdr.size;
	m->offset = s->hoff;
	m->is_data = !s->hdr.is_dir;
	return 1;
}

static int open_libarchive(struct shard *s, struct hy_err *err)
{
	s->ar = archive_read_new();
	if (!s->ar)
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", s->path);
	archive_read_support_filter_all(s->ar);
	archive_read_support_format_tar(s->ar);
	if (archive_read_open2(s->ar, s, NULL, on_read, on_skip, NULL) !=
	    ARCHIVE_OK)
		return arerr(s, err, "cannot read");
	return HY_OK;
}

/* Hands the walk to libarchive at offset `at`, the header fast_next gave
 * up on. libarchive starts over from the top and skips to `at` (bodies
 * are skipped without reads; headers are read twice, once per shard at
 * most), so that its offsets, and its messages about what it finds at
 * `at`, are those of a reader that read the whole file. *r: the result of
 * archive_read_next_header for the member at `at`. */
static int to_libarchive(struct shard *s, int64_t at, int *r,
			 struct hy_err *err)
{
	int ret;

	s->fast = 0;
	archive_read_free(s->ar);
	s->ar = NULL;
	s->pos = 0;
	s->blk_len[0] = s->blk_len[1] = 0;
	ret = open_libarchive(s, err);
	if (ret)
		return ret;
	for (;;) {
		int64_t size;

		*r = archive_read_next_header(s->ar, &s->entry);
		if ((*r != ARCHIVE_OK && *r != ARCHIVE_WARN) ||
		    archive_read_header_position(s->ar) >= at)
			break;
		size = archive_entry_size(s->entry);
		s->member_end =
		    member_end_at(archive_filter_bytes(s->ar, 0), size);
	}
	/* libarchive must stop at `at` too: at a header there, or at the end
	 * of the file there. Anything else means the members already handed
	 * out are not what the file now holds. */
	if (((*r == ARCHIVE_OK || *r == ARCHIVE_WARN) &&
	     archive_read_header_position(s->ar) != at) ||
	    (*r == ARCHIVE_EOF && archive_filter_bytes(s->ar, 0) < at)) {
		struct stat st;

		if (fstat(s->fd, &st) == 0 && st.st_size < s->size)
			return hy_err_set(err, HY_ESHARD,
					  "%s: offset %lld: truncated while "
					  "being read (%lld bytes now, %lld "
					  "when opened)",
					  s->path, (long long)at,
					  (long long)st.st_size,
					  (long long)s->size);
		return hy_err_set(
		    err, HY_ESHARD,
		    "%s: offset %lld: the members before this offset read "
		    "differently the second time: the file changed while "
		    "being read (or our ustar reading disagrees with "
		    "libarchive's: HYBRIDIZE_TAR_READER=libarchive avoids it)",
		    s->path, (long long)at);
	}
	return HY_OK;
}

/* Builds the current member's libarchive entry from its ustar header, as
 * libarchive's reader would have (fuzz/fuzz_ustar.c compares them). */
static struct archive_entry *fast_entry(struct shard *s)
{
	struct archive_entry *e = s->fentry;

	if (!e && !(e = s->fentry = archive_entry_new()))
		return NULL;
	if (s->fentry_ready)
		return e;
	archive_entry_clear(e);
	archive_entry_copy_pathname(e, s->hdr.path);
	archive_entry_set_mode(e, (mode_t)s->hdr.mode);
	archive_entry_set_filetype(e, s->hdr.is_dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_uid(e, s->hdr.uid);
	archive_entry_set_gid(e, s->hdr.gid);
	archive_entry_set_size(e, s->hdr.size);
	archive_entry_set_mtime(e, s->hdr.mtime, 0);
	archive_entry_copy_uname(e, s->hdr.uname);
	archive_entry_copy_gname(e, s->hdr.gname);
	s->fentry_ready = 1;
	return e;
}

struct archive_entry *shard_entry(struct shard *s)
{
	return s->fast ? fast_entry(s) : s->entry;
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
	s->blk[0] = malloc(s->block);
	s->blk[1] = malloc(s->block);
	if (!s->blk[0] || !s->blk[1]) {
		ret = hy_err_set(err, HY_EFATAL, "%s: out of memory", path);
		goto fail;
	}
	/* libarchive opens every shard: its filters and format check decide
	 * what the file is, and name what is wrong with it. */
	ret = open_libarchive(s, err);
	if (ret)
		goto fail;
	if (s->plain && !libarchive_only && archive_filter_count(s->ar) == 1) {
		const unsigned char *h;
		struct ustar_hdr first;

		s->fast = fast_bytes(s, 0, USTAR_BLOCK, &h) >= USTAR_BLOCK &&
			  ustar_parse(h, &first) == USTAR_MEMBER;
	}
	*out = s;
	return HY_OK;
fail:
	shard_close(s);
	return ret;
}

/* Files the member in its sample: a data member of a new key starts one,
 * and a key that comes back after another is refused. */
static int group(struct shard *s, struct shard_member *m, struct hy_err *err)
{
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

int shard_next(struct shard *s, struct shard_member *m, struct hy_err *err)
{
	int r;

	s->in_body = 0;
	if (s->fast) {
		r = fast_next(s, m, err);
		if (r == 1)
			return group(s, m, err);
		if (r != FAST_GIVE_UP)
			return r;
		int ret = to_libarchive(s, s->next, &r, err);
		if (ret)
			return ret;
	} else {
		r = archive_read_next_header(s->ar, &s->entry);
	}
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
	m->path = archive_entry_pathname(s->entry);
	if (!m->path)
		m->path = archive_entry_pathname_utf8(s->entry);
	if (!m->path)
		return hy_err_set(
		    err, HY_ESHARD, "%s: offset %lld: member without a name",
		    s->path, (long long)archive_read_header_position(s->ar));
	m->size = archive_entry_size(s->entry);
	m->offset = archive_read_header_position(s->ar);
	s->member_end = member_end_at(archive_filter_bytes(s->ar, 0), m->size);
	m->is_data = archive_entry_filetype(s->entry) == AE_IFREG &&
		     archive_entry_hardlink(s->entry) == NULL;
	return group(s, m, err);
}

/* A body our own walk cannot read: the file shrank under us, or a read
 * failed. */
static int fast_body_err(struct shard *s, int64_t at, int errnum,
			 struct hy_err *err)
{
	return hy_err_set(err, HY_ESHARD,
			  "%s: offset %lld: cannot read the body of member "
			  "'%s' (header at offset %lld): %s",
			  s->path, (long long)at, s->hdr.path,
			  (long long)s->hoff,
			  errnum ? strerror(errnum) : "truncated");
}

/* shard_read_body for our own walk: a body in a recent block is copied
 * from it, a larger one read straight into dst. */
static int fast_read_body(struct shard *s, struct buf *dst, size_t size,
			  struct hy_err *err)
{
	int64_t off = s->hoff + USTAR_BLOCK;
	const unsigned char *p;

	if (size == 0)
		return HY_OK;
	if (size <= s->block) {
		ssize_t n = fast_bytes(s, off, size, &p);
		if (n < 0 || (size_t)n < size)
			return fast_body_err(s, off + (n > 0 ? n : 0),
					     n < 0 ? errno : 0, err);
		memcpy(dst->data, p, size);
		dst->len = size;
		return HY_OK;
	}
	while (dst->len < size) {
		int64_t at = off + (int64_t)dst->len;
		ssize_t n = infile_pread(&s->in, dst->data + dst->len,
					 size - dst->len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fast_body_err(s, at, n < 0 ? errno : 0, err);
		dst->len += (size_t)n;
	}
	return HY_OK;
}

int shard_read_body(struct shard *s, struct buf *dst, size_t max,
		    struct hy_err *err)
{
	int64_t size = s->fast ? s->hdr.size : archive_entry_size(s->entry);
	const char *name =
	    s->fast ? s->hdr.path : archive_entry_pathname(s->entry);
	int ret;

	buf_clear(dst);
	if (!s->in_body)
		return hy_err_set(err, HY_ESHARD, "%s: no member to read",
				  s->path);
	if (size < 0 || (uint64_t)size > max)
		return hy_err_set(
		    err, HY_ESAMPLE,
		    "%s: offset %lld: member '%s': %lld bytes, "
		    "over the limit of %zu for this member",
		    s->path,
		    (long long)(s->fast ? s->hoff
					: archive_read_header_position(s->ar)),
		    name ? name : "?", (long long)size, max);
	if (buf_reserve(dst, (size_t)size))
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", s->path);
	if (s->fast) {
		ret = fast_read_body(s, dst, (size_t)size, err);
		if (ret)
			return ret;
		dst->data[dst->len] = '\0';
		s->in_body = 0;
		return HY_OK;
	}
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

int64_t shard_read_block(struct shard *s, const void **block, int64_t *at_out,
			 struct hy_err *err)
{
	size_t size = 0;
	la_int64_t off = 0;
	int r;

	if (!s->in_body)
		return 0;
	if (s->fast) {
		const unsigned char *p;
		int64_t left = s->hdr.size - s->body_at;
		int64_t at = s->hoff + USTAR_BLOCK + s->body_at;
		ssize_t n;

		if (left <= 0) {
			s->in_body = 0;
			return 0;
		}
		n = fast_bytes(s, at, 1, &p);
		if (n <= 0)
			return fast_body_err(s, at, n < 0 ? errno : 0, err);
		if (n > left)
			n = (ssize_t)left;
		*block = p;
		*at_out = s->body_at;
		s->body_at += n;
		return n;
	}
	r = archive_read_data_block(s->ar, block, &size, &off);
	if (r == ARCHIVE_EOF) {
		s->in_body = 0;
		return 0;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return body_err(s, err);
	*at_out = off;
	return (int64_t)size;
}

int shard_data_range(struct shard *s, struct infile **in, int64_t *off)
{
	if (s->fast && s->in_body) { /* fast_next saw it whole in the file */
		*off = s->hoff + USTAR_BLOCK;
		*in = &s->in;
		return 1;
	}
	if (!s->in_body || !s->plain || archive_filter_count(s->ar) != 1 ||
	    archive_entry_sparse_count(s->entry) > 0)
		return 0;
	/* Right after a header the consumer position of the only filter is
	 * the first byte of the body (checked against every dialect of
	 * ../shared/fixtures/tar-variants by the reshard tests). */
	*off = archive_filter_bytes(s->ar, 0);
	/* A body cut by the end of the file is read the slow way, where
	 * libarchive reports the truncation with its offset. */
	if (archive_entry_size(s->entry) > s->id.size - *off)
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

	if (s->fast && s->in_body) { /* a ustar header by construction */
		memcpy(h, s->raw, USTAR_BLOCK);
		*hdr = s->hoff;
		*end = s->next;
		return 1;
	}
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
	*end = member_end_at(data, size);
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
	if (s->fast)
		return s->fast_end ? s->size : s->next;
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
	archive_entry_free(s->fentry);
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
