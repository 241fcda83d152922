/* LLM request bodies and answers for the ollama and OpenAI APIs. Bodies
 * are written with jsonw (no allocation per request beyond the reused
 * buffers); answers are parsed with cJSON. */
#include "net/llm.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/jsonw.h"

const char llm_default_decline[] =
    "^(I'm sorry|I am sorry|I’m sorry|sorry,|I can't|I can’t|I cannot|"
    "I won't|I will not|I'm unable|I am unable|I'm not able|As an AI)";

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* `, "key": v`: always after another item. */
static int put_num(struct buf *b, const char *key, double v, int integer)
{
	return jsonw_key(b, key) || jsonw_double(b, integer ? "%.0f" : "%g", v)
		   ? -1
		   : 0;
}

static int messages(const struct llm_opts *o, const char *text, size_t len,
		    struct buf *b)
{
	if (put(b, "\"messages\": ["))
		return -1;
	if (o->system &&
	    (put(b, "{\"role\": \"system\", \"content\": ") ||
	     jsonw_string(b, o->system, strlen(o->system)) || put(b, "}, ")))
		return -1;
	return put(b, "{\"role\": \"user\", \"content\": ") ||
		       jsonw_string(b, text, len) || put(b, "}]")
		   ? -1
		   : 0;
}

int llm_request(const struct llm_opts *o, const char *text, size_t len,
		unsigned long seed, struct buf *path, struct buf *body)
{
	struct buf *b = body;

	buf_clear(path);
	buf_clear(body);
	if (put(b, "{\"model\": ") ||
	    jsonw_string(b, o->model, strlen(o->model)) || put(b, ", "))
		return -1;
	if (o->api == LLM_OPENAI) {
		if (put(path, "/v1/chat/completions") ||
		    messages(o, text, len, b) ||
		    put(b, ", \"stream\": false") ||
		    put_num(b, "seed", (double)seed, 1) ||
		    (o->temperature >= 0 &&
		     put_num(b, "temperature", o->temperature, 0)) ||
		    (o->max_tokens > 0 &&
		     put_num(b, "max_tokens", (double)o->max_tokens, 1)))
			return -1;
		return put(b, "}");
	}
	if (o->api == LLM_OLLAMA_CHAT) {
		if (put(path, "/api/chat") || messages(o, text, len, b))
			return -1;
	} else {
		if (put(path, "/api/generate") || put(b, "\"prompt\": ") ||
		    jsonw_string(b, text, len))
			return -1;
		if (o->system &&
		    (put(b, ", \"system\": ") ||
		     jsonw_string(b, o->system, strlen(o->system))))
			return -1;
	}
	if (!o->think && put(b, ", \"think\": false"))
		return -1;
	/* ollama takes sampling settings under "options". */
	if (put(b, ", \"stream\": false, \"options\": {\"seed\": ") ||
	    jsonw_uint(b, seed))
		return -1;
	if ((o->temperature >= 0 &&
	     put_num(b, "temperature", o->temperature, 0)) ||
	    (o->max_tokens > 0 &&
	     put_num(b, "num_predict", (double)o->max_tokens, 1)))
		return -1;
	return put(b, "}}");
}

/* A whole answer of OpenAI's chat API: a list of choices, the first with
 * its message, or the object type saying so. */
static int openai_answer(const cJSON *root)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "object");

	return cJSON_IsArray(c) &&
	       ((cJSON_IsString(t) &&
		 !strcmp(t->valuestring, "chat.completion")) ||
		cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(c, 0), "message")));
}

/* A whole answer of ollama's API: "done", and the text as /api/generate
 * ("response") or /api/chat ("message") gives it. */
static int ollama_answer(const cJSON *root)
{
	return cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(root, "done")) &&
	       (cJSON_IsString(
		    cJSON_GetObjectItemCaseSensitive(root, "response")) ||
		cJSON_IsObject(
		    cJSON_GetObjectItemCaseSensitive(root, "message")));
}

