/* workdir: the work folder's entry names, and shards.json and
 * progress-R.json written and read back by their one writer and reader;
 * the readers status needs from journal, capfile and fates. */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#include "formats/capfile.h"
#include "formats/fates.h"
#include "formats/journal.h"
#include "formats/workdir.h"
#include "util/outfile.h"

UNIT_TMPDIR(dir, "workdir");

static char *slurp(const char *rel)
{
	char *p = path_join(dir, rel);
	struct buf b = {0};

	assert_non_null(p);
	assert_int_equal(buf_read_file(&b, p, 0, NULL), HY_OK);
	free(p);
	return b.data;
}

static void put(const char *rel, const char *text)
{
	char *p = path_join(dir, rel);
	FILE *f;

	assert_non_null(p);
	f = fopen(p, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void test_entry_names(void **state)
{
	const struct workdir_name *n = workdir_names(WORKDIR_F_PROMPTS);
	char *p;

	(void)state;
	assert_int_equal(workdir_match(&n[0], "abc.json"), 3);
	assert_int_equal(workdir_match(&n[0], ".abc.json"), 0);
	assert_int_equal(workdir_match(&n[0], ".json"), 0);
	assert_int_equal(n[1].kind, WORKDIR_JOURNAL);
	assert_int_equal(workdir_match(&n[1], ".abc.journal"), 3);
	assert_int_equal(workdir_match(&n[1], "..abc.journal"), 0);
	assert_int_equal(n[2].kind, WORKDIR_PART);
	assert_int_equal(workdir_match(&n[2], ".abc.json.part"), 3);
	assert_null(n[3].prefix);
	n = workdir_names(WORKDIR_F_EDITS);
	assert_true(n[0].is_dir);
	assert_int_equal(workdir_match(&n[1], ".x.part"), 1);
	p = workdir_path("/w/edits", &n[1], "x");
	assert_string_equal(p, "/w/edits/.x.part");
	free(p);
	assert_string_equal(workdir_stage_name(WORKDIR_F_OUT), "reshard");
	assert_true(workdir_is_progress("progress-0.json"));
	assert_true(workdir_is_progress("progress-12.json"));
	assert_false(workdir_is_progress("progress-.json"));
	assert_false(workdir_is_progress("shards.json"));
}

static void test_shard_list_round_trip(void **state)
{
	struct workdir_shard v[] = {{.name = "a", .path = "/in/a.tar"},
				    {.name = "b\"q", .path = "/in/b\"q.tgz"}};
	struct workdir_list l;
	struct buf file = {0};
	struct hy_err err = {0};
	char *text;

	(void)state;
	assert_int_equal(workdir_list_load(&l, dir, &file, &err), 1);
	assert_int_equal(workdir_list_write(dir, 2, v, 2, &err), HY_OK);
	text = slurp(".hybridize/shards.json");
	/* the layout run has always written */
	assert_string_equal(
	    text,
	    "{\"world\": 2, \"shards\": [\n"
	    "  {\"name\": \"a\", \"path\": \"/in/a.tar\"},\n"
	    "  {\"name\": \"b\\\"q\", \"path\": \"/in/b\\\"q.tgz\"}\n]}\n");
	free(text);
	assert_int_equal(workdir_list_load(&l, dir, &file, &err), HY_OK);
	assert_int_equal(l.world, 2);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].name, "b\"q");
	assert_string_equal(l.v[1].path, "/in/b\"q.tgz");
	workdir_list_release(&l);
	/* no temporary left behind */
	assert_false(outfile_exists(dir, ".hybridize/.shards.json.part"));
	put(".hybridize/shards.json", "{\"world\": 0}");
	assert_int_equal(workdir_list_load(&l, dir, &file, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "no \"world\" >= 1"));
	put(".hybridize/shards.json", "{\"world\": ");
	assert_int_equal(workdir_list_load(&l, dir, &file, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "not JSON"));
	buf_release(&file);
}

static void test_progress_round_trip(void **state)
{
	char *failures[] = {"s1.tar: bad", "s2.tar: \"worse\""};
	struct workdir_progress p = {.rank = 3,
				     .world = 4,
				     .pid = 77,
				     .started = 100,
				     .updated = 160,
				     .elapsed = 60.04,
				     .finished = 1,
				     .shards = 5,
				     .host = "node1",
				     .done = {1, 2, 3, 4},
				     .skipped = {5, 6, 7, 8},
				     .failed = {0, 1, 0, 1},
				     .samples = 10,
				     .bad_samples = 2,
				     .bytes_out = 12345,
				     .failures = failures,
				     .nfailures = 2};
	struct workdir_progress q;
	struct buf file = {0};
	struct hy_err err = {0};
	char *path, *text;

	(void)state;
	path = path_join(dir, ".hybridize");
	assert_int_equal(mkdirs(path, &err), HY_OK);
	free(path);
	assert_int_equal(workdir_progress_write(dir, &p, &err), HY_OK);
	text = slurp(".hybridize/progress-3.json");
	assert_non_null(strstr(text, "{\"rank\": 3, \"world\": 4, \"pid\": 77, "
				     "\"started\": 100, \"updated\": 160, "
				     "\"elapsed\": 60.0, \"finished\": true, "
				     "\"shards\": 5, \"host\": \"node1\", "
				     "\"stages\": {\"scan\": {\"done\": 1, "));
	assert_non_null(strstr(text, "\"bad_samples\": 2, \"bytes_out\": "
				     "12345, \"failures\": [\"s1.tar: bad\", "
				     "\"s2.tar: \\\"worse\\\"\"]}\n"));
	free(text);
	path = path_join(dir, ".hybridize/progress-3.json");
	assert_int_equal(workdir_progress_load(&q, path, &file, &err), HY_OK);
	assert_int_equal(q.rank, 3);
	assert_int_equal(q.world, 4);
	assert_int_equal(q.pid, 77);
	assert_int_equal(q.updated, 160);
	assert_true(q.finished);
	assert_string_equal(q.host, "node1");
	assert_int_equal(q.done[3], 4);
	assert_int_equal(q.skipped[0], 5);
	assert_int_equal(q.failed[3], 1);
	assert_int_equal(q.bytes_out, 12345);
	assert_int_equal(q.nfailures, 2);
	assert_string_equal(q.failures[1], "s2.tar: \"worse\"");
	workdir_progress_release(&q);
	free(path);
	path = path_join(dir, ".hybridize/progress-9.json");
	assert_int_equal(workdir_progress_load(&q, path, &file, &err), 1);
	put(".hybridize/progress-9.json", "[1]");
	assert_int_equal(workdir_progress_load(&q, path, &file, &err),
			 HY_ESHARD);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	free(path);
	buf_release(&file);
}

