/* imgapi: text-to-image request bodies (A1111, OpenAI images), answers
 * read back, and the strict base64 decoder under them. */
#include "unit.h"

#include <cJSON.h>
#include <limits.h>

#include "net/imgapi.h"

/* A plain RFC 4648 encoder, independent of the code under test. */
static char *b64(const unsigned char *p, size_t n)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc((n + 2) / 3 * 4 + 1), *d = s;

	assert_non_null(s);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*d++ = al[v >> 18 & 63];
		*d++ = al[v >> 12 & 63];
		*d++ = i + 1 < n ? al[v >> 6 & 63] : '=';
		*d++ = i + 2 < n ? al[v & 63] : '=';
	}
	*d = '\0';
	return s;
}

static int decode(const char *s, struct buf *out)
{
	buf_clear(out);
	return imgapi_b64_decode(s, strlen(s), out);
}

static void test_b64_rfc4648_vectors(void **state)
{
	static const char *const v[][2] = {
	    {"", ""},
	    {"Zg==", "f"},
	    {"Zm8=", "fo"},
	    {"Zm9v", "foo"},
	    {"Zm9vYg==", "foob"},
	    {"Zm9vYmE=", "fooba"},
	    {"Zm9vYmFy", "foobar"},
	};
	struct buf out = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		assert_int_equal(decode(v[i][0], &out), 0);
		assert_int_equal(out.len, strlen(v[i][1]));
		assert_memory_equal(out.data, v[i][1], out.len);
		assert_int_equal(out.data[out.len], '\0');
	}
	buf_release(&out);
}

static void test_b64_appends_to_what_is_there(void **state)
{
	struct buf out = {0};

	(void)state;
	assert_int_equal(buf_append(&out, "xy", 2), 0);
	assert_int_equal(imgapi_b64_decode("QUJD", 4, &out), 0);
	assert_int_equal(out.len, 5);
	assert_string_equal(out.data, "xyABC");
	/* a failure leaves the content as it was */
	assert_int_equal(imgapi_b64_decode("QU=D", 4, &out), -1);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "xyABC", 5);
	buf_release(&out);
}

static void test_b64_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "Z",	"Zg",	    "Zg=",	  "Zm9vY", /* length % 4 */
	    "Zg==Zg==", "Zm8=Zm9v", "Z===",	  "====",  /* '=' inside */
	    "A===",	"=AAA",	    "AA=A",	  "A=AA",  "Zm9v====",
	    "Zm 9",	"Zm9\n",    "Zm9v\nYmFy", "Zm-v",  "Zm_v",
	    "Zm9\x80",	"\r\nZm",   "Zm9v Zg=",
	};
	struct buf out = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		buf_clear(&out);
		if (imgapi_b64_decode(bad[i], strlen(bad[i]), &out) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(out.len, 0);
	}
	/* the length given, not the string's: a valid text cut short */
	for (size_t n = 1; n < 8; n++) {
		if (n == 4)
			continue;
		buf_clear(&out);
		assert_int_equal(imgapi_b64_decode("Zm9vYmFy", n, &out), -1);
	}
	/* a NUL inside the given length */
	assert_int_equal(imgapi_b64_decode("Zm9\0", 4, &out), -1);
	buf_release(&out);
}

static void test_b64_round_trip_every_byte(void **state)
{
	unsigned char all[256 * 3];
	struct buf out = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 7 + i / 256);
	/* every length mod 3, every byte value in every position */
	for (size_t n = 0; n <= sizeof(all); n += n < 12 ? 1 : 97) {
		char *s = b64(all, n);
		assert_int_equal(decode(s, &out), 0);
		assert_int_equal(out.len, n);
		if (n)
			assert_memory_equal(out.data, all, n);
		free(s);
	}
	buf_release(&out);
}

static cJSON *request(const struct imgapi_opts *o, const char *prompt,
		      unsigned long seed, int w, int h, char *path_out,
		      char **text)
{
	struct buf path = {0}, body = {0};
	cJSON *j;

	assert_int_equal(
	    imgapi_request(o, prompt, strlen(prompt), seed, w, h, &path, &body),
	    0);
	strcpy(path_out, path.data);
	j = cJSON_ParseWithLength(body.data, body.len);
	if (!j)
		fail_msg("body is not JSON: %s", body.data);
	if (text)
		*text = strdup(body.data);
	buf_release(&path);
	buf_release(&body);
	return j;
}

