/* meta: KEY.json field extraction, lone surrogates in captions included. */
#include "unit.h"

#include "formats/meta.h"

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

static void test_faces_missing_or_null_is_zero(void **state)
{
	struct meta m = {0};
	struct hy_err err;
	const char *cases[] = {"{}", "{\"face_bboxes\": null}",
			       "{\"face_bboxes\": []}"};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		assert_int_equal(parse(&m, cases[i], &err), HY_OK);
		assert_int_equal(m.faces, 0);
		assert_int_equal(m.doubt, META_SURE);
		assert_false(meta_face_sample(&m, 1));
		assert_true(meta_face_sample(&m, 0)); /* every sample */
	}
	meta_release(&m);
}

/* Anything in face_bboxes that is not a list of boxes normalized to 0..1
 * with an area makes the sample a face sample whose whole photo is the
 * region to hide, whatever --min-faces says. */
static void test_malformed_boxes_are_doubtful(void **state)
{
	struct meta m = {0};
	struct hy_err err;
	const char *cases[] = {
	    "{\"face_bboxes\": 3}",
	    "{\"face_bboxes\": \"[[0,0,1,1]]\"}",
	    "{\"face_bboxes\": {\"a\": [0, 0, 1, 1]}}",
	    "{\"face_bboxes\": true}",
	    "{\"face_bboxes\": [[0.1, 0.2]]}",
	    "{\"face_bboxes\": [[0.1, 0.2, 0.3, 0.4, 0.5]]}",
	    "{\"face_bboxes\": [[0.1, 0.2, 0.3, 0.4], \"x\"]}",
	    "{\"face_bboxes\": [null]}",
	    "{\"face_bboxes\": [{\"x0\": 0.1}]}",
	    "{\"face_bboxes\": [[0.1, \"0.2\", 0.3, 0.4]]}",
	    "{\"face_bboxes\": [[12, 30, 64, 80]]}",	 /* pixels */
	    "{\"face_bboxes\": [[0.1, 0.2, 0.1, 0.4]]}", /* no width */
	    "{\"face_bboxes\": [[0.1, 0.4, 0.3, 0.2]]}", /* inverted */
	    "{\"face_bboxes\": [[0.1, 0.2, NaN, 0.4]]}",
	    "{\"face_bboxes\": [[0.1, 0.2, Infinity, 0.4]]}",
	    "{\"face_bboxes\": [[-Infinity, 0.2, 0.3, 0.4]]}",
	    "{\"face_bboxes\": [[-0.5, 0.2, 0.3, 0.4]]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t n = 0;
		const struct image_box *b;

		assert_int_equal(parse(&m, cases[i], &err), HY_OK);
		if (m.doubt != META_BAD_BOXES)
			fail_msg("not doubtful: %s", cases[i]);
		assert_true(strlen(m.why) > 0);
		assert_true(meta_face_sample(&m, 1));
		assert_true(meta_face_sample(&m, 100));
		b = meta_hide(&m, &n);
		assert_int_equal(n, 1);
		assert_true(b[0].x0 == 0 && b[0].y0 == 0 && b[0].x1 == 1 &&
			    b[0].y1 == 1);
	}
	meta_release(&m);
}

static void test_valid_boxes_clamped_and_merged(void **state)
{
	struct meta m = {0};
	struct hy_err err;
	const struct image_box *b;
	size_t n = 0;

	(void)state;
	/* a detector's rounding just outside 0..1 is clamped */
	assert_int_equal(
	    parse(&m, "{\"face_bboxes\": [[-0.005, 0.2, 1.004, 0.4]]}", &err),
	    HY_OK);
	assert_int_equal(m.doubt, META_SURE);
	b = meta_hide(&m, &n);
	assert_int_equal(n, 1);
	assert_true(b[0].x0 == 0 && b[0].x1 == 1);
	/* two overlapping boxes become their union; a third apart stays */
	assert_int_equal(parse(&m,
			       "{\"face_bboxes\": [[0.1, 0.1, 0.3, 0.3], "
			       "[0.2, 0.2, 0.4, 0.5], [0.7, 0.7, 0.8, 0.8]]}",
			       &err),
			 HY_OK);
	assert_int_equal(m.faces, 3);
	assert_int_equal(m.doubt, META_SURE);
	b = meta_hide(&m, &n);
	assert_int_equal(n, 2);
	assert_true(b[0].x0 == 0.1 && b[0].y0 == 0.1 && b[0].x1 == 0.4 &&
		    b[0].y1 == 0.5);
	assert_true(b[1].x0 == 0.7 && b[1].y1 == 0.8);
	meta_release(&m);
}

