/* Strict tar parser, independent of libarchive: accepts only what our
 * writer (tarw.h) emits, which is POSIX ustar headers, pax 'x' records
 * for names and sizes that do not fit, and GNU.sparse 1.0 pax records for
 * sparse members. verify walks every output shard with it beside our
 * libarchive reader, so that a shard only libarchive's leniency can read
 * (a bad checksum, a short body, no end blocks, a GNU header) is caught.
 * Bodies are never read, except a sparse member's map. */
#ifndef HY_TARCHECK_H
#define HY_TARCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct tarcheck;

struct tarcheck_member {
	const char *path;      /* pax path, else ustar prefix/name; valid until
				  the next tarcheck_next */
	const char *linkpath;  /* link target, "" for none; valid as path */
	char type;	       /* ustar typeflag; '\0' and '7' read as '0' */
	int64_t size;	       /* body a reader hands out (a sparse member's
				  real size, holes included) */
	int64_t stored;	       /* body bytes in the file (size, or a sparse
				  member's map and data) */
	int64_t header_offset; /* the member's first header: its pax header
				  when it has one */
	int64_t data_offset;   /* first byte of the stored body */
	int sparse;	       /* GNU.sparse 1.0 member */
};

/* Starts a walk of the tar in file fd (not owned; must stay open until
 * tarcheck_close) or in memory (data must outlive the walk). `label`
 * names the tar in messages and must outlive the walk. HY_OK, HY_ESHARD
 * (fd is not a readable regular file) or HY_EFATAL (out of memory). */
int tarcheck_open(struct tarcheck **out, int fd, const char *label,
		  struct hy_err *err);
int tarcheck_open_mem(struct tarcheck **out, const void *data, size_t len,
		      const char *label, struct hy_err *err);

/* Moves to the next member: 1 with *m filled; 0 at a correct end of the
 * archive (two zero blocks, then nothing but zeros up to a whole block);
 * HY_ESHARD when the tar breaks the rules, err->msg then saying
 * "LABEL: offset N: reason"; HY_EFATAL when out of memory. After an error
 * every call returns the same error. */
int tarcheck_next(struct tarcheck *t, struct tarcheck_member *m,
		  struct hy_err *err);

/* Frees the walk; accepts NULL. */
void tarcheck_close(struct tarcheck *t);

#endif
