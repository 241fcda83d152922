/* jsonw: Python-compatible JSON text (ensure_ascii=False). */
#include "unit.h"

#include "util/jsonw.h"

static void expect_escaped(const char *in, size_t n, const char *want)
{
	struct buf b = {0};

	assert_int_equal(jsonw_string(&b, in, n), 0);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void test_escapes_like_python(void **state)
{
	(void)state;
	expect_escaped("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	expect_escaped("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
	expect_escaped("\x01\x1f", 2, "\"\\u0001\\u001f\"");
	expect_escaped("\x7f/", 2, "\"\x7f/\""); /* Python escapes neither */
	expect_escaped("", 0, "\"\"");
}

static void test_nul_byte_is_escaped(void **state)
{
	(void)state;
	expect_escaped("a\0b", 3, "\"a\\u0000b\"");
}

static void test_utf8_kept_raw(void **state)
{
	(void)state;
	expect_escaped("caf\xc3\xa9 \xe5\xa4\x8f \xf0\x9f\x98\x80", 14,
		       "\"caf\xc3\xa9 \xe5\xa4\x8f \xf0\x9f\x98\x80\"");
}

static void test_invalid_utf8_becomes_fffd(void **state)
{
	(void)state;
	expect_escaped("a\xff"
		       "b",
		       3,
		       "\"a\xef\xbf\xbd"
		       "b\"");
	/* overlong '/' and a CESU surrogate: each byte replaced */
	expect_escaped("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	expect_escaped("\xed\xa0\x80", 3,
		       "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* truncated sequence at the end */
	expect_escaped("x\xe5\xa4", 3, "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escapes_like_python),
	    cmocka_unit_test(test_nul_byte_is_escaped),
	    cmocka_unit_test(test_utf8_kept_raw),
	    cmocka_unit_test(test_invalid_utf8_becomes_fffd),
	};
	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
