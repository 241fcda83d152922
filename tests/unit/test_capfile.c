/* capfile: the {"KEY.json": text} stage file read back as Python's json
 * reads it, whether the file is laid out as our writer lays it out (decoded
 * in place, no tree) or otherwise (the whole-tree reader). */
#include "unit.h"

#include <unistd.h>

#include "formats/capfile.h"
#include "util/pyjson.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/hy-unit-capfile-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return unlink(path);
}

static void put(const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Loads text; expects HY_OK and n entries. */
static void load(struct capfile_in *in, const char *text, size_t n)
{
	struct hy_err err = {0};

	put(text, strlen(text));
	if (capfile_load(in, path, &err) != HY_OK)
		fail_msg("'%s': %s", text, err.msg);
	assert_int_equal(in->n, n);
}

static void expect_entry(const struct capfile_in *in, size_t i,
			 const char *name, const char *text, size_t len)
{
	assert_string_equal(in->v[i].name, name);
	assert_int_equal(in->v[i].text_len, len);
	assert_memory_equal(in->v[i].text, text, len);
	assert_int_equal(in->v[i].text[len], '\0');
}

/* What our writer lays out is decoded in place (arena set), entries in
 * file order. */
static void test_writer_layout_in_place(void **state)
{
	struct capfile cf = {0};
	struct capfile_in in;
	struct hy_err err = {0};
	char key[32], text[64], name[40];

	(void)state;
	capfile_begin(&cf);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "%09d", i);
		snprintf(text, sizeof(text), "caf\xc3\xa9 \"%d\"\n\ttab", i);
		assert_int_equal(capfile_add(&cf, key, 9, text, strlen(text)),
				 0);
	}
	assert_int_equal(capfile_end(&cf), 0);
	put(cf.out.data, cf.out.len);
	capfile_release(&cf);
	assert_int_equal(capfile_load(&in, path, &err), HY_OK);
	assert_int_equal(in.n, 3000);
	assert_non_null(in.arena);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "%09d.json", i);
		snprintf(text, sizeof(text), "caf\xc3\xa9 \"%d\"\n\ttab", i);
		expect_entry(&in, (size_t)i, name, text, strlen(text));
	}
	capfile_in_release(&in);
}

static void test_escapes(void **state)
{
	struct capfile_in in;

	(void)state;
	load(
	    &in,
	    "{\n    \"a.json\": \"x\",\n    \"b.json\": \"caf\\u00e9 "
	    "\\ud83d\\ude00\",\n    \"c.json\": \"lone \\ud800!\",\n    "
	    "\"d.json\": \"a\\u0000b\",\n    \"e.json\": \"\\\\\\\"\\/\\n\"\n}",
	    5);
	assert_non_null(in.arena);
	expect_entry(&in, 0, "a.json", "x", 1);
	expect_entry(&in, 1, "b.json", "caf\xc3\xa9 \xf0\x9f\x98\x80", 10);
	expect_entry(&in, 2, "c.json", "lone \xef\xbf\xbd!", 9);
	expect_entry(&in, 3, "d.json", "a\0b", 3);
	expect_entry(&in, 4, "e.json", "\\\"/\n", 4);
	capfile_in_release(&in);
	/* A NUL in a name stays the noncharacter cJSON carries it as, as
	 * the whole-tree reader always kept it. */
	load(&in, "{\"k\\u0000.json\": \"t\"}", 1);
	expect_entry(&in, 0, "k\xf4\x8f\xbf\xbf.json", "t", 1);
	capfile_in_release(&in);
}

static void test_layouts(void **state)
{
	struct capfile_in in;

	(void)state;
	load(&in, "{}", 0);
	capfile_in_release(&in);
	load(&in, " \r\n\t{ \n } \n", 0);
	capfile_in_release(&in);
	load(&in, "{\"a.json\":\"1\",\"b.json\" :\t\"2\"}", 2);
	assert_non_null(in.arena);
	expect_entry(&in, 0, "a.json", "1", 1);
	expect_entry(&in, 1, "b.json", "2", 1);
	capfile_in_release(&in);
}

/* Python keeps a duplicate name where it first appeared, with its last
 * value. */
static void test_duplicates(void **state)
{
	struct capfile_in in;

	(void)state;
	load(&in, "{\"a.json\": \"1\", \"b.json\": \"2\", \"a.json\": \"3\"}",
	     2);
	assert_null(in.arena);
	expect_entry(&in, 0, "a.json", "3", 1);
	expect_entry(&in, 1, "b.json", "2", 1);
	capfile_in_release(&in);
}

static void expect_bad(const char *text, size_t len, const char *has)
{
	struct capfile_in in;
	struct hy_err err = {0};

	put(text, len);
	assert_int_equal(capfile_load(&in, path, &err), HY_ESHARD);
	if (!strstr(err.msg, has))
		fail_msg("'%s': '%s' lacks '%s'", text, err.msg, has);
	assert_int_equal(in.n, 0);
	assert_null(in.v);
}

