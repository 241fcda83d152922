/* langid: fastText lid.176 language identification of captions (the prompts
 * stage's English filter). Needs the model: scripts/fetch-model.sh. */
#include "unit.h"

#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "ml/langid.h"

static struct langid *model;

/* The model from $HYBRIDIZE_LID_MODEL (as the CLI reads it) or next to the
 * repository (langid_default_model); a missing model fails every test that
 * needs it, with the fix in the message, rather than skipping. */
static const char *model_path(void)
{
	const char *env = getenv("HYBRIDIZE_LID_MODEL");

	return env && *env ? env : langid_default_model();
}

static struct langid *get_model(void)
{
	struct hy_err err = {0};
	const char *path;

	if (model)
		return model;
	path = model_path();
	if (access(path, R_OK) != 0)
		fail_msg("language-ID model %s not found: run "
			 "scripts/fetch-model.sh (or set HYBRIDIZE_LID_MODEL)",
			 path);
	if (langid_open(&model, path, &err) != HY_OK)
		fail_msg("%s", err.msg);
	return model;
}

static int close_model(void **state)
{
	(void)state;
	langid_close(model);
	model = NULL;
	return 0;
}

struct caption {
	const char *text;
	const char *lang;
};

static const struct caption english[] = {
    {"A dog running on the beach at sunset", "en"},
    {"a red car parked in front of a house", "en"},
    {"Woman in a white dress holding flowers", "en"},
    {"Vintage poster of a jazz concert, 1950s", "en"},
    {"Stock photo: happy family eating dinner together", "en"},
};

static const struct caption foreign[] = {
    {"Familie beim Picknick im Park", "de"},
    {"Ein Hund spielt im Schnee", "de"},
    {"Photo de famille au bord de la mer", "fr"},
    {"Un chat dort sur le canapé", "fr"},
    {"夏の海で遊ぶ子供たち", "ja"},
    {"Niños jugando en la playa al atardecer", "es"},
    {"Una mujer con un vestido rojo", "es"},
};

#define N(a) (sizeof(a) / sizeof(*(a)))

static void predict(const char *text, char *label, float *prob)
{
	assert_int_equal(langid_predict(get_model(), text, strlen(text), label,
					LANGID_LABEL_MAX, prob),
			 HY_OK);
}

static void test_english_captions_are_en(void **state)
{
	char label[LANGID_LABEL_MAX];
	float prob;

	(void)state;
	for (size_t i = 0; i < N(english); i++) {
		predict(english[i].text, label, &prob);
		assert_string_equal(label, "en");
		assert_true(prob > 0.5f && prob <= 1.0001f);
	}
}

static void test_other_languages_are_not_en(void **state)
{
	char label[LANGID_LABEL_MAX];
	float prob;

	(void)state;
	for (size_t i = 0; i < N(foreign); i++) {
		predict(foreign[i].text, label, &prob);
		assert_string_equal(label, foreign[i].lang);
		assert_true(prob > 0.5f);
	}
}

/* fastText stops a prediction at the first newline; without the clean-up
 * only "Photo:" would be classified. */
static void test_newlines_and_control_bytes_read_as_spaces(void **state)
{
	char l1[LANGID_LABEL_MAX], l2[LANGID_LABEL_MAX];
	float p1, p2;

	(void)state;
	predict("A dog\nrunning on\r\nthe\tbeach\x01", l1, &p1);
	predict("A dog running on the beach", l2, &p2);
	assert_string_equal(l1, "en");
	assert_string_equal(l1, l2);
	assert_true(p1 == p2);

	predict("Photo:\nFamilie beim Picknick im Park", l1, &p1);
	predict("Photo: Familie beim Picknick im Park", l2, &p2);
	assert_string_equal(l1, "de");
	assert_true(p1 == p2);
}

/* The text need not be NUL-terminated: only len bytes are read. */
static void test_only_len_bytes_are_read(void **state)
{
	const char text[] = "Ein Hund spielt im Schnee"
			    "XXXX a dog playing in the snow with a ball";
	char label[LANGID_LABEL_MAX];
	float prob;

	(void)state;
	assert_int_equal(
	    langid_predict(get_model(), text, 25, label, sizeof(label), &prob),
	    HY_OK);
	assert_string_equal(label, "de");
}

