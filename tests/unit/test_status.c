/* status: the report of a work dir built by hand in a temporary folder
 * (stage files, in-progress markers, shards.json, progress files), read at
 * a fixed clock; and the sbatch --array ranges. */
#include "unit.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "formats/fates.h"
#include "util/outfile.h"
#include "stages/status.h"

/* The clock the reports are read at: the files' mtimes are set around it
 * where it matters. */
#define NOW 2000000000L

UNIT_TMPDIR(dir, "status");

/* dir/rel with its folders; text NULL makes a folder. */
static void put(const char *rel, const char *text)
{
	char *p = path_join(dir, rel), *slash;
	struct hy_err err;
	FILE *f;

	assert_non_null(p);
	slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(mkdirs(p, &err), HY_OK);
	*slash = '/';
	if (!text) {
		assert_int_equal(mkdirs(p, &err), HY_OK);
	} else {
		f = fopen(p, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(text, 1, strlen(text), f),
				 strlen(text));
		assert_int_equal(fclose(f), 0);
	}
	free(p);
}

/* Sets the mtime of dir/rel to NOW - age. */
static void age(const char *rel, long secs)
{
	char *p = path_join(dir, rel);
	struct timeval tv[2] = {{NOW - secs, 0}, {NOW - secs, 0}};

	assert_non_null(p);
	assert_int_equal(utimes(p, tv), 0);
	free(p);
}

static void put_progress(int rank, int world, long updated, int finished,
			 int resharded, double elapsed, const char *failures)
{
	char rel[64], text[1024];

	snprintf(rel, sizeof(rel), ".hybridize/progress-%d.json", rank);
	snprintf(text, sizeof(text),
		 "{\"rank\": %d, \"world\": %d, \"pid\": 1, \"started\": %ld, "
		 "\"updated\": %ld, \"elapsed\": %.1f, \"finished\": %s, "
		 "\"shards\": 3, \"host\": \"node-%d\", \"stages\": {"
		 "\"scan\": {\"done\": 0, \"skipped\": 0, \"failed\": 0}, "
		 "\"reshard\": {\"done\": %d, \"skipped\": 0, \"failed\": 0}}, "
		 "\"samples\": 10, \"faces\": 4, \"failures\": [%s]}\n",
		 rank, world, updated - (long)elapsed, updated, elapsed,
		 finished ? "true" : "false", rank, resharded, failures);
	put(rel, text);
}

static const struct status_shard *shard(const struct status_report *r,
					const char *name)
{
	for (size_t i = 0; i < r->nshards; i++)
		if (!strcmp(r->shards[i].name, name))
			return &r->shards[i];
	fail_msg("no shard %s in the report", name);
	return NULL;
}

static const char caps3[] = "{\"a.json\": \"x\", \"b.json\": \"y\", "
			    "\"c.json\": \"z\"}";

/* Seven shards, world 3 (index i % 3):
 *   s0 final   s1 failed at scan (its line)   s2 prompts, journal, live
 *   s3 final   s4 generate .part, stale      s5 nothing
 *   s6 final
 * so indices 1 (s1, s4) and 2 (s2, s5) still have work. */
