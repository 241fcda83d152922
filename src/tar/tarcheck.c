/* Strict tar walk: every header block checked (magic, checksum, numeric
 * fields), pax records parsed to the byte, bodies accounted for against
 * the file's size, and the end of the archive required to be two zero
 * blocks followed by nothing but zeros. Written from POSIX.1-2017
 * (pax, "ustar Interchange Format") and GNU tar's documentation of the
 * sparse 1.0 format, not from libarchive's code, so that the two readers
 * do not share mistakes. */
#include "tar/tarcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

#define BLK 512
/* A pax header holds a few names and numbers; anything larger is damage
 * (and must not cost memory). */
#define TARCHECK_MAX_PAX (1 << 20)
/* Entries of one sparse map; GNU tar writes one per data extent. */
#define TARCHECK_MAX_SPARSE (1 << 20)

/* ustar header fields: offset, length. The same table stands in
 * tar/ustar.c on purpose: this checker is verify's second opinion on
 * what the reader (ustar.c, libarchive) accepts, so it shares no code
 * with the reader, not even this, and a mistake in one cannot hide in
 * both. */
#define F_NAME	   0, 100
#define F_MODE	   100, 8
#define F_UID	   108, 8
#define F_GID	   116, 8
#define F_SIZE	   124, 12
#define F_MTIME	   136, 12
#define F_CHKSUM   148, 8
#define F_TYPE	   156
#define F_LINKNAME 157, 100
#define F_MAGIC	   257
#define F_DEVMAJOR 329, 8
#define F_DEVMINOR 337, 8
#define F_PREFIX   345, 155

/* What the pax header before a member says about it. */
struct pax {
	int active; /* a pax header is pending */
	int64_t header_offset;
	int has_path, has_linkpath, has_size;
	struct buf path, linkpath;
	int64_t size;
	/* GNU.sparse 1.0 */
	long sparse_major, sparse_minor; /* -1: not given */
	int has_sparse_name, has_realsize;
	struct buf sparse_name;
	int64_t realsize;
};

struct tarcheck {
	int fd;
	const unsigned char *mem; /* memory walk when not NULL */
	int64_t size;
	const char *label;
	int64_t pos; /* next header */
	int done;
	int failed;
	struct hy_err saved; /* the error every later call returns */
	struct buf data;     /* a pax header's records */
	struct buf path, link;
	struct pax pax;
};