static void test_empty_or_blank_text_has_no_language(void **state)
{
	const char *blank[] = {"", " ", "\n\n", " \t\r\n\v\f ", "\x01\x7f"};
	const char *en[] = {"en"};
	char label[LANGID_LABEL_MAX];
	float prob;
	int yes = 1;
	struct hy_err err = {0};

	(void)state;
	for (size_t i = 0; i < N(blank); i++) {
		memset(label, 'x', sizeof(label));
		prob = 1;
		predict(blank[i], label, &prob);
		assert_string_equal(label, "");
		assert_true(prob == 0);
		assert_int_equal(langid_is(get_model(), blank[i],
					   strlen(blank[i]), en, 1, 0, &yes,
					   &err),
				 HY_OK);
		assert_false(yes);
	}
	assert_int_equal(
	    langid_predict(get_model(), NULL, 0, label, sizeof(label), &prob),
	    HY_OK);
	assert_string_equal(label, "");
}

static int is(const char *text, const char *const *langs, size_t n,
	      float min_score)
{
	struct hy_err err = {0};
	int yes = -1;

	assert_int_equal(langid_is(get_model(), text, strlen(text), langs, n,
				   min_score, &yes, &err),
			 HY_OK);
	assert_true(yes == 0 || yes == 1);
	return yes;
}

static void test_is_keeps_listed_top_language(void **state)
{
	const char *en[] = {"en"};
	const char *defr[] = {"de", "fr"};

	(void)state;
	for (size_t i = 0; i < N(english); i++) {
		assert_true(is(english[i].text, en, 1, 0));
		assert_false(is(english[i].text, defr, 2, 0));
	}
	for (size_t i = 0; i < N(foreign); i++) {
		int de_or_fr = !strcmp(foreign[i].lang, "de") ||
			       !strcmp(foreign[i].lang, "fr");

		assert_false(is(foreign[i].text, en, 1, 0));
		assert_int_equal(is(foreign[i].text, defr, 2, 0), de_or_fr);
	}
	assert_false(is(english[0].text, en, 0, 0)); /* empty list */
}

/* DataComp's rule: top-1 in the list and prob >= min_score. */
static void test_is_min_score_is_inclusive(void **state)
{
	const char *en[] = {"en"};
	const char *text = "Nike Air Max 90";
	char label[LANGID_LABEL_MAX];
	float prob;

	(void)state;
	predict(text, label, &prob);
	/* None of these words survives in the pruned .ftz model: only the
	 * end-of-line token speaks, and it says "en" at 0.12. A bare top-1
	 * filter keeps such captions; a min_score drops them. */
	assert_string_equal(label, "en");
	assert_true(prob < 0.5f);
	assert_true(is(text, en, 1, 0));
	assert_true(is(text, en, 1, prob));
	assert_false(is(text, en, 1, nextafterf(prob, 2)));
	assert_false(is(text, en, 1, 0.5f));
}

static void test_small_label_buffer_is_refused(void **state)
{
	char label[2];
	float prob;

	(void)state;
	assert_int_equal(langid_predict(get_model(), "a dog", 5, label,
					sizeof(label), &prob),
			 HY_EFATAL);
}

static void test_long_and_invalid_utf8_text(void **state)
{
	size_t n = 200000;
	char *big = malloc(n + 1);
	char label[LANGID_LABEL_MAX];
	float prob;

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = "the cat sat on the mat\n"[i % 23];
	big[n] = '\0';
	predict(big, label, &prob);
	assert_string_equal(label, "en");
	free(big);
	predict("\xff\xfe\xc3 caf\xc3 \xe3\x81", label, &prob);
	assert_true(strlen(label) > 0);
}

static void test_missing_model_is_fatal_and_named(void **state)
{
	const char *path = "/nonexistent/dir/lid.176.ftz";
	struct langid *l = (struct langid *)1;
	struct hy_err err = {0};

	(void)state;
	assert_int_equal(langid_open(&l, path, &err), HY_EFATAL);
	assert_null(l);
	assert_int_equal(err.code, HY_EFATAL);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file"));

	assert_int_equal(langid_open(&l, "/tmp", &err), HY_EFATAL);
	assert_null(l);
	assert_non_null(strstr(err.msg, "/tmp"));
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_non_model_file_is_fatal(void **state)
{
	char path[] = "/tmp/test_langid.XXXXXX";
	struct langid *l = NULL;
	struct hy_err err = {0};
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "a dog on the beach\n", 19);
	assert_int_equal(langid_open(&l, path, &err), HY_EFATAL);
	assert_null(l);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "not a fastText model"));

	write_file(path, "", 0);
	assert_int_equal(langid_open(&l, path, &err), HY_EFATAL);
	assert_non_null(strstr(err.msg, path));
	unlink(path);
}

