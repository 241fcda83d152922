/* meta: KEY.json field extraction and lone-surrogate repair. */
#include "unit.h"

#include "meta.h"

static int parse(struct meta *m, const char *json, struct hy_err *err)
{
	char *copy = strdup(json);
	int r = meta_parse(m, copy, strlen(copy), err);

	free(copy);
	return r;
}

static void test_faces_counted_from_list(void **state)
{
	struct meta m = {0};
	struct hy_err err;

	(void)state;
	assert_int_equal(
	    parse(&m, "{\"face_bboxes\": [[0,0,1,1],[0,0,0.5,0.5]]}", &err),
	    HY_OK);
	assert_int_equal(m.faces, 2);
	assert_int_equal(parse(&m, "{\"face_bboxes\": []}", &err), HY_OK);
	assert_int_equal(m.faces, 0);
	meta_release(&m);
}

static void test_faces_missing_null_or_not_list_is_zero(void **state)
{
	struct meta m = {0};
	struct hy_err err;
	const char *cases[] = {"{}", "{\"face_bboxes\": null}",
			       "{\"face_bboxes\": 3}",
			       "{\"face_bboxes\": {\"a\": [1,2,3,4]}}",
			       "{\"face_bboxes\": \"[[0,0,1,1]]\"}"};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		assert_int_equal(parse(&m, cases[i], &err), HY_OK);
		assert_int_equal(m.faces, 0);
	}
	meta_release(&m);
}

static void test_caption_string_only(void **state)
{
	struct meta m = {0};
	struct hy_err err;

	(void)state;
	assert_int_equal(
	    parse(&m, "{\"caption\": \"a \\\"b\\\" \\u00e9\"}", &err), HY_OK);
	assert_true(m.has_caption);
	assert_string_equal(m.caption.data, "a \"b\" \xc3\xa9");
	assert_int_equal(parse(&m, "{\"caption\": \"\"}", &err), HY_OK);
	assert_true(m.has_caption);
	assert_int_equal(m.caption.len, 0);
	assert_int_equal(parse(&m, "{\"caption\": null}", &err), HY_OK);
	assert_false(m.has_caption);
	assert_int_equal(parse(&m, "{\"caption\": 12}", &err), HY_OK);
	assert_false(m.has_caption);
	assert_int_equal(parse(&m, "{\"uid\": \"x\"}", &err), HY_OK);
	assert_false(m.has_caption);
	meta_release(&m);
}

static void test_lone_surrogates_become_fffd(void **state)
{
	struct meta m = {0};
	struct hy_err err;

	(void)state;
	/* lone high, lone low, and a valid pair (U+1F600) side by side */
	assert_int_equal(
	    parse(&m, "{\"caption\": \"a\\ud83db\\ude00c\\ud83d\\ude00\"}",
		  &err),
	    HY_OK);
	assert_string_equal(m.caption.data, "a\xef\xbf\xbd"
					    "b\xef\xbf\xbd"
					    "c\xf0\x9f\x98\x80");
	/* high surrogate at the very end of the string */
	assert_int_equal(parse(&m, "{\"caption\": \"x\\uD800\"}", &err), HY_OK);
	assert_string_equal(m.caption.data, "x\xef\xbf\xbd");
	/* two highs in a row: both lone */
	assert_int_equal(parse(&m, "{\"caption\": \"\\ud800\\ud800\"}", &err),
			 HY_OK);
	assert_string_equal(m.caption.data, "\xef\xbf\xbd\xef\xbf\xbd");
	meta_release(&m);
}

static void test_fix_surrogates_leaves_escaped_backslash(void **state)
{
	char s[] = "\"\\\\ud800 \\\\\\ud800\"";
	size_t n;

	(void)state;
	/* "\\ud800" is a backslash then text; "\\\ud800" is a backslash and a
	 * lone surrogate. */
	n = meta_fix_surrogates(s, strlen(s));
	assert_int_equal(n, 1);
	assert_string_equal(s, "\"\\\\ud800 \\\\\\ufffd\"");
}

static void test_fix_surrogates_truncated_escape_is_left(void **state)
{
	char s[] = "\"\\ud8";

	(void)state;
	assert_int_equal(meta_fix_surrogates(s, strlen(s)), 0);
	assert_string_equal(s, "\"\\ud8");
}

static void test_invalid_json_is_a_sample_error(void **state)
{
	struct meta m = {0};
	struct hy_err err = {0};
	const char *bad[] = {"{\"caption\": ", "",	"nul",
			     "{\"a\" 1}",      "[1,2]", "\"str\""};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(parse(&m, bad[i], &err), HY_ESAMPLE);
		assert_true(strlen(err.msg) > 0);
	}
	meta_release(&m);
}

static void test_trailing_garbage_is_rejected(void **state)
{
	struct meta m = {0};
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(parse(&m, "{\"caption\": \"a\"} x", &err), HY_ESAMPLE);
	assert_int_equal(parse(&m, "{\"caption\": \"a\"}\n", &err), HY_OK);
	meta_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_faces_counted_from_list),
	    cmocka_unit_test(test_faces_missing_null_or_not_list_is_zero),
	    cmocka_unit_test(test_caption_string_only),
	    cmocka_unit_test(test_lone_surrogates_become_fffd),
	    cmocka_unit_test(test_fix_surrogates_leaves_escaped_backslash),
	    cmocka_unit_test(test_fix_surrogates_truncated_escape_is_left),
	    cmocka_unit_test(test_invalid_json_is_a_sample_error),
	    cmocka_unit_test(test_trailing_garbage_is_rejected),
	};
	return cmocka_run_group_tests_name("meta", tests, NULL, NULL);
}
