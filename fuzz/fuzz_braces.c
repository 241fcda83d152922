/* Fuzz target: SHARD argument brace expansion. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tar/shardlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ctx, const char *s)
{
	(void)s;
	/* Stop big expansions early: the limit itself is unit-tested. */
	return ++*(long *)ctx > 100000 ? HY_EFATAL : HY_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hy_err err;
	long n = 0;
	char *w;

	if (size > 256)
		return 0;
	w = malloc(size + 1);
	if (!w)
		return 0;
	memcpy(w, data, size);
	w[size] = '\0';
	shardlist_expand_braces(w, count, &n, &err);
	free(w);
	return 0;
}
