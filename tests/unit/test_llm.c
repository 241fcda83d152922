/* llm: request bodies for each API, answers read back, clean-up. */
#include "unit.h"

#include <cJSON.h>

#include "net/llm.h"

static cJSON *request(enum llm_api api, const char *system, const char *text,
		      char *path_out)
{
	struct llm_opts o = {api, "person_tagger", system, 0.2, 64, 0};
	struct buf path = {0}, body = {0};
	cJSON *j;

	assert_int_equal(llm_request(&o, text, strlen(text), 42, &path, &body),
			 0);
	strcpy(path_out, path.data);
	j = cJSON_Parse(body.data);
	assert_non_null(j); /* the body is valid JSON */
	buf_release(&path);
	buf_release(&body);
	return j;
}

static void test_ollama_generate_body(void **state)
{
	char path[64];
	cJSON *j = request(LLM_OLLAMA, NULL, "a \"quoted\"\ncaption", path);
	cJSON *opt = cJSON_GetObjectItem(j, "options");

	(void)state;
	assert_string_equal(path, "/api/generate");
	assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring,
			    "person_tagger");
	assert_string_equal(cJSON_GetObjectItem(j, "prompt")->valuestring,
			    "a \"quoted\"\ncaption");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "stream")));
	assert_null(cJSON_GetObjectItem(j, "system")); /* the model's own */
	assert_int_equal(cJSON_GetObjectItem(opt, "seed")->valueint, 42);
	assert_int_equal(cJSON_GetObjectItem(opt, "num_predict")->valueint, 64);
	assert_true(cJSON_GetObjectItem(opt, "temperature")->valuedouble >
		    0.19);
	cJSON_Delete(j);
}

/* ollama lets a thinking model think when "think" is absent, spending
 * num_predict and the timeout on hidden tokens: both ollama bodies say
 * "think": false (a JSON boolean: api.ThinkValue also takes "high",
 * "medium", "low"); with think set the field is left out (true would be a
 * 400 from a model that cannot think); OpenAI bodies never carry it. */
static void test_ollama_think_false_by_default(void **state)
{
	struct llm_opts o = {LLM_OLLAMA, "m", NULL, -1, 0, 0};
	enum llm_api apis[] = {LLM_OLLAMA, LLM_OLLAMA_CHAT};
	struct buf path = {0}, body = {0};
	cJSON *j;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		o.api = apis[i];
		o.think = 0;
		assert_int_equal(llm_request(&o, "cap", 3, 1, &path, &body), 0);
		j = cJSON_Parse(body.data);
		assert_non_null(j);
		assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "think")));
		/* top level, not an option */
		assert_null(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(j, "options"), "think"));
		cJSON_Delete(j);
		o.think = 1;
		assert_int_equal(llm_request(&o, "cap", 3, 1, &path, &body), 0);
		j = cJSON_Parse(body.data);
		assert_non_null(j);
		assert_null(cJSON_GetObjectItem(j, "think"));
		cJSON_Delete(j);
	}
	o.api = LLM_OPENAI;
	o.think = 0;
	assert_int_equal(llm_request(&o, "cap", 3, 1, &path, &body), 0);
	j = cJSON_Parse(body.data);
	assert_null(cJSON_GetObjectItem(j, "think"));
	cJSON_Delete(j);
	buf_release(&path);
	buf_release(&body);
}

static void test_ollama_chat_and_openai_bodies(void **state)
{
	char path[64];
	cJSON *j = request(LLM_OLLAMA_CHAT, "be generic", "cap", path), *m;

	(void)state;
	assert_string_equal(path, "/api/chat");
	m = cJSON_GetObjectItem(j, "messages");
	assert_int_equal(cJSON_GetArraySize(m), 2);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "role")->valuestring,
	    "system");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "content")
		->valuestring,
	    "cap");
	cJSON_Delete(j);
	j = request(LLM_OPENAI, NULL, "cap", path);
	assert_string_equal(path, "/v1/chat/completions");
	assert_int_equal(cJSON_GetObjectItem(j, "seed")->valueint, 42);
	assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 64);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")),
			 1);
	assert_null(cJSON_GetObjectItem(j, "options"));
	cJSON_Delete(j);
}

static int parse(enum llm_api api, const char *body, struct buf *a)
{
	struct llm_opts o = {api, "m", NULL, -1, 0, 0};
	char why[128];
	int cut;

	return llm_parse(&o, body, strlen(body), a, &cut, why, sizeof(why));
}

