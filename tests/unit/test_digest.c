/* digest: SHA-256 as hex, the digest written beside edited metadata. */
#include "unit.h"

#include "util/digest.h"

static void test_sha256_vectors(void **state)
{
	static const char *const v[][2] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b"
		 "855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
		    "0015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c"
	     "1"},
	};
	char out[65];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(
		    digest_sha256_hex(v[i][0], strlen(v[i][0]), out), 0);
		assert_string_equal(out, v[i][1]);
	}
	/* an empty buffer that was never allocated */
	assert_int_equal(digest_sha256_hex(NULL, 0, out), 0);
	assert_string_equal(out, v[0][1]);
}

static void test_sha256_million_a(void **state)
{
	char *a = malloc(1000000), out[65];

	(void)state;
	assert_non_null(a);
	memset(a, 'a', 1000000);
	assert_int_equal(digest_sha256_hex(a, 1000000, out), 0);
	assert_string_equal(
	    out,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void test_digest_streamed_equals_one_shot(void **state)
{
	static const char text[] =
	    "The quick brown fox jumps over the lazy dog";
	struct digest *d = digest_new();
	char one[65], streamed[65];

	(void)state;
	assert_non_null(d);
	assert_int_equal(digest_sha256_hex(text, strlen(text), one), 0);
	assert_string_equal(one,
			    "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb"
			    "762d02d0bf37c9e592");
	for (int round = 0; round < 2; round++) { /* reusable */
		assert_int_equal(digest_begin(d), 0);
		for (size_t i = 0; i < strlen(text); i += 5)
			assert_int_equal(digest_update(d, text + i,
						       strlen(text) - i < 5
							   ? strlen(text) - i
							   : 5),
					 0);
		assert_int_equal(digest_end(d, streamed), 0);
		assert_string_equal(streamed, one);
	}
	digest_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_vectors),
	    cmocka_unit_test(test_sha256_million_a),
	    cmocka_unit_test(test_digest_streamed_equals_one_shot),
	};
	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
