/* LLM protocols: the request body for a caption and the answer read back,
 * for ollama (/api/generate, /api/chat) and OpenAI-compatible servers
 * (/v1/chat/completions: vLLM, llama.cpp server, SGLang, TGI); and the
 * clean-up that turns an answer into a prompt or a refusal. */
#ifndef HY_LLM_H
#define HY_LLM_H

#include <regex.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

enum llm_api { LLM_OLLAMA, LLM_OLLAMA_CHAT, LLM_OPENAI };

struct llm_opts {
	enum llm_api api;
	const char *model;
	const char *system; /* system prompt, or NULL for none */
	double temperature; /* < 0: leave to the server */
	long max_tokens;    /* <= 0: leave to the server */
	/* ollama only. 0: "think": false, so a thinking model (qwen3,
	 * deepseek-r1), which ollama lets think when the field is absent,
	 * answers at once instead of spending max_tokens and the timeout on
	 * hidden thinking; a model that cannot think accepts false. 1: the
	 * field is left out, the model's default (true would be refused by
	 * a model that cannot think). */
	int think;
};

/* Writes the path ("/api/generate"...) and the JSON body asking to
 * rewrite `text` with `seed`. Returns 0, or -1 on ENOMEM. */
int llm_request(const struct llm_opts *o, const char *text, size_t len,
		unsigned long seed, struct buf *path, struct buf *body);

/* Reads the answer text out of a response body into `answer`; *cut is set
 * to 1 when the model stopped at the token limit (done_reason or
 * finish_reason "length"), 2 when it stopped there before any answer text:
 * a reasoning model spent the budget thinking (vLLM's "content": null
 * beside reasoning_content, ollama's "response": "" beside "thinking"),
 * `answer` left empty. Returns HY_OK; HY_ESAMPLE with why filled when
 * the body is not a complete answer of this API (garbage, cut short, an
 * error object); or HY_ECONFIG when it is a whole answer of the other API
 * (an OpenAI chat.completion where ollama's was asked for, or the
 * reverse), why saying which --api to use: the server will answer every
 * request so, and retrying cannot help. */
int llm_parse(const struct llm_opts *o, const char *body, size_t len,
	      struct buf *answer, int *cut, char *why, size_t why_size);

/* Strips whitespace, a leading "Prompt:"-style label and quotes around
 * the whole answer, in place. */
void llm_clean(struct buf *answer);

/* The default --decline-regex: refusals an instruction-tuned model gives
 * instead of a prompt. */
extern const char llm_default_decline[];

/* 1 when the cleaned answer is empty or matches re (declined). */
int llm_declined(const struct buf *answer, const regex_t *re);

#endif
