/* ustar: which headers our own parser takes, and what it reads from them.
 * Whatever it refuses goes to libarchive (shard.c); fuzz/fuzz_ustar.c
 * checks on whole shards that what it takes, libarchive reads the same. */
#include "unit.h"

#include "tar/ustar.h"

/* A POSIX ustar header as Python's tarfile writes it. */
static void header(unsigned char h[512], const char *name, char type,
		   const char *size)
{
	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0001750", 8);
	memcpy(h + 116, "0001751", 8);
	memcpy(h + 124, size, strlen(size) + 1);
	memcpy(h + 136, "14524743000", 12);
	h[156] = (unsigned char)type;
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memcpy(h + 265, "alice", 5);
	memcpy(h + 297, "staff", 5);
	memcpy(h + 329, "0000000", 8);
	memcpy(h + 337, "0000000", 8);
}

/* Writes the checksum as GNU tar and Python do: six digits, NUL, space. */
static void seal(unsigned char h[512])
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void test_reads_a_plain_file_header(void **state)
{
	unsigned char h[512];
	struct ustar_hdr u;

	(void)state;
	header(h, "000123.jpg", '0', "00000054321");
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_string_equal(u.path, "000123.jpg");
	assert_int_equal(u.path_len, 10);
	assert_false(u.is_dir);
	assert_int_equal(u.size, 054321);
	assert_int_equal(u.mode, 0644);
	assert_int_equal(u.uid, 01750);
	assert_int_equal(u.gid, 01751);
	assert_int_equal(u.mtime, 014524743000);
	assert_string_equal(u.uname, "alice");
	assert_string_equal(u.gname, "staff");
	/* The old type byte NUL is a regular file too. */
	header(h, "a.txt", '\0', "1");
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_int_equal(u.size, 1);
}

static void test_joins_prefix_and_name(void **state)
{
	unsigned char h[512];
	struct ustar_hdr u;
	char name[101], prefix[156];

	(void)state;
	header(h, "000001.json", '0', "5");
	memcpy(h + 345, "part1/sub", 9);
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_string_equal(u.path, "part1/sub/000001.json");
	/* A prefix that ends in a slash gets no second one. */
	memcpy(h + 345, "part1/sub/", 10);
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_string_equal(u.path, "part1/sub/000001.json");
	/* Both fields full, without NULs: 155 + 1 + 100 bytes. */
	memset(name, 'n', 100);
	name[100] = 0;
	memset(prefix, 'p', 155);
	prefix[155] = 0;
	header(h, "", '0', "5");
	memcpy(h, name, 100);
	memcpy(h + 345, prefix, 155);
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_int_equal(u.path_len, USTAR_PATH_MAX);
	assert_int_equal(strlen(u.path), USTAR_PATH_MAX);
	assert_int_equal(u.path[155], '/');
}

static void test_folders(void **state)
{
	unsigned char h[512];
	struct ustar_hdr u;

	(void)state;
	header(h, "part1/", '5', "00000000000");
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_true(u.is_dir);
	assert_int_equal(u.size, 0);
	/* libarchive reads no body for a folder: one claiming a size, and a
	 * file named like a folder, are left to it. */
	header(h, "part1/", '5', "00000001000");
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
	header(h, "part1/", '0', "0");
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
}

static void test_zero_block_ends(void **state)
{
	unsigned char h[512] = {0};
	struct ustar_hdr u;

	(void)state;
	assert_int_equal(ustar_parse(h, &u), USTAR_END);
	h[511] = 1; /* not all zeros: a (bad) header */
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
}

static void test_leaves_the_rest_to_libarchive(void **state)
{
	static const char types[] = "12346xgLKSVDM";
	unsigned char h[512];
	struct ustar_hdr u;

	(void)state;
	for (const char *t = types; *t; t++) { /* links, devices, extensions */
		header(h, "a.jpg", *t, "0");
		seal(h);
		assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
	}
	header(h, "a.jpg", '0', "10");
	seal(h);
	h[0] ^= 1; /* checksum no longer matches */
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
	header(h, "a.jpg", '0', "10");
	memcpy(h + 257, "ustar  ", 8); /* GNU tar's own format */
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
	header(h, "a.jpg", '0', "10");
	h[124] = 0x80; /* a base-256 size */
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
	header(h, "a.jpg", '0', "12x"); /* garbage after the digits */
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
	header(h, "a.jpg", '0', "-1");
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
	header(h, "", '0', "1"); /* no name */
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_OTHER);
}

static void test_number_fields(void **state)
{
	unsigned char h[512];
	struct ustar_hdr u;

	(void)state;
	/* Leading spaces and space padding (old tars), and the largest size
	 * twelve octal digits hold. */
	header(h, "a.jpg", '0', "777777777777");
	memcpy(h + 100, "   644 \0", 8);
	seal(h);
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_int_equal(u.size, 0777777777777);
	assert_int_equal(u.mode, 0644);
	/* A checksum with leading spaces is read as libarchive reads it. */
	header(h, "a.jpg", '0', "7");
	seal(h);
	memmove(h + 149, h + 148, 6);
	h[148] = ' ';
	h[155] = '\0';
	assert_int_equal(ustar_parse(h, &u), USTAR_MEMBER);
	assert_int_equal(ustar_padded(0), 0);
	assert_int_equal(ustar_padded(1), 512);
	assert_int_equal(ustar_padded(512), 512);
	assert_int_equal(ustar_padded(513), 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_a_plain_file_header),
	    cmocka_unit_test(test_joins_prefix_and_name),
	    cmocka_unit_test(test_folders),
	    cmocka_unit_test(test_zero_block_ends),
	    cmocka_unit_test(test_leaves_the_rest_to_libarchive),
	    cmocka_unit_test(test_number_fields),
	};
	return cmocka_run_group_tests_name("ustar", tests, NULL, NULL);
}
