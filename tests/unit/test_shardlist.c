/* shardlist: brace expansion, directory listing, names, rank split. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "tar/shardlist.h"

static int collect(void *ctx, const char *s)
{
	struct buf *b = ctx;

	if (b->len)
		buf_putc(b, ' ');
	return buf_append(b, s, strlen(s));
}

static void expect_expansion(const char *word, const char *want)
{
	struct buf b = {0};
	struct hy_err err = {0};

	assert_int_equal(shardlist_expand_braces(word, collect, &b, &err),
			 HY_OK);
	assert_string_equal(b.data ? b.data : "", want);
	buf_release(&b);
}

static void test_numeric_range_keeps_zero_padding(void **state)
{
	(void)state;
	expect_expansion(
	    "s/{00000008..00000011}.tar",
	    "s/00000008.tar s/00000009.tar s/00000010.tar s/00000011.tar");
	expect_expansion("{8..11}", "8 9 10 11");
	expect_expansion("{3..1}", "3 2 1");
	expect_expansion("{07..9}", "07 08 09");
}

static void test_lists_nesting_and_groups(void **state)
{
	(void)state;
	expect_expansion("{a,b}{1..2}", "a1 a2 b1 b2");
	expect_expansion("x{a,b{1,2}}y", "xay xb1y xb2y");
	expect_expansion("plain.tar", "plain.tar");
}

static void test_literal_braces_stay(void **state)
{
	(void)state;
	expect_expansion("a{b}c", "a{b}c");
	expect_expansion("a{b", "a{b");
	expect_expansion("a}b{1..2}", "a}b1 a}b2");
	expect_expansion("{1..x}", "{1..x}");
}

static void test_huge_expansion_refused(void **state)
{
	struct buf b = {0};
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(
	    shardlist_expand_braces("{0..99999999999}", collect, &b, &err),
	    HY_EFATAL);
	assert_non_null(strstr(err.msg, "more than"));
	buf_release(&b);
}

static int count_calls(void *ctx, const char *s)
{
	(void)s;
	(*(long *)ctx)++;
	return HY_OK;
}

/* A product of groups, each small enough, is refused by its count before a
 * single name is made: expanding first took 33 s and 870 MB to refuse
 * '{0..99999}{0..999}'. No name produced, no list entry kept, is what says
 * it allocated little; no time is measured. */
static void expect_refused_unexpanded(const char *word)
{
	struct hy_err err = {0};
	char want[256];
	long calls = 0;

	assert_int_equal(
	    shardlist_expand_braces(word, count_calls, &calls, &err),
	    HY_EFATAL);
	assert_int_equal(calls, 0);
	snprintf(want, sizeof(want), "'%s' expands to more than", word);
	assert_non_null(strstr(err.msg, want));
}

static void test_huge_product_refused_by_its_count(void **state)
{
	struct shardlist l = {0};
	struct hy_err err = {0};

	(void)state;
	expect_refused_unexpanded("s/{0..99999}{0..999}.tar");
	expect_refused_unexpanded("{0..9999}{0..9999}{0..9999}{0..9999}");
	/* 2^24 names from two-way lists */
	expect_refused_unexpanded("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}"
				  "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}"
				  "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}");
	/* 4^12, through lists whose alternatives are groups */
	expect_refused_unexpanded("{{a,b},{c,d}}{{a,b},{c,d}}{{a,b},{c,d}}"
				  "{{a,b},{c,d}}{{a,b},{c,d}}{{a,b},{c,d}}"
				  "{{a,b},{c,d}}{{a,b},{c,d}}{{a,b},{c,d}}"
				  "{{a,b},{c,d}}{{a,b},{c,d}}{{a,b},{c,d}}");
	/* The command line's way in keeps nothing either. */
	assert_int_equal(
	    shardlist_add_arg(&l, "d/{0..99999}{0..999}.tar", &err), HY_EFATAL);
	assert_int_equal(l.n, 0);
	assert_non_null(strstr(err.msg, "'d/{0..99999}{0..999}.tar'"));
	shardlist_release(&l);
	/* Literal braces and ranges of one count once each. */
	expect_expansion("{x}{5..5}{a}{", "{x}5{a}{");
	expect_expansion("{a,{b,c}{1..2}}-{7..8}",
			 "a-7 a-8 b1-7 b1-8 b2-7 b2-8 "
			 "c1-7 c1-8 c2-7 c2-8");
}

static void test_names_drop_tar_suffixes(void **state)
{
	char *n;

	(void)state;
	n = shardlist_name("/a/b/00000001.tar");
	assert_string_equal(n, "00000001");
	free(n);
	n = shardlist_name("x/00000002.tar.gz");
	assert_string_equal(n, "00000002");
	free(n);
	n = shardlist_name("y.tgz");
	assert_string_equal(n, "y");
	free(n);
}

static void test_directory_lists_tars_sorted(void **state)
{
	char dir[] = "/tmp/hy-unit-XXXXXX";
	struct shardlist l = {0};
	struct hy_err err = {0};
	const char *files[] = {"b.tar", "a.tar.gz", "c.txt", ".hidden.tar",
			       "a0.tar"};

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < 5; i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		fclose(fopen(p, "w"));
	}
	assert_int_equal(shardlist_add_arg(&l, dir, &err), HY_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "a");
	assert_string_equal(l.v[1].name, "a0");
	assert_string_equal(l.v[2].name, "b");
	assert_int_equal(shardlist_finish(&l, &err), HY_OK);
	shardlist_release(&l);
	for (size_t i = 0; i < 5; i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void test_repeats_dropped_collisions_refused(void **state)
{
	struct shardlist l = {0};
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(shardlist_add_arg(&l, "x/{1,2,1}.tar", &err), HY_OK);
	assert_int_equal(shardlist_finish(&l, &err), HY_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].path, "x/1.tar");
	assert_string_equal(l.v[1].path, "x/2.tar");
	assert_int_equal(shardlist_add_arg(&l, "y/1.tar", &err), HY_OK);
	assert_int_equal(shardlist_finish(&l, &err), HY_EFATAL);
	assert_non_null(strstr(err.msg, "same name '1'"));
	shardlist_release(&l);
}

static void test_rank_split_is_a_partition(void **state)
{
	struct hy_err err = {0};
	int seen[10] = {0};

	(void)state;
	for (long r = 0; r < 3; r++) {
		struct shardlist l = {0};
		assert_int_equal(shardlist_add_arg(&l, "{0..9}.tar", &err),
				 HY_OK);
		shardlist_select(&l, r, 3);
		for (size_t i = 0; i < l.n; i++)
			seen[atoi(l.v[i].name)]++;
		shardlist_release(&l);
	}
	for (int i = 0; i < 10; i++)
		assert_int_equal(seen[i], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numeric_range_keeps_zero_padding),
	    cmocka_unit_test(test_lists_nesting_and_groups),
	    cmocka_unit_test(test_literal_braces_stay),
	    cmocka_unit_test(test_huge_expansion_refused),
	    cmocka_unit_test(test_huge_product_refused_by_its_count),
	    cmocka_unit_test(test_names_drop_tar_suffixes),
	    cmocka_unit_test(test_directory_lists_tars_sorted),
	    cmocka_unit_test(test_repeats_dropped_collisions_refused),
	    cmocka_unit_test(test_rank_split_is_a_partition),
	};
	return cmocka_run_group_tests_name("shardlist", tests, NULL, NULL);
}
