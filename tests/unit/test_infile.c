/* infile: reads give what pread gives; a read that misses the page cache
 * asks the kernel to read ahead (up to the end of the file); a file system
 * that cannot tell a cached read apart (tmpfs) gets plain reads. */
#include "unit.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/infile.h"

static unsigned char pattern(int64_t i)
{
	return (unsigned char)(i * 7 + i / 4096);
}

/* A file of `size` pattern bytes under dir; its path in path[256]. */
static int make_file(const char *dir, int64_t size, char path[256])
{
	unsigned char b[65536];
	int fd;

	snprintf(path, 256, "%s/hy-infile.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (int64_t off = 0; off < size; off += (int64_t)sizeof(b)) {
		size_t n = size - off < (int64_t)sizeof(b)
			       ? (size_t)(size - off)
			       : sizeof(b);
		for (size_t i = 0; i < n; i++)
			b[i] = pattern(off + (int64_t)i);
		assert_int_equal(pwrite(fd, b, n, off), (ssize_t)n);
	}
	return fd;
}

static const char *tmpdir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

static void check_read(struct infile *f, int64_t off, size_t n, int64_t size)
{
	unsigned char *b = malloc(n);
	size_t got = 0;

	assert_non_null(b);
	while (got < n) {
		ssize_t k =
		    infile_pread(f, b + got, n - got, off + (int64_t)got);
		assert_true(k >= 0);
		if (k == 0)
			break;
		got += (size_t)k;
	}
	assert_int_equal(got, off >= size		? 0
			      : (int64_t)n > size - off ? (size_t)(size - off)
							: n);
	for (size_t i = 0; i < got; i++)
		assert_int_equal(b[i], pattern(off + (int64_t)i));
	free(b);
}

static void test_reads_match(void **state)
{
	const int64_t size = (1 << 20) + 123;
	char path[256];
	struct infile f;
	int fd = make_file(tmpdir(), size, path);

	(void)state;
	assert_true(fd >= 0);
	infile_init(&f, fd, size);
	check_read(&f, 0, 4096, size);
	check_read(&f, 4095, 70000, size);
	check_read(&f, size - 10, 4096, size); /* short: 10 bytes */
	check_read(&f, size, 4096, size);      /* at the end: nothing */
	check_read(&f, size + 5000, 10, size);
	close(fd);
	unlink(path);
}

/* tmpfs answers RWF_NOWAIT with EOPNOTSUPP: reads go on, plainly. */
static void test_tmpfs_plain_reads(void **state)
{
	const int64_t size = 300000;
	char path[256];
	struct infile f;
	int fd;

	(void)state;
	if (access("/dev/shm", W_OK) != 0)
		skip();
	fd = make_file("/dev/shm", size, path);
	assert_true(fd >= 0);
	infile_init(&f, fd, size);
	check_read(&f, 1000, 5000, size);
	assert_int_equal(f.nowait, 0);
	check_read(&f, 200000, 200000, size);
	close(fd);
	unlink(path);
}

static int resident(int fd, int64_t size, int64_t off)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *vec = calloc((size_t)(size / pg + 1), 1);
	void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	int r;

	assert_non_null(vec);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mincore(m, (size_t)size, vec), 0);
	r = vec[off / pg] & 1;
	munmap(m, (size_t)size);
	free(vec);
	return r;
}

/* One 4 KiB read of a file not in the page cache brings in the rest of
 * it (24 MiB, under INFILE_AHEAD), which the kernel's own readahead for
 * such a read (tens of KiB) would not. */
static void test_cold_read_asks_ahead(void **state)
{
	const int64_t size = (int64_t)24 << 20, far = (int64_t)22 << 20;
	char path[256];
	struct infile f;
	struct timespec ts = {0, 20 * 1000 * 1000};
	int fd = make_file(tmpdir(), size, path);
	int i;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fsync(fd), 0);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (resident(fd, size, 0) || resident(fd, size, far)) {
		close(fd); /* this file system keeps its pages */
		unlink(path);
		skip();
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	infile_init(&f, fd, size);
	check_read(&f, 0, 4096, size);
	assert_true(f.nowait);
	assert_int_equal(f.ahead, size); /* asked up to the end, no further */
	for (i = 0; i < 250 && !resident(fd, size, far); i++)
		nanosleep(&ts, NULL);
	assert_true(resident(fd, size, far));
	check_read(&f, far, 65536, size);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_match),
	    cmocka_unit_test(test_tmpfs_plain_reads),
	    cmocka_unit_test(test_cold_read_asks_ahead),
	};
	return cmocka_run_group_tests_name("infile", tests, NULL, NULL);
}
