/* tarw: the tar writer. Its output is read back with libarchive's reader
 * (not ours: the two must agree with a reader we did not write) and
 * looked at byte by byte where the format matters. */
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tar/tarw.h"
#include "util/err.h"
#include "util/infile.h"

static char path[64];
static int fd = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/hy-unit-tarw-XXXXXX");
	fd = mkstemp(path);
	return fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	close(fd);
	fd = -1;
	return unlink(path);
}

/* One member as written or as read back. */
struct mem {
	const char *name;
	const char *body; /* NULL: a folder */
};

static void header(struct tarw *w, const char *name, int64_t size, int dir)
{
	struct archive_entry *e = archive_entry_new();
	struct hy_err err = {0};

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 1700000000, 0);
	assert_int_equal(tarw_header(w, e, &err), HY_OK);
	archive_entry_free(e);
}

/* Writes members m[0..n) to fd; returns tarw_bytes after tarw_finish. */
static int64_t write_members(const struct mem *m, size_t n)
{
	struct tarw *w;
	struct hy_err err = {0};
	int64_t bytes;

	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	for (size_t i = 0; i < n; i++) {
		size_t len = m[i].body ? strlen(m[i].body) : 0;

		header(w, m[i].name, (int64_t)len, !m[i].body);
		if (len)
			assert_int_equal(tarw_data(w, m[i].body, len, &err),
					 HY_OK);
	}
	assert_int_equal(tarw_finish(w, &err), HY_OK);
	bytes = tarw_bytes(w);
	tarw_free(w);
	return bytes;
}

/* Reads the tar at `path` with libarchive and checks it holds exactly
 * want[0..n), names and bodies. */
static void expect_members(const struct mem *want, size_t n)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char body[4096];
	size_t i = 0;
	int r;

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240),
			 ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		la_ssize_t k;

		assert_true(i < n);
		assert_string_equal(archive_entry_pathname(e), want[i].name);
		k = archive_read_data(a, body, sizeof(body) - 1);
		assert_true(k >= 0);
		body[k] = '\0';
		if (want[i].body) {
			assert_int_equal(archive_entry_filetype(e), AE_IFREG);
			assert_string_equal(body, want[i].body);
		} else {
			assert_int_equal(archive_entry_filetype(e), AE_IFDIR);
		}
		i++;
	}
	assert_int_equal(r, ARCHIVE_EOF);
	assert_int_equal(i, n);
	archive_read_free(a);
}

static void read_at(int64_t off, void *p, size_t n)
{
	assert_int_equal(pread(fd, p, n, off), (ssize_t)n);
}

static void test_short_names_are_ustar(void **state)
{
	static const struct mem m[] = {
	    {"k1.jpg", "jpeg bytes"},
	    {"sub/", NULL},
	    {"sub/k1.json", "{\"caption\": \"a\"}"},
	    {"empty.txt", ""},
	};
	unsigned char h[512];
	struct stat st;
	int64_t bytes;

	(void)state;
	bytes = write_members(m, 4);
	assert_int_equal(fstat(fd, &st), 0);
	/* Everything reached the file, padded to whole 10 KiB records. */
	assert_int_equal(st.st_size, bytes);
	assert_int_equal(bytes % 10240, 0);
	read_at(0, h, sizeof(h));
	assert_string_equal((char *)h, "k1.jpg");
	assert_memory_equal(h + 257,
			    "ustar\0"
			    "00",
			    8);
	assert_int_equal(h[156], '0');
	/* Its body follows the one header: no pax header for short names. */
	read_at(512, h, 10);
	assert_memory_equal(h, "jpeg bytes", 10);
	expect_members(m, 4);
}

static void test_long_and_utf8_names_get_pax(void **state)
{
	static const struct mem m[] = {
	    {"dir/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk.json",
	     "long"},
	    {"\xc3\xa9t\xc3\xa9/k2.txt", "utf-8"},
	    {"short.txt", "plain"},
	};
	unsigned char h[512];

	(void)state;
	assert_true(strlen(m[0].name) > 155);
	write_members(m, 3);
	/* A pax extended header ('x') comes before the member. */
	read_at(0, h, sizeof(h));
	assert_int_equal(h[156], 'x');
	assert_memory_equal(h + 257,
			    "ustar\0"
			    "00",
			    8);
	expect_members(m, 3);
}

