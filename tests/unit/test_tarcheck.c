/* tarcheck: the strict tar parser of verify, on tars built here block by
 * block (valid ustar, pax records, and each kind of damage) and on tars
 * written by our own writer, which it must accept as our reader does. */
#include "unit.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/buf.h"
#include "tar/shard.h"
#include "tar/tarcheck.h"
#include "tar/tarw.h"

/* A tar under construction, in memory. */
struct t {
	unsigned char d[1 << 16];
	size_t n;
};

static void octal(unsigned char *f, size_t len, unsigned long long v)
{
	/* len - 1 digits and a NUL, as our writer does */
	f[len - 1] = '\0';
	for (size_t i = len - 1; i-- > 0; v >>= 3)
		f[i] = (unsigned char)('0' + (v & 7));
}

static void checksum(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	octal(h + 148, 7, sum);
	h[155] = ' ';
}

/* Appends a ustar header (prefix may be NULL); returns its offset. */
static size_t header(struct t *t, const char *name, const char *prefix,
		     unsigned long long size, char type, const char *link)
{
	unsigned char *h = t->d + t->n;
	size_t at = t->n;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	octal(h + 100, 8, 0644);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 1700000000);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	octal(h + 329, 8, 0);
	octal(h + 337, 8, 0);
	if (prefix)
		memcpy(h + 345, prefix, strlen(prefix));
	checksum(h);
	t->n += 512;
	return at;
}

static void body(struct t *t, const void *p, size_t n)
{
	memcpy(t->d + t->n, p, n);
	t->n += (n + 511) / 512 * 512;
}

/* A regular member with a text body. */
static size_t file(struct t *t, const char *name, const char *text)
{
	size_t at = header(t, name, NULL, strlen(text), '0', NULL);

	body(t, text, strlen(text));
	return at;
}

/* A pax 'x' header holding `records` (already "LEN k=v\n" lines). */
static size_t pax(struct t *t, const char *records)
{
	size_t at = header(t, "PaxHeader/x", NULL, strlen(records), 'x', NULL);

	body(t, records, strlen(records));
	return at;
}

static void end(struct t *t)
{
	t->n += 1024;
}

/* Walks t; returns the result of the last tarcheck_next, with the member
 * count in *n and the message in err. */
static int walk(const struct t *t, int *n, struct hy_err *err)
{
	struct tarcheck *c;
	struct tarcheck_member m;
	int r;

	*n = 0;
	assert_int_equal(tarcheck_open_mem(&c, t->d, t->n, "x.tar", err),
			 HY_OK);
	while ((r = tarcheck_next(c, &m, err)) == 1)
		(*n)++;
	tarcheck_close(c);
	return r;
}

