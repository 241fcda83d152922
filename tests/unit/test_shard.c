/* shard + tarw + keyset: key grouping as SPEC.md defines it, on tars written
 * by our own writer (the CLI tests cover foreign writers). */
#include "unit.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include "keyset.h"
#include "shard.h"
#include "tarw.h"

struct mem {
	const char *path;
	int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK */
	const char *body;
};

static char *write_tar(const struct mem *m, size_t n)
{
	static char path[64];
	struct tarw *w;
	struct hy_err err = {0};
	int fd;

	snprintf(path, sizeof(path), "/tmp/hy-unit-shard-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(tarw_open(&w, fd, path, &err), HY_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = m[i].body ? strlen(m[i].body) : 0;

		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_filetype(e, (unsigned)m[i].type);
		archive_entry_set_perm(e, 0644);
		if (m[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, "target");
		archive_entry_set_size(
		    e, m[i].type == AE_IFREG ? (la_int64_t)len : 0);
		assert_int_equal(tarw_header(w, e, &err), HY_OK);
		if (m[i].type == AE_IFREG && len)
			assert_int_equal(tarw_data(w, m[i].body, len, &err),
					 HY_OK);
		archive_entry_free(e);
	}
	assert_int_equal(tarw_finish(w, &err), HY_OK);
	tarw_free(w);
	close(fd);
	return path;
}

static void test_split_key(void **state)
{
	size_t k;
	const char *ext;

	(void)state;
	shard_split_key("part1/000123.seg.png", &k, &ext);
	assert_int_equal(k, strlen("part1/000123"));
	assert_string_equal(ext, "seg.png");
	shard_split_key("a.b/c", &k, &ext); /* dots in folders do not count */
	assert_int_equal(k, 5);
	assert_string_equal(ext, "");
	shard_split_key("x.json", &k, &ext);
	assert_int_equal(k, 1);
	assert_string_equal(ext, "json");
}

static void test_groups_members_by_key(void **state)
{
	const struct mem m[] = {
	    {"d/", AE_IFDIR, NULL},	      {"d/1.jpg", AE_IFREG, "img"},
	    {"d/1.seg.png", AE_IFREG, "seg"}, {"link", AE_IFLNK, NULL},
	    {"d/1.json", AE_IFREG, "{}"},     {"d/2.txt", AE_IFREG, "cap"},
	};
	char *path = write_tar(m, 6);
	struct shard *s;
	struct shard_member mem;
	struct hy_err err = {0};
	struct buf b = {0};
	int newflags[6], data[6], n = 0, r;

	(void)state;
	assert_int_equal(shard_open(&s, path, &err), HY_OK);
	while ((r = shard_next(s, &mem, &err)) > 0) {
		newflags[n] = mem.new_sample;
		data[n] = mem.is_data;
		if (!strcmp(mem.path, "d/1.seg.png")) {
			assert_int_equal(shard_read_body(s, &b, 100, &err),
					 HY_OK);
			assert_string_equal(b.data, "seg");
		}
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 6);
	assert_int_equal(data[0], 0); /* dir */
	assert_int_equal(data[3], 0); /* symlink */
	assert_int_equal(newflags[1], 1);
	assert_int_equal(newflags[2], 0);
	assert_int_equal(newflags[4], 0); /* the link did not split key 1 */
	assert_int_equal(newflags[5], 1);
	shard_close(s);
	buf_release(&b);
	unlink(path);
}

static void test_key_reappearing_fails_the_shard(void **state)
{
	const struct mem m[] = {
	    {"a.jpg", AE_IFREG, "x"},
	    {"b.jpg", AE_IFREG, "y"},
	    {"a.json", AE_IFREG, "{}"},
	};
	char *path = write_tar(m, 3);
	struct shard *s;
	struct shard_member mem;
	struct hy_err err = {0};
	int r;

	(void)state;
	assert_int_equal(shard_open(&s, path, &err), HY_OK);
	while ((r = shard_next(s, &mem, &err)) > 0)
		;
	assert_int_equal(r, HY_ESHARD);
	assert_non_null(strstr(err.msg, "key 'a' reappears"));
	assert_non_null(strstr(err.msg, path));
	shard_close(s);
	unlink(path);
}

static void test_oversized_body_is_a_sample_error(void **state)
{
	const struct mem m[] = {{"a.json", AE_IFREG, "0123456789"}};
	char *path = write_tar(m, 1);
	struct shard *s;
	struct shard_member mem;
	struct hy_err err = {0};
	struct buf b = {0};

	(void)state;
	assert_int_equal(shard_open(&s, path, &err), HY_OK);
	assert_int_equal(shard_next(s, &mem, &err), 1);
	assert_int_equal(shard_read_body(s, &b, 5, &err), HY_ESAMPLE);
	assert_int_equal(shard_next(s, &mem, &err), 0);
	shard_close(s);
	buf_release(&b);
	unlink(path);
}

static void test_missing_and_empty_files(void **state)
{
	struct shard *s = NULL;
	struct hy_err err = {0};
	char path[] = "/tmp/hy-unit-empty-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_int_equal(shard_open(&s, "/nonexistent/x.tar", &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "/nonexistent/x.tar"));
	assert_null(s);
	close(fd);
	assert_int_equal(shard_open(&s, path, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "empty file"));
	unlink(path);
}

static void test_keyset_grows(void **state)
{
	struct keyset ks = {0};
	char k[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(k, sizeof(k), "key%d", i);
		assert_int_equal(keyset_add(&ks, k, (size_t)n), 1);
	}
	assert_int_equal(keyset_add(&ks, "key42", 5), 0);
	assert_true(keyset_contains(&ks, "key4999", 7));
	assert_false(keyset_contains(&ks, "key5000", 7));
	assert_false(keyset_contains(&ks, "key4", 3)); /* prefix only */
	keyset_release(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_key),
	    cmocka_unit_test(test_groups_members_by_key),
	    cmocka_unit_test(test_key_reappearing_fails_the_shard),
	    cmocka_unit_test(test_oversized_body_is_a_sample_error),
	    cmocka_unit_test(test_missing_and_empty_files),
	    cmocka_unit_test(test_keyset_grows),
	};
	return cmocka_run_group_tests_name("shard", tests, NULL, NULL);
}