static void test_body_from_a_file(void **state)
{
	char src[] = "/tmp/hy-unit-tarw-src-XXXXXX";
	int sfd = mkstemp(src);
	struct tarw *w;
	struct infile in;
	struct hy_err err = {0};
	static const struct mem m[] = {{"a.txt", "3456"},
				       {"b.txt", "0123456789"}};

	(void)state;
	assert_true(sfd >= 0);
	assert_int_equal(write(sfd, "0123456789", 10), 10);
	infile_init(&in, sfd, 10);
	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	header(w, "a.txt", 4, 0);
	assert_int_equal(tarw_data_from(w, &in, 3, 4, src, &err), HY_OK);
	header(w, "b.txt", 10, 0);
	assert_int_equal(tarw_data_from(w, &in, 0, 10, src, &err), HY_OK);
	assert_int_equal(tarw_finish(w, &err), HY_OK);
	tarw_free(w);
	expect_members(m, 2);
	/* A source shorter than the body: the source's fault, named. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	header(w, "c.txt", 20, 0);
	assert_int_equal(tarw_data_from(w, &in, 5, 20, src, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, src));
	assert_non_null(strstr(err.msg, "offset 10: truncated"));
	assert_non_null(strstr(err.msg, "15 more bytes"));
	tarw_free(w);
	close(sfd);
	unlink(src);
}

static void test_raw_copy_and_ustar_member(void **state)
{
	char src[] = "/tmp/hy-unit-tarw-src-XXXXXX";
	int sfd;
	struct tarw *w;
	struct infile in;
	struct hy_err err = {0};
	unsigned char h[512], h2[512];
	static const struct mem m[] = {
	    {"one.txt", "first"},
	    {"one.txt", "second body"},
	    {"three.txt", "third"},
	};

	(void)state;
	/* The source: a tar of one member, as our writer makes it. */
	write_members(m, 1);
	sfd = mkstemp(src);
	assert_true(sfd >= 0);
	read_at(0, h, sizeof(h));
	assert_int_equal(write(sfd, h, 512), 512);
	read_at(512, h2, sizeof(h2));
	assert_int_equal(write(sfd, h2, 512), 512);
	assert_int_equal(write(sfd, "second body", 11), 11);
	infile_init(&in, sfd, 1024 + 11);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	/* The whole member verbatim, then its header over another body,
	 * then a member through libarchive again. */
	assert_int_equal(tarw_copy_raw(w, &in, 0, 1024, src, &err), HY_OK);
	assert_int_equal(tarw_ustar_member(w, h, &in, 1024, 11, src, &err),
			 HY_OK);
	header(w, "three.txt", 5, 0);
	assert_int_equal(tarw_data(w, "third", 5, &err), HY_OK);
	assert_int_equal(tarw_finish(w, &err), HY_OK);
	tarw_free(w);
	expect_members(m, 3);
	/* The copied header is the same but for its size and checksum. */
	read_at(1024, h2, sizeof(h2));
	assert_memory_equal(h2, h, 124);
	assert_memory_equal(h2 + 124, "00000000013", 11);
	assert_memory_equal(h2 + 156, h + 156, 512 - 156);
	close(sfd);
	unlink(src);
}

static void test_ustar_member_too_big(void **state)
{
	struct tarw *w;
	struct infile in;
	struct hy_err err = {0};
	unsigned char h[512] = {0};

	(void)state;
	infile_init(&in, fd, 0);
	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	assert_int_equal(tarw_ustar_member(w, h, &in, 0,
					   TARW_USTAR_MAX_SIZE + 1, "in.tar",
					   &err),
			 HY_EFATAL);
	assert_non_null(strstr(err.msg, "in.tar"));
	tarw_free(w);
}

static void test_body_longer_than_header(void **state)
{
	struct tarw *w;
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	header(w, "k.txt", 3, 0);
	assert_int_equal(tarw_data(w, "12345", 5, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "out.tar"));
	assert_non_null(strstr(err.msg, "longer than its header"));
	tarw_free(w);
}

static void test_write_error_is_fatal_and_named(void **state)
{
	struct tarw *w;
	struct hy_err err = {0};
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	size_t n = 1 << 20;
	char *big = calloc(1, n);
	int r;

	(void)state;
	if (full < 0) {
		free(big);
		skip();
	}
	assert_non_null(big);
	assert_int_equal(tarw_open(&w, full, "full.tar", &err), HY_OK);
	header(w, "big.bin", (int64_t)n, 0);
	/* The buffer fills and the first write fails: disk full stops
	 * everything (HY_EFATAL), naming the output. */
	r = tarw_data(w, big, n, &err);
	if (r == HY_OK)
		r = tarw_finish(w, &err);
	assert_int_equal(r, HY_EFATAL);
	assert_non_null(strstr(err.msg, "cannot write 'full.tar'"));
	assert_non_null(strstr(err.msg, "No space left"));
	tarw_free(w);
	free(big);
	close(full);
}

static void test_free_without_finish_writes_nothing_more(void **state)
{
	struct tarw *w;
	struct hy_err err = {0};
	struct stat st;

	(void)state;
	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	/* A header that promises a gigabyte, a body cut short. */
	header(w, "huge.bin", (int64_t)1 << 30, 0);
	assert_int_equal(tarw_data(w, "abc", 3, &err), HY_OK);
	tarw_free(w);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_expect_reserves_and_gives_back(void **state)
{
	static const struct mem m[] = {{"k.txt", "small"}};
	struct tarw *w;
	struct hy_err err = {0};
	struct stat st;

	(void)state;
	assert_int_equal(tarw_open(&w, fd, "out.tar", &err), HY_OK);
	tarw_expect(w, (int64_t)64 << 20);
	header(w, "k.txt", 5, 0);
	assert_int_equal(tarw_data(w, "small", 5, &err), HY_OK);
	assert_int_equal(tarw_finish(w, &err), HY_OK);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, tarw_bytes(w));
	/* What was reserved past the end is given back. */
	assert_true((int64_t)st.st_blocks * 512 < (int64_t)1 << 20);
	tarw_free(w);
	expect_members(m, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_short_names_are_ustar),
	    T(test_long_and_utf8_names_get_pax),
	    T(test_body_from_a_file),
	    T(test_raw_copy_and_ustar_member),
	    T(test_ustar_member_too_big),
	    T(test_body_longer_than_header),
	    T(test_write_error_is_fatal_and_named),
	    T(test_free_without_finish_writes_nothing_more),
	    T(test_expect_reserves_and_gives_back),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