static int failf(struct tarcheck *t, struct hy_err *err, int64_t off,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int failf(struct tarcheck *t, struct hy_err *err, int64_t off,
		 const char *fmt, ...)
{
	char why[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	hy_err_set(&t->saved, HY_ESHARD, "%s: offset %lld: %s", t->label,
		   (long long)off, why);
	t->failed = 1;
	if (err)
		*err = t->saved;
	return HY_ESHARD;
}

static int oom(struct tarcheck *t, struct hy_err *err)
{
	hy_err_set(&t->saved, HY_EFATAL, "%s: out of memory", t->label);
	t->failed = 1;
	if (err)
		*err = t->saved;
	return HY_EFATAL;
}

/* Reads n bytes at off, which the caller has checked lie inside the file;
 * -1 with errno when the file cannot be read (or shrank under us). */
static int rd(struct tarcheck *t, int64_t off, void *dst, size_t n)
{
	char *p = dst;

	if (t->mem) {
		memcpy(dst, t->mem + off, n);
		return 0;
	}
	while (n) {
		ssize_t k = pread(t->fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		off += k;
		n -= (size_t)k;
	}
	return 0;
}

static int rd_fail(struct tarcheck *t, struct hy_err *err, int64_t off)
{
	return failf(t, err, off, "cannot read: %s", strerror(errno));
}

static int is_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static int64_t padded(int64_t n)
{
	return (n + BLK - 1) / BLK * BLK;
}

/* A numeric header field: octal digits (leading spaces allowed, then NUL
 * or space to the end of the field), or base-256 (the top bit of the
 * first byte set), which our writer uses for values octal cannot hold.
 * An all-NUL or all-space field is 0 when `may_be_empty`. Returns 0 or
 * -1 (not a number). */
static int field_num(const unsigned char *h, size_t off, size_t n,
		     int may_be_empty, int may_be_negative, int64_t *out)
{
	const unsigned char *f = h + off;
	uint64_t v = 0;
	size_t i = 0, digits = 0;

	if (f[0] & 0x80) {
		int neg = f[0] == 0xff;

		if (f[0] != 0x80 && !neg)
			return -1;
		if (neg && !may_be_negative)
			return -1;
		/* Bytes beyond the last 8 only repeat the sign. */
		for (i = 1; i + 8 < n; i++)
			if (f[i] != (neg ? 0xff : 0))
				return -1;
		for (; i < n; i++)
			v = v << 8 | f[i];
		if (neg ? (v >> 63) == 0 : (v >> 63) != 0)
			return -1;
		*out = (int64_t)v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++)
		v = v << 3 | (uint64_t)(f[i] - '0');
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	if (!digits && !may_be_empty)
		return -1;
	/* 11 digits of a 12-byte field stay below 2^33 */
	*out = (int64_t)v;
	return 0;
}

/* A text field: up to its first NUL, or all of it. */
static size_t field_len(const unsigned char *h, size_t off, size_t n)
{
	const unsigned char *z = memchr(h + off, 0, n);

	return z ? (size_t)(z - (h + off)) : n;
}

/* A decimal pax value: digits only, fits int64. */
static int dec(const char *v, size_t n, int64_t *out)
{
	int64_t x = 0;

	if (!n || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

/* A pax time: [-]digits[.digits]. */
static int pax_time(const char *v, size_t n)
{
	size_t i = v[0] == '-' && n > 1, d = 0;

	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
		d++;
	if (!d)
		return -1;
	if (i < n && v[i] == '.') {
		size_t f = 0;
		for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++)
			f++;
		if (!f)
			return -1;
	}
	return i == n ? 0 : -1;
}

static void pax_reset(struct pax *p)
{
	p->active = 0;
	p->has_path = p->has_linkpath = p->has_size = 0;
	p->sparse_major = p->sparse_minor = -1;
	p->has_sparse_name = p->has_realsize = 0;
	buf_clear(&p->path);
	buf_clear(&p->linkpath);
	buf_clear(&p->sparse_name);
}

static int set_text(struct buf *b, int *has, const char *v, size_t n)
{
	buf_clear(b);
	*has = n > 0; /* an empty value removes the keyword (POSIX) */
	if (buf_append(b, v, n) || buf_putc(b, '\0'))
		return -1;
	return 0;
}

/* Applies one record `kw=v` of the pax header at off. */
static int pax_apply(struct tarcheck *t, struct hy_err *err, int64_t off,
		     const char *kw, size_t kn, const char *v, size_t vn)
{
	struct pax *p = &t->pax;
	int64_t x;

#define KW(s) (kn == sizeof(s) - 1 && !memcmp(kw, s, kn))
	if (KW("path") || KW("linkpath") || KW("GNU.sparse.name")) {
		int r;
		if (memchr(v, '\0', vn))
			return failf(t, err, off,
				     "pax record '%.*s' holds a NUL byte",
				     (int)kn, kw);
		r = KW("path") ? set_text(&p->path, &p->has_path, v, vn)
		    : KW("linkpath")
			? set_text(&p->linkpath, &p->has_linkpath, v, vn)
			: set_text(&p->sparse_name, &p->has_sparse_name, v, vn);
		return r ? oom(t, err) : HY_OK;
	}
	if (KW("size") || KW("GNU.sparse.realsize") || KW("GNU.sparse.major") ||
	    KW("GNU.sparse.minor") || KW("uid") || KW("gid")) {
		if (!vn && KW("size")) {
			p->has_size = 0;
			return HY_OK;
		}
		if (dec(v, vn, &x))
			return failf(t, err, off,
				     "pax record '%.*s=%.*s': not a decimal "
				     "number",
				     (int)kn, kw, (int)(vn < 40 ? vn : 40), v);
		if (KW("size")) {
			p->has_size = 1;
			p->size = x;
		} else if (KW("GNU.sparse.realsize")) {
			p->has_realsize = 1;
			p->realsize = x;
		} else if (KW("GNU.sparse.major")) {
			p->sparse_major = (long)(x > 1000 ? 1000 : x);
		} else if (KW("GNU.sparse.minor")) {
			p->sparse_minor = (long)(x > 1000 ? 1000 : x);
		}
		return HY_OK;
	}
	if (KW("mtime") || KW("atime") || KW("ctime")) {
		if (vn && pax_time(v, vn))
			return failf(t, err, off,
				     "pax record '%.*s=%.*s': not a time",
				     (int)kn, kw, (int)(vn < 40 ? vn : 40), v);
		return HY_OK;
	}
	if (kn > 11 && !memcmp(kw, "GNU.sparse.", 11))
		return failf(t, err, off,
			     "pax record '%.*s': GNU sparse format 0.x, "
			     "which hybridize never writes (it writes 1.0)",
			     (int)kn, kw);
#undef KW
	return HY_OK; /* uname, gname, hdrcharset, vendor records... */
}

/* Parses the records "LEN KEYWORD=VALUE\n" of the pax header at off;
 * they must fill its body exactly. */
static int pax_parse(struct tarcheck *t, struct hy_err *err, int64_t off,
		     const char *d, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = 0, j = i, end;
		const char *eq;
		int ret;

		while (j < n && j - i < 8 && d[j] >= '0' && d[j] <= '9')
			len = len * 10 + (size_t)(d[j++] - '0');
		if (j == i || j >= n || d[j] != ' ' || d[i] == '0')
			return failf(t, err, off,
				     "pax header: record at byte %zu does not "
				     "start with its length",
				     i);
		if (len > n - i || len < j - i + 4)
			return failf(t, err, off,
				     "pax header: record at byte %zu says %zu "
				     "bytes, %zu are left",
				     i, len, n - i);
		end = i + len;
		if (d[end - 1] != '\n')
			return failf(t, err, off,
				     "pax header: record at byte %zu is not "
				     "ended by a newline at its length",
				     i);
		eq = memchr(d + j + 1, '=', end - 1 - (j + 1));
		if (!eq || eq == d + j + 1)
			return failf(t, err, off,
				     "pax header: record at byte %zu is not "
				     "KEYWORD=VALUE",
				     i);
		ret = pax_apply(t, err, off, d + j + 1,
				(size_t)(eq - (d + j + 1)), eq + 1,
				(size_t)(d + end - 1 - (eq + 1)));
		if (ret)
			return ret;
		i = end;
	}
	return HY_OK;
}

/* Reads a sparse map byte by byte from the blocks of a body. */
struct mapr {
	struct tarcheck *t;
	int64_t start, end; /* the body */
	int64_t at;	    /* next byte */
	unsigned char blk[BLK];
	int64_t blk_off; /* -1: none loaded */
};

/* One decimal number ended by '\n'. 0, or an error set. */
static int map_num(struct mapr *r, struct hy_err *err, int64_t *v)
{
	int64_t x = 0;
	int digits = 0;

	for (;;) {
		unsigned char c;
		if (r->at >= r->end)
			return failf(r->t, err, r->start,
				     "sparse map runs past the member's "
				     "body");
		if (r->blk_off != r->at - (r->at - r->start) % BLK) {
			int64_t b = r->at - (r->at - r->start) % BLK;
			size_t n =
			    r->end - b < BLK ? (size_t)(r->end - b) : BLK;
			memset(r->blk, 0, sizeof(r->blk));
			if (rd(r->t, b, r->blk, n))
				return rd_fail(r->t, err, b);
			r->blk_off = b;
		}
		c = r->blk[(r->at - r->start) % BLK];
		r->at++;
		if (c == '\n' && digits)
			break;
		if (c < '0' || c > '9' || digits >= 18)
			return failf(r->t, err, r->start,
				     "sparse map: byte %lld is not part of a "
				     "decimal number",
				     (long long)(r->at - 1 - r->start));
		x = x * 10 + (c - '0');
		digits++;
	}
	*v = x;
	return HY_OK;
}

/* Checks the map at the head of a GNU sparse 1.0 body: entries in order,
 * inside the real size, and map blocks plus data filling the body. */
static int check_sparse_map(struct tarcheck *t, struct hy_err *err,
			    int64_t data, int64_t stored, int64_t realsize)
{
	struct mapr r = {.t = t,
			 .start = data,
			 .end = data + stored,
			 .at = data,
			 .blk_off = -1};
	int64_t n = 0, prev_end = 0, sum = 0, map_bytes, used;
	int ret = map_num(&r, err, &n);

	if (ret)
		return ret;
	if (n > TARCHECK_MAX_SPARSE)
		return failf(t, err, data, "sparse map of %lld entries",
			     (long long)n);
	for (int64_t i = 0; i < n; i++) {
		int64_t o = 0, len = 0;
		if ((ret = map_num(&r, err, &o)) ||
		    (ret = map_num(&r, err, &len)))
			return ret;
		if (o < prev_end || len > realsize || o > realsize - len)
			return failf(t, err, data,
				     "sparse map entry %lld (offset %lld, "
				     "%lld bytes) overlaps the one before or "
				     "ends past the real size %lld",
				     (long long)i, (long long)o, (long long)len,
				     (long long)realsize);
		prev_end = o + len;
		sum += len;
	}
	used = r.at - data;
	map_bytes = padded(used);
	/* The map is padded with NULs to a whole block (the rest of the
	 * block last read, when the map ends inside one). */
	if (used % BLK && map_bytes <= stored &&
	    !is_zero(r.blk + used % BLK, (size_t)(BLK - used % BLK)))
		return failf(t, err, data,
			     "sparse map block has bytes after the map");
	if (map_bytes > stored || sum != stored - map_bytes)
		return failf(t, err, data,
			     "sparse member stores %lld bytes: a %lld-byte "
			     "map and %lld bytes of data do not add up to it",
			     (long long)stored, (long long)map_bytes,
			     (long long)sum);
	return HY_OK;
}

/* Two zero blocks at off, then only zeros to the end of the file, which
 * ends on a block boundary. */
static int end_of_archive(struct tarcheck *t, struct hy_err *err, int64_t off)
{
	unsigned char chunk[8192];
	int64_t at;

	if (t->pax.active)
		return failf(t, err, t->pax.header_offset,
			     "pax header followed by the end of the archive "
			     "instead of its member");
	if (t->size - off < (int64_t)2 * BLK)
		return failf(t, err, off,
			     "truncated: one zero block where the end of the "
			     "archive needs two");
	if (rd(t, off + BLK, chunk, BLK))
		return rd_fail(t, err, off + BLK);
	if (!is_zero(chunk, BLK))
		return failf(t, err, off,
			     "a lone zero block followed by a header at offset "
			     "%lld (two zero blocks end an archive; one is "
			     "damage)",
			     (long long)off + BLK);
	for (at = off + (int64_t)2 * BLK; at < t->size;) {
		size_t n = t->size - at < (int64_t)sizeof(chunk)
			       ? (size_t)(t->size - at)
			       : sizeof(chunk);
		if (rd(t, at, chunk, n))
			return rd_fail(t, err, at);
		for (size_t i = 0; i < n; i++)
			if (chunk[i])
				return failf(t, err, at + (int64_t)i,
					     "data after the end-of-archive "
					     "blocks");
		at += (int64_t)n;
	}
	if (t->size % BLK)
		return failf(t, err, t->size - t->size % BLK,
			     "the file does not end on a 512-byte block (%lld "
			     "bytes)",
			     (long long)t->size);
	t->done = 1;
	return 0;
}

/* Magic, checksum and the numeric fields of the header block at off;
 * *size gets its size field. */
static int check_header(struct tarcheck *t, struct hy_err *err, int64_t off,
			const unsigned char *h, int64_t *size)
{
	int64_t stored, v;
	uint64_t sum = 0;

	if (memcmp(h + F_MAGIC,
		   "ustar\0"
		   "00",
		   8) != 0) {
		if (!memcmp(h + F_MAGIC, "ustar  \0", 8))
			return failf(t, err, off,
				     "GNU tar header (magic \"ustar  \"), not "
				     "POSIX ustar");
		return failf(t, err, off,
			     "not a POSIX ustar header (no \"ustar\\0\" "
			     "\"00\" magic)");
	}
	for (size_t i = 0; i < BLK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	if (field_num(h, F_CHKSUM, 0, 0, &stored))
		return failf(t, err, off,
			     "header checksum field is not an octal number");
	/* Unsigned bytes, as POSIX says; a sum of signed bytes (old tars)
	 * is not what our writer makes. */
	if ((uint64_t)stored != sum)
		return failf(t, err, off,
			     "header checksum mismatch: the header says %llo, "
			     "its bytes sum to %llo",
			     (unsigned long long)stored,
			     (unsigned long long)sum);
	if (field_num(h, F_MODE, 0, 0, &v))
		return failf(t, err, off, "mode field is not a number");
	if (field_num(h, F_UID, 1, 0, &v) || field_num(h, F_GID, 1, 0, &v))
		return failf(t, err, off, "uid or gid field is not a number");
	if (field_num(h, F_MTIME, 0, 1, &v))
		return failf(t, err, off, "mtime field is not a number");
	if (field_num(h, F_DEVMAJOR, 1, 0, &v) ||
	    field_num(h, F_DEVMINOR, 1, 0, &v))
		return failf(t, err, off,
			     "device number field is not a number");
	if (field_num(h, F_SIZE, 0, 0, size))
		return failf(t, err, off, "size field is not a number");
	return HY_OK;
}

static const char *type_name(char c)
{
	switch (c) {
	case '1': return "hard link";
	case '2': return "symbolic link";
	case '3': return "character device";
	case '4': return "block device";
	case '5': return "directory";
	case '6': return "FIFO";
	default: return "member";
	}
}

/* The pax header at off with `size` bytes of records. */
static int read_pax(struct tarcheck *t, struct hy_err *err, int64_t off,
		    const unsigned char *h, int64_t size)
{
	(void)h;
	if (t->pax.active)
		return failf(t, err, off,
			     "a second pax header right after the one at "
			     "offset %lld",
			     (long long)t->pax.header_offset);
	if (size > TARCHECK_MAX_PAX)
		return failf(t, err, off, "pax header of %lld bytes",
			     (long long)size);
	if (size > t->size - off - BLK)
		return failf(t, err, off,
			     "truncated: pax header needs %lld bytes, the "
			     "file ends at offset %lld",
			     (long long)size, (long long)t->size);
	buf_clear(&t->data);
	if (buf_reserve(&t->data, (size_t)size))
		return oom(t, err);
	if (rd(t, off + BLK, t->data.data, (size_t)size))
		return rd_fail(t, err, off + BLK);
	t->data.len = (size_t)size;
	t->pax.active = 1;
	t->pax.header_offset = off;
	if (pax_parse(t, err, off, t->data.data, t->data.len))
		return t->saved.code;
	if (padded(size) > t->size - off - BLK)
		return failf(t, err, off,
			     "truncated: the pax header's last block is cut "
			     "off at offset %lld",
			     (long long)t->size);
	t->pos = off + BLK + padded(size);
	return HY_OK;
}

/* The member whose (last) header is h at off. */
static int member(struct tarcheck *t, struct hy_err *err, int64_t off,
		  const unsigned char *h, int64_t size,
		  struct tarcheck_member *m)
{
	struct pax *p = &t->pax;
	char type = (char)h[F_TYPE];
	int64_t first = p->active ? p->header_offset : off;
	int64_t stored;

	if (type == '\0' || type == '7')
		type = '0';
	switch (type) {
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6': break;
	case 'g':
		return failf(t, err, off,
			     "global pax header: hybridize never writes one, "
			     "and readers disagree on what it changes");
	case 'L':
	case 'K':
		return failf(t, err, off,
			     "GNU long %s header (type '%c'), not POSIX: "
			     "hybridize writes pax records",
			     type == 'L' ? "name" : "link name", type);
	case 'S':
		return failf(t, err, off,
			     "GNU sparse header (type 'S'), not POSIX");
	default:
		if (type >= 'A' && type <= 'Z')
			return failf(t, err, off,
				     "vendor extension header type '%c', not "
				     "written by hybridize",
				     type);
		return failf(t, err, off, "unknown header type 0x%02x",
			     (unsigned char)type);
	}
	buf_clear(&t->path);
	buf_clear(&t->link);
	if (p->has_sparse_name || p->sparse_major >= 0 ||
	    p->sparse_minor >= 0 || p->has_realsize) {
		if (p->sparse_major != 1 || p->sparse_minor != 0)
			return failf(
			    t, err, first,
			    "GNU sparse format %ld.%ld: only 1.0 (what "
			    "hybridize writes) is accepted",
			    p->sparse_major, p->sparse_minor);
		if (!p->has_sparse_name || !p->has_realsize || type != '0')
			return failf(t, err, first,
				     "GNU sparse 1.0 member without "
				     "GNU.sparse.name or GNU.sparse.realsize, "
				     "or not a regular file");
		if (buf_append(&t->path, p->sparse_name.data,
			       p->sparse_name.len - 1))
			return oom(t, err);
	} else if (p->has_path) {
		if (buf_append(&t->path, p->path.data, p->path.len - 1))
			return oom(t, err);
	} else {
		size_t pl = field_len(h, F_PREFIX), nl = field_len(h, F_NAME);
		if ((pl && (buf_append(&t->path, h + 345, pl) ||
			    buf_putc(&t->path, '/'))) ||
		    buf_append(&t->path, h, nl))
			return oom(t, err);
	}
	if (p->has_linkpath) {
		if (buf_append(&t->link, p->linkpath.data, p->linkpath.len - 1))
			return oom(t, err);
	} else if (buf_append(&t->link, h + 157, field_len(h, F_LINKNAME))) {
		return oom(t, err);
	}
	if (buf_putc(&t->path, '\0') || buf_putc(&t->link, '\0'))
		return oom(t, err);
	if (t->path.len == 1)
		return failf(t, err, first, "member without a name");
	if (p->has_size)
		size = p->size;
	stored = size;
	switch (type) {
	case '1':
	case '2':
		if (t->link.len == 1)
			return failf(t, err, first, "%s '%s' without a target",
				     type_name(type), t->path.data);
		/* fall through */
	case '3':
	case '4':
	case '5':
	case '6':
		/* Python's tarfile skips no body after these and libarchive
		 * may: a body would put the two out of step. */
		if (size)
			return failf(t, err, first,
				     "%s '%s' has a size of %lld bytes (must "
				     "be 0)",
				     type_name(type), t->path.data,
				     (long long)size);
		break;
	default: break;
	}
	if (stored > t->size - off - BLK)
		return failf(t, err, off,
			     "truncated: member '%s' needs %lld bytes of body, "
			     "the file ends at offset %lld",
			     t->path.data, (long long)stored,
			     (long long)t->size);
	m->sparse = 0;
	if (p->has_realsize) {
		int ret =
		    check_sparse_map(t, err, off + BLK, stored, p->realsize);
		if (ret)
			return ret;
		m->sparse = 1;
		size = p->realsize;
	}
	if (padded(stored) > t->size - off - BLK)
		return failf(t, err, off,
			     "truncated: the last block of member '%s' is cut "
			     "off at offset %lld",
			     t->path.data, (long long)t->size);
	m->path = t->path.data;
	m->linkpath = t->link.data;
	m->type = type;
	m->size = size;
	m->stored = stored;
	m->header_offset = first;
	m->data_offset = off + BLK;
	t->pos = off + BLK + padded(stored);
	return 1;
}

int tarcheck_next(struct tarcheck *t, struct tarcheck_member *m,
		  struct hy_err *err)
{
	unsigned char h[BLK];

	if (t->failed) {
		if (err)
			*err = t->saved;
		return t->saved.code;
	}
	if (t->done)
		return 0;
	pax_reset(&t->pax);
	for (;;) {
		int64_t off = t->pos, size = 0;
		int ret;

		if (off == 0 && t->size == 0)
			return failf(t, err, 0,
				     "empty file, not a tar archive");
		if (off == t->size)
			return failf(t, err, off,
				     t->pax.active
					 ? "truncated: the archive ends after "
					   "a pax header, without its member"
					 : "truncated: no end-of-archive "
					   "blocks after the last member");
		if (t->size - off < BLK)
			return failf(t, err, off,
				     "truncated: %lld bytes where a 512-byte "
				     "header should be",
				     (long long)(t->size - off));
		if (rd(t, off, h, BLK))
			return rd_fail(t, err, off);
		if (is_zero(h, BLK))
			return end_of_archive(t, err, off);
		ret = check_header(t, err, off, h, &size);
		if (ret)
			return ret;
		if (h[F_TYPE] != 'x')
			return member(t, err, off, h, size, m);
		ret = read_pax(t, err, off, h, size);
		if (ret)
			return ret;
	}
}

static int start(struct tarcheck **out, struct tarcheck *t, const char *label,
		 struct hy_err *err)
{
	*out = NULL;
	if (!t)
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", label);
	t->label = label;
	pax_reset(&t->pax);
	*out = t;
	return HY_OK;
}

int tarcheck_open(struct tarcheck **out, int fd, const char *label,
		  struct hy_err *err)
{
	struct stat st;
	struct tarcheck *t;

	*out = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return hy_err_set(err, HY_ESHARD, "%s: not a regular file",
				  label);
	t = calloc(1, sizeof(*t));
	if (t) {
		t->fd = fd;
		t->size = st.st_size;
	}
	return start(out, t, label, err);
}

int tarcheck_open_mem(struct tarcheck **out, const void *data, size_t len,
		      const char *label, struct hy_err *err)
{
	/* mem must not be NULL for an empty walk: rd tests it */
	static const unsigned char none[1];
	struct tarcheck *t = calloc(1, sizeof(*t));

	if (t) {
		t->fd = -1;
		t->mem = data ? data : none;
		t->size = (int64_t)len;
	}
	return start(out, t, label, err);
}

void tarcheck_close(struct tarcheck *t)
{
	if (!t)
		return;
	buf_release(&t->data);
	buf_release(&t->path);
	buf_release(&t->link);
	buf_release(&t->pax.path);
	buf_release(&t->pax.linkpath);
	buf_release(&t->pax.sparse_name);
	free(t);
}
