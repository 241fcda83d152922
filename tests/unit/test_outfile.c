/* outfile + edits: atomic outputs and the edits folder index. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "formats/edits.h"
#include "util/outfile.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hy-unit-out-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

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

static void touch(const char *rel)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static void test_edits_index_sorted_with_subfolders(void **state)
{
	struct edits e;
	struct hy_err err = {0};
	size_t first, n;
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/S", dir);
	mkdir(p, 0777);
	snprintf(p, sizeof(p), "%s/S/sub", dir);
	mkdir(p, 0777);
	touch("S/k2.txt");
	touch("S/k2.jpg");
	touch("S/k1.jpg");
	touch("S/sub/k3.seg.png");
	touch("S/.k9.jpg.part"); /* a writer's temporary: ignored */
	assert_int_equal(edits_load(&e, dir, "S", &err), HY_OK);
	assert_int_equal(e.n, 4);
	assert_string_equal(e.v[0].relpath, "k1.jpg");
	n = edits_find(&e, "k2", 2, &first);
	assert_int_equal(n, 2);
	assert_string_equal(e.v[first].ext, "jpg");
	assert_string_equal(e.v[first + 1].ext, "txt");
	n = edits_find(&e, "sub/k3", 6, &first);
	assert_int_equal(n, 1);
	assert_string_equal(e.v[first].ext, "seg.png");
	assert_int_equal(edits_find(&e, "k", 1, &first), 0);
	edits_release(&e);
}

static void test_edits_missing_folder_means_none(void **state)
{
	struct edits e;
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(edits_load(&e, dir, "nothing-here", &err), HY_OK);
	assert_int_equal(e.n, 0);
	edits_release(&e);
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
	    cmocka_unit_test_setup_teardown(
		test_edits_index_sorted_with_subfolders, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_edits_missing_folder_means_none, setup, teardown),
	};
	return cmocka_run_group_tests_name("outfile", tests, NULL, NULL);
}
