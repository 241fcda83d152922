/* Reads of an input file (a shard) that keep a cold file streaming. Our
 * readers skip what they do not need: scan reads 4 KiB at each header and
 * jumps over image bodies, reshard mixes those reads with large copies
 * that lag behind them. The kernel's readahead takes that for random
 * access and fetches each missing page on its own, one request at a time:
 * on a 495 MB shard not in the page cache, scan took 0.56-0.69 s, more
 * than twice `bsdtar -tf` (issue #3). So a read that would wait for the
 * disk first asks the kernel to read the next INFILE_AHEAD bytes in the
 * background: 0.24-0.30 s, as fast as bsdtar. A read the page cache can
 * serve costs one flag more (preadv2 for pread: 1-2% of a warm scan). */
#ifndef HY_INFILE_H
#define HY_INFILE_H

#include <stdint.h>
#include <sys/types.h>

/* How far ahead of a read that missed the page cache the kernel is asked
 * to read (asked again when a miss comes within half of it of the end):
 * more than reshard copies in one go (RESHARD_RUN_PIECE), so that the
 * disk works while it copies. */
#define INFILE_AHEAD ((int64_t)96 << 20)
/* The kernel reads at most its readahead window per request, which is
 * 256 KiB at the least for a file opened with POSIX_FADV_SEQUENTIAL
 * (twice the default; shard_open sets it): the advice goes in pieces of
 * that size. */
#define INFILE_PIECE ((int64_t)256 << 10)

struct infile {
	int fd;	       /* not owned */
	int64_t size;  /* read-ahead stops there */
	int nowait;    /* the file system tells a cached read apart */
	int64_t ahead; /* read-ahead requested up to this offset */
};

/* fd is read, size bytes long (read-ahead stops at it; reads do not). */
void infile_init(struct infile *f, int fd, int64_t size);

/* pread(2) of f->fd, with the read-ahead above: same results and errno.
 * It may return less than asked where the page cache ends. */
ssize_t infile_pread(struct infile *f, void *buf, size_t n, int64_t off);

#endif