static void test_answers_read_back(void **state)
{
	struct buf a = {0};

	(void)state;
	assert_int_equal(
	    parse(LLM_OLLAMA, "{\"response\": \"x y\", \"done\": true}", &a),
	    HY_OK);
	assert_string_equal(a.data, "x y");
	assert_int_equal(parse(LLM_OLLAMA_CHAT,
			       "{\"message\": {\"role\": \"assistant\", "
			       "\"content\": \"c\"}, \"done\": true}",
			       &a),
			 HY_OK);
	assert_string_equal(a.data, "c");
	assert_int_equal(
	    parse(LLM_OPENAI,
		  "{\"choices\": [{\"message\": {\"content\": \"o\"}}]}", &a),
	    HY_OK);
	assert_string_equal(a.data, "o");
	buf_release(&a);
}

static void test_cut_at_token_limit_is_flagged(void **state)
{
	struct llm_opts o = {LLM_OLLAMA, "m", NULL, -1, 0, 0};
	struct llm_opts oa = {LLM_OPENAI, "m", NULL, -1, 0, 0};
	struct buf a = {0};
	char why[128];
	const char *b1 = "{\"response\": \"half a\", \"done\": true, "
			 "\"done_reason\": \"length\"}";
	const char *b2 = "{\"response\": \"whole\", \"done\": true, "
			 "\"done_reason\": \"stop\"}";
	const char *b3 = "{\"choices\": [{\"message\": {\"content\": "
			 "\"half\"}, \"finish_reason\": \"length\"}]}";
	int cut = -1;

	(void)state;
	assert_int_equal(llm_parse(&o, b1, strlen(b1), &a, &cut, why, 128),
			 HY_OK);
	assert_int_equal(cut, 1);
	assert_int_equal(llm_parse(&o, b2, strlen(b2), &a, &cut, why, 128),
			 HY_OK);
	assert_int_equal(cut, 0);
	assert_int_equal(llm_parse(&oa, b3, strlen(b3), &a, &cut, why, 128),
			 HY_OK);
	assert_int_equal(cut, 1);
	buf_release(&a);
}

/* A reasoning model that spends the whole budget thinking: vLLM's reasoning
 * parser sends "content": null beside reasoning_content, ollama an empty
 * response beside "thinking". A whole answer with no text (cut 2, to be
 * declined), not a broken one to retry. */
static void test_budget_spent_reasoning(void **state)
{
	struct llm_opts o = {LLM_OPENAI, "m", NULL, -1, 0, 0};
	struct buf a = {0};
	char why[128];
	const char *vllm =
	    "{\"object\": \"chat.completion\", \"choices\": [{\"index\": 0, "
	    "\"message\": {\"role\": \"assistant\", \"content\": null, "
	    "\"reasoning_content\": \"Okay, the user\", \"tool_calls\": []}, "
	    "\"finish_reason\": \"length\"}]}";
	const char *stop = "{\"choices\": [{\"message\": {\"content\": null}, "
			   "\"finish_reason\": \"stop\"}]}";
	const char *gen = "{\"response\": \"\", \"thinking\": \"Okay\", "
			  "\"done\": true, \"done_reason\": \"length\"}";
	const char *chat =
	    "{\"message\": {\"role\": \"assistant\", \"content\": \"\", "
	    "\"thinking\": \"Okay\"}, \"done\": true, \"done_reason\": "
	    "\"length\"}";
	int cut = -1;

	(void)state;
	assert_int_equal(
	    llm_parse(&o, vllm, strlen(vllm), &a, &cut, why, sizeof(why)),
	    HY_OK);
	assert_int_equal(cut, 2);
	assert_int_equal(a.len, 0);
	/* null content that the budget did not cut stays a bad answer */
	assert_int_equal(
	    llm_parse(&o, stop, strlen(stop), &a, &cut, why, sizeof(why)),
	    HY_ESAMPLE);
	o.api = LLM_OLLAMA;
	assert_int_equal(
	    llm_parse(&o, gen, strlen(gen), &a, &cut, why, sizeof(why)), HY_OK);
	assert_int_equal(cut, 2);
	o.api = LLM_OLLAMA_CHAT;
	assert_int_equal(
	    llm_parse(&o, chat, strlen(chat), &a, &cut, why, sizeof(why)),
	    HY_OK);
	assert_int_equal(cut, 2);
	buf_release(&a);
}

