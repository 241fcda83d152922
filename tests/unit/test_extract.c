/* extract: which member paths and link targets stay inside the shard's
 * folder. */
#include "unit.h"

#include "stages/extract.h"

static void test_path_unsafe(void **state)
{
	(void)state;
	assert_true(extract_path_unsafe("/etc/passwd"));
	assert_true(extract_path_unsafe(".."));
	assert_true(extract_path_unsafe("../x"));
	assert_true(extract_path_unsafe("a/../x"));
	assert_true(extract_path_unsafe("a/.."));
	assert_false(extract_path_unsafe("a..b/k..1.jpg"));
	assert_false(extract_path_unsafe("./a/./b.jpg"));
	assert_false(extract_path_unsafe("..a/b.."));
}

static void test_symlink_absolute_refused(void **state)
{
	(void)state;
	assert_true(extract_symlink_unsafe("k.jpg", "/etc/passwd"));
	assert_true(extract_symlink_unsafe("a/b/k.jpg", "/"));
}

/* Leading ".."s climb real folders: allowed up to the shard's folder. */
static void test_symlink_leading_dotdot_counted(void **state)
{
	(void)state;
	assert_false(extract_symlink_unsafe("k.lnk", "k.jpg"));
	assert_false(extract_symlink_unsafe("k.lnk", "./k.jpg"));
	assert_false(extract_symlink_unsafe("k.lnk", "."));
	assert_false(extract_symlink_unsafe("a/k.lnk", "../k.jpg"));
	assert_false(extract_symlink_unsafe("a/b/k.lnk", "../../k.jpg"));
	assert_false(extract_symlink_unsafe("a/b/k.lnk", "./.././../c/k.jpg"));
	assert_true(extract_symlink_unsafe("k.lnk", ".."));
	assert_true(extract_symlink_unsafe("k.lnk", "../k.jpg"));
	assert_true(extract_symlink_unsafe("a/k.lnk", "../../k.jpg"));
	assert_true(extract_symlink_unsafe("a/b/k.lnk", "../../../x"));
}

/* "." and empty components in the member path are no folders. */
static void test_symlink_member_depth_ignores_dots(void **state)
{
	(void)state;
	assert_true(extract_symlink_unsafe("./k.lnk", "../k.jpg"));
	assert_true(extract_symlink_unsafe("./a/./k.lnk", "../../k.jpg"));
	assert_true(extract_symlink_unsafe("a//k.lnk", "../../k.jpg"));
	assert_false(extract_symlink_unsafe("./a//k.lnk", "../k.jpg"));
}

/* A ".." after a name climbs from wherever the name leads, which may be a
 * link: "sub/s" -> ".." makes "sub/s/../.." leave the folder. */
static void test_symlink_dotdot_after_name_refused(void **state)
{
	(void)state;
	assert_true(extract_symlink_unsafe("t", "sub/s/../.."));
	assert_true(extract_symlink_unsafe("a/b/t", "x/../y"));
	assert_true(extract_symlink_unsafe("t", "x/.."));
	assert_false(extract_symlink_unsafe("t", "x/..y/z.."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_unsafe),
	    cmocka_unit_test(test_symlink_absolute_refused),
	    cmocka_unit_test(test_symlink_leading_dotdot_counted),
	    cmocka_unit_test(test_symlink_member_depth_ignores_dots),
	    cmocka_unit_test(test_symlink_dotdot_after_name_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