static void build_world3(void)
{
	put(".hybridize/shards.json",
	    "{\"world\": 3, \"shards\": ["
	    "{\"name\": \"s0\", \"path\": \"in/s0.tar\"},"
	    "{\"name\": \"s1\", \"path\": \"in/s1.tar\"},"
	    "{\"name\": \"s2\", \"path\": \"in/s2.tar\"},"
	    "{\"name\": \"s3\", \"path\": \"in/s3.tar\"},"
	    "{\"name\": \"s4\", \"path\": \"in/s4.tar\"},"
	    "{\"name\": \"s5\", \"path\": \"in/s5.tar\"},"
	    "{\"name\": \"s6\", \"path\": \"in/s6.tar\"}]}");
	for (int i = 0; i < 7; i += 3) {
		char rel[64];

		snprintf(rel, sizeof(rel), "captions/s%d.json", i);
		put(rel, caps3);
		snprintf(rel, sizeof(rel), "prompts/s%d.json", i);
		put(rel, "{\"a.json\": \"p\", \"b.json\": \"q\"}");
		snprintf(rel, sizeof(rel), "edits/s%d/.generate.json", i);
		put(rel, "{\"samples\": [{\"key\": \"a\", \"fate\": "
			 "\"synthetic\"}, {\"key\": \"b\", \"fate\": "
			 "\"synthetic\"}, {\"key\": \"c\", \"fate\": "
			 "\"blurred\", \"reason\": \"declined\"}]}");
		snprintf(rel, sizeof(rel), "shards/s%d.tar", i);
		put(rel, "tar");
	}
	/* s2: two answers after the options tag, a third cut by a kill */
	put("captions/s2.json", caps3);
	put("prompts/.s2.journal", "[\"#options\", \"\", \"t\"]\n"
				   "[\"a.json\", \"ok\", \"p\"]\n"
				   "[\"b.json\", \"declined\", \"no\"]\n"
				   "[\"c.js");
	age("prompts/.s2.journal", 3600);
	/* s4: one finished sample (in a key folder), one being written */
	put("captions/s4.json", caps3);
	put("prompts/s4.json", "{\"a.json\": \"p\"}");
	put("edits/.s4.part/.options", "o");
	put("edits/.s4.part/sub/a.json", "{}");
	put("edits/.s4.part/sub/a.jpg", "x");
	put("edits/.s4.part/.b.json.part", "{");
	age("edits/.s4.part", 3600);
	/* a rank per index: 2 live, 1 stale, 0 finished */
	put_progress(0, 3, NOW - 7200, 1, 3, 3600, "");
	put_progress(1, 3, NOW - 3600, 0, 0, 600,
		     "\"in/s1.tar: offset 0: cannot read: Unrecognized\", "
		     "\"in/s0.tar: sample 'k': bad json\"");
	put_progress(2, 3, NOW - 5, 0, 1, 1800,
		     "\"in/s5.tar: sample 'k': k.json: bad json\"");
}

static void test_world3_stages_and_counts(void **state)
{
	struct status_report r;
	struct hy_err err = {0};

	(void)state;
	build_world3();
	assert_int_equal(status_gather(&r, dir, NULL, NOW, &err), HY_OK);
	assert_int_equal(r.have_list, 1);
	assert_int_equal(r.world, 3);
	assert_int_equal(r.nshards, 7);
	assert_int_equal(r.nwarnings, 0);
	/* scan: s1 failed, s5 not started */
	assert_int_equal(r.stages[PL_SCAN][STATUS_DONE], 5);
	assert_int_equal(r.stages[PL_SCAN][STATUS_FAILED], 1);
	assert_int_equal(r.stages[PL_SCAN][STATUS_NOT_STARTED], 1);
	/* prompts: s2 in progress (its rank is live) */
	assert_int_equal(r.stages[PL_PROMPTS][STATUS_DONE], 4);
	assert_int_equal(r.stages[PL_PROMPTS][STATUS_IN_PROGRESS], 1);
	/* generate: s4 left by a stale rank, failed */
	assert_int_equal(r.stages[PL_GENERATE][STATUS_DONE], 3);
	assert_int_equal(r.stages[PL_GENERATE][STATUS_FAILED], 1);
	assert_int_equal(r.stages[PL_GENERATE][STATUS_NOT_STARTED], 3);
	assert_int_equal(r.stages[PL_RESHARD][STATUS_DONE], 3);
	assert_int_equal(r.stages[PL_RESHARD][STATUS_NOT_STARTED], 4);

	assert_int_equal(shard(&r, "s1")->state, STATUS_FAILED);
	assert_string_equal(shard(&r, "s1")->failure,
			    "in/s1.tar: offset 0: cannot read: Unrecognized");
	assert_int_equal(shard(&r, "s2")->stage, PL_PROMPTS);
	assert_int_equal(shard(&r, "s2")->state, STATUS_IN_PROGRESS);
	assert_int_equal(shard(&r, "s2")->part_done, 2);
	assert_int_equal(shard(&r, "s2")->part_of, 3);
	assert_int_equal(shard(&r, "s4")->state, STATUS_FAILED);
	assert_null(shard(&r, "s4")->failure);
	assert_int_equal(shard(&r, "s4")->part_done, 1);
	/* a sample-level line does not fail its shard */
	assert_int_equal(shard(&r, "s5")->state, STATUS_NOT_STARTED);

	assert_int_equal(r.faces, 3 * 3 + 3 + 3);
	assert_int_equal(r.prompts, 3 * 2 + 1);
	assert_int_equal(r.no_prompt, 3 * 1 + 2);
	assert_int_equal(r.fates[FATE_SYNTHETIC], 6);
	assert_int_equal(r.fates[FATE_BLURRED], 3);
	assert_int_equal(r.fates[FATE_DROPPED], 0);
	assert_int_equal(r.part_done, 3);
	assert_int_equal(r.missing, 4);
	assert_string_equal(r.array, "1-2");
	status_release(&r);
}

