/* outfile: atomic outputs (temporary .part, renamed into place) and mkdirs. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "util/outfile.h"

UNIT_TMPDIR(dir, "out");

static void test_commit_renames_into_place(void **state)
{
	struct outfile f;
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(outfile_open(&f, dir, "a", ".json", 1, &err), HY_OK);
	assert_false(outfile_exists(dir, "a.json"));
	assert_true(outfile_exists(dir, ".a.json.part"));
	assert_int_equal(outfile_write(&f, "{}", 2, &err), HY_OK);
	assert_int_equal(outfile_commit(&f, &err), HY_OK);
	assert_true(outfile_exists(dir, "a.json"));
	assert_false(outfile_exists(dir, ".a.json.part"));
}

static void test_abort_leaves_nothing(void **state)
{
	struct outfile f;
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(outfile_open(&f, dir, "b", ".json", 0, &err), HY_OK);
	assert_int_equal(outfile_write(&f, "x", 1, &err), HY_OK);
	outfile_abort(&f);
	assert_false(outfile_exists(dir, "b.json"));
	assert_false(outfile_exists(dir, ".b.json.part"));
}

static void test_unwritable_dir_is_fatal_and_named(void **state)
{
	struct outfile f;
	struct hy_err err = {0};
	char bad[128];

	(void)state;
	snprintf(bad, sizeof(bad), "%s/missing/sub", dir);
	assert_int_equal(outfile_open(&f, bad, "c", ".json", 0, &err),
			 HY_EFATAL);
	assert_non_null(strstr(err.msg, bad));
}

static void test_mkdirs_and_not_a_directory(void **state)
{
	struct hy_err err = {0};
	char p[128], file[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/x/y/z", dir);
	assert_int_equal(mkdirs(p, &err), HY_OK);
	assert_int_equal(mkdirs(p, &err), HY_OK);
	snprintf(file, sizeof(file), "%s/f", dir);
	fclose(fopen(file, "w"));
	snprintf(p, sizeof(p), "%s/f/sub", dir);
	assert_int_equal(mkdirs(p, &err), HY_EFATAL);
	assert_non_null(strstr(err.msg, "f/sub"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_renames_into_place,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_unwritable_dir_is_fatal_and_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mkdirs_and_not_a_directory,
					    setup, teardown),
	};
	return cmocka_run_group_tests_name("outfile", tests, NULL, NULL);
}
