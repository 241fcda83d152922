/* shard: key grouping as SPEC.md defines it, on tars written by our own
 * writer, tarw (the CLI tests cover foreign writers). */
#include "unit.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include "tar/shard.h"
#include "tar/tarw.h"

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

/* Reads the whole shard at path, ours then libarchive's way or the reverse
 * (libarchive_only), into one line per member and per body; returns the
 * last shard_next result, with its message in err. */
static int walk(const char *path, int libarchive_only, struct buf *log,
		struct hy_err *err)
{
	struct shard *s;
	struct shard_member m;
	struct buf b = {0};
	char line[512];
	int r;

	buf_clear(log);
	shard_use_libarchive(libarchive_only);
	r = shard_open(&s, path, err);
	shard_use_libarchive(0);
	if (r)
		return r;
	while ((r = shard_next(s, &m, err)) > 0) {
		struct archive_entry *e = shard_entry(s);
		int n = snprintf(line, sizeof(line),
				 "%s key=%zu ext=%s size=%lld off=%lld data=%d "
				 "new=%d mode=%o mtime=%lld uname=%s\n",
				 m.path, m.key_len, m.ext, (long long)m.size,
				 (long long)m.offset, m.is_data, m.new_sample,
				 (unsigned)archive_entry_mode(e),
				 (long long)archive_entry_mtime(e),
				 archive_entry_uname(e) ? archive_entry_uname(e)
							: "-");
		assert_int_equal(buf_append(log, line, (size_t)n), 0);
		if (m.is_data) {
			assert_int_equal(shard_read_body(s, &b, 1 << 20, err),
					 HY_OK);
			assert_int_equal(buf_append(log, b.data, b.len), 0);
			assert_int_equal(buf_putc(log, '\n'), 0);
		}
	}
	shard_close(s);
	buf_release(&b);
	return r;
}

/* Our ustar walk hands over to libarchive at the first header it does not
 * take (a pax header for a long name, a symbolic link) and the shard reads
 * exactly as libarchive alone reads it. */
static void test_hands_over_to_libarchive_mid_shard(void **state)
{
	char longname[200];
	struct mem m[] = {
	    {"1.txt", AE_IFREG, "one"},	  {"1.jpg", AE_IFREG, "img1"},
	    {longname, AE_IFREG, "long"}, {"2.txt", AE_IFREG, "two"},
	    {"2.lnk", AE_IFLNK, NULL},	  {"3.json", AE_IFREG, "{}"},
	};
	struct buf ours = {0}, theirs = {0};
	struct hy_err err = {0};
	char *path;

	(void)state;
	memset(longname, 'k', 150); /* no slash: needs a pax header */
	strcpy(longname + 150, ".txt");
	path = write_tar(m, 6);
	assert_int_equal(walk(path, 0, &ours, &err), 0);
	assert_int_equal(walk(path, 1, &theirs, &err), 0);
	assert_non_null(strstr(ours.data, longname));
	assert_non_null(strstr(ours.data, "3.json key=1 ext=json"));
	assert_int_equal(ours.len, theirs.len);
	assert_memory_equal(ours.data, theirs.data, ours.len);
	buf_release(&ours);
	buf_release(&theirs);
	unlink(path);
}

/* Copies path's first n bytes to a new file, with byte `at` set to v
 * (at < 0: none). */
static char *damaged_copy(const char *path, long n, long at, int v)
{
	static char out[64];
	unsigned char *d = malloc((size_t)n);
	FILE *f = fopen(path, "rb");
	int fd;

	assert_non_null(d);
	assert_non_null(f);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (at >= 0)
		d[at] = (unsigned char)v;
	snprintf(out, sizeof(out), "/tmp/hy-unit-damaged-XXXXXX");
	fd = mkstemp(out);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, d, (size_t)n), n);
	close(fd);
	free(d);
	return out;
}

/* A damaged header, a cut body, a missing end: the same error, word for
 * word, whichever reader met it first. */
static void test_same_errors_both_ways(void **state)
{
	const struct mem m[] = {
	    {"1.txt", AE_IFREG, "one"},
	    {"1.json", AE_IFREG, "{}"},
	    {"2.txt", AE_IFREG, "two"},
	};
	const struct {
		long n, at;
		int v;
		const char *says;
	} cases[] = {
	    {10240, 1024 + 148, '7', "Damaged tar archive"}, /* checksum */
	    {1024 + 512 + 100, -1, 0, "runcated"},	     /* cut body */
	    {3 * 1024, -1, 0, "no end-of-archive blocks"},
	};
	struct buf ours = {0}, theirs = {0};
	char *path = write_tar(m, 3);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *bad =
		    damaged_copy(path, cases[i].n, cases[i].at, cases[i].v);
		struct hy_err e1 = {0}, e2 = {0};
		int r1 = walk(bad, 0, &ours, &e1);
		int r2 = walk(bad, 1, &theirs, &e2);

		assert_int_equal(r1, HY_ESHARD);
		assert_int_equal(r2, HY_ESHARD);
		assert_string_equal(e1.msg, e2.msg);
		assert_non_null(strstr(e1.msg, cases[i].says));
		assert_non_null(strstr(e1.msg, bad));
		assert_int_equal(ours.len, theirs.len);
		unlink(bad);
	}
	buf_release(&ours);
	buf_release(&theirs);
	unlink(path);
}

/* A shard rewritten in place while read: when libarchive takes over, the
 * members our walk already handed out are no longer there, which is an
 * error naming the file, not a clean end of the archive. */
static void test_changed_while_read_is_an_error(void **state)
{
	const struct mem m[] = {
	    {"1.txt", AE_IFREG, "one"},
	    {"1.jpg", AE_IFREG, "img"},
	    {"2.lnk", AE_IFLNK, NULL}, /* libarchive takes over here */
	    {"3.json", AE_IFREG, "{}"},
	};
	static const char zeros[512];
	char *path = write_tar(m, 4);
	struct shard *s;
	struct shard_member mem;
	struct hy_err err = {0};
	int fd;

	(void)state;
	assert_int_equal(shard_open(&s, path, &err), HY_OK);
	assert_int_equal(shard_next(s, &mem, &err), 1);
	assert_int_equal(shard_next(s, &mem, &err), 1);
	assert_string_equal(mem.path, "1.jpg");
	assert_int_equal(mem.offset, 1024);
	/* 1.jpg's header becomes an end-of-archive block. */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, zeros, sizeof(zeros), 1024), 512);
	close(fd);
	assert_int_equal(shard_next(s, &mem, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "changed while being read"));
	assert_non_null(strstr(err.msg, path));
	shard_close(s);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_key),
	    cmocka_unit_test(test_groups_members_by_key),
	    cmocka_unit_test(test_key_reappearing_fails_the_shard),
	    cmocka_unit_test(test_oversized_body_is_a_sample_error),
	    cmocka_unit_test(test_missing_and_empty_files),
	    cmocka_unit_test(test_hands_over_to_libarchive_mid_shard),
	    cmocka_unit_test(test_same_errors_both_ways),
	    cmocka_unit_test(test_changed_while_read_is_an_error),
	};
	return cmocka_run_group_tests_name("shard", tests, NULL, NULL);
}
