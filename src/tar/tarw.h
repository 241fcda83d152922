/* Tar writer on libarchive: ustar where names fit, pax otherwise (what GNU
 * tar, bsdtar and Python's tarfile all read), written to a file descriptor
 * in large sequential writes. */
#ifndef HY_TARW_H
#define HY_TARW_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct archive_entry;
struct infile;
struct tarw;

/* Starts an archive on fd (not owned: the caller closes it). `label` names
 * the output in messages and must outlive the writer. */
int tarw_open(struct tarw **out, int fd, const char *label, struct hy_err *err);
/* The archive will be about `size` bytes (reshard: the input's size):
 * disk space is reserved ahead of the writes, and what is left over given
 * back by tarw_finish. Without this call nothing is reserved. */
void tarw_expect(struct tarw *w, int64_t size);
/* Writes a member header. The entry's size is what must follow. */
int tarw_header(struct tarw *w, struct archive_entry *e, struct hy_err *err);
int tarw_data(struct tarw *w, const void *p, size_t n, struct hy_err *err);
/* Writes the body of the member whose header was just written as a copy of
 * bytes [off, off + size) of file `in`, read straight into the writer's
 * buffer (not through libarchive). `src` names the file in messages. HY_ESHARD
 * when fd ends early or cannot be read, HY_EFATAL when the output cannot
 * be written. */
int tarw_data_from(struct tarw *w, struct infile *in, int64_t off, int64_t size,
		   const char *src, struct hy_err *err);
/* Copies len bytes at off of `in` verbatim into the archive: whole members
 * (header, body, padding) that are already in the output format. */
int tarw_copy_raw(struct tarw *w, struct infile *in, int64_t off, int64_t len,
		  const char *src, struct hy_err *err);
/* The largest body a ustar header's 11 octal digits can carry. */
#define TARW_USTAR_MAX_SIZE ((int64_t)077777777777)

/* Writes a whole member from a POSIX ustar header and a body: bytes [off,
 * off + size) of `in`, size <= TARW_USTAR_MAX_SIZE. The header is taken as
 * it is but for its size and checksum, set here; nothing goes through
 * libarchive, so an edited member keeps its original header byte for byte
 * (and costs no entry conversion). Errors as tarw_data_from. */
int tarw_ustar_member(struct tarw *w, const unsigned char hdr[512],
		      struct infile *in, int64_t off, int64_t size,
		      const char *src, struct hy_err *err);

/* Writes the end-of-archive blocks and flushes everything to fd. */
int tarw_finish(struct tarw *w, struct hy_err *err);
/* Bytes handed to fd so far. */
int64_t tarw_bytes(const struct tarw *w);
/* Frees the writer; accepts NULL. Without a successful tarw_finish
 * before, the archive is abandoned: nothing more is written to fd (not
 * even the padding of a member left open), and what fd holds is not a
 * valid tar. */
void tarw_free(struct tarw *w);

#endif
