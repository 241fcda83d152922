/* redact: registered secrets and URL user-info masked in messages, the
 * rest left as it is, the buffer's bound kept. */
#include "unit.h"

#include "util/err.h"
#include "util/redact.h"

static int reset(void **state)
{
	(void)state;
	redact_reset();
	return 0;
}

static void test_secret_masked_everywhere(void **state)
{
	char s[128] =
	    "401: Incorrect API key provided: sk-abc123; got sk-abc123";

	(void)state;
	assert_int_equal(redact_add("sk-abc123"), 0);
	redact(s, sizeof(s));
	assert_string_equal(s, "401: Incorrect API key provided: ***; got ***");
}

static void test_url_userinfo_masked(void **state)
{
	char s[128] = "http://alice:pw@node7:8000: HTTP 500; see "
		      "https://bob@h/x and name@example.org";

	(void)state;
	redact(s, sizeof(s));
	assert_string_equal(s, "http://***@node7:8000: HTTP 500; see "
			       "https://***@h/x and name@example.org");
}

static void test_at_in_path_is_not_userinfo(void **state)
{
	char s[64] = "http://node7:8000/v1/@x";

	(void)state;
	redact(s, sizeof(s));
	assert_string_equal(s, "http://node7:8000/v1/@x");
}

static void test_password_of_url_registered(void **state)
{
	char s[128] = "server says: bad password 'pa55w0rd' for alice:pa55w0rd";

	(void)state;
	assert_int_equal(redact_add_url("http://alice:pa55w0rd@127.0.0.1:1"),
			 0);
	redact(s, sizeof(s));
	assert_string_equal(s, "server says: bad password '***' for ***");
}

static void test_redact_url(void **state)
{
	char out[64];

	(void)state;
	redact_url(out, sizeof(out), "http://u:p@h:1/x");
	assert_string_equal(out, "http://***@h:1/x");
	redact_url(out, sizeof(out), "u:p@h:1");
	assert_string_equal(out, "***@h:1");
	redact_url(out, sizeof(out), "http://h:1");
	assert_string_equal(out, "http://h:1");
}

static void test_cut_never_shows_a_secret(void **state)
{
	char s[16] = "key=SECR";

	(void)state;
	assert_int_equal(redact_add("SECRETKEY"), 0);
	redact(s, sizeof(s)); /* a message cut inside the key */
	assert_string_equal(s, "key=***");
	assert_int_equal(redact_add("abcdef"), 0);
	strcpy(s, "abcdef abcdef");
	redact(s, 14); /* the masks are shorter here */
	assert_string_equal(s, "*** ***");
}

/* A password "x" must not mask every x of every message; in its URL it
 * is masked by its place. */
static void test_short_secret_only_masked_in_its_url(void **state)
{
	char s[64] = "http://u:x@h:1/ says x-ray";

	(void)state;
	assert_int_equal(redact_add_url("http://u:x@h:1"), 0);
	assert_int_equal(redact_add("k"), 0);
	redact(s, sizeof(s));
	assert_string_equal(s, "http://***@h:1/ says x-ray");
}

static void test_err_and_report_redacted(void **state)
{
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(redact_add("tok-777"), 0);
	hy_err_set(&err, HY_ECONFIG, "%s: HTTP 401: bad key tok-777",
		   "http://u:tok-777@h:1");
	assert_string_equal(err.msg, "http://***@h:1: HTTP 401: bad key ***");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_secret_masked_everywhere, reset),
	    cmocka_unit_test_teardown(test_url_userinfo_masked, reset),
	    cmocka_unit_test_teardown(test_short_secret_only_masked_in_its_url,
				      reset),
	    cmocka_unit_test_teardown(test_at_in_path_is_not_userinfo, reset),
	    cmocka_unit_test_teardown(test_password_of_url_registered, reset),
	    cmocka_unit_test_teardown(test_redact_url, reset),
	    cmocka_unit_test_teardown(test_cut_never_shows_a_secret, reset),
	    cmocka_unit_test_teardown(test_err_and_report_redacted, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
