/* Fuzz target: the shard reader's own ustar walk against libarchive's. The
 * input is read as a shard twice, once the normal way (plain ustar headers
 * parsed by src/tar/ustar.c, the rest by libarchive) and once with every header
 * left to libarchive (shard_use_libarchive); members, entries, bodies,
 * byte ranges and errors must all come out the same. Headers that look
 * like ustar ones get their checksum fixed first, unless the input's last
 * byte is odd, so that inputs get past the checksum and damaged ones are
 * still tried. */
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/infile.h"
#include "tar/shard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "fuzz_ustar: %s:%d: %s\n", __FILE__,   \
				__LINE__, #c);                                 \
			abort();                                               \
		}                                                              \
	} while (0)

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void same_entry(struct archive_entry *a, struct archive_entry *b)
{
	CHECK(a && b);
	CHECK(same_str(archive_entry_pathname(a), archive_entry_pathname(b)));
	CHECK(archive_entry_filetype(a) == archive_entry_filetype(b));
	CHECK(archive_entry_mode(a) == archive_entry_mode(b));
	CHECK(archive_entry_size(a) == archive_entry_size(b));
	CHECK(archive_entry_uid(a) == archive_entry_uid(b));
	CHECK(archive_entry_gid(a) == archive_entry_gid(b));
	CHECK(same_str(archive_entry_uname(a), archive_entry_uname(b)));
	CHECK(same_str(archive_entry_gname(a), archive_entry_gname(b)));
	CHECK(archive_entry_mtime_is_set(a) == archive_entry_mtime_is_set(b));
	CHECK(archive_entry_mtime(a) == archive_entry_mtime(b));
	CHECK(archive_entry_mtime_nsec(a) == archive_entry_mtime_nsec(b));
	CHECK(same_str(archive_entry_hardlink(a), archive_entry_hardlink(b)));
	CHECK(same_str(archive_entry_symlink(a), archive_entry_symlink(b)));
}

static int memfile(const uint8_t *data, size_t size, char *path, size_t n)
{
	int fd = memfd_create("shard", 0);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}

/* Sets the checksum of every block that has the ustar magic where a
 * header has it (most fuzzed headers would fail it otherwise). */
static void fix_checksums(uint8_t *d, size_t size)
{
	for (size_t off = 0; off + 512 <= size; off += 512) {
		uint8_t *h = d + off;
		unsigned sum = 0;

		if (memcmp(h + 257, "ustar", 5) != 0)
			continue;
		memset(h + 148, ' ', 8);
		for (size_t i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
		h[155] = ' ';
	}
}

/* An empty buf may never have been given memory: no memcmp on NULL. */
static int same_bytes(const struct buf *a, const struct buf *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Reads the current body in blocks into dst, as extract does (holes of a
 * sparse member as zeros); returns the last shard_read_block result, or 1
 * for a block past 1 MiB. */
static int64_t blocks(struct shard *s, struct buf *dst, struct hy_err *err)
{
	buf_clear(dst);
	for (;;) {
		const void *p;
		int64_t at = 0, n = shard_read_block(s, &p, &at, err);

		if (n <= 0)
			return n;
		if (at < 0 || at + n > (1 << 20))
			return 1; /* a sparse member's far hole: stop here */
		if (buf_reserve(dst, (size_t)(at + n)))
			abort();
		if ((size_t)at > dst->len)
			memset(dst->data + dst->len, 0, (size_t)at - dst->len);
		memcpy(dst->data + at, p, (size_t)n);
		if ((size_t)(at + n) > dst->len)
			dst->len = (size_t)(at + n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shard *a = NULL, *b = NULL;
	struct hy_err ea = {0}, eb = {0};
	struct buf ba = {0}, bb = {0};
	uint8_t *copy = malloc(size ? size : 1);
	char path[64];
	int fd = -1, ra, rb;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size && !(copy[size - 1] & 1))
		fix_checksums(copy, size);
	/* Both readers open the one file by the one path: their messages
	 * must be equal to the byte. */
	fd = memfile(copy, size, path, sizeof(path));
	if (fd < 0)
		goto out;
	shard_use_libarchive(0);
	ra = shard_open(&a, path, &ea);
	shard_use_libarchive(1);
	rb = shard_open(&b, path, &eb);
	shard_use_libarchive(0);
	CHECK(ra == rb && (!ra || !strcmp(ea.msg, eb.msg)));
	if (ra)
		goto out;
	for (;;) {
		struct shard_member ma, mb;
		struct infile *ia, *ib;
		int64_t sa, sb, xa, xb;
		unsigned char ha[512], hb[512];
		int ka, kb;

		ka = shard_next(a, &ma, &ea);
		kb = shard_next(b, &mb, &eb);
		CHECK(ka == kb);
		if (ka < 0)
			CHECK(ea.code == eb.code && !strcmp(ea.msg, eb.msg));
		if (ka <= 0)
			break;
		CHECK(strcmp(ma.path, mb.path) == 0);
		CHECK(ma.key_len == mb.key_len);
		CHECK(strcmp(ma.ext, mb.ext) == 0);
		CHECK(ma.size == mb.size && ma.offset == mb.offset);
		CHECK(ma.is_data == mb.is_data);
		CHECK(ma.new_sample == mb.new_sample);
		same_entry(shard_entry(a), shard_entry(b));
		ka = shard_ustar_header(a, ha);
		kb = shard_ustar_header(b, hb);
		CHECK(ka == kb && (!ka || memcmp(ha, hb, 512) == 0));
		ka = shard_raw_member(a, &ia, &sa, &xa);
		kb = shard_raw_member(b, &ib, &sb, &xb);
		CHECK(ka == kb && (!ka || (sa == sb && xa == xb)));
		ka = shard_data_range(a, &ia, &sa);
		kb = shard_data_range(b, &ib, &sb);
		CHECK(ka == kb && (!ka || sa == sb));
		/* Bodies: read whole (what scan does with .json and .txt), in
		 * blocks (extract, reshard), or skipped. */
		switch (ma.size % 3) {
		case 0:
			ka = shard_read_body(a, &ba, 1 << 16, &ea);
			kb = shard_read_body(b, &bb, 1 << 16, &eb);
			CHECK(ka == kb && (!ka || !strcmp(ea.msg, eb.msg)));
			CHECK(ka || same_bytes(&ba, &bb));
			break;
		case 1:
			CHECK(blocks(a, &ba, &ea) == blocks(b, &bb, &eb));
			CHECK(same_bytes(&ba, &bb));
			break;
		default: break;
		}
	}
out:
	shard_close(a);
	shard_close(b);
	buf_release(&ba);
	buf_release(&bb);
	if (fd >= 0)
		close(fd);
	free(copy);
	return 0;
}
