/* fates: the per-shard record of what generate did with each face sample
 * (written atomically, read back, looked up by key). */
#include "unit.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/fates.h"
#include "util/outfile.h"

UNIT_TMPDIR(dir, "fates");

/* dir/name, created. */
static char *shard_dir(const char *name)
{
	char *p = path_join(dir, name);

	assert_non_null(p);
	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

static void put_file(const char *d, const char *text)
{
	char *p = path_join(d, FATES_FILE);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	free(p);
}

static void add(struct fates *f, const char *key, enum fate fa,
		const char *reason)
{
	assert_int_equal(fates_add(f, key, strlen(key), fa, reason), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(fate_name(FATE_SYNTHETIC), "synthetic");
	assert_string_equal(fate_name(FATE_BLURRED), "blurred");
	assert_string_equal(fate_name(FATE_DROPPED), "dropped");
	assert_string_equal(fate_name(FATE_KEPT), "kept");
}

static void test_round_trip(void **state)
{
	struct fates f = {0}, g;
	struct hy_err err = {0};
	char *d = shard_dir("00000001");
	const struct fate_entry *e;

	(void)state;
	add(&f, "000000017", FATE_SYNTHETIC, NULL);
	add(&f, "part1/000000003", FATE_BLURRED, "LLM declined: \"no\"\n\tok");
	add(&f, "000000002", FATE_DROPPED, "image server refused: caf\xc3\xa9");
	add(&f, "000000009", FATE_KEPT, "not English");
	assert_int_equal(fates_add(&f, "000000005xyz", 9, FATE_SYNTHETIC, NULL),
			 0);
	assert_int_equal(fates_write(&f, d, 1, &err), HY_OK);
	fates_release(&f);
	assert_int_equal(f.n, 0);
	assert_null(f.v);

	assert_int_equal(fates_load(&g, dir, "00000001", &err), HY_OK);
	assert_int_equal(g.n, 5);
	/* shard order kept */
	assert_string_equal(g.v[0].key, "000000017");
	assert_string_equal(g.v[1].key, "part1/000000003");
	assert_string_equal(g.v[2].key, "000000002");
	assert_string_equal(g.v[3].key, "000000009");
	assert_string_equal(g.v[4].key, "000000005");
	assert_int_equal(g.v[0].fate, FATE_SYNTHETIC);
	assert_null(g.v[0].reason);
	assert_int_equal(g.v[1].fate, FATE_BLURRED);
	assert_string_equal(g.v[1].reason, "LLM declined: \"no\"\n\tok");
	assert_int_equal(g.v[2].fate, FATE_DROPPED);
	assert_string_equal(g.v[2].reason, "image server refused: caf\xc3\xa9");
	assert_int_equal(g.v[3].fate, FATE_KEPT);
	e = fates_find(&g, "part1/000000003", 15);
	assert_non_null(e);
	assert_int_equal(e->fate, FATE_BLURRED);
	e = fates_find(&g, "000000002", 9);
	assert_non_null(e);
	assert_int_equal(e->fate, FATE_DROPPED);
	assert_null(fates_find(&g, "000000003", 9));
	assert_null(fates_find(&g, "part1", 5));
	assert_null(fates_find(&g, "", 0));
	fates_release(&g);
	free(d);
}

/* A key in Latin-1 (a tar made on an old system): JSON cannot carry its
 * bytes, key_hex does, and reshard must find the dropped sample. */
static void test_non_utf8_key(void **state)
{
	struct fates f = {0}, g;
	struct hy_err err = {0};
	char *d = shard_dir("00000002");
	const struct fate_entry *e;

	(void)state;
	add(&f, "caf\xe9/0001", FATE_DROPPED, "no prompt");
	add(&f, "caf\xc3\xa9/0002", FATE_BLURRED, "no prompt");
	assert_int_equal(fates_write(&f, d, 0, &err), HY_OK);
	fates_release(&f);
	assert_int_equal(fates_load(&g, dir, "00000002", &err), HY_OK);
	assert_int_equal(g.n, 2);
	e = fates_find(&g, "caf\xe9/0001", 9);
	assert_non_null(e);
	assert_int_equal(e->fate, FATE_DROPPED);
	e = fates_find(&g, "caf\xc3\xa9/0002", 10);
	assert_non_null(e);
	assert_int_equal(e->fate, FATE_BLURRED);
	fates_release(&g);
	put_file(d, "{\"samples\": [{\"key\": \"x\", \"key_hex\": \"6\", "
		    "\"fate\": \"kept\"}]}");
	assert_int_equal(fates_load(&g, dir, "00000002", &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "key_hex"));
	free(d);
}

static void test_written_atomically(void **state)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir("s");
	DIR *dd;
	struct dirent *de;
	int files = 0;

	(void)state;
	add(&f, "k", FATE_KEPT, "r");
	assert_int_equal(fates_write(&f, d, 0, &err), HY_OK);
	/* a second write replaces the first */
	add(&f, "k2", FATE_DROPPED, "r2");
	assert_int_equal(fates_write(&f, d, 0, &err), HY_OK);
	fates_release(&f);
	dd = opendir(d);
	assert_non_null(dd);
	while ((de = readdir(dd))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strcmp(de->d_name, FATES_FILE))
			fail_msg("left behind: %s", de->d_name);
		files++;
	}
	closedir(dd);
	assert_int_equal(files, 1);
	assert_int_equal(fates_load(&f, dir, "s", &err), HY_OK);
	assert_int_equal(f.n, 2);
	fates_release(&f);
	free(d);
}