static void test_world3_ranks_and_eta(void **state)
{
	struct status_report r;
	struct hy_err err = {0};

	(void)state;
	build_world3();
	assert_int_equal(status_gather(&r, dir, NULL, NOW, &err), HY_OK);
	assert_int_equal(r.nranks, 3);
	assert_int_equal(r.live, 1);
	assert_int_equal(r.ranks[0].state, STATUS_RANK_FINISHED);
	assert_int_equal(r.ranks[1].state, STATUS_RANK_STALE);
	assert_int_equal(r.ranks[2].state, STATUS_RANK_LIVE);
	assert_string_equal(r.ranks[2].host, "node-2");
	/* shards of each index from the files: 0 owns s0 s3 s6 (all done) */
	assert_int_equal(r.ranks[0].shards, 3);
	assert_int_equal(r.ranks[0].shards_done, 3);
	assert_int_equal(r.ranks[1].shards, 2);
	assert_int_equal(r.ranks[1].shards_done, 0);
	assert_int_equal(r.ranks[2].shards_done, 0);
	/* 1 shard in 1800 s: 2 an hour; 2 left for rank 2, 4 overall */
	assert_true(r.ranks[2].shards_per_hour > 1.99 &&
		    r.ranks[2].shards_per_hour < 2.01);
	assert_true(r.ranks[2].eta > 3599 && r.ranks[2].eta < 3601);
	assert_true(r.ranks[1].eta < 0);
	assert_true(r.shards_per_hour > 1.99 && r.shards_per_hour < 2.01);
	assert_true(r.eta > 7199 && r.eta < 7201);
	status_release(&r);
}

/* A marker that changed lately means a stage command outside `run` is on
 * it; an old one with no live rank is work left behind. */
static void test_recent_marker_without_run_is_in_progress(void **state)
{
	struct status_report r;
	struct hy_err err = {0};

	(void)state;
	put("captions/a.json", caps3);
	put("captions/b.json", caps3);
	put("prompts/.a.journal", "[\"#options\", \"\", \"t\"]\n");
	put("prompts/.b.journal", "[\"#options\", \"\", \"t\"]\n");
	age("prompts/.a.journal", 10);
	age("prompts/.b.journal", 600);
	assert_int_equal(status_gather(&r, dir, NULL, NOW, &err), HY_OK);
	assert_int_equal(r.have_list, 0);
	assert_null(r.array);
	assert_int_equal(r.nshards, 2);
	assert_int_equal(shard(&r, "a")->state, STATUS_IN_PROGRESS);
	assert_int_equal(shard(&r, "a")->part_done, 0);
	assert_int_equal(shard(&r, "b")->state, STATUS_FAILED);
	assert_int_equal(r.missing, 2);
	assert_true(r.eta < 0);
	status_release(&r);
}

/* A fresh marker whose rank is known dead (stale) is work left behind,
 * not a stage command at work. */