static void test_journal_count(void **state)
{
	struct journal j;
	struct hy_err err = {0};
	int64_t n = 0;
	int fd;

	(void)state;
	assert_int_equal(journal_count(dir, "s", &n, &err), HY_ESHARD);
	assert_int_equal(n, -1);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_int_equal(journal_open(&j, dir, "s", 1, &err), HY_OK);
	assert_int_equal(journal_add(&j, JOURNAL_TAG_KEY, "", "opts", 4, &err),
			 HY_OK);
	assert_int_equal(journal_count(dir, "s", &n, &err), HY_OK);
	assert_int_equal(n, 0); /* the tag is no answer */
	assert_int_equal(journal_add(&j, "a.json", "ok", "p", 1, &err), HY_OK);
	assert_int_equal(journal_add(&j, "b.json", "ok", "q", 1, &err), HY_OK);
	assert_int_equal(journal_count(dir, "s", &n, &err), HY_OK);
	assert_int_equal(n, 2);
	/* a line cut by a kill is not counted */
	fd = j.fd;
	assert_int_equal(write(fd, "[\"c.json\", \"o", 13), 13);
	assert_int_equal(journal_count(dir, "s", &n, &err), HY_OK);
	assert_int_equal(n, 2);
	journal_close(&j);
	/* without a tag line every line is an answer */
	assert_int_equal(journal_open(&j, dir, "t", 1, &err), HY_OK);
	assert_int_equal(journal_add(&j, "a.json", "ok", "p", 1, &err), HY_OK);
	journal_close(&j);
	assert_int_equal(journal_count(dir, "t", &n, &err), HY_OK);
	assert_int_equal(n, 1);
}

static void test_capfile_and_fates_count(void **state)
{
	struct buf file = {0};
	struct hy_err err = {0};
	int64_t n, f[4] = {0, 0, 0, 0};
	char *path = path_join(dir, "c.json");
	struct fates fs = {0};
	char *ed;

	(void)state;
	assert_int_equal(capfile_count(path, &file, &n, &err), 1);
	put("c.json",
	    "{\n    \"a.json\": \"x\",\n    \"b.json\": \"y\\\"\"\n}");
	assert_int_equal(capfile_count(path, &file, &n, &err), HY_OK);
	assert_int_equal(n, 2);
	put("c.json", "{\"a.json\": 1}"); /* another shape: the whole tree */
	assert_int_equal(capfile_count(path, &file, &n, &err), HY_OK);
	assert_int_equal(n, 1);
	put("c.json", "[1, 2]");
	assert_int_equal(capfile_count(path, &file, &n, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	put("c.json", "{\"a.json\": ");
	assert_int_equal(capfile_count(path, &file, &n, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "not JSON"));

	assert_int_equal(fates_count(dir, "e", &file, f, &err), 1);
	ed = path_join(dir, "e");
	assert_int_equal(mkdirs(ed, &err), HY_OK);
	assert_int_equal(fates_add(&fs, "k1", 2, FATE_SYNTHETIC, NULL), 0);
	assert_int_equal(fates_add(&fs, "k2", 2, FATE_BLURRED, "declined"), 0);
	assert_int_equal(fates_add(&fs, "k3", 2, FATE_BLURRED, "declined"), 0);
	assert_int_equal(fates_write(&fs, ed, 0, &err), HY_OK);
	assert_int_equal(fates_count(dir, "e", &file, f, &err), HY_OK);
	assert_int_equal(f[FATE_SYNTHETIC], 1);
	assert_int_equal(f[FATE_BLURRED], 2);
	assert_int_equal(f[FATE_DROPPED], 0);
	put("e/.generate.json", "{}");
	assert_int_equal(fates_count(dir, "e", &file, f, &err), HY_ESHARD);
	assert_non_null(strstr(err.msg, "no \"samples\" list"));
	fates_release(&fs);
	free(ed);
	free(path);
	buf_release(&file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entry_names),
	    cmocka_unit_test_setup_teardown(test_shard_list_round_trip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_progress_round_trip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_journal_count, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_capfile_and_fates_count, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("workdir", tests, NULL, NULL);
}