int llm_parse(const struct llm_opts *o, const char *body, size_t len,
	      struct buf *answer, int *cut, char *why, size_t why_size)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *v = NULL,
	      *reason = NULL;
	int ret = HY_OK;

	buf_clear(answer);
	*cut = 0;
	if (!cJSON_IsObject(root)) {
		snprintf(why, why_size, "answer is not JSON (%zu bytes)", len);
		ret = HY_ESAMPLE;
		goto out;
	}
	/* The server speaks the other API on this path (llama-server answers
	 * ollama's /api/chat as an OpenAI chat.completion): every answer will
	 * be the same, so this is the configuration, not the sample. */
	if (o->api != LLM_OPENAI && openai_answer(root)) {
		snprintf(
		    why, why_size,
		    "answered in the OpenAI format (chat.completion), not "
		    "ollama's, as llama.cpp's llama-server does: use --api "
		    "openai");
		ret = HY_ECONFIG;
		goto out;
	}
	if (o->api == LLM_OPENAI && ollama_answer(root)) {
		snprintf(why, why_size,
			 "answered in ollama's format, not OpenAI's: use --api "
			 "ollama");
		ret = HY_ECONFIG;
		goto out;
	}
	if (o->api == LLM_OPENAI) {
		cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "choices");
		cJSON *m = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(c, 0), "message");
		v = cJSON_GetObjectItemCaseSensitive(m, "content");
		reason = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(c, 0), "finish_reason");
	} else if (o->api == LLM_OLLAMA_CHAT) {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
		v = cJSON_GetObjectItemCaseSensitive(m, "content");
	} else {
		v = cJSON_GetObjectItemCaseSensitive(root, "response");
	}
	if (o->api != LLM_OPENAI)
		reason = cJSON_GetObjectItemCaseSensitive(root, "done_reason");
	*cut = cJSON_IsString(reason) && !strcmp(reason->valuestring, "length");
	if (o->api != LLM_OPENAI &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "done"))) {
		snprintf(why, why_size, "answer not done (cut short?)");
		ret = HY_ESAMPLE;
		goto out;
	}
	if (*cut && o->api == LLM_OPENAI && (!v || cJSON_IsNull(v))) {
		/* A reasoning model behind vLLM's reasoning parser spent
		 * max_tokens on reasoning_content: a whole answer, no text. */
		*cut = 2;
		goto out;
	}
	if (!cJSON_IsString(v)) {
		cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
		snprintf(why, why_size, "answer has no text%s%.100s",
			 cJSON_IsString(e) ? ": " : "",
			 cJSON_IsString(e) ? e->valuestring : "");
		ret = HY_ESAMPLE;
		goto out;
	}
	if (buf_append(answer, v->valuestring, strlen(v->valuestring))) {
		snprintf(why, why_size, "out of memory");
		ret = HY_EFATAL;
	}
	if (*cut && answer->len == 0)
		*cut = 2; /* ollama's thinking model: "response": "" */
out:
	cJSON_Delete(root);
	return ret;
}

static int strip_prefix_ci(const char *s, const char *pre)
{
	size_t n = strlen(pre);

	return strncasecmp(s, pre, n) == 0 ? (int)n : 0;
}

void llm_clean(struct buf *a)
{
	static const char *const labels[] = {
	    "rewritten prompt", "image prompt", "new prompt", "prompt",
	    "caption",		"output",	"answer"};
	char *s = a->data ? a->data : (char *)"";
	size_t n = a->len, k;
	int changed = 1;

	while (changed) {
		changed = 0;
		while (n && isspace((unsigned char)*s))
			s++, n--;
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		if (n >= 4 && !strncmp(s, "**", 2)) { /* **Prompt:** */
			s += 2, n -= 2;
			changed = 1;
		}
		for (size_t i = 0; i < sizeof(labels) / sizeof(*labels); i++) {
			int m = strip_prefix_ci(s, labels[i]);
			if (!m)
				continue;
			k = (size_t)m;
			while (k < n && s[k] == ' ')
				k++;
			if (k < n && (s[k] == ':' || s[k] == '-')) {
				k++;
				if (k + 1 < n && !strncmp(s + k, "**", 2))
					k += 2;
				s += k, n -= k;
				changed = 1;
			}
			break;
		}
		/* Quotes around the whole answer only: in '"Open" sign at
		 * "Joe's"' they belong to the text. */
		if (n >= 2 && (s[0] == '"' || s[0] == '\'') &&
		    s[n - 1] == s[0] && !memchr(s + 1, s[0], n - 2)) {
			s++, n -= 2;
			changed = 1;
		} else if (n >= 6 && !strncmp(s, "\xe2\x80\x9c", 3) &&
			   !strncmp(s + n - 3, "\xe2\x80\x9d", 3)) {
			s += 3, n -= 6; /* “...” */
			changed = 1;
		}
	}
	memmove(a->data ? a->data : s, s, n);
	a->len = n;
	if (a->data)
		a->data[n] = '\0';
}

int llm_declined(const struct buf *a, const regex_t *re)
{
	if (a->len == 0)
		return 1;
	return re && regexec(re, a->data, 0, NULL, 0) == 0;
}
