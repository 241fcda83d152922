/* Streaming shard reader: walks the members of one WebDataset tar shard (any
 * tar dialect, optionally compressed) and groups them into samples by key.
 * Plain ustar headers, what Python's tarfile and bsdtar write for a shard,
 * are read by our own code (ustar.h); libarchive reads everything else and
 * checks what every file is. Bodies the caller does not read are skipped
 * (on a plain .tar the next read starts further on), never read. */
#ifndef HY_SHARD_H
#define HY_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct archive;
struct archive_entry;
struct infile;
struct shard;

struct shard_member {
	const char *path; /* member path, valid until the next shard_next */
	size_t key_len;	  /* key = path[0..key_len) */
	const char *ext;  /* after the first dot of the last path component,
			     "" when there is none */
	int64_t size;	  /* body size in bytes */
	int64_t offset;	  /* offset of the member's header in the tar stream */
	int is_data;	  /* regular file: carries sample data */
	int new_sample;	  /* first data member of a new key */
};

/* Opens `path` for reading; messages name the shard by this path. Returns
 * HY_OK, or HY_ESHARD when the file cannot be opened or is empty. */
int shard_open(struct shard **out, const char *path, struct hy_err *err);

/* Moves to the next member, skipping the unread body of the current one.
 * Returns 1 with *m filled, 0 at the end of the archive, or HY_ESHARD when
 * the shard is damaged (truncated, corrupt header, not a tar, a key whose
 * members are not consecutive); err->msg then names the file, the offset and
 * the cause. */
int shard_next(struct shard *s, struct shard_member *m, struct hy_err *err);

/* The current member as a libarchive entry, for callers that write it out
 * (reshard, extract): owned by the reader, valid until the next shard_next;
 * NULL only when out of memory. */
struct archive_entry *shard_entry(struct shard *s);

/* on = 1: readers opened from now on leave every header to libarchive (for
 * tests that compare both ways, and as a way out should our ustar reading
 * ever be suspected). Set it before any reader opens: it is not guarded. */
void shard_use_libarchive(int on);

/* Reads the whole body of the current member into dst (replacing its
 * content, NUL-terminated). Bodies over `max` bytes are refused with
 * HY_ESAMPLE without being read. Returns HY_OK, HY_ESAMPLE or HY_ESHARD. */
int shard_read_body(struct shard *s, struct buf *dst, size_t max,
		    struct hy_err *err);

/* Reads the current member's body in blocks; returns the block's size
 * (> 0), 0 at the end of the body, or HY_ESHARD. *block points into the
 * reader's buffer (valid until the next call); *at is the block's offset in
 * the body (sparse members can skip ahead). */
int64_t shard_read_block(struct shard *s, const void **block, int64_t *at,
			 struct hy_err *err);

/* When the current member's body is the byte range [*off, *off + size) of
 * the file *in (a plain, not compressed, tar and a member that is not
 * sparse), and lies whole inside the file, returns 1 so that the caller
 * may copy it by range, not through libarchive; the reader then skips the
 * body. Else returns 0. */
int shard_data_range(struct shard *s, struct infile **in, int64_t *off);

/* When the current member is, in a plain tar, one POSIX ustar header and
 * its body (no pax, no GNU extension: already what our writer would emit
 * for it), returns 1 with the member's bytes, header to padding, at
 * [*start, *end) of file *in, so that a copy can take them verbatim; the
 * reader then skips the body. Else returns 0. */
int shard_raw_member(struct shard *s, struct infile **in, int64_t *start,
		     int64_t *end);

/* When the current member is a regular file that shard_raw_member would
 * copy verbatim, copies its 512-byte ustar header into h and returns 1 (a
 * replaced body can then keep the header, only the size changed). Else
 * returns 0. */
int shard_ustar_header(struct shard *s, unsigned char h[512]);

/* The file a reader was opened on: device, inode, size and modification
 * time. A command that reads a shard twice (generate: metadata, then the
 * photos to blur) compares the second reader's with the first's, so that a
 * shard replaced or rewritten in between is noticed instead of mixed. */
struct shard_id {
	uint64_t dev, ino;
	int64_t size, mtime_ns;
};

void shard_get_id(const struct shard *s, struct shard_id *id);

/* 1 when a and b name the same, unchanged file. */
int shard_id_equal(const struct shard_id *a, const struct shard_id *b);

/* Bytes of the file consumed so far: for progress. */
int64_t shard_file_offset(struct shard *s);

/* The key of the current sample (of the last data member returned). */
const char *shard_current_key(struct shard *s, size_t *len);

/* Length of the "./" prefixes of a key written by `tar -cf x.tar .`: edits
 * and records name the sample without them. */
size_t shard_key_skip(const char *path, size_t key_len);

/* Closes the reader; accepts NULL. */
void shard_close(struct shard *s);

/* Splits a member path into key and extension as SPEC.md defines them:
 * the key is the path up to the first dot of its last component. */
void shard_split_key(const char *path, size_t *key_len, const char **ext);

#endif
