/* pyjson: JSON as Python's json module reads it (duplicate keys, NaN and
 * Infinity, lone surrogates). */
#include "unit.h"

#include "util/pyjson.h"

static void test_json_parse_keeps_first_place_last_value(void **state)
{
	struct hy_err err;
	cJSON *j;
	char *out;
	static const char in[] =
	    "{\"a\": 1, \"b\": {\"c\": 2, \"c\": 3}, \"a\": 4, "
	    "\"d\": [{\"e\": 5, \"e\": 6}], \"a\": 7, \"f\": Infinity}";

	(void)state;
	j = pyjson_parse_copy(in, strlen(in), &err);
	assert_non_null(j);
	out = cJSON_PrintUnformatted(j);
	assert_string_equal(out, "{\"a\":7,\"b\":{\"c\":3},\"d\":[{\"e\":6}],"
				 "\"f\":null}");
	free(out);
	cJSON_Delete(j);
}

static void test_fix_surrogates_leaves_escaped_backslash(void **state)
{
	char s[] = "\"\\\\ud800 \\\\\\ud800\"";
	size_t n;

	(void)state;
	/* "\\ud800" is a backslash then text; "\\\ud800" is a backslash and a
	 * lone surrogate. */
	n = pyjson_fix_surrogates(s, strlen(s));
	assert_int_equal(n, 1);
	assert_string_equal(s, "\"\\\\ud800 \\\\\\ufffd\"");
}

static void test_fix_surrogates_truncated_escape_is_left(void **state)
{
	char s[] = "\"\\ud8";

	(void)state;
	assert_int_equal(pyjson_fix_surrogates(s, strlen(s)), 0);
	assert_string_equal(s, "\"\\ud8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_parse_keeps_first_place_last_value),
	    cmocka_unit_test(test_fix_surrogates_leaves_escaped_backslash),
	    cmocka_unit_test(test_fix_surrogates_truncated_escape_is_left),
	};
	return cmocka_run_group_tests_name("pyjson", tests, NULL, NULL);
}
