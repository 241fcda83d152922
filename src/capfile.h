/* The caption / prompt stage file: {"KEY.json": text, ...}, laid out exactly
 * as the existing scripts' json.dump(d, f, indent=4, ensure_ascii=False). */
#ifndef HY_CAPFILE_H
#define HY_CAPFILE_H

#include <stddef.h>

#include "buf.h"

/* Builds the file in memory (a shard's worth is small: one line a face
 * sample). Zero-initialise, then begin / add... / end. */
struct capfile {
	struct buf out;
	size_t n;
};

void capfile_begin(struct capfile *c);
/* key is the sample key without extension; ".json" is appended as the
 * existing format wants. Returns 0, or -1 on ENOMEM. */
int capfile_add(struct capfile *c, const char *key, size_t key_len,
		const char *text, size_t text_len);
/* Closes the object; c->out then holds the whole file. */
int capfile_end(struct capfile *c);
void capfile_release(struct capfile *c);

#endif