static void test_too_many_boxes_blur_everything(void **state)
{
	struct meta m = {0};
	struct hy_err err;
	struct buf j = {0};
	size_t n = 0;

	(void)state;
	assert_int_equal(buf_append(&j, "{\"face_bboxes\": [", 17), 0);
	for (int i = 0; i <= META_MAX_BOXES; i++) {
		char e[64];
		int k = snprintf(e, sizeof(e), "%s[0.1, 0.1, 0.2, 0.2]",
				 i ? ", " : "");
		assert_int_equal(buf_append(&j, e, (size_t)k), 0);
	}
	assert_int_equal(buf_append(&j, "]}", 3), 0);
	assert_int_equal(meta_parse(&m, j.data, j.len - 1, &err), HY_OK);
	assert_int_equal(m.faces, META_MAX_BOXES + 1);
	assert_int_equal(m.doubt, META_BAD_BOXES);
	assert_non_null(strstr(m.why, "257"));
	meta_hide(&m, &n);
	assert_int_equal(n, 1);
	buf_release(&j);
	meta_release(&m);
}

/* What Python's json.dump writes and json.load reads back. */
static void test_python_json(void **state)
{
	struct meta m = {0};
	struct hy_err err;

	(void)state;
	/* NaN and Infinity are numbers to Python, and not inside strings */
	assert_int_equal(parse(&m,
			       "{\"similarity\": NaN, \"x\": -Infinity, "
			       "\"caption\": \"NaN Infinity\", "
			       "\"face_bboxes\": [[0.1, 0.2, 0.3, 0.4]]}",
			       &err),
			 HY_OK);
	assert_int_equal(m.faces, 1);
	assert_int_equal(m.doubt, META_SURE);
	assert_string_equal(m.caption.data, "NaN Infinity");
	/* the last of duplicate keys wins, as in a Python dict */
	assert_int_equal(parse(&m,
			       "{\"face_bboxes\": [], \"caption\": \"a\", "
			       "\"face_bboxes\": [[0.1, 0.2, 0.3, 0.4]], "
			       "\"caption\": \"b\"}",
			       &err),
			 HY_OK);
	assert_int_equal(m.faces, 1);
	assert_string_equal(m.caption.data, "b");
	assert_int_equal(
	    parse(&m,
		  "{\"face_bboxes\": [[0.1, 0.2, 0.3, 0.4]], \"face_bboxes\": "
		  "null}",
		  &err),
	    HY_OK);
	assert_int_equal(m.faces, 0);
	meta_release(&m);
}

/* Python keeps a \u0000 inside a string; cJSON alone cuts it there. */
static void test_nul_in_caption_kept(void **state)
{
	struct meta m = {0};
	struct hy_err err;

	(void)state;
	assert_int_equal(
	    parse(&m, "{\"caption\": \"a\\u0000b\\\\u0000\\u0000\"}", &err),
	    HY_OK);
	/* a, NUL, b, a backslash and "u0000" (an escaped backslash), NUL */
	assert_int_equal(m.caption.len, 10);
	assert_memory_equal(m.caption.data, "a\0b\\u0000\0", 10);
	assert_int_equal(m.caption.data[10], '\0');
	meta_release(&m);
}

static void test_unreadable_is_doubtful(void **state)
{
	struct meta m = {0};
	struct hy_err err;

	(void)state;
	assert_int_equal(parse(&m, "{\"face_bboxes\": [[0.1,", &err),
			 HY_ESAMPLE);
	assert_int_equal(m.doubt, META_UNREADABLE);
	assert_true(meta_face_sample(&m, 5));
	assert_int_equal(parse(&m, "[1]", &err), HY_ESAMPLE);
	assert_int_equal(m.doubt, META_UNREADABLE);
	meta_set_unreadable(&m, "over 16 MiB");
	assert_non_null(strstr(m.why, "over 16 MiB"));
	assert_true(meta_face_sample(&m, 1));
	meta_reset(&m);
	assert_false(meta_face_sample(&m, 1));
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
	    cmocka_unit_test(test_faces_missing_or_null_is_zero),
	    cmocka_unit_test(test_malformed_boxes_are_doubtful),
	    cmocka_unit_test(test_valid_boxes_clamped_and_merged),
	    cmocka_unit_test(test_too_many_boxes_blur_everything),
	    cmocka_unit_test(test_python_json),
	    cmocka_unit_test(test_unreadable_is_doubtful),
	    cmocka_unit_test(test_nul_in_caption_kept),
	    cmocka_unit_test(test_caption_string_only),
	    cmocka_unit_test(test_lone_surrogates_become_fffd),
	    cmocka_unit_test(test_invalid_json_is_a_sample_error),
	    cmocka_unit_test(test_trailing_garbage_is_rejected),
	};
	return cmocka_run_group_tests_name("meta", tests, NULL, NULL);
}