static const char *str(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static double num(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static const char tricky[] = "a \"quoted\" \\ caption\nwith caf\xc3\xa9 "
			     "\xe2\x98\x95 and \t tab";

static void test_a1111_minimal_body(void **state)
{
	struct imgapi_opts o = {IMGAPI_A1111, NULL, 0, -1, NULL, NULL};
	char path[64];
	cJSON *j = request(&o, tricky, 1234567, 768, 512, path, NULL);

	(void)state;
	assert_string_equal(path, "/sdapi/v1/txt2img");
	assert_string_equal(str(j, "prompt"), tricky);
	assert_true(num(j, "seed") == 1234567);
	assert_true(num(j, "width") == 768);
	assert_true(num(j, "height") == 512);
	assert_true(num(j, "batch_size") == 1);
	assert_true(num(j, "n_iter") == 1);
	/* nothing the caller left to the server */
	assert_null(cJSON_GetObjectItem(j, "steps"));
	assert_null(cJSON_GetObjectItem(j, "cfg_scale"));
	assert_null(cJSON_GetObjectItem(j, "sampler_name"));
	assert_null(cJSON_GetObjectItem(j, "negative_prompt"));
	assert_null(cJSON_GetObjectItem(j, "override_settings"));
	assert_null(cJSON_GetObjectItem(j, "model"));
	assert_int_equal(cJSON_GetArraySize(j), 6);
	cJSON_Delete(j);
}

static void test_a1111_full_body(void **state)
{
	struct imgapi_opts o = {
	    IMGAPI_A1111,      "sd_xl \"base\".safetensors", 30, 7.5,
	    "DPM++ 2M Karras", "blurry,\n\"ugly\""};
	char path[64];
	cJSON *j = request(&o, "p", 7, 1024, 1024, path, NULL), *ov;

	(void)state;
	assert_string_equal(path, "/sdapi/v1/txt2img");
	assert_true(num(j, "steps") == 30);
	assert_true(num(j, "cfg_scale") == 7.5);
	assert_string_equal(str(j, "sampler_name"), "DPM++ 2M Karras");
	assert_string_equal(str(j, "negative_prompt"), "blurry,\n\"ugly\"");
	ov = cJSON_GetObjectItemCaseSensitive(j, "override_settings");
	assert_true(cJSON_IsObject(ov));
	assert_string_equal(str(ov, "sd_model_checkpoint"),
			    "sd_xl \"base\".safetensors");
	assert_int_equal(cJSON_GetArraySize(ov), 1);
	/* A1111 takes the model only through override_settings */
	assert_null(cJSON_GetObjectItem(j, "model"));
	cJSON_Delete(j);
}

static void test_a1111_zero_cfg_is_sent(void **state)
{
	/* 0 is a value (no guidance); only < 0 means the server's default */
	struct imgapi_opts o = {IMGAPI_A1111, NULL, 1, 0, NULL, ""};
	char path[64];
	cJSON *j = request(&o, "p", 0, 64, 64, path, NULL);

	(void)state;
	assert_true(num(j, "cfg_scale") == 0);
	assert_true(num(j, "steps") == 1);
	assert_true(num(j, "seed") == 0);
	assert_string_equal(str(j, "negative_prompt"), "");
	cJSON_Delete(j);
}

static void test_openai_body(void **state)
{
	/* a local OpenAI-compatible server's model: extensions are sent */
	struct imgapi_opts o = {IMGAPI_OPENAI, "flux-local", 0, -1, NULL, NULL};
	char path[64];
	cJSON *j = request(&o, tricky, 99, 1024, 768, path, NULL);

	(void)state;
	assert_string_equal(path, "/v1/images/generations");
	assert_string_equal(str(j, "prompt"), tricky);
	assert_string_equal(str(j, "model"), "flux-local");
	assert_string_equal(str(j, "size"), "1024x768");
	assert_true(num(j, "n") == 1);
	assert_string_equal(str(j, "response_format"), "b64_json");
	assert_true(num(j, "seed") == 99);
	assert_null(cJSON_GetObjectItem(j, "steps"));
	assert_null(cJSON_GetObjectItem(j, "cfg_scale"));
	assert_null(cJSON_GetObjectItem(j, "negative_prompt"));
	assert_null(cJSON_GetObjectItem(j, "width"));
	assert_null(cJSON_GetObjectItem(j, "override_settings"));
	cJSON_Delete(j);

	o.model = NULL;
	o.steps = 20;
	o.cfg_scale = 4;
	o.negative = "text";
	j = request(&o, "p", 1, 512, 512, path, NULL);
	assert_null(cJSON_GetObjectItem(j, "model"));
	assert_string_equal(str(j, "size"), "512x512");
	assert_true(num(j, "steps") == 20);
	assert_true(num(j, "cfg_scale") == 4);
	assert_string_equal(str(j, "negative_prompt"), "text");
	cJSON_Delete(j);
}

static void test_openai_own_models_get_only_their_fields(void **state)
{
	/* OpenAI answers 400 "Unknown parameter" to the extensions local
	 * servers take, and gpt-image-* to response_format as well */
	struct imgapi_opts o = {IMGAPI_OPENAI, "dall-e-3", 0, -1, NULL, NULL};
	char path[64];
	cJSON *j = request(&o, "p", 99, 1792, 1024, path, NULL);

	(void)state;
	assert_string_equal(str(j, "model"), "dall-e-3");
	assert_string_equal(str(j, "size"), "1792x1024");
	assert_string_equal(str(j, "response_format"), "b64_json");
	assert_null(cJSON_GetObjectItem(j, "seed"));
	assert_int_equal(cJSON_GetArraySize(j), 5);
	cJSON_Delete(j);
	o.model = "gpt-image-1";
	j = request(&o, "p", 99, 1024, 1024, path, NULL);
	assert_null(cJSON_GetObjectItem(j, "response_format"));
	assert_null(cJSON_GetObjectItem(j, "seed"));
	assert_int_equal(cJSON_GetArraySize(j), 4);
	cJSON_Delete(j);
	assert_true(imgapi_openai_model("dall-e-2"));
	assert_true(imgapi_openai_model("gpt-image-1-mini"));
	assert_false(imgapi_openai_model("sd-cpp-local"));
	assert_false(imgapi_openai_model(NULL));
}

/* The JSON of the extra-args block at the end of an sd.cpp prompt, and the
 * prompt before it. */
static cJSON *sdcpp_block(const char *prompt, char **before)
{
	static const char open[] = "<sd_cpp_extra_args>",
			  close[] = "</sd_cpp_extra_args>";
	const char *a = strstr(prompt, open), *b;
	cJSON *j;

	assert_non_null(a);
	b = strstr(a, close);
	assert_non_null(b);
	/* one block, at the very end, on one line */
	assert_string_equal(b + strlen(close), "");
	assert_null(strstr(b + 1, open));
	assert_null(memchr(a, '\n', (size_t)(b - a)));
	*before = strndup(prompt, (size_t)(a - prompt));
	j = cJSON_ParseWithLength(a + strlen(open),
				  (size_t)(b - a) - strlen(open));
	assert_non_null(j);
	return j;
}

static void test_sdcpp_body_carries_options_in_the_prompt(void **state)
{
	/* stable-diffusion.cpp's /v1/images/generations ignores seed, steps,
	 * cfg_scale and negative_prompt in the body: they go in the block it
	 * cuts out of the prompt, in its own schema */
	struct imgapi_opts o = {IMGAPI_SDCPP, NULL, 0, -1, NULL, NULL};
	char path[64], *before;
	cJSON *j = request(&o, tricky, 4242, 768, 512, path, NULL), *x, *sp;

	(void)state;
	assert_string_equal(path, "/v1/images/generations");
	assert_string_equal(str(j, "size"), "768x512");
	assert_true(num(j, "n") == 1);
	assert_int_equal(cJSON_GetArraySize(j), 3);
	x = sdcpp_block(str(j, "prompt"), &before);
	assert_string_equal(before, tricky); /* byte for byte */
	assert_true(num(x, "seed") == 4242);
	assert_int_equal(cJSON_GetArraySize(x), 1);
	free(before);
	cJSON_Delete(x);
	cJSON_Delete(j);

	o.steps = 12;
	o.cfg_scale = 4.5;
	o.sampler = "euler_a";
	o.negative = "blurry </sd_cpp_extra_args> <sd_cpp_extra_args>{}";
	j = request(&o, "p", 7, 64, 64, path, NULL);
	assert_null(cJSON_GetObjectItem(j, "seed"));
	assert_null(cJSON_GetObjectItem(j, "steps"));
	assert_null(cJSON_GetObjectItem(j, "negative_prompt"));
	x = sdcpp_block(str(j, "prompt"), &before);
	assert_string_equal(before, "p");
	assert_true(num(x, "seed") == 7);
	/* the negative prompt cannot close the block early */
	assert_string_equal(str(x, "negative_prompt"), o.negative);
	sp = cJSON_GetObjectItemCaseSensitive(x, "sample_params");
	assert_true(num(sp, "sample_steps") == 12);
	assert_string_equal(str(sp, "sample_method"), "euler_a");
	assert_true(num(cJSON_GetObjectItemCaseSensitive(sp, "guidance"),
			"txt_cfg") == 4.5);
	free(before);
	cJSON_Delete(x);
	cJSON_Delete(j);
}

static void fit(const char *model, int ow, int oh, int max_side,
		const char *want)
{
	int w = 0, h = 0;
	char got[32];

	assert_int_equal(imgapi_fit_size(model, ow, oh, max_side, &w, &h), 1);
	snprintf(got, sizeof(got), "%dx%d", w, h);
	if (strcmp(got, want))
		fail_msg("%s %dx%d max %d: %s, not %s", model, ow, oh, max_side,
			 got, want);
}

static void test_openai_sizes_nearest_accepted(void **state)
{
	int w = 1, h = 1;

	(void)state;
	/* squares only: the side nearest --max-side */
	fit("dall-e-2", 800, 600, 512, "512x512");
	fit("dall-e-2", 800, 600, 300, "256x256");
	fit("dall-e-2", 0, 0, 1024, "1024x1024");
	fit("dall-e-2", 600, 800, 4096, "1024x1024");
	/* the nearest shape */
	fit("dall-e-3", 800, 600, 512, "1792x1024");
	fit("dall-e-3", 600, 800, 512, "1024x1792");
	fit("dall-e-3", 1000, 1010, 512, "1024x1024");
	fit("dall-e-3", 0, 0, 512, "1024x1024");
	fit("gpt-image-1", 800, 600, 512, "1536x1024");
	fit("gpt-image-1", 300, 1000, 512, "1024x1536");
	fit("gpt-image-1", 640, 640, 512, "1024x1024");
	assert_string_equal(imgapi_fixed_sizes("dall-e-3")[1], "1792x1024");
	assert_null(imgapi_fixed_sizes("dall-e-3")[3]);
	/* any other model takes any size */
	assert_null(imgapi_fixed_sizes("sd-cpp-local"));
	assert_null(imgapi_fixed_sizes(NULL));
	assert_int_equal(imgapi_fit_size("flux", 800, 600, 512, &w, &h), 0);
	assert_int_equal(w, 1);
}

static void test_prompt_length_is_respected(void **state)
{
	struct imgapi_opts o = {IMGAPI_A1111, NULL, 0, -1, NULL, NULL};
	struct buf path = {0}, body = {0};
	cJSON *j;

	(void)state;
	assert_int_equal(
	    imgapi_request(&o, "hello world", 5, 1, 64, 64, &path, &body), 0);
	j = cJSON_Parse(body.data);
	assert_non_null(j);
	assert_string_equal(str(j, "prompt"), "hello");
	cJSON_Delete(j);
	/* the buffers are rewritten, not appended to */
	assert_int_equal(
	    imgapi_request(&o, "again", 5, 1, 64, 64, &path, &body), 0);
	j = cJSON_Parse(body.data);
	assert_non_null(j);
	assert_string_equal(str(j, "prompt"), "again");
	assert_string_equal(path.data, "/sdapi/v1/txt2img");
	cJSON_Delete(j);
	buf_release(&path);
	buf_release(&body);
}

static void test_seed_is_written_in_full(void **state)
{
	/* Seeds are unsigned long; one past LONG_MAX must not turn into a
	 * negative number (-1 is A1111's "random seed"). */
	struct imgapi_opts o = {IMGAPI_A1111, NULL, 0, -1, NULL, NULL};
	char path[64], *text;
	cJSON *j;

	(void)state;
	j = request(&o, "p", ULONG_MAX, 64, 64, path, &text);
	assert_non_null(strstr(text, "\"seed\":18446744073709551615"));
	free(text);
	cJSON_Delete(j);
	o.kind = IMGAPI_OPENAI;
	j = request(&o, "p", (unsigned long)LONG_MAX + 1, 64, 64, path, &text);
	assert_non_null(strstr(text, "\"seed\":9223372036854775808"));
	free(text);
	cJSON_Delete(j);
}

static void test_health_paths(void **state)
{
	(void)state;
	/* paths A1111, Forge and stable-diffusion.cpp's server all serve
	 * (sd.cpp has no /sdapi/v1/progress) */
	assert_string_equal(imgapi_health_path(IMGAPI_A1111),
			    "/sdapi/v1/sd-models");
	assert_string_equal(imgapi_health_path(IMGAPI_OPENAI), "/v1/models");
	assert_string_equal(imgapi_health_path(IMGAPI_SDCPP), "/v1/models");
}

static int parse(enum imgapi_kind k, const char *body, struct buf *img,
		 char *why)
{
	struct imgapi_opts o = {k, NULL, 0, -1, NULL, NULL};

	why[0] = '\0';
	return imgapi_parse(&o, 1, body, strlen(body), img, NULL, why, 128);
}

static void test_parse_answers(void **state)
{
	struct buf img = {0};
	char why[128];

	(void)state;
	assert_int_equal(
	    parse(IMGAPI_A1111,
		  "{\"images\": [\"QUJD\", \"WFla\"], \"parameters\": {}, "
		  "\"info\": \"{\\\"seed\\\": 1}\"}",
		  &img, why),
	    HY_OK);
	assert_int_equal(img.len, 3);
	assert_string_equal(img.data, "ABC");
	assert_int_equal(
	    parse(IMGAPI_OPENAI,
		  "{\"created\": 1, \"data\": [{\"revised_prompt\":"
		  " \"x\", \"b64_json\": \"Zm9vYmE=\"}]}",
		  &img, why),
	    HY_OK);
	assert_int_equal(img.len, 5);
	assert_string_equal(img.data, "fooba");
	/* the image replaces what was in the buffer */
	assert_int_equal(
	    parse(IMGAPI_A1111,
		  "{\"images\": [\"data:image/png;base64,iVBORw==\"]}", &img,
		  why),
	    HY_OK);
	assert_int_equal(img.len, 4);
	assert_memory_equal(img.data, "\x89PNG", 4);
	assert_int_equal(parse(IMGAPI_OPENAI,
			       "{\"data\": [{\"b64_json\": "
			       "\"data:image/webp;base64,UklGRg==\"}]}",
			       &img, why),
			 HY_OK);
	assert_int_equal(img.len, 4);
	assert_memory_equal(img.data, "RIFF", 4);
	buf_release(&img);
}

static void used_of(const struct imgapi_opts *o, const char *body,
		    struct imgapi_used *u)
{
	struct buf img = {0};
	char why[128];

	memset(u, 0x55, sizeof(*u)); /* all of it is written */
	assert_int_equal(
	    imgapi_parse(o, 5, body, strlen(body), &img, u, why, sizeof(why)),
	    HY_OK);
	buf_release(&img);
}

static void test_used_is_what_the_server_reports(void **state)
{
	struct imgapi_opts o = {IMGAPI_A1111, "v1-5.safetensors [6ce0161689]",
				30,	      7,
				"Euler",      NULL};
	struct imgapi_used u;

	(void)state;
	/* A1111's info (a JSON text) overrides what was asked */
	used_of(&o,
		"{\"images\":[\"QUJD\"],\"info\":\"{\\\"seed\\\": 3735928559, "
		"\\\"steps\\\": 25, \\\"cfg_scale\\\": 6.5, "
		"\\\"sampler_name\\\": \\\"DPM++ 2M\\\", "
		"\\\"sd_model_name\\\": \\\"v1-5\\\"}\"}",
		&u);
	assert_true(u.seed_known);
	assert_int_equal(u.seed, 3735928559UL);
	assert_int_equal(u.steps, 25);
	assert_true(u.cfg_scale == 6.5);
	assert_string_equal(u.sampler, "DPM++ 2M");
	assert_string_equal(u.model, "v1-5");
	/* steps left to the server, reported */
	o.steps = 0;
	o.cfg_scale = -1;
	o.sampler = NULL;
	o.model = NULL;
	used_of(&o,
		"{\"images\":[\"QUJD\"],\"info\":\"{\\\"seed\\\": 5, "
		"\\\"steps\\\": 20}\"}",
		&u);
	assert_int_equal(u.steps, 20);
	assert_true(u.cfg_scale < 0);
	assert_string_equal(u.sampler, "");
	assert_string_equal(u.model, "");
	/* no info, or info that is not JSON: what A1111 applies, as asked */
	o.steps = 9;
	used_of(&o, "{\"images\":[\"QUJD\"],\"info\":\"{seed\"}", &u);
	assert_true(u.seed_known);
	assert_int_equal(u.seed, 5);
	assert_int_equal(u.steps, 9);
	used_of(&o, "{\"images\":[\"QUJD\"],\"info\":{\"seed\":1}}", &u);
	assert_int_equal(u.seed, 5);
	/* a seed a double cannot hold exactly, or negative: not known */
	used_of(&o, "{\"images\":[\"QUJD\"],\"info\":\"{\\\"seed\\\": -1}\"}",
		&u);
	assert_int_equal(u.seed, 5);
	used_of(&o,
		"{\"images\":[\"QUJD\"],\"info\":\"{\\\"seed\\\": 1e300}\"}",
		&u);
	assert_int_equal(u.seed, 5);
}

static void test_used_leaves_out_what_cannot_be_known(void **state)
{
	struct imgapi_opts o = {IMGAPI_OPENAI, "dall-e-3", 0, -1, NULL, NULL};
	struct imgapi_used u;

	(void)state;
	/* OpenAI reports no seed: none is recorded */
	used_of(&o, "{\"data\":[{\"b64_json\":\"QUJD\"}]}", &u);
	assert_false(u.seed_known);
	assert_true(u.steps <= 0);
	assert_true(u.cfg_scale < 0);
	assert_string_equal(u.sampler, "");
	assert_string_equal(u.model, "dall-e-3");
	o.model = "local";
	o.steps = 20;
	used_of(&o, "{\"data\":[{\"b64_json\":\"QUJD\"}]}", &u);
	assert_false(u.seed_known);
	assert_true(u.steps <= 0);
	/* sd.cpp applies its extra args, but ignores a sampler name it does
	 * not know without a word, and has one model */
	o.kind = IMGAPI_SDCPP;
	o.model = NULL;
	o.cfg_scale = 3;
	o.sampler = "euler_a";
	used_of(&o, "{\"data\":[{\"b64_json\":\"QUJD\"}]}", &u);
	assert_true(u.seed_known);
	assert_int_equal(u.seed, 5);
	assert_int_equal(u.steps, 20);
	assert_true(u.cfg_scale == 3);
	assert_string_equal(u.sampler, "");
	assert_string_equal(u.model, "");
}

static void expect_bad(enum imgapi_kind k, const char *body,
		       const char *why_has)
{
	struct buf img = {0};
	char why[128];

	assert_int_equal(buf_append(&img, "old", 3), 0);
	if (parse(k, body, &img, why) != HY_ESAMPLE)
		fail_msg("accepted %s", body);
	assert_int_equal(img.len, 0);
	if (!strstr(why, why_has))
		fail_msg("why '%s' lacks '%s' for %s", why, why_has, body);
	buf_release(&img);
}

static void test_parse_rejects_what_is_not_an_image(void **state)
{
	(void)state;
	expect_bad(IMGAPI_A1111, "", "not JSON");
	expect_bad(IMGAPI_A1111, "<html>502 Bad Gateway</html>", "not JSON");
	expect_bad(IMGAPI_A1111, "{\"images\": [\"QUJD\"", "not JSON");
	expect_bad(IMGAPI_A1111, "{}", "no image");
	expect_bad(IMGAPI_A1111, "{\"images\": []}", "no image");
	expect_bad(IMGAPI_A1111, "{\"images\": null}", "no image");
	expect_bad(IMGAPI_A1111, "{\"images\": \"QUJD\"}", "no image");
	expect_bad(IMGAPI_A1111, "{\"images\": [42]}", "no image");
	expect_bad(IMGAPI_A1111, "{\"images\": [[\"QUJD\"]]}", "no image");
	expect_bad(IMGAPI_A1111, "[\"QUJD\"]", "no image");
	expect_bad(IMGAPI_A1111, "{\"detail\": \"Not Found\"}", "images[0]");
	/* an OpenAI answer is not an A1111 one, and the other way round */
	expect_bad(IMGAPI_A1111, "{\"data\": [{\"b64_json\": \"QUJD\"}]}",
		   "no image");
	expect_bad(IMGAPI_OPENAI, "{\"images\": [\"QUJD\"]}",
		   "data[0].b64_json");
	expect_bad(IMGAPI_OPENAI, "{\"data\": []}", "no image");
	expect_bad(IMGAPI_OPENAI, "{\"data\": {\"b64_json\": \"QUJD\"}}",
		   "no image");
	expect_bad(IMGAPI_OPENAI,
		   "{\"data\": [{\"url\": \"https://x/y.png\"}]}", "no image");
	expect_bad(IMGAPI_OPENAI, "{\"data\": [{\"b64_json\": null}]}",
		   "no image");
	expect_bad(IMGAPI_OPENAI, "{\"error\": {\"message\": \"x\"}}",
		   "no image");
	/* cut, empty or foreign base64 */
	expect_bad(IMGAPI_A1111, "{\"images\": [\"iVBORw0KGgo\"]}", "base64");
	expect_bad(IMGAPI_A1111, "{\"images\": [\"\"]}", "base64");
	expect_bad(IMGAPI_A1111, "{\"images\": [\"iVBO\\nRw==\"]}", "base64");
	expect_bad(IMGAPI_A1111, "{\"images\": [\"data:image/png;base64,\"]}",
		   "base64");
	expect_bad(IMGAPI_A1111, "{\"images\": [\"data:image/png;base64\"]}",
		   "base64");
	expect_bad(IMGAPI_OPENAI,
		   "{\"data\": [{\"b64_json\": \"iVBORw0K-_==\"}]}", "base64");
}

static void test_parse_huge_answer(void **state)
{
	size_t n = 12u << 20; /* a large PNG */
	unsigned char *img = malloc(n);
	struct buf body = {0}, out = {0};
	struct imgapi_opts o = {IMGAPI_A1111, NULL, 0, -1, NULL, NULL};
	char why[128], *s;

	(void)state;
	assert_non_null(img);
	for (size_t i = 0; i < n; i++)
		img[i] = (unsigned char)(i * 2654435761u >> 13);
	s = b64(img, n);
	assert_int_equal(buf_append(&body, "{\"images\":[\"", 12), 0);
	assert_int_equal(buf_append(&body, s, strlen(s)), 0);
	assert_int_equal(buf_append(&body, "\"]}", 3), 0);
	free(s);
	assert_int_equal(imgapi_parse(&o, 1, body.data, body.len, &out, NULL,
				      why, sizeof(why)),
			 HY_OK);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, img, n);
	/* the same answer cut short by one character */
	body.data[body.len - 4] = '"';
	body.data[body.len - 3] = ']';
	body.data[body.len - 2] = '}';
	body.len--;
	assert_int_equal(imgapi_parse(&o, 1, body.data, body.len, &out, NULL,
				      why, sizeof(why)),
			 HY_ESAMPLE);
	assert_int_equal(out.len, 0);
	free(img);
	buf_release(&body);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64_rfc4648_vectors),
	    cmocka_unit_test(test_b64_appends_to_what_is_there),
	    cmocka_unit_test(test_b64_rejects_malformed),
	    cmocka_unit_test(test_b64_round_trip_every_byte),
	    cmocka_unit_test(test_a1111_minimal_body),
	    cmocka_unit_test(test_a1111_full_body),
	    cmocka_unit_test(test_a1111_zero_cfg_is_sent),
	    cmocka_unit_test(test_openai_body),
	    cmocka_unit_test(test_openai_own_models_get_only_their_fields),
	    cmocka_unit_test(test_sdcpp_body_carries_options_in_the_prompt),
	    cmocka_unit_test(test_openai_sizes_nearest_accepted),
	    cmocka_unit_test(test_prompt_length_is_respected),
	    cmocka_unit_test(test_seed_is_written_in_full),
	    cmocka_unit_test(test_health_paths),
	    cmocka_unit_test(test_parse_answers),
	    cmocka_unit_test(test_used_is_what_the_server_reports),
	    cmocka_unit_test(test_used_leaves_out_what_cannot_be_known),
	    cmocka_unit_test(test_parse_rejects_what_is_not_an_image),
	    cmocka_unit_test(test_parse_huge_answer),
	};
	return cmocka_run_group_tests_name("imgapi", tests, NULL, NULL);
}
