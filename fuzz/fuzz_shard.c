/* Fuzz target: shard reading and key grouping, the way scan uses it (read
 * .json/.txt bodies, skip the rest) and the way reshard does (verbatim
 * ranges must lie inside the file). The input is put in a memfd. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tar/shard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shard *s = NULL;
	struct shard_member m;
	struct hy_err err;
	struct buf b = {0};
	char path[64];
	int fd = memfd_create("shard", 0), r;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (shard_open(&s, path, &err) != HY_OK)
		goto out;
	while ((r = shard_next(s, &m, &err)) > 0) {
		struct infile *rin;
		int64_t a, e;

		/* Ranges a copy would take verbatim must lie inside the file:
		 * a cut member is the reader's to report. */
		if (shard_raw_member(s, &rin, &a, &e) &&
		    (a < 0 || e < a || e > (int64_t)size))
			abort();
		if (shard_data_range(s, &rin, &a) &&
		    (a < 0 || a + m.size > (int64_t)size))
			abort();
		if (!strcmp(m.ext, "json") || !strcmp(m.ext, "txt"))
			shard_read_body(s, &b, 1 << 20, &err);
	}
out:
	shard_close(s);
	buf_release(&b);
	close(fd);
	return 0;
}
