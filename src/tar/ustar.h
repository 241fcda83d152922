/* A parser for the one tar header that fills WebDataset shards written by
 * Python's tarfile and bsdtar: a POSIX ustar header of a regular file or a
 * folder, numbers in octal. The shard reader walks such headers itself and
 * hands anything else (pax and GNU extensions, links, base-256 numbers,
 * damage) to libarchive. libarchive's tar reader spent 9% of reshard's CPU
 * on headers, a wide-character conversion of every path name included
 * (issue #3).
 *
 * What ustar_parse accepts, libarchive reads the same way (same path,
 * size, type, mode, owner and time): fuzz/fuzz_ustar.c checks that on
 * every input, reading whole shards both ways. */
#ifndef HY_USTAR_H
#define HY_USTAR_H

#include <stddef.h>
#include <stdint.h>

#define USTAR_BLOCK 512

/* A path is a prefix of up to 155 bytes, a slash and a name of up to
 * 100. */
#define USTAR_PATH_MAX (155 + 1 + 100)

struct ustar_hdr {
	char path[USTAR_PATH_MAX + 1]; /* NUL-terminated */
	size_t path_len;
	int is_dir;   /* else a regular file */
	int64_t size; /* body bytes; 0 for a folder */
	int64_t mode; /* as in the header (permissions, maybe type bits) */
	int64_t uid, gid, mtime;
	char uname[32 + 1], gname[32 + 1];
};

enum ustar_kind {
	USTAR_MEMBER = 1, /* *out filled */
	USTAR_END = 0,	  /* a block of zeros: the end of the archive */
	USTAR_OTHER = -1, /* anything else: for a full tar reader */
};

/* The header checksum as POSIX defines it: the sum of the block's bytes,
 * unsigned, with the checksum field itself counted as eight spaces. */
unsigned ustar_checksum(const unsigned char h[USTAR_BLOCK]);

/* Parses the 512-byte header block h. */
enum ustar_kind ustar_parse(const unsigned char h[USTAR_BLOCK],
			    struct ustar_hdr *out);

/* Bytes a member of `size` body bytes takes after its header: the body
 * padded to whole blocks. */
static inline int64_t ustar_padded(int64_t size)
{
	return (size + USTAR_BLOCK - 1) / USTAR_BLOCK * USTAR_BLOCK;
}

#endif