static void test_bad_answers_are_retryable_errors(void **state)
{
	struct buf a = {0};
	const char *bad[] = {"",
			     "<html>502</html>",
			     "{\"response\": \"x\"",
			     "{\"response\": \"x\", \"done\": false}",
			     "{\"error\": \"model not found\"}",
			     "[1]"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(parse(LLM_OLLAMA, bad[i], &a), HY_ESAMPLE);
	assert_int_equal(parse(LLM_OPENAI, "{\"choices\": []}", &a),
			 HY_ESAMPLE);
	buf_release(&a);
}

/* A well-formed answer of the other API is the configuration's fault:
 * HY_ECONFIG with the --api to use, never a retry per sample. */
static void test_other_api_answer_is_a_config_error(void **state)
{
	struct llm_opts o = {LLM_OLLAMA_CHAT, "m", NULL, -1, 0, 0};
	struct buf a = {0};
	char why[256];
	int cut;
	/* llama-server's answer to /api/chat */
	const char *oai =
	    "{\"choices\": [{\"finish_reason\": \"stop\", \"index\": 0, "
	    "\"message\": {\"role\": \"assistant\", \"content\": \"x\"}}], "
	    "\"created\": 1, \"model\": \"m\", \"object\": "
	    "\"chat.completion\", \"id\": \"chatcmpl-1\"}";
	const char *oll = "{\"model\": \"m\", \"message\": {\"role\": "
			  "\"assistant\", \"content\": \"x\"}, \"done\": true}";
	const char *gen = "{\"model\": \"m\", \"response\": \"x\", "
			  "\"done\": true}";

	(void)state;
	assert_int_equal(
	    llm_parse(&o, oai, strlen(oai), &a, &cut, why, sizeof(why)),
	    HY_ECONFIG);
	assert_non_null(strstr(why, "--api openai"));
	o.api = LLM_OLLAMA;
	assert_int_equal(
	    llm_parse(&o, oai, strlen(oai), &a, &cut, why, sizeof(why)),
	    HY_ECONFIG);
	o.api = LLM_OPENAI;
	assert_int_equal(
	    llm_parse(&o, oll, strlen(oll), &a, &cut, why, sizeof(why)),
	    HY_ECONFIG);
	assert_non_null(strstr(why, "--api ollama"));
	assert_int_equal(
	    llm_parse(&o, gen, strlen(gen), &a, &cut, why, sizeof(why)),
	    HY_ECONFIG);
	/* Each API's own answers and error bodies are not taken for the
	 * other's. */
	assert_int_equal(
	    llm_parse(&o, oai, strlen(oai), &a, &cut, why, sizeof(why)), HY_OK);
	assert_int_equal(parse(LLM_OPENAI, "{\"error\": \"x\"}", &a),
			 HY_ESAMPLE);
	assert_int_equal(parse(LLM_OLLAMA_CHAT, "{\"error\": \"x\"}", &a),
			 HY_ESAMPLE);
	assert_int_equal(parse(LLM_OLLAMA, "{\"choices\": 3}", &a), HY_ESAMPLE);
	buf_release(&a);
}

static void expect_clean(const char *in, const char *want)
{
	struct buf a = {0};

	buf_append(&a, in, strlen(in));
	llm_clean(&a);
	assert_string_equal(a.data, want);
	assert_int_equal(a.len, strlen(want));
	buf_release(&a);
}

static void test_clean_up(void **state)
{
	(void)state;
	expect_clean("  A man on a beach \n", "A man on a beach");
	expect_clean("\"A man on a beach\"", "A man on a beach");
	expect_clean("Prompt: A man", "A man");
	expect_clean("**Prompt:** \"A man\"", "A man");
	expect_clean("rewritten prompt - 'A man'", "A man");
	expect_clean("\xe2\x80\x9c"
		     "A man"
		     "\xe2\x80\x9d",
		     "A man");
	expect_clean("Prompting is fun", "Prompting is fun"); /* no label */
	expect_clean("\"\"", "");
	/* inner quotes: the outer ones belong to the text */
	expect_clean("\"Open\" sign at \"Joe's\"",
		     "\"Open\" sign at \"Joe's\"");
	expect_clean("", "");
}

static void test_declined(void **state)
{
	regex_t re;
	struct buf a = {0};

	(void)state;
	assert_int_equal(regcomp(&re, llm_default_decline,
				 REG_EXTENDED | REG_ICASE | REG_NOSUB),
			 0);
	assert_true(llm_declined(&a, &re)); /* empty */
	buf_append(&a, "I'm sorry, but I can't help with that.", 38);
	assert_true(llm_declined(&a, &re));
	buf_clear(&a);
	buf_append(&a, "A person who is sorry", 21);
	assert_false(llm_declined(&a, &re));
	regfree(&re);
	buf_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ollama_generate_body),
	    cmocka_unit_test(test_ollama_think_false_by_default),
	    cmocka_unit_test(test_ollama_chat_and_openai_bodies),
	    cmocka_unit_test(test_answers_read_back),
	    cmocka_unit_test(test_cut_at_token_limit_is_flagged),
	    cmocka_unit_test(test_budget_spent_reasoning),
	    cmocka_unit_test(test_bad_answers_are_retryable_errors),
	    cmocka_unit_test(test_other_api_answer_is_a_config_error),
	    cmocka_unit_test(test_clean_up),
	    cmocka_unit_test(test_declined),
	};
	return cmocka_run_group_tests_name("llm", tests, NULL, NULL);
}
