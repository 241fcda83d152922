/* facerule: the --min-faces record of a stage folder. */
#include "unit.h"

#include <stdio.h>
#include <unistd.h>

#include "formats/facerule.h"
#include "util/outfile.h"

static char a[64], b[64];

static int setup(void **state)
{
	(void)state;
	snprintf(a, sizeof(a), "/tmp/hy-unit-face-XXXXXX");
	snprintf(b, sizeof(b), "/tmp/hy-unit-face-XXXXXX");
	return mkdtemp(a) && mkdtemp(b) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", a, b);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *dir, const char *text)
{
	struct hy_err err = {0};

	assert_int_equal(
	    outfile_put(dir, FACERULE_FILE, "", text, strlen(text), 0, &err),
	    HY_OK);
}

static void test_write_then_read(void **state)
{
	struct hy_err err = {0};
	long v;

	(void)state;
	assert_int_equal(facerule_read(a, &v, &err), HY_OK);
	assert_int_equal(v, FACERULE_UNSET);
	assert_int_equal(facerule_write(a, 0, &err), HY_OK);
	assert_int_equal(facerule_read(a, &v, &err), HY_OK);
	assert_int_equal(v, 0);
	/* the same value again is fine, another one is refused */
	assert_int_equal(facerule_write(a, 0, &err), HY_OK);
	assert_int_equal(facerule_write(a, 2, &err), HY_ECONFIG);
	assert_non_null(strstr(err.msg, ".faces.json"));
	assert_non_null(strstr(err.msg, "--min-faces 0, not 2"));
	/* no temporary file left behind */
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q part", a);
		assert_int_equal(system(cmd), 256); /* grep found none */
	}
}

static void test_agree(void **state)
{
	struct hy_err err = {0};
	const char *dirs[] = {NULL, a, b};
	long used;
	int rec;

	(void)state;
	/* nothing recorded: the given value, else the default */
	assert_int_equal(
	    facerule_agree(dirs, 3, FACERULE_UNSET, &used, &rec, &err), HY_OK);
	assert_int_equal(used, FACERULE_DEFAULT_MIN_FACES);
	assert_false(rec);
	assert_int_equal(facerule_agree(dirs, 3, 3, &used, &rec, &err), HY_OK);
	assert_int_equal(used, 3);
	/* a record wins over the default, agrees with the same value given */
	put(b, "{\"min_faces\": 2}\n");
	assert_int_equal(
	    facerule_agree(dirs, 3, FACERULE_UNSET, &used, &rec, &err), HY_OK);
	assert_int_equal(used, 2);
	assert_true(rec);
	assert_int_equal(facerule_agree(dirs, 3, 2, &used, &rec, &err), HY_OK);
	assert_int_equal(facerule_agree(dirs, 3, 1, &used, &rec, &err),
			 HY_ECONFIG);
	assert_non_null(strstr(err.msg, b));
	/* two folders that disagree: both named */
	put(a, "{\"min_faces\": 0}\n");
	assert_int_equal(
	    facerule_agree(dirs, 3, FACERULE_UNSET, &used, &rec, &err),
	    HY_ECONFIG);
	assert_non_null(strstr(err.msg, a));
	assert_non_null(strstr(err.msg, b));
}

static void test_bad_records(void **state)
{
	static const char *bad[] = {"",
				    "[]",
				    "{\"min_faces\": -1}",
				    "{\"min_faces\": 1.5}",
				    "{\"min_faces\": \"1\"}",
				    "{\"faces\": 1}"};
	struct hy_err err = {0};
	long v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(a, bad[i]);
		assert_int_equal(facerule_read(a, &v, &err), HY_ECONFIG);
		assert_non_null(strstr(err.msg, "not a face-rule record"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_then_read, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_agree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
