/* metaedit: edited KEY.json for synthetic and blurred samples (fields
 * replaced in place, photo fields removed, order kept) and face boxes. */
#include "unit.h"

#include <cJSON.h>

#include "formats/metaedit.h"

/* A DataComp record as Python's json.dump writes it. */
static const char record[] =
    "{\"uid\": \"u1\", \"url\": \"http://x.example/y.jpg\", \"caption\": "
    "\"Jos\\u00e9 in a hat \\ud83c\\udfa9\", \"key\": \"000000001\", "
    "\"status\": \"success\", \"error_message\": null, \"width\": 640, "
    "\"height\": 480, \"original_width\": 1280, \"original_height\": 960, "
    "\"exif\": \"{\\\"Image Make\\\": \\\"X\\\"}\", \"sha256\": \"old\", "
    "\"face_bboxes\": [[0.1, 0.2, 0.3, 0.4]], \"extra\": {\"n\": [1, 2.5]}}";

static const char sha[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static const char prompt[] = "a \"person\" in a hat,\nphoto \xe2\x98\x95";

static struct metaedit_synth synth(void)
{
	struct metaedit_synth s = {
	    .prompt = prompt,
	    .prompt_len = strlen(prompt),
	    .w = 512,
	    .h = 384,
	    .sha256 = sha,
	    .generator = "a1111",
	    .model = "sdxl.safetensors",
	    .has_seed = 1,
	    .seed = 123456789,
	    .steps = 30,
	    .cfg_scale = 6.5,
	    .sampler = "Euler a",
	    .llm_model = "person_tagger",
	};
	return s;
}

/* Parses the output, checking it is one JSON object and nothing else. */
static cJSON *parsed(const struct buf *out)
{
	const char *end = NULL;
	cJSON *j;

	assert_int_equal(strlen(out->data), out->len);
	/* cJSON wants the NUL inside the length to check for trailing text */
	j = cJSON_ParseWithLengthOpts(out->data, out->len + 1, &end, 1);
	if (!cJSON_IsObject(j))
		fail_msg("not a JSON object: %s", out->data);
	return j;
}

static void assert_keys(const cJSON *j, const char *const *keys, size_t n)
{
	const cJSON *c = j->child;

	for (size_t i = 0; i < n; i++, c = c->next) {
		if (!c)
			fail_msg("key %zu (%s) missing", i, keys[i]);
		if (strcmp(c->string, keys[i]))
			fail_msg("key %zu is %s, expected %s", i, c->string,
				 keys[i]);
	}
	if (c)
		fail_msg("unexpected key %s", c->string);
}

static const char *str(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	if (!cJSON_IsString(v))
		fail_msg("%s is not a string", k);
	return v->valuestring;
}

static double num(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	if (!cJSON_IsNumber(v))
		fail_msg("%s is not a number", k);
	return v->valuedouble;
}

static void test_synthetic_replaces_removes_and_keeps_order(void **state)
{
	static const char *const keys[] = {
	    "uid",	     "caption", "key",	    "status",
	    "error_message", "width",	"height",   "sha256",
	    "face_bboxes",   "extra",	"synthetic"};
	struct metaedit_synth s = synth();
	struct buf out = {0};
	struct hy_err err = {0};
	cJSON *j, *syn, *x;
	char *p;

	(void)state;
	assert_int_equal(
	    metaedit_synthetic(record, strlen(record), &s, &out, &err), HY_OK);
	j = parsed(&out);
	assert_keys(j, keys, sizeof(keys) / sizeof(*keys));
	assert_string_equal(str(j, "caption"), prompt);
	assert_string_equal(str(j, "uid"), "u1");
	assert_string_equal(str(j, "key"), "000000001");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "error_message")));
	assert_true(num(j, "width") == 512);
	assert_true(num(j, "height") == 384);
	assert_string_equal(str(j, "sha256"), sha);
	x = cJSON_GetObjectItem(j, "face_bboxes");
	assert_true(cJSON_IsArray(x));
	assert_int_equal(cJSON_GetArraySize(x), 0);
	p = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "extra"));
	assert_string_equal(p, "{\"n\":[1,2.5]}");
	free(p);
	/* nothing of the photo is left in the text */
	assert_null(strstr(out.data, "x.example"));
	assert_null(strstr(out.data, "Image Make"));
	assert_null(strstr(out.data, "1280"));
	assert_null(strstr(out.data, "hat \xf0\x9f\x8e\xa9"));

	syn = cJSON_GetObjectItem(j, "synthetic");
	assert_true(cJSON_IsObject(syn));
	assert_string_equal(str(syn, "generator"), "a1111");
	assert_string_equal(str(syn, "model"), "sdxl.safetensors");
	assert_true(num(syn, "seed") == 123456789);
	assert_true(num(syn, "steps") == 30);
	assert_true(num(syn, "cfg_scale") == 6.5);
	assert_string_equal(str(syn, "sampler"), "Euler a");
	assert_string_equal(str(syn, "llm_model"), "person_tagger");
	cJSON_Delete(j);
	buf_release(&out);
}

