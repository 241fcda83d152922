/* editpart: the edits folder generate writes (.NAME.part/), what a later
 * run resumes from, and its rename into place. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "formats/editpart.h"
#include "util/digest.h"

static char dir[64], part[128], final[128];
static int nreports;
static char last_report[1024];

static void on_report(void *ctx, const char *line)
{
	(void)ctx;
	nreports++;
	snprintf(last_report, sizeof(last_report), "%s", line);
}

static const struct hy_reporter reporter = {.fn = on_report};

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hy-unit-editpart-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(part, sizeof(part), "%s/.s0.part", dir);
	snprintf(final, sizeof(final), "%s/s0", dir);
	nreports = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int exists(const char *d, const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", d, name);
	return access(path, F_OK) == 0;
}

static void put(const char *key, const char *ext, const char *body)
{
	struct hy_err err = {0};

	assert_int_equal(
	    editpart_put(part, key, strlen(key), ext, body, strlen(body), &err),
	    HY_OK);
}

/* A finished sample: its image, then KEY.json with the image's sha256. */
static void put_done(const char *key, const char *img)
{
	char sha[65], json[200];

	assert_int_equal(digest_sha256_hex(img, strlen(img), sha), 0);
	put(key, "jpg", img);
	snprintf(json, sizeof(json),
		 "{\"synthetic\":{\"sha256\":\"%s\"},\"x\":1}", sha);
	put(key, "json", json);
}

static void test_open_put_commit(void **state)
{
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(editpart_open(part, "tag1", &reporter, "s0.tar", &err),
			 HY_OK);
	assert_true(exists(part, ".options"));
	put("a/b/k1", "txt", "prompt");
	assert_true(exists(part, "a/b/k1.txt"));
	assert_int_equal(editpart_clean(part, &err), HY_OK);
	assert_int_equal(editpart_commit(part, final, dir, 1, &err), HY_OK);
	assert_false(exists(dir, ".s0.part"));
	assert_true(exists(final, "a/b/k1.txt"));
	assert_int_equal(nreports, 0);
}

/* Finished means KEY.json records a synthetic image whose bytes match. */
static void test_done_checks_the_image(void **state)
{
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(editpart_open(part, "t", &reporter, "s0.tar", &err),
			 HY_OK);
	assert_false(editpart_done(part, "k1", 2, "jpg"));
	put_done("k1", "image bytes");
	assert_true(editpart_done(part, "k1xyz", 2, "jpg"));
	put("k1", "jpg", ""); /* renamed but empty after a crash */
	assert_false(editpart_done(part, "k1", 2, "jpg"));
	put_done("d/k2", "other");
	assert_true(editpart_done(part, "d/k2", 4, "jpg"));
	/* a blurred leftover has a KEY.json too, but no synthetic image */
	put("k3", "jpg", "blurred");
	put("k3", "json", "{\"blurred\":{}}");
	assert_false(editpart_done(part, "k3", 2, "jpg"));
}

/* Samples made with other options are not mixed in: the folder starts
 * afresh, and the caller's reporter is told. The same options resume. */
static void test_other_options_start_afresh(void **state)
{
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(editpart_open(part, "t1", &reporter, "s0.tar", &err),
			 HY_OK);
	put_done("k1", "img");
	assert_int_equal(editpart_open(part, "t1", &reporter, "s0.tar", &err),
			 HY_OK);
	assert_int_equal(nreports, 0);
	assert_true(editpart_done(part, "k1", 2, "jpg"));
	assert_int_equal(editpart_open(part, "t2", &reporter, "s0.tar", &err),
			 HY_OK);
	assert_int_equal(nreports, 1);
	assert_non_null(strstr(last_report, "s0.tar: edits in progress were "
					    "made with other options"));
	assert_false(editpart_done(part, "k1", 2, "jpg"));
	assert_false(exists(part, "k1.jpg"));
	assert_true(exists(part, ".options"));
}

/* A killed run's temporaries (".X.part") go; finished files stay. */
static void test_clean_removes_temporaries(void **state)
{
	struct hy_err err = {0};
	char path[300];
	FILE *f;

	(void)state;
	assert_int_equal(editpart_open(part, "t", &reporter, "s0.tar", &err),
			 HY_OK);
	put("d/k1", "txt", "p");
	snprintf(path, sizeof(path), "%s/d/.k2.jpg.part", part);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	assert_int_equal(editpart_clean(part, &err), HY_OK);
	assert_false(exists(part, "d/.k2.jpg.part"));
	assert_true(exists(part, "d/k1.txt"));
	assert_true(exists(part, ".options"));
}

static void test_commit_failure_names_both(void **state)
{
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(editpart_commit(part, final, dir, 0, &err), HY_EFATAL);
	assert_non_null(strstr(err.msg, "cannot rename"));
	assert_non_null(strstr(err.msg, part));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_put_commit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_done_checks_the_image, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_other_options_start_afresh,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clean_removes_temporaries,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_failure_names_both,
					    setup, teardown),
	};

	return cmocka_run_group_tests_name("editpart", tests, NULL, NULL);
}
