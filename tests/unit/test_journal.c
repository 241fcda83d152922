/* journal: the per-shard answer journal a killed run resumes from. */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/journal.h"
#include "util/err.h"

UNIT_TMPDIR(dir, "journal");

/* What journal_load handed over, one "key|status|text" line each. */
struct got {
	char lines[16][128];
	int n;
};

static void collect(void *ctx, const char *key, const char *status,
		    const char *text, size_t len)
{
	struct got *g = ctx;

	assert_true(g->n < 16);
	assert_int_equal(strlen(text), len);
	snprintf(g->lines[g->n++], sizeof(g->lines[0]), "%s|%s|%s", key, status,
		 text);
}

static void load(const char *name, struct got *g)
{
	struct hy_err err = {0};

	memset(g, 0, sizeof(*g));
	assert_int_equal(journal_load(dir, name, collect, g, &err), HY_OK);
}

static void add(struct journal *j, const char *key, const char *status,
		const char *text)
{
	struct hy_err err = {0};

	assert_int_equal(journal_add(j, key, status, text, strlen(text), &err),
			 HY_OK);
}

/* Appends raw bytes to dir/.NAME.journal, as a kill mid-write leaves. */
static void append_raw(const char *name, const char *bytes)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/.%s.journal", dir, name);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, strlen(bytes)),
			 (ssize_t)strlen(bytes));
	close(fd);
}

static void test_round_trip_in_order(void **state)
{
	struct journal j;
	struct hy_err err = {0};
	struct got g;
	char path[128];
	struct stat st;

	(void)state;
	assert_int_equal(journal_open(&j, dir, "s0", 1, &err), HY_OK);
	add(&j, "a/k1.json", "ok", "A person, \"quoted\"\nand a new line");
	add(&j, "k2.json", "declined", "I cannot help with that");
	add(&j, "k3.json", "ok", "Ünïcödé ✓");
	journal_close(&j);
	snprintf(path, sizeof(path), "%s/.s0.journal", dir);
	assert_int_equal(stat(path, &st), 0);
	load("s0", &g);
	assert_int_equal(g.n, 3);
	assert_string_equal(
	    g.lines[0], "a/k1.json|ok|A person, \"quoted\"\nand a new line");
	assert_string_equal(g.lines[1],
			    "k2.json|declined|I cannot help with that");
	assert_string_equal(g.lines[2], "k3.json|ok|Ünïcödé ✓");
}

static void test_one_json_line_per_answer(void **state)
{
	struct journal j;
	struct hy_err err = {0};
	char path[128], text[256] = {0};
	FILE *f;
	size_t n;

	(void)state;
	assert_int_equal(journal_open(&j, dir, "s1", 1, &err), HY_OK);
	add(&j, "k.json", "ok", "two\nlines");
	journal_close(&j);
	snprintf(path, sizeof(path), "%s/.s1.journal", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	/* The newline of the text is escaped: a line is a whole answer. */
	assert_string_equal(text, "[\"k.json\", \"ok\", \"two\\nlines\"]\n");
	assert_int_equal(n, strlen(text));
}

static void test_missing_journal_is_no_entries(void **state)
{
	struct got g;

	(void)state;
	load("never-written", &g);
	assert_int_equal(g.n, 0);
}

static void test_fresh_empties_resume_appends(void **state)
{
	struct journal j;
	struct hy_err err = {0};
	struct got g;

	(void)state;
	assert_int_equal(journal_open(&j, dir, "s2", 1, &err), HY_OK);
	add(&j, "k1.json", "ok", "one");
	journal_close(&j);
	assert_int_equal(journal_open(&j, dir, "s2", 0, &err), HY_OK);
	add(&j, "k2.json", "ok", "two");
	journal_close(&j);
	load("s2", &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(journal_open(&j, dir, "s2", 1, &err), HY_OK);
	add(&j, "k3.json", "ok", "three");
	journal_close(&j);
	load("s2", &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.lines[0], "k3.json|ok|three");
}

static void test_line_cut_by_a_kill(void **state)
{
	struct journal j;
	struct hy_err err = {0};
	struct got g;

	(void)state;
	assert_int_equal(journal_open(&j, dir, "s3", 1, &err), HY_OK);
	add(&j, "k1.json", "ok", "whole");
	journal_close(&j);
	append_raw("s3", "[\"k2.json\", \"ok\", \"cut he");
	/* Loading skips the cut line. */
	load("s3", &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.lines[0], "k1.json|ok|whole");
	/* Resuming ends it first, so the next answer is a line of its own;
	 * the cut one stays unreadable and is skipped. */
	assert_int_equal(journal_open(&j, dir, "s3", 0, &err), HY_OK);
	add(&j, "k3.json", "ok", "after");
	journal_close(&j);
	load("s3", &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.lines[0], "k1.json|ok|whole");
	assert_string_equal(g.lines[1], "k3.json|ok|after");
}

static void test_foreign_lines_skipped(void **state)
{
	struct got g;

	(void)state;
	append_raw("s4", "not json\n"
			 "{\"k\": \"an object\"}\n"
			 "[\"k1.json\", \"ok\"]\n"
			 "[\"k2.json\", 7, \"status not a string\"]\n"
			 "[\"k3.json\", \"ok\", \"kept\"]\n"
			 "\n");
	load("s4", &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.lines[0], "k3.json|ok|kept");
}

static void test_remove(void **state)
{
	struct journal j;
	struct hy_err err = {0};
	struct got g;
	char path[128];

	(void)state;
	assert_int_equal(journal_open(&j, dir, "s5", 1, &err), HY_OK);
	add(&j, "k.json", "ok", "x");
	journal_close(&j);
	journal_remove(dir, "s5");
	snprintf(path, sizeof(path), "%s/.s5.journal", dir);
	assert_int_equal(access(path, F_OK), -1);
	load("s5", &g);
	assert_int_equal(g.n, 0);
	journal_remove(dir, "s5"); /* none left: harmless */
}

static void test_unwritable_dir_is_fatal_and_named(void **state)
{
	struct journal j;
	struct hy_err err = {0};
	char bad[128];

	(void)state;
	snprintf(bad, sizeof(bad), "%s/missing", dir);
	assert_int_equal(journal_open(&j, bad, "s6", 1, &err), HY_EFATAL);
	assert_non_null(strstr(err.msg, bad));
	assert_non_null(strstr(err.msg, ".s6.journal"));
	journal_close(&j); /* after a failed open: frees what it took */
}

static void test_unreadable_is_a_shard_error(void **state)
{
	struct hy_err err = {0};
	struct got g = {0};
	char path[128];

	(void)state;
	/* A folder where the journal should be: opens, cannot be read. */
	snprintf(path, sizeof(path), "%s/.s7.journal", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(journal_load(dir, "s7", collect, &g, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(g.n, 0);
}

static void test_close_of_unopened(void **state)
{
	struct journal j = {.fd = -1};

	(void)state;
	journal_close(&j);
	assert_int_equal(j.fd, -1);
	assert_null(j.path);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_round_trip_in_order),
	    T(test_one_json_line_per_answer),
	    T(test_missing_journal_is_no_entries),
	    T(test_fresh_empties_resume_appends),
	    T(test_line_cut_by_a_kill),
	    T(test_foreign_lines_skipped),
	    T(test_remove),
	    T(test_unwritable_dir_is_fatal_and_named),
	    T(test_unreadable_is_a_shard_error),
	    T(test_close_of_unopened),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