static void test_bad(void **state)
{
	(void)state;
	expect_bad("", 0, "not a JSON object");
	expect_bad("[]", 2, "not a JSON object");
	expect_bad("{\"a.json\": \"x\",}", 16, "not a JSON object");
	expect_bad("{\"a.json\": \"x\"} x", 17, "not a JSON object");
	expect_bad("{\"a.json\": \"\\q\"}", 16, "not a JSON object");
	expect_bad("{\"a.json\": \"x\"", 14, "not a JSON object");
	expect_bad("{\"a.json\": 1}", 13, "entry 'a.json' is not a string");
	expect_bad("{\"a.json\": \"x\", \"b.json\": [\"y\"]}", 32,
		   "entry 'b.json' is not a string");
}

/* The whole-tree reading, as capfile_load did it for every file: the
 * reference the in-place reading must agree with. -1: not an object of
 * strings. */
static long tree_read(const char *text, size_t len, struct capentry *v,
		      size_t max, struct buf *names, struct buf *texts)
{
	struct buf scratch = {0}, t = {0};
	struct hy_err err;
	char *copy = malloc(len + 1);
	cJSON *root, *it;
	long n = 0;

	assert_non_null(copy);
	memcpy(copy, text, len);
	copy[len] = '\0';
	root = pyjson_parse(copy, len, &scratch, &err);
	if (!cJSON_IsObject(root)) {
		n = -1;
		goto out;
	}
	cJSON_ArrayForEach(it, root)
	{
		if (!cJSON_IsString(it) || !it->string) {
			n = -1;
			goto out;
		}
		assert_int_equal(pyjson_string(it, &t), 0);
		if ((size_t)n < max) {
			/* offsets for now: the buffers move as they grow */
			v[n].name = (char *)(uintptr_t)names->len;
			v[n].text = (char *)(uintptr_t)texts->len;
			v[n].text_len = t.len;
		}
		buf_append(names, it->string, strlen(it->string) + 1);
		buf_append(texts, t.data ? t.data : "", t.len);
		buf_putc(texts, '\0');
		n++;
	}
out:
	cJSON_Delete(root);
	buf_release(&scratch);
	buf_release(&t);
	free(copy);
	return n;
}

/* Files mutated at random from one in our layout: each reads the same as
 * the whole tree reads it (result, names, texts), whichever way it goes. */
static void test_same_as_tree(void **state)
{
	static const char base[] =
	    "{\n    \"000000001.json\": \"A man, \\u00e9t\\u00e9\",\n"
	    "    \"000000002.json\": \"x\\ud83d\\ude00y\\u0000z\",\n"
	    "    \"000000003.json\": \"tab\\t\\\"q\\\" \\\\ end\"\n}";
	static const char alphabet[] = "\"\\,:{} \n\tu0dD8fx/";
	unsigned long long seed = 88172645463325252ull;
	char text[sizeof(base) + 8];
	struct capentry ref[16];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		struct buf names = {0}, texts = {0};
		struct capfile_in in;
		struct hy_err err = {0};
		size_t len = sizeof(base) - 1;
		long n;
		int ret;

		memcpy(text, base, len);
		for (int m = 0; m < 1 + round % 3; m++) {
			size_t at, c;
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			at = (size_t)(seed % len);
			c = (size_t)((seed >> 32) % (sizeof(alphabet) - 1));
			text[at] = alphabet[c];
		}
		n = tree_read(text, len, ref, 16, &names, &texts);
		put(text, len);
		ret = capfile_load(&in, path, &err);
		if ((n < 0) != (ret != HY_OK))
			fail_msg("'%.*s': tree %ld, load %d (%s)", (int)len,
				 text, n, ret, err.msg);
		for (long i = 0; ret == HY_OK && i < n && i < 16; i++) {
			const char *nm = names.data + (uintptr_t)ref[i].name;
			const char *tx = texts.data + (uintptr_t)ref[i].text;
			assert_string_equal(in.v[i].name, nm);
			assert_int_equal(in.v[i].text_len, ref[i].text_len);
			assert_memory_equal(in.v[i].text, tx, ref[i].text_len);
		}
		if (ret == HY_OK)
			assert_int_equal(in.n, (size_t)n);
		capfile_in_release(&in);
		buf_release(&names);
		buf_release(&texts);
	}
}

static void test_capfile_layout_matches_json_dump_indent4(void **state)
{
	struct capfile c = {0};

	(void)state;
	capfile_begin(&c);
	assert_int_equal(capfile_end(&c), 0);
	assert_string_equal(c.out.data, "{}");
	capfile_begin(&c);
	assert_int_equal(capfile_add(&c, "k1", 2, "one", 3), 0);
	assert_int_equal(capfile_add(&c, "dir/k2", 6, "t\"wo", 4), 0);
	assert_int_equal(capfile_end(&c), 0);
	assert_string_equal(c.out.data, "{\n    \"k1.json\": \"one\",\n"
					"    \"dir/k2.json\": \"t\\\"wo\"\n}");
	capfile_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capfile_layout_matches_json_dump_indent4),
	    cmocka_unit_test_setup_teardown(test_writer_layout_in_place, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layouts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_as_tree, setup, teardown),
	};
	return cmocka_run_group_tests_name("capfile", tests, NULL, NULL);
}
