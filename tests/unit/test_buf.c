/* buf: the growable byte buffer every hot loop reuses, and buf_read_file,
 * the one whole-file reader. */
#include "unit.h"

#include <errno.h>
#include <unistd.h>

#include "util/buf.h"

static void test_append_keeps_nul_terminated(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(buf_putc(&b, 'd'), 0);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "abcd");
	/* Binary content: a NUL inside counts, the terminator is extra. */
	assert_int_equal(buf_append(&b, "e\0f", 3), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "abcde\0f", 8);
	assert_true(b.cap > b.len);
	buf_release(&b);
}

static void test_empty_append_on_zeroed_buffer(void **state)
{
	struct buf b = {0};

	(void)state;
	/* n = 0 with p = NULL: the buffer still gets its terminator. */
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void test_clear_keeps_memory(void **state)
{
	struct buf b = {0};
	char *data;
	size_t cap;

	(void)state;
	buf_clear(&b); /* a zeroed buffer: nothing to clear, no crash */
	assert_null(b.data);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	data = b.data;
	cap = b.cap;
	buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	/* Refilling within the capacity does not reallocate. */
	assert_int_equal(buf_append(&b, "again", 5), 0);
	assert_ptr_equal(b.data, data);
	buf_release(&b);
}

static void test_release_zeroes_and_allows_reuse(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_append(&b, "x", 1), 0);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	buf_release(&b); /* twice: harmless */
	assert_int_equal(buf_append(&b, "y", 1), 0);
	assert_string_equal(b.data, "y");
	buf_release(&b);
}

static void test_growth_doubles_from_256(void **state)
{
	struct buf b = {0};

	(void)state;
	/* One spare byte for the terminator: 255 fit the first 256. */
	assert_int_equal(buf_next_cap(&b, 0), 256);
	assert_int_equal(buf_next_cap(&b, 255), 256);
	assert_int_equal(buf_next_cap(&b, 256), 512);
	assert_int_equal(buf_next_cap(&b, 1000), 1024);
	assert_int_equal(buf_reserve(&b, 300), 0);
	assert_int_equal(b.cap, 512);
	assert_int_equal(b.len, 0);
	/* Already room: the capacity as it is, nothing reallocated. */
	assert_int_equal(buf_next_cap(&b, 511), 512);
	assert_int_equal(buf_next_cap(&b, 512), 1024);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 5000);
	assert_int_equal(b.cap, 8192);
	assert_int_equal(b.data[4999], 'a' + 4999 % 26);
	assert_int_equal(b.data[5000], '\0');
	buf_release(&b);
}

static void test_overflow_is_refused_not_wrapped(void **state)
{
	struct buf b = {0};
	char c = 'z';

	(void)state;
	assert_int_equal(buf_append(&b, "ab", 2), 0);
	/* len + extra + 1 wraps around: 0, and buf_reserve fails untouched. */
	assert_int_equal(buf_next_cap(&b, (size_t)-1), 0);
	assert_int_equal(buf_next_cap(&b, (size_t)-1 - 2), 0);
	/* No wrap, but no power of two from 256 holds it. */
	assert_int_equal(buf_next_cap(&b, (size_t)-1 / 2 + 10), 0);
	assert_int_equal(buf_reserve(&b, (size_t)-1), -1);
	assert_int_equal(buf_append(&b, &c, (size_t)-1), -1);
	assert_int_equal(b.len, 2);
	assert_string_equal(b.data, "ab");
	buf_release(&b);
}

static char *temp_file(const char *data, size_t n)
{
	char *path = strdup("/tmp/hy_test_buf_XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

static void test_reads_whole_file_nul_terminated(void **state)
{
	struct buf b = {0};
	char *path = temp_file("ab\0cd", 5);

	(void)state;
	assert_int_equal(buf_read_file(&b, path, 0, NULL), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "ab\0cd", 6);
	/* exactly its size: no power-of-two rounding */
	assert_int_equal(b.cap, 6);
	/* read again into the same buffer: content replaced */
	assert_int_equal(buf_read_file(&b, path, 0, NULL), 0);
	assert_int_equal(b.len, 5);
	unlink(path);
	free(path);
	buf_release(&b);
}

static void test_large_file(void **state)
{
	size_t n = 300000;
	char *data = malloc(n);
	struct buf b = {0};
	char *path;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7);
	path = temp_file(data, n);
	assert_int_equal(buf_read_file(&b, path, 0, NULL), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, data, n);
	assert_int_equal(b.data[n], 0);
	unlink(path);
	free(path);
	free(data);
	buf_release(&b);
}

static void test_empty_file_gives_empty_string(void **state)
{
	struct buf b = {0};
	char *path = temp_file("", 0);

	(void)state;
	assert_int_equal(buf_read_file(&b, path, 0, NULL), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	unlink(path);
	free(path);
	buf_release(&b);
}

static void test_missing_file_names_it(void **state)
{
	struct buf b = {0};
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(buf_read_file(&b, "/nonexistent/x.json", 0, &err),
			 HY_ESHARD);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, "cannot read '/nonexistent/x.json'"));
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_over_max_is_efbig(void **state)
{
	struct buf b = {0};
	char *path = temp_file("0123456789", 10);

	(void)state;
	assert_int_equal(buf_read_file(&b, path, 10, NULL), 0);
	assert_int_equal(buf_read_file(&b, path, 9, NULL), HY_ESHARD);
	assert_int_equal(errno, EFBIG);
	unlink(path);
	free(path);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_keeps_nul_terminated),
	    cmocka_unit_test(test_empty_append_on_zeroed_buffer),
	    cmocka_unit_test(test_clear_keeps_memory),
	    cmocka_unit_test(test_release_zeroes_and_allows_reuse),
	    cmocka_unit_test(test_growth_doubles_from_256),
	    cmocka_unit_test(test_overflow_is_refused_not_wrapped),
	    cmocka_unit_test(test_reads_whole_file_nul_terminated),
	    cmocka_unit_test(test_large_file),
	    cmocka_unit_test(test_empty_file_gives_empty_string),
	    cmocka_unit_test(test_missing_file_names_it),
	    cmocka_unit_test(test_over_max_is_efbig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