/* Expects the walk to fail with a message containing `want`. */
static void expect_bad(const struct t *t, const char *want)
{
	struct hy_err err = {0};
	int n;

	assert_int_equal(walk(t, &n, &err), HY_ESHARD);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void test_valid_ustar(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct tarcheck *c;
	struct tarcheck_member m;
	struct hy_err err = {0};

	(void)state;
	file(t, "k1.jpg", "jpeg bytes");
	file(t, "k1.json", "{}");
	header(t, "000001.txt", "part1/sub", 0, '0', NULL);
	header(t, "dir/", NULL, 0, '5', NULL);
	header(t, "ln.jpg", NULL, 0, '2', "k1.jpg");
	end(t);
	t->n += 8192; /* record padding: zeros are fine */
	assert_int_equal(tarcheck_open_mem(&c, t->d, t->n, "x.tar", &err),
			 HY_OK);
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_string_equal(m.path, "k1.jpg");
	assert_int_equal(m.size, 10);
	assert_int_equal(m.header_offset, 0);
	assert_int_equal(m.data_offset, 512);
	assert_int_equal(m.type, '0');
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_string_equal(m.path, "k1.json");
	assert_int_equal(m.header_offset, 1024);
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_string_equal(m.path, "part1/sub/000001.txt");
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_int_equal(m.type, '5');
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_int_equal(m.type, '2');
	assert_string_equal(m.linkpath, "k1.jpg");
	assert_int_equal(tarcheck_next(c, &m, &err), 0);
	assert_int_equal(tarcheck_next(c, &m, &err), 0);
	tarcheck_close(c);
	free(t);
}

static void test_pax_long_name_and_size(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct tarcheck *c;
	struct tarcheck_member m;
	struct hy_err err = {0};
	char rec[400], name[200];
	size_t x;

	(void)state;
	memset(name, 'k', 150);
	strcpy(name + 150, ".jpg");
	/* "164 path=" (9) + 154 + "\n" (1) is 164 */
	snprintf(rec, sizeof(rec), "164 path=%s\n", name);
	assert_int_equal(strlen(rec), 164);
	x = pax(t, rec);
	file(t, "kkkk.jpg", "body");
	pax(t, "9 size=3\n27 mtime=1700000000.123456\n");
	header(t, "three", NULL, 99, '0', NULL); /* ustar size overridden */
	body(t, "abc", 3);
	end(t);
	assert_int_equal(tarcheck_open_mem(&c, t->d, t->n, "x.tar", &err),
			 HY_OK);
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_string_equal(m.path, name);
	assert_int_equal(m.header_offset, x);
	assert_int_equal(m.data_offset, x + 1024 + 512);
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_string_equal(m.path, "three");
	assert_int_equal(m.size, 3);
	assert_int_equal(tarcheck_next(c, &m, &err), 0);
	tarcheck_close(c);
	free(t);
}

static void test_bad_checksum(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	(void)state;
	file(t, "a.txt", "a");
	file(t, "b.txt", "b");
	end(t);
	t->d[1024 + 1] ^= 1; /* the name of the second header */
	expect_bad(t, "x.tar: offset 1024: header checksum mismatch");
	free(t);
}

static void test_bad_checksum_in_pax_header(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	size_t x;

	(void)state;
	file(t, "a.txt", "a");
	x = pax(t, "14 path=b.txt\n");
	file(t, "bb.txt", "b");
	end(t);
	t->d[x + 3] ^= 1;
	expect_bad(t, "offset 1024: header checksum mismatch");
	free(t);
}

static void test_truncated(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	char big[3000];

	(void)state;
	memset(big, 'z', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	file(t, "a.txt", "a");
	file(t, "big.jpg", big);
	end(t);
	t->n = 1024 + 512 + 1000; /* inside the body of big.jpg */
	expect_bad(t, "offset 1024: truncated: member 'big.jpg' needs 2999");
	t->n = 1024 + 300; /* inside its header */
	expect_bad(t, "offset 1024: truncated: 300 bytes where a 512-byte");
	free(t);
}

static void test_missing_end_blocks(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	(void)state;
	file(t, "a.txt", "a");
	expect_bad(t, "offset 1024: truncated: no end-of-archive blocks");
	t->n += 512; /* one zero block */
	expect_bad(t, "one zero block where the end of the archive needs two");
	free(t);
}

static void test_lone_zero_block_and_trailing_data(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	(void)state;
	file(t, "a.txt", "a");
	t->n += 512;
	file(t, "b.txt", "b");
	end(t);
	expect_bad(t, "offset 1024: a lone zero block");

	memset(t, 0, sizeof(*t));
	file(t, "a.txt", "a");
	end(t);
	t->n += 2048;
	t->d[t->n - 5] = 'x';
	expect_bad(t, "data after the end-of-archive blocks");
	t->d[t->n - 5] = 0;
	t->n -= 100;
	expect_bad(t, "does not end on a 512-byte block");
	free(t);
}

static void test_not_posix(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	(void)state;
	file(t, "a.txt", "a");
	end(t);
	memcpy(t->d + 257, "ustar  \0", 8); /* GNU tar's old magic */
	checksum(t->d);
	expect_bad(t, "offset 0: GNU tar header");

	memset(t, 0, sizeof(*t));
	header(t, "././@LongLink", NULL, 5, 'L', NULL);
	body(t, "long", 5);
	file(t, "a.txt", "a");
	end(t);
	expect_bad(t, "GNU long name header");

	memset(t, 0, sizeof(*t));
	header(t, "g", NULL, 13, 'g', NULL);
	body(t, "13 path=abcd\n", 13);
	end(t);
	expect_bad(t, "global pax header");

	memset(t, 0, sizeof(*t));
	memcpy(t->d, "not a tar at all", 16);
	t->n = 1024;
	expect_bad(t, "offset 0: not a POSIX ustar header");
	free(t);
}

static void test_bad_pax_records(void **state)
{
	static const struct {
		const char *rec, *want;
	} cases[] = {
	    {"15 path=b.txt\n", "says 15 bytes, 14 are left"},
	    {"14 path=b.txt!", "not ended by a newline"},
	    {"x path=b.txt\n", "does not start with its length"},
	    {"012 path=b\n", "does not start with its length"},
	    {"9 =b.txt\n", "not KEYWORD=VALUE"},
	    {"12 size=1x3\n", "not a decimal number"},
	    {"17 mtime=17000.a\n", "not a time"},
	    {"26 GNU.sparse.numblocks=1\n", "GNU sparse format 0.x"},
	};
	struct t *t = calloc(1, sizeof(*t));

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		memset(t, 0, sizeof(*t));
		pax(t, cases[i].rec);
		file(t, "b.txt", "b");
		end(t);
		expect_bad(t, cases[i].want);
	}
	memset(t, 0, sizeof(*t));
	pax(t, "14 path=b.txt\n");
	end(t);
	expect_bad(t, "pax header followed by the end of the archive");
	memset(t, 0, sizeof(*t));
	pax(t, "14 path=b.txt\n");
	pax(t, "14 path=c.txt\n");
	file(t, "b.txt", "b");
	end(t);
	expect_bad(t, "a second pax header");
	free(t);
}

static void test_non_files_carry_no_body(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	(void)state;
	header(t, "dir/", NULL, 512, '5', NULL);
	t->n += 512;
	end(t);
	expect_bad(t, "directory 'dir/' has a size of 512 bytes");
	memset(t, 0, sizeof(*t));
	header(t, "ln", NULL, 0, '1', NULL);
	end(t);
	expect_bad(t, "hard link 'ln' without a target");
	free(t);
}

static void test_base256_size_and_bad_numbers(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct hy_err err = {0};
	int n;

	(void)state;
	file(t, "a.txt", "abc");
	end(t);
	memset(t->d + 124, 0, 12);
	t->d[124] = 0x80;
	t->d[135] = 3;
	checksum(t->d);
	assert_int_equal(walk(t, &n, &err), 0);
	assert_int_equal(n, 1);
	memcpy(t->d + 124, "0000000009x\0", 12);
	checksum(t->d);
	expect_bad(t, "size field is not a number");
	free(t);
}

static void test_sparse_map(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct tarcheck *c;
	struct tarcheck_member m;
	struct hy_err err = {0};
	/* map: 2 entries (0, 4) and (100, 4); then 8 data bytes */
	static const char map[] = "2\n0\n4\n100\n4\n";
	unsigned char blk[1024] = {0};

	(void)state;
	pax(t, "22 GNU.sparse.major=1\n22 GNU.sparse.minor=0\n"
	       "26 GNU.sparse.name=sp.jpg\n27 GNU.sparse.realsize=104\n");
	header(t, "GNUSparseFile.0/sp.jpg", NULL, 512 + 8, '0', NULL);
	memcpy(blk, map, strlen(map));
	memcpy(blk + 512, "headtail", 8);
	body(t, blk, 520);
	end(t);
	assert_int_equal(tarcheck_open_mem(&c, t->d, t->n, "x.tar", &err),
			 HY_OK);
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_string_equal(m.path, "sp.jpg");
	assert_int_equal(m.size, 104);
	assert_int_equal(m.stored, 520);
	assert_true(m.sparse);
	assert_int_equal(tarcheck_next(c, &m, &err), 0);
	tarcheck_close(c);
	/* data that does not add up to the stored size */
	t->d[1024 + 512 + 4] = '5'; /* the first length: 5 */
	expect_bad(t, "do not add up");
	free(t);
}

static void test_errors_are_sticky(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct tarcheck *c;
	struct tarcheck_member m;
	struct hy_err err = {0};

	(void)state;
	file(t, "a.txt", "a");
	assert_int_equal(tarcheck_open_mem(&c, t->d, t->n, "x.tar", &err),
			 HY_OK);
	assert_int_equal(tarcheck_next(c, &m, &err), 1);
	assert_int_equal(tarcheck_next(c, &m, &err), HY_ESHARD);
	memset(&err, 0, sizeof(err));
	assert_int_equal(tarcheck_next(c, &m, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "no end-of-archive"));
	tarcheck_close(c);
	tarcheck_close(NULL);
	memset(t, 0, sizeof(*t));
	expect_bad(t, "empty file");
	free(t);
}

/* Our writer's output, through a file: every member, the same names as
 * our libarchive reader sees. */
static void test_accepts_our_writer(void **state)
{
	static const char *names[] = {
	    "k1.jpg",
	    "part1/",
	    "part1/ln.jpg",
	    "part1/kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk.json",
	    "part1/\xc3\xa9t\xc3\xa9/k2.txt",
	};
	char path[] = "/tmp/hy-unit-tarcheck-XXXXXX";
	struct tarw *w;
	struct tarcheck *c;
	struct shard *s;
	struct tarcheck_member m;
	struct shard_member sm;
	struct hy_err err = {0};
	int fd = mkstemp(path), n = 0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(tarw_open(&w, fd, path, &err), HY_OK);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct archive_entry *e = archive_entry_new();
		int dir = names[i][strlen(names[i]) - 1] == '/';
		int lnk = strstr(names[i], "ln.") != NULL;

		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, dir   ? AE_IFDIR
					      : lnk ? AE_IFLNK
						    : AE_IFREG);
		archive_entry_set_perm(e, 0644);
		if (lnk)
			archive_entry_set_symlink(e, "../k1.jpg");
		archive_entry_set_size(e, dir || lnk ? 0 : 5);
		assert_int_equal(tarw_header(w, e, &err), HY_OK);
		if (!dir && !lnk)
			assert_int_equal(tarw_data(w, "bytes", 5, &err), HY_OK);
		archive_entry_free(e);
	}
	assert_int_equal(tarw_finish(w, &err), HY_OK);
	tarw_free(w);
	assert_int_equal(tarcheck_open(&c, fd, path, &err), HY_OK);
	assert_int_equal(shard_open(&s, path, &err), HY_OK);
	while (tarcheck_next(c, &m, &err) == 1) {
		assert_int_equal(shard_next(s, &sm, &err), 1);
		assert_string_equal(m.path, names[n]);
		assert_string_equal(m.path, sm.path);
		assert_int_equal(m.size, sm.size);
		n++;
	}
	assert_int_equal(err.code, 0);
	assert_int_equal(n, 5);
	assert_int_equal(shard_next(s, &sm, &err), 0);
	shard_close(s);
	tarcheck_close(c);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_ustar),
	    cmocka_unit_test(test_pax_long_name_and_size),
	    cmocka_unit_test(test_bad_checksum),
	    cmocka_unit_test(test_bad_checksum_in_pax_header),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_missing_end_blocks),
	    cmocka_unit_test(test_lone_zero_block_and_trailing_data),
	    cmocka_unit_test(test_not_posix),
	    cmocka_unit_test(test_bad_pax_records),
	    cmocka_unit_test(test_non_files_carry_no_body),
	    cmocka_unit_test(test_base256_size_and_bad_numbers),
	    cmocka_unit_test(test_sparse_map),
	    cmocka_unit_test(test_errors_are_sticky),
	    cmocka_unit_test(test_accepts_our_writer),
	};
	return cmocka_run_group_tests_name("tarcheck", tests, NULL, NULL);
}
