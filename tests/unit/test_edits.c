/* edits: the index of an edits folder (generate's output, reshard's
 * input). */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "formats/edits.h"

UNIT_TMPDIR(dir, "edits");

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
	    cmocka_unit_test_setup_teardown(
		test_edits_index_sorted_with_subfolders, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_edits_missing_folder_means_none, setup, teardown),
	};
	return cmocka_run_group_tests_name("edits", tests, NULL, NULL);
}