/* fastText itself does not check its reads: a cut model made it loop for
 * ever; the loader must refuse it instead. */
static void test_truncated_model_is_fatal(void **state)
{
	char path[] = "/tmp/test_langid.XXXXXX";
	size_t cap = 4 << 20, n;
	char *body = malloc(cap);
	struct langid *l = NULL;
	struct hy_err err = {0};
	FILE *f;
	int fd;

	(void)state;
	get_model(); /* fails with the fetch hint when the model is missing */
	assert_non_null(body);
	f = fopen(model_path(), "rb");
	assert_non_null(f);
	n = fread(body, 1, cap, f);
	fclose(f);
	assert_true(n > 100000 && n < cap);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	size_t cuts[] = {8, 100, 4096, n / 3, n - 13, n - 1};
	for (size_t i = 0; i < N(cuts); i++) {
		write_file(path, body, cuts[i]);
		assert_int_equal(langid_open(&l, path, &err), HY_EFATAL);
		assert_null(l);
		assert_non_null(strstr(err.msg, path));
	}
	unlink(path);
	free(body);
}

/* The default is found beside the executable; the environment is the
 * CLI's to read, not the library's. */
static void test_default_model_ignores_environment(void **state)
{
	const char *old = getenv("HYBRIDIZE_LID_MODEL");
	char *saved = old ? strdup(old) : NULL;

	(void)state;
	setenv("HYBRIDIZE_LID_MODEL", "/x/y.ftz", 1);
	const char *p = langid_default_model();
	assert_string_not_equal(p, "/x/y.ftz");
	assert_true(p[0] == '/');
	assert_non_null(strstr(p, "/.cache/models/lid.176.ftz"));
	unsetenv("HYBRIDIZE_LID_MODEL");
	if (saved)
		setenv("HYBRIDIZE_LID_MODEL", saved, 1);
	free(saved);
	langid_close(NULL);
}

#define ROUNDS 300
#define NTEXTS (N(english) + N(foreign))

static const char *text_at(size_t i)
{
	return i < N(english) ? english[i].text : foreign[i - N(english)].text;
}

struct job {
	char label[NTEXTS][LANGID_LABEL_MAX]; /* the serial answers */
	float prob[NTEXTS];
	int bad; /* predictions that differed from them */
};

static void *predict_all(void *arg)
{
	struct job *j = arg;
	char label[LANGID_LABEL_MAX];
	float prob;

	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < NTEXTS; i++) {
			const char *t = text_at(i);

			if (langid_predict(model, t, strlen(t), label,
					   sizeof(label), &prob) != HY_OK ||
			    strcmp(label, j->label[i]) != 0 ||
			    prob != j->prob[i])
				j->bad++;
		}
	}
	return NULL;
}

/* One handle, four threads at once: the same answers as one thread. */
static void test_concurrent_predictions_match_serial(void **state)
{
	struct job serial = {0}, jobs[4];
	pthread_t th[4];

	(void)state;
	for (size_t i = 0; i < NTEXTS; i++)
		predict(text_at(i), serial.label[i], &serial.prob[i]);
	for (int t = 0; t < 4; t++) {
		jobs[t] = serial;
		assert_int_equal(
		    pthread_create(&th[t], NULL, predict_all, &jobs[t]), 0);
	}
	for (int t = 0; t < 4; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(jobs[t].bad, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_english_captions_are_en),
	    cmocka_unit_test(test_other_languages_are_not_en),
	    cmocka_unit_test(test_newlines_and_control_bytes_read_as_spaces),
	    cmocka_unit_test(test_only_len_bytes_are_read),
	    cmocka_unit_test(test_empty_or_blank_text_has_no_language),
	    cmocka_unit_test(test_is_keeps_listed_top_language),
	    cmocka_unit_test(test_is_min_score_is_inclusive),
	    cmocka_unit_test(test_small_label_buffer_is_refused),
	    cmocka_unit_test(test_long_and_invalid_utf8_text),
	    cmocka_unit_test(test_missing_model_is_fatal_and_named),
	    cmocka_unit_test(test_non_model_file_is_fatal),
	    cmocka_unit_test(test_truncated_model_is_fatal),
	    cmocka_unit_test(test_default_model_ignores_environment),
	    cmocka_unit_test(test_concurrent_predictions_match_serial),
	};
	return cmocka_run_group_tests_name("langid", tests, NULL, close_model);
}
