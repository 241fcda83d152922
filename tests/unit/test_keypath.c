/* keypath: which sample keys can name files inside a folder. */
#include "unit.h"

#include "formats/keypath.h"

static void test_plain_keys_pass(void **state)
{
	const char *ok[] = {"000123", "part1/000123", "a/b/c",
			    "x..y",   "a/b..",	      "k-1_2 3"};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (keypath_check(ok[i], strlen(ok[i]), why, sizeof(why)))
			fail_msg("refused '%s': %s", ok[i], why);
}

static void test_escaping_or_hidden_keys_refused(void **state)
{
	static const struct {
		const char *key, *why;
	} bad[] = {
	    {"", "empty"},
	    {"/data/x/000003", "absolute"},
	    {"../../../x/000002", "climbs"},
	    {"a/../../b", "climbs"},
	    {"..", "climbs"},
	    {".hidden/x", "starts with '.'"},
	    {"a/.b/x", "starts with '.'"},
	    {"a/./b", "starts with '.'"},
	    {"d/", "empty path component"},
	    {"a//b", "empty path component"},
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(keypath_check(bad[i].key, strlen(bad[i].key),
					       why, sizeof(why)),
				 -1);
		if (!strstr(why, bad[i].why))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].key,
				 why, bad[i].why);
	}
	/* a NUL inside the key's bytes */
	assert_int_equal(keypath_check("a\0b", 3, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "NUL"));
}

static void test_long_keys_refused(void **state)
{
	char key[KEYPATH_MAX + 2], why[160];

	(void)state;
	memset(key, 'k', sizeof(key));
	/* one component at the limit passes, one byte more does not */
	assert_int_equal(keypath_check(key, KEYPATH_MAX_NAME, why, sizeof(why)),
			 0);
	assert_int_equal(
	    keypath_check(key, KEYPATH_MAX_NAME + 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "201 bytes"));
	/* short components, too long a key */
	for (size_t i = 100; i < sizeof(key); i += 101)
		key[i] = '/';
	assert_int_equal(keypath_check(key, KEYPATH_MAX, why, sizeof(why)), 0);
	assert_int_equal(keypath_check(key, KEYPATH_MAX + 1, why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "1025 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_keys_pass),
	    cmocka_unit_test(test_escaping_or_hidden_keys_refused),
	    cmocka_unit_test(test_long_keys_refused),
	};
	return cmocka_run_group_tests_name("keypath", tests, NULL, NULL);
}