static void test_synthetic_unknowns(void **state)
{
	static const char *const keys[] = {"generator", "model", "seed",
					   "llm_model"};
	struct metaedit_synth s = synth();
	struct buf out = {0};
	struct hy_err err = {0};
	cJSON *j, *syn;

	(void)state;
	s.model = NULL;
	s.llm_model = NULL;
	s.steps = 0;
	s.cfg_scale = -1;
	s.sampler = NULL;
	s.generator = "openai";
	assert_int_equal(
	    metaedit_synthetic(record, strlen(record), &s, &out, &err), HY_OK);
	j = parsed(&out);
	syn = cJSON_GetObjectItem(j, "synthetic");
	assert_keys(syn, keys, sizeof(keys) / sizeof(*keys));
	assert_string_equal(str(syn, "generator"), "openai");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(syn, "model")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(syn, "llm_model")));
	cJSON_Delete(j);
	buf_release(&out);
}

static void test_synthetic_seed_is_exact(void **state)
{
	/* A user's 64-bit seed must read back as the integer sent to the
	 * server, not as a rounded float (1.8446744073709552e+19). */
	struct metaedit_synth s = synth();
	struct buf out = {0};
	struct hy_err err = {0};

	(void)state;
	s.seed = 9007199254740993UL; /* 2^53 + 1 */
	assert_int_equal(metaedit_synthetic(NULL, 0, &s, &out, &err), HY_OK);
	cJSON_Delete(parsed(&out));
	if (!strstr(out.data, "\"seed\":9007199254740993"))
		fail_msg("seed not exact: %s", out.data);
	s.seed = 18446744073709551615UL;
	assert_int_equal(metaedit_synthetic(NULL, 0, &s, &out, &err), HY_OK);
	cJSON_Delete(parsed(&out));
	if (!strstr(out.data, "\"seed\":18446744073709551615"))
		fail_msg("seed not exact: %s", out.data);
	buf_release(&out);
}

static void test_synthetic_unknown_seed_is_left_out(void **state)
{
	/* OpenAI's API reports no seed: none is written, rather than the one
	 * it was not told to use */
	struct metaedit_synth s = synth();
	struct buf out = {0};
	struct hy_err err = {0};
	cJSON *j, *syn;

	(void)state;
	s.has_seed = 0;
	assert_int_equal(metaedit_synthetic(NULL, 0, &s, &out, &err), HY_OK);
	j = parsed(&out);
	syn = cJSON_GetObjectItemCaseSensitive(j, "synthetic");
	assert_non_null(syn);
	assert_null(cJSON_GetObjectItem(syn, "seed"));
	assert_non_null(cJSON_GetObjectItem(syn, "generator"));
	cJSON_Delete(j);
	buf_release(&out);
}

static void test_synthetic_without_metadata(void **state)
{
	static const char *const keys[] = {
	    "caption", "face_bboxes", "width", "height", "sha256", "synthetic"};
	struct metaedit_synth s = synth();
	struct buf out = {0};
	struct hy_err err = {0};
	cJSON *j;

	(void)state;
	s.prompt_len = 3; /* the length given, not the string's */
	assert_int_equal(metaedit_synthetic(NULL, 0, &s, &out, &err), HY_OK);
	j = parsed(&out);
	assert_keys(j, keys, sizeof(keys) / sizeof(*keys));
	assert_string_equal(str(j, "caption"), "a \"");
	cJSON_Delete(j);
	/* the output buffer is rewritten, not appended to */
	assert_int_equal(metaedit_synthetic("{}", 2, &s, &out, &err), HY_OK);
	j = parsed(&out);
	assert_keys(j, keys, sizeof(keys) / sizeof(*keys));
	cJSON_Delete(j);
	buf_release(&out);
}

static void test_not_an_object_is_a_sample_error(void **state)
{
	static const char *const bad[] = {
	    "",	       "[1, 2]",    "\"caption\"", "null", "42",
	    "{\"a\":", "{\"a\" 1}", "not json",	   "{]"};
	struct metaedit_synth s = synth();
	struct metaedit_blur b = {64, 64, sha, 1, "declined"};
	struct buf out = {0};
	struct hy_err err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err.code = 0;
		assert_int_equal(
		    metaedit_synthetic(bad[i], strlen(bad[i]), &s, &out, &err),
		    HY_ESAMPLE);
		assert_int_equal(err.code, HY_ESAMPLE);
		assert_non_null(strstr(err.msg, "JSON"));
		assert_int_equal(
		    metaedit_blurred(bad[i], strlen(bad[i]), &b, &out, &err),
		    HY_ESAMPLE);
	}
	buf_release(&out);
}

