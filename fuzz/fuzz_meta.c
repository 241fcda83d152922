/* Fuzz target: KEY.json parsing (meta_parse, with the surrogate repair). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta m = {0};
	struct hy_err err;
	char *copy = malloc(size + 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (meta_parse(&m, copy, size, &err) == HY_OK && m.has_caption &&
	    m.caption.len != strlen(m.caption.data))
		abort(); /* cJSON strings end at NUL: length must agree */
	meta_release(&m);
	free(copy);
	return 0;
}
