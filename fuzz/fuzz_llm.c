/* Fuzz target: LLM answer parsing (ollama generate/chat, OpenAI chat) and
 * the clean-up of the answer text. */
#include <stdint.h>
#include <string.h>

#include "net/llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum llm_api apis[] = {LLM_OLLAMA, LLM_OLLAMA_CHAT,
					    LLM_OPENAI};
	struct buf a = {0};
	char why[128];
	int cut;

	for (size_t i = 0; i < 3; i++) {
		struct llm_opts o = {apis[i], "m", NULL, -1, 0, 0};
		if (llm_parse(&o, (const char *)data, size, &a, &cut, why,
			      sizeof(why)) == HY_OK)
			llm_clean(&a);
	}
	buf_release(&a);
	return 0;
}