static void test_write_to_missing_dir_is_fatal(void **state)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = path_join(dir, "no/such");

	(void)state;
	add(&f, "k", FATE_KEPT, NULL);
	assert_int_equal(fates_write(&f, d, 0, &err), HY_EFATAL);
	assert_int_equal(err.code, HY_EFATAL);
	fates_release(&f);
	free(d);
}

static void test_empty_record(void **state)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir("empty");

	(void)state;
	assert_int_equal(fates_write(&f, d, 0, &err), HY_OK);
	assert_int_equal(fates_load(&f, dir, "empty", &err), HY_OK);
	assert_int_equal(f.n, 0);
	assert_null(fates_find(&f, "k", 1));
	fates_release(&f);
	free(d);
}

static void test_missing_file_is_no_entries(void **state)
{
	struct fates f;
	struct hy_err err = {0};
	char *d = shard_dir("nothing");

	(void)state;
	memset(&f, 0xab, sizeof(f)); /* fates_load initialises */
	assert_int_equal(fates_load(&f, dir, "nothing", &err), HY_OK);
	assert_int_equal(f.n, 0);
	assert_null(fates_find(&f, "k", 1));
	fates_release(&f);
	/* no shard folder at all */
	assert_int_equal(fates_load(&f, dir, "never-made", &err), HY_OK);
	assert_int_equal(f.n, 0);
	fates_release(&f);
	free(d);
}

static void test_prefix_keys(void **state)
{
	static const char *const keys[] = {"ab", "a",  "abc", "b",   "a/b",
					   "a/", "aa", "a0",  "ab/c"};
	size_t nk = sizeof(keys) / sizeof(*keys);
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir("p");

	(void)state;
	for (size_t i = 0; i < nk; i++)
		add(&f, keys[i], (enum fate)(i % 4), NULL);
	assert_int_equal(fates_write(&f, d, 0, &err), HY_OK);
	fates_release(&f);
	assert_int_equal(fates_load(&f, dir, "p", &err), HY_OK);
	assert_int_equal(f.n, nk);
	for (size_t i = 0; i < nk; i++) {
		const struct fate_entry *e =
		    fates_find(&f, keys[i], strlen(keys[i]));
		if (!e || strcmp(e->key, keys[i]))
			fail_msg("%s not found", keys[i]);
		assert_int_equal(e->fate, (enum fate)(i % 4));
	}
	/* a key given by length inside a longer string */
	assert_string_equal(fates_find(&f, "abcdef", 2)->key, "ab");
	assert_string_equal(fates_find(&f, "a/bc", 3)->key, "a/b");
	assert_string_equal(fates_find(&f, "a.json", 1)->key, "a");
	assert_null(fates_find(&f, "abcd", 4));
	assert_null(fates_find(&f, "a/bc", 4));
	assert_null(fates_find(&f, "c", 1));
	assert_null(fates_find(&f, "A", 1));
	fates_release(&f);
	free(d);
}

static void test_many_keys(void **state)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir("many");
	char k[32];

	(void)state;
	/* shuffled order, more than one growth of the array */
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "%09u", i * 7919 % 1000 * 2);
		add(&f, k, (enum fate)(i % 4), NULL);
	}
	assert_int_equal(fates_write(&f, d, 0, &err), HY_OK);
	fates_release(&f);
	assert_int_equal(fates_load(&f, dir, "many", &err), HY_OK);
	assert_int_equal(f.n, 1000);
	for (unsigned i = 0; i < 2000; i++) {
		const struct fate_entry *e;
		snprintf(k, sizeof(k), "%09u", i);
		e = fates_find(&f, k, strlen(k));
		if (i % 2 ? e != NULL : e == NULL)
			fail_msg("%s: found %d", k, e != NULL);
		if (e)
			assert_string_equal(e->key, k);
	}
	fates_release(&f);
	free(d);
}

static void expect_bad(const char *name, const char *text, const char *has)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir(name);

	put_file(d, text);
	assert_int_equal(fates_load(&f, dir, name, &err), HY_ESHARD);
	assert_int_equal(err.code, HY_ESHARD);
	/* the message names the file */
	if (!strstr(err.msg, d) || !strstr(err.msg, FATES_FILE))
		fail_msg("message does not name the file: %s", err.msg);
	if (!strstr(err.msg, has))
		fail_msg("message '%s' lacks '%s'", err.msg, has);
	assert_int_equal(f.n, 0);
	assert_null(f.v);
	assert_null(f.sorted);
	free(d);
}

