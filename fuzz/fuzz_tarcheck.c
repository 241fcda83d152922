/* Fuzz target: the strict tar parser of verify, on memory. Whatever the
 * input, every member it returns must lie inside the input, in order, and
 * after an error every later call must give the same error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tar/tarcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tarcheck *t = NULL;
	struct tarcheck_member m;
	struct hy_err err = {0}, again = {0};
	int64_t end = 0;
	int r;

	if (tarcheck_open_mem(&t, data, size, "fuzz.tar", &err) != HY_OK)
		return 0;
	while ((r = tarcheck_next(t, &m, &err)) == 1) {
		if (m.header_offset < end || m.data_offset < m.header_offset ||
		    m.stored < 0 || m.size < 0 ||
		    m.data_offset + m.stored > (int64_t)size ||
		    (!m.sparse && m.size != m.stored) || !m.path[0] ||
		    strlen(m.path) == 0)
			abort();
		end = m.data_offset + m.stored;
	}
	if (r < 0 && (tarcheck_next(t, &m, &again) != r ||
		      strcmp(err.msg, again.msg) != 0))
		abort();
	tarcheck_close(t);
	return 0;
}