static void test_lone_surrogate_becomes_replacement(void **state)
{
	static const char rec[] =
	    "{\"uid\": \"a\\ud800b\", \"caption\": \"c\\udfffd\", "
	    "\"note\": \"\\ud83c\\udfa9 \\uD800\"}";
	struct metaedit_synth s = synth();
	struct metaedit_blur b = {64, 64, sha, 0, "not English"};
	char copy[sizeof(rec)];
	struct buf out = {0};
	struct hy_err err = {0};
	cJSON *j;

	(void)state;
	memcpy(copy, rec, sizeof(rec));
	assert_int_equal(metaedit_synthetic(copy, strlen(copy), &s, &out, &err),
			 HY_OK);
	assert_string_equal(copy, rec); /* the caller's text is untouched */
	j = parsed(&out);
	assert_string_equal(str(j, "uid"), "a\xef\xbf\xbd"
					   "b");
	assert_string_equal(str(j, "note"),
			    "\xf0\x9f\x8e\xa9 \xef\xbf\xbd"); /* pair kept */
	cJSON_Delete(j);
	assert_int_equal(metaedit_blurred(rec, strlen(rec), &b, &out, &err),
			 HY_OK);
	j = parsed(&out);
	assert_string_equal(str(j, "caption"), "c\xef\xbf\xbd"
					       "d");
	cJSON_Delete(j);
	buf_release(&out);
}

static void test_blurred(void **state)
{
	static const char *const keys[] = {
	    "uid",	   "caption",	     "key",
	    "status",	   "error_message",  "width",
	    "height",	   "original_width", "original_height",
	    "sha256",	   "face_bboxes",    "extra",
	    "deidentified"};
	struct metaedit_blur b = {640, 480, sha, 1,
				  "LLM declined: \"no\"\n(policy)"};
	struct buf out = {0};
	struct hy_err err = {0};
	cJSON *j, *d, *fb;

	(void)state;
	assert_int_equal(
	    metaedit_blurred(record, strlen(record), &b, &out, &err), HY_OK);
	j = parsed(&out);
	assert_keys(j, keys, sizeof(keys) / sizeof(*keys));
	/* the caption and the boxes stay: the photo is still there */
	assert_string_equal(str(j, "caption"),
			    "Jos\xc3\xa9 in a hat \xf0\x9f\x8e\xa9");
	fb = cJSON_GetObjectItem(j, "face_bboxes");
	assert_int_equal(cJSON_GetArraySize(fb), 1);
	assert_true(num(j, "original_width") == 1280);
	assert_string_equal(str(j, "sha256"), sha);
	assert_null(strstr(out.data, "x.example"));
	assert_null(strstr(out.data, "Image Make"));
	d = cJSON_GetObjectItem(j, "deidentified");
	assert_true(cJSON_IsObject(d));
	assert_string_equal(str(d, "method"), "face-blur");
	assert_true(num(d, "boxes") == 1);
	assert_string_equal(str(d, "reason"), "LLM declined: \"no\"\n(policy)");
	cJSON_Delete(j);
	/* without metadata: a fresh record */
	assert_int_equal(metaedit_blurred(NULL, 0, &b, &out, &err), HY_OK);
	j = parsed(&out);
	assert_true(num(j, "width") == 640);
	assert_non_null(cJSON_GetObjectItem(j, "deidentified"));
	cJSON_Delete(j);
	buf_release(&out);
}

static void test_duplicate_keys_leave_nothing_behind(void **state)
{
	/* Python's json.load keeps the last of duplicate keys: an edit that
	 * only touched the first would ship the old caption and URL. */
	static const char rec[] =
	    "{\"url\": \"http://a.example/1\", \"caption\": \"OLD-1\", "
	    "\"url\": \"http://a.example/2\", \"caption\": \"OLD-2\", "
	    "\"sha256\": \"OLD-3\", \"sha256\": \"OLD-4\", "
	    "\"exif\": \"E1\", \"exif\": \"E2\", \"uid\": \"u\"}";
	struct metaedit_synth s = synth();
	struct metaedit_blur b = {1, 1, sha, 0, "r"};
	struct buf out = {0};
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(metaedit_synthetic(rec, strlen(rec), &s, &out, &err),
			 HY_OK);
	cJSON_Delete(parsed(&out));
	if (strstr(out.data, "a.example") || strstr(out.data, "OLD-") ||
	    strstr(out.data, "\"E1\"") || strstr(out.data, "\"E2\""))
		fail_msg("left behind: %s", out.data);
	assert_int_equal(metaedit_blurred(rec, strlen(rec), &b, &out, &err),
			 HY_OK);
	cJSON_Delete(parsed(&out));
	if (strstr(out.data, "a.example") || strstr(out.data, "OLD-3") ||
	    strstr(out.data, "OLD-4") || strstr(out.data, "\"E1\"") ||
	    strstr(out.data, "\"E2\""))
		fail_msg("left behind: %s", out.data);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_synthetic_replaces_removes_and_keeps_order),
	    cmocka_unit_test(test_synthetic_unknowns),
	    cmocka_unit_test(test_synthetic_seed_is_exact),
	    cmocka_unit_test(test_synthetic_unknown_seed_is_left_out),
	    cmocka_unit_test(test_synthetic_without_metadata),
	    cmocka_unit_test(test_not_an_object_is_a_sample_error),
	    cmocka_unit_test(test_lone_surrogate_becomes_replacement),
	    cmocka_unit_test(test_blurred),
	    cmocka_unit_test(test_duplicate_keys_leave_nothing_behind),
	};
	return cmocka_run_group_tests_name("metaedit", tests, NULL, NULL);
}
