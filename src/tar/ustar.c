/* POSIX ustar headers of regular files and folders, parsed without
 * libarchive. Each check below keeps the parser a strict subset of
 * libarchive's tar reader (3.6: archive_read_support_format_tar.c), so that
 * whatever it accepts, libarchive would read the same way; what it
 * refuses goes to libarchive, which reads it or says what is wrong. */
#include "tar/ustar.h"

#include <string.h>

/* Field offsets and lengths of the ustar header (POSIX.1-1988). The
 * strict checker (tar/tarcheck.c) has its own copy on purpose: it must
 * stay independent of this reader, so that a mistake in one cannot hide
 * in both. */
#define F_NAME	   0, 100
#define F_MODE	   100, 8
#define F_UID	   108, 8
#define F_GID	   116, 8
#define F_SIZE	   124, 12
#define F_MTIME	   136, 12
#define F_TYPE	   156
#define F_UNAME	   265, 32
#define F_GNAME	   297, 32
#define F_DEVMAJOR 329, 8
#define F_DEVMINOR 337, 8
#define F_PREFIX   345, 155

/* An octal number field: optional leading spaces, octal digits, then
 * only spaces and NULs (what libarchive's format check asks of a first
 * header), or a field that starts with NUL (libarchive reads 0). A
 * leading byte with the high bit set is a base-256 number: refused, as are
 * signs and tabs. At most 12 digits: no overflow. Returns 0 and *v, or -1. */
static int octal(const unsigned char *h, size_t off, size_t len, int64_t *v)
{
	const unsigned char *p = h + off;
	size_t i = 0;
	int64_t n = 0;

	if (p[0] & 0x80)
		return -1;
	while (i < len && p[i] == ' ')
		i++;
	while (i < len && p[i] >= '0' && p[i] <= '7')
		n = n * 8 + (p[i++] - '0');
	for (; i < len; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return -1;
	*v = n;
	return 0;
}

/* libarchive takes the checksum field as octal after leading spaces, up to
 * the first other byte, once it has checked that the field holds only
 * spaces, NULs and octal digits; it accepts the sum of the bytes taken
 * unsigned (POSIX) or signed (old BSD and Solaris tars). Only the first
 * passes here. */
static int checksum_ok(const unsigned char *h)
{
	const unsigned char *c = h + 148;
	unsigned want = 0;
	size_t i = 0;

	for (i = 0; i < 8; i++)
		if (c[i] != ' ' && c[i] != '\0' && (c[i] < '0' || c[i] > '7'))
			return 0;
	for (i = 0; i < 8 && c[i] == ' '; i++)
		;
	for (; i < 8 && c[i] >= '0' && c[i] <= '7'; i++)
		want = want * 8 + (unsigned)(c[i] - '0');
	return ustar_checksum(h) == want;
}

unsigned ustar_checksum(const unsigned char h[USTAR_BLOCK])
{
	unsigned sum = 0;

	/* One plain loop over the block, which the compiler vectorizes (the
	 * parse is the hot path of a shard walk), then the field's own bytes
	 * traded for spaces. */
	for (size_t i = 0; i < USTAR_BLOCK; i++)
		sum += h[i];
	for (size_t i = 148; i < 156; i++)
		sum -= h[i];
	return sum + 8 * ' ';
}

/* Copies the field's bytes up to its first NUL; returns their count. */
static size_t field(char *dst, const unsigned char *h, size_t off, size_t len)
{
	const unsigned char *p = h + off;
	const unsigned char *nul = memchr(p, 0, len);
	size_t n = nul ? (size_t)(nul - p) : len;

	memcpy(dst, p, n);
	dst[n] = '\0';
	return n;
}

static int is_zero(const unsigned char *h)
{
	for (size_t i = 0; i < USTAR_BLOCK; i++)
		if (h[i])
			return 0;
	return 1;
}

enum ustar_kind ustar_parse(const unsigned char h[USTAR_BLOCK],
			    struct ustar_hdr *out)
{
	int64_t dev;
	size_t n;

	if (h[0] == 0 && is_zero(h))
		return USTAR_END;
	if (!checksum_ok(h) || memcmp(h + 257,
				      "ustar\0"
				      "00",
				      8) != 0)
		return USTAR_OTHER;
	switch (h[F_TYPE]) {
	case '0':
	case '\0': out->is_dir = 0; break;
	case '5': out->is_dir = 1; break;
	default: return USTAR_OTHER; /* links, devices, extensions */
	}
	if (octal(h, F_MODE, &out->mode) || octal(h, F_UID, &out->uid) ||
	    octal(h, F_GID, &out->gid) || octal(h, F_SIZE, &out->size) ||
	    octal(h, F_MTIME, &out->mtime) || octal(h, F_DEVMAJOR, &dev) ||
	    octal(h, F_DEVMINOR, &dev))
		return USTAR_OTHER;
	/* libarchive reads no body for a folder whatever its size field
	 * says; a folder that claims one is left to it. */
	if (out->is_dir && out->size != 0)
		return USTAR_OTHER;
	/* The path: prefix, a slash unless the prefix ends in one, name. */
	n = field(out->path, h, F_PREFIX);
	if (n && out->path[n - 1] != '/')
		out->path[n++] = '/';
	n += field(out->path + n, h, F_NAME);
	out->path_len = n;
	/* No name, or a "file" whose name ends in a slash, which libarchive
	 * takes for a folder (old tars wrote folders that way). */
	if (n == 0 || (!out->is_dir && out->path[n - 1] == '/'))
		return USTAR_OTHER;
	field(out->uname, h, F_UNAME);
	field(out->gname, h, F_GNAME);
	return USTAR_MEMBER;
}