static void test_malformed_is_a_shard_error(void **state)
{
	(void)state;
	expect_bad("m1", "", "samples");
	expect_bad("m2", "not json", "samples");
	expect_bad("m3", "{\"samples\": [", "samples");
	expect_bad("m4", "[]", "samples");
	expect_bad("m5", "{\"samples\": {}}", "samples");
	expect_bad("m6",
		   "{\"samples\": [{\"key\": \"a\", \"fate\": \"kept\"},"
		   " {\"key\": \"b\", \"fate\": \"burned\"}]}",
		   "entry 1");
	expect_bad("m7", "{\"samples\": [{\"fate\": \"kept\"}]}", "entry 0");
	expect_bad("m8", "{\"samples\": [{\"key\": 3, \"fate\": \"kept\"}]}",
		   "entry 0");
	expect_bad("m9", "{\"samples\": [{\"key\": \"a\"}]}", "entry 0");
	expect_bad("m10", "{\"samples\": [{\"key\": \"a\", \"fate\": 1}]}",
		   "entry 0");
	expect_bad("m11", "{\"samples\": [\"a\"]}", "entry 0");
	expect_bad("m12",
		   "{\"samples\": [{\"key\": \"a\", \"fate\": "
		   "\"Kept\"}]}",
		   "unknown fate");
	/* laid out as fates_write does (one entry a line, each parsed
	 * alone): the same errors as the whole tree gives */
	expect_bad("m13",
		   "{\"samples\": [\n  {\"key\": \"a\", \"fate\": \"kept\"},"
		   "\n  {\"key\": \"b\", \"fate\": \"burned\"}\n]}\n",
		   "entry 1");
	expect_bad(
	    "m14",
	    "{\"samples\": [\n  {\"key\": \"a\", \"fate\": \"kept\"\n]}\n",
	    "samples");
	expect_bad("m15",
		   "{\"samples\": [\n  {\"key\": \"a\", \"fate\": \"kept\"}"
		   "\n  {\"key\": \"b\", \"fate\": \"kept\"}\n]}\n",
		   "samples");
	expect_bad("m16",
		   "{\"samples\": [\n  {\"key\": \"a\", \"fate\": \"kept\"},"
		   "\n]}\n",
		   "samples");
}

/* Many samples left over for one reason hold it once. */
static void test_reasons_shared(void **state)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir("shared");
	char k[32];

	(void)state;
	for (unsigned i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "%09u", i);
		add(&f, k, FATE_BLURRED, i % 2 ? "no prompt" : "not English");
	}
	assert_ptr_equal(f.v[0].reason, f.v[2].reason);
	assert_ptr_equal(f.v[1].reason, f.v[299].reason);
	assert_int_equal(fates_write(&f, d, 0, &err), HY_OK);
	fates_release(&f);
	assert_int_equal(fates_load(&f, dir, "shared", &err), HY_OK);
	assert_int_equal(f.n, 300);
	assert_string_equal(f.v[298].reason, "not English");
	assert_string_equal(f.v[299].reason, "no prompt");
	assert_ptr_equal(f.v[1].reason, f.v[299].reason);
	fates_release(&f);
	free(d);
}

static void test_unreadable_is_a_shard_error(void **state)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir("isdir");
	char *p = path_join(d, FATES_FILE);

	(void)state;
	/* a directory where the file should be: fopen succeeds, read fails */
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(fates_load(&f, dir, "isdir", &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_int_equal(f.n, 0);
	free(p);
	free(d);
	/* the shard "folder" is a file */
	d = path_join(dir, "afile");
	p = path_join(dir, FATES_FILE);
	put_file(dir, "x");
	assert_int_equal(rename(p, d), 0);
	assert_int_equal(fates_load(&f, dir, "afile", &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "afile"));
	assert_non_null(strstr(err.msg, "cannot read"));
	free(p);
	free(d);
}

static void test_reason_is_optional_on_load(void **state)
{
	struct fates f = {0};
	struct hy_err err = {0};
	char *d = shard_dir("r");

	(void)state;
	put_file(d, "{\"samples\": [{\"key\": \"a\", \"fate\": \"blurred\", "
		    "\"reason\": null}, {\"fate\": \"dropped\", \"key\": "
		    "\"b\", \"extra\": 1, \"reason\": \"x\"}], \"v\": 2}");
	assert_int_equal(fates_load(&f, dir, "r", &err), HY_OK);
	assert_int_equal(f.n, 2);
	assert_null(f.v[0].reason);
	assert_string_equal(f.v[1].reason, "x");
	assert_int_equal(fates_find(&f, "b", 1)->fate, FATE_DROPPED);
	fates_release(&f);
	free(d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    T(test_non_utf8_key),
	    T(test_round_trip),
	    T(test_written_atomically),
	    T(test_write_to_missing_dir_is_fatal),
	    T(test_empty_record),
	    T(test_missing_file_is_no_entries),
	    T(test_prefix_keys),
	    T(test_many_keys),
	    T(test_malformed_is_a_shard_error),
	    T(test_reasons_shared),
	    T(test_unreadable_is_a_shard_error),
	    T(test_reason_is_optional_on_load),
	};
	return cmocka_run_group_tests_name("fates", tests, NULL, NULL);
}
