/* keyset: the set of keys a shard has seen (front-coded while keys come
 * in order, hashed otherwise). */
#include "unit.h"

#include "util/keyset.h"

static void test_keyset_grows(void **state)
{
	struct keyset ks = {0};
	char k[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(k, sizeof(k), "key%d", i);
		assert_int_equal(keyset_add(&ks, k, (size_t)n), 1);
	}
	assert_int_equal(keyset_add(&ks, "key42", 5), 0);
	assert_true(keyset_contains(&ks, "key4999", 7));
	assert_false(keyset_contains(&ks, "key5000", 7));
	assert_false(keyset_contains(&ks, "key4", 3)); /* prefix only */
	keyset_release(&ks);
}

/* Keys in order (front-coded) and out of order (hashed), in turns: each
 * is found once added, and only then. */
static void test_keyset_mixed_orders(void **state)
{
	struct keyset ks = {0};
	char k[32];
	int n;

	(void)state;
	for (int i = 0; i < 10000; i += 2) { /* in order */
		n = snprintf(k, sizeof(k), "%09d", i);
		assert_int_equal(keyset_add(&ks, k, (size_t)n), 1);
	}
	for (int j = 0; j < 5000; j++) { /* shuffled, before the last */
		n = snprintf(k, sizeof(k), "%09d", (j * 7919) % 5000 * 2 + 1);
		assert_int_equal(keyset_add(&ks, k, (size_t)n), 1);
	}
	for (int i = 20000; i < 25000; i++) { /* in order again */
		n = snprintf(k, sizeof(k), "%09d", i);
		assert_int_equal(keyset_add(&ks, k, (size_t)n), 1);
	}
	for (int i = 0; i < 26000; i++) {
		int in = i < 10000 || (i >= 20000 && i < 25000);
		n = snprintf(k, sizeof(k), "%09d", i);
		if (keyset_contains(&ks, k, (size_t)n) != in)
			fail_msg("%s: contains %d", k, !in);
		if (in)
			assert_int_equal(keyset_add(&ks, k, (size_t)n), 0);
		assert_false(keyset_contains(&ks, k, (size_t)n - 1));
	}
	keyset_release(&ks);
}

/* Keys of 255 bytes or more carry a longer length: found by their whole
 * bytes, not mistaken for their prefixes. */
static void test_keyset_long_keys(void **state)
{
	struct keyset ks = {0};
	char k[1100];

	(void)state;
	memset(k, 'k', sizeof(k));
	for (size_t n = 250; n < 1100; n += 17)
		assert_int_equal(keyset_add(&ks, k, n), 1);
	for (size_t n = 250; n < 1100; n += 17) {
		assert_int_equal(keyset_add(&ks, k, n), 0);
		assert_true(keyset_contains(&ks, k, n));
		assert_false(keyset_contains(&ks, k, n + 1));
	}
	assert_int_equal(keyset_add(&ks, "", 0), 1);
	assert_true(keyset_contains(&ks, "", 0));
	keyset_release(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keyset_grows),
	    cmocka_unit_test(test_keyset_mixed_orders),
	    cmocka_unit_test(test_keyset_long_keys),
	};
	return cmocka_run_group_tests_name("keyset", tests, NULL, NULL);
}