static void test_fresh_marker_of_dead_rank_is_failed(void **state)
{
	struct status_report r;
	struct hy_err err = {0};

	(void)state;
	build_world3();
	age("edits/.s4.part", 5);
	assert_int_equal(status_gather(&r, dir, NULL, NOW, &err), HY_OK);
	assert_int_equal(shard(&r, "s4")->state, STATUS_FAILED);
	status_release(&r);
}

/* Without shards.json the shards are the names in the stage folders, and
 * temporaries of outputs being written are not shards of their own. */
static void test_shards_from_folders(void **state)
{
	struct status_report r;
	struct hy_err err = {0};

	(void)state;
	put("captions/x.json", "{}");
	put("captions/.y.json.part", "{");
	put("edits/z", NULL);
	put("out/w.tar", "t");
	put("out/.v.tar.part", "t");
	put("shards/ignored.tar", "t");
	{
		char *out = path_join(dir, "out");

		assert_int_equal(status_gather(&r, dir, out, NOW, &err), HY_OK);
		free(out);
	}
	assert_int_equal(r.nshards, 5);
	assert_string_equal(r.shards[0].name, "v");
	assert_string_equal(r.shards[4].name, "z");
	assert_int_equal(shard(&r, "w")->stage, PL_N);
	assert_int_equal(shard(&r, "z")->stage, PL_RESHARD);
	assert_int_equal(shard(&r, "x")->faces, 0);
	/* a stale .tar.part is redone from scratch: not started */
	assert_int_equal(shard(&r, "v")->state, STATUS_NOT_STARTED);
	assert_int_equal(r.stages[PL_SCAN][STATUS_DONE], 3);
	assert_int_equal(r.stages[PL_RESHARD][STATUS_DONE], 1);
	assert_int_equal(r.missing, 4);
	status_release(&r);
}

static void test_bad_files_are_warnings(void **state)
{
	struct status_report r;
	struct hy_err err = {0};

	(void)state;
	put(".hybridize/shards.json", "{\"world\": 0}");
	put(".hybridize/progress-0.json", "not json");
	put("captions/a.json", "[1, 2]");
	put("prompts/a.json", "{\"a.json\": ");
	assert_int_equal(status_gather(&r, dir, NULL, NOW, &err), HY_OK);
	assert_int_equal(r.have_list, 0);
	assert_int_equal(r.nranks, 0);
	assert_int_equal(r.nwarnings, 4);
	assert_int_equal(shard(&r, "a")->faces, -1);
	assert_int_equal(shard(&r, "a")->prompts, -1);
	assert_int_equal(shard(&r, "a")->stage, PL_GENERATE);
	status_release(&r);
}

static void test_not_a_work_dir(void **state)
{
	struct status_report r;
	struct hy_err err = {0};
	char *missing = path_join(dir, "nope");

	(void)state;
	assert_int_equal(status_gather(&r, missing, NULL, NOW, &err),
			 HY_EFATAL);
	assert_non_null(strstr(err.msg, "nope"));
	status_release(&r);
	assert_int_equal(status_gather(&r, dir, NULL, NOW, &err), HY_EFATAL);
	assert_non_null(strstr(err.msg, "not a work dir"));
	status_release(&r);
	free(missing);
}

static void check_ranges(const long *v, size_t n, const char *want)
{
	char *s = status_ranges(v, n);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_ranges(void **state)
{
	static const long a[] = {0, 1, 2, 3, 7, 9, 10, 11, 12};
	static const long b[] = {5};
	static const long c[] = {1, 2, 4, 5, 7};

	(void)state;
	check_ranges(a, 9, "0-3,7,9-12");
	check_ranges(b, 1, "5");
	check_ranges(c, 5, "1-2,4-5,7");
	check_ranges(NULL, 0, "");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_world3_stages_and_counts),
	    T(test_world3_ranks_and_eta),
	    T(test_recent_marker_without_run_is_in_progress),
	    T(test_fresh_marker_of_dead_rank_is_failed),
	    T(test_shards_from_folders),
	    T(test_bad_files_are_warnings),
	    T(test_not_a_work_dir),
	    cmocka_unit_test(test_ranges),
	};
	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
