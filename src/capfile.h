/* The caption / prompt stage file: {"KEY.json": text, ...}, laid out exactly
 * as the existing scripts' json.dump(d, f, indent=4, ensure_ascii=False). */
#ifndef HY_CAPFILE_H
#define HY_CAPFILE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Builds the file in memory (a shard's worth is small: one line a face
 * sample). Zero-initialise, then begin / add... / end. */
struct capfile {
	struct buf out;
	struct buf name; /* scratch for "KEY.json" */
	size_t n;
};

void capfile_begin(struct capfile *c);
/* key is the sample key without extension; ".json" is appended as the
 * existing format wants. Returns 0, or -1 on ENOMEM. */
int capfile_add(struct capfile *c, const char *key, size_t key_len,
		const char *text, size_t text_len);
/* Same, with the entry name given whole ("KEY.json"), as read back by
 * capfile_load. */
int capfile_add_name(struct capfile *c, const char *name, size_t name_len,
		     const char *text, size_t text_len);
/* Closes the object; c->out then holds the whole file. */
int capfile_end(struct capfile *c);
void capfile_release(struct capfile *c);

/* A stage file read back, as Python's json reads it: entries in file
 * order. Names and texts are NUL-terminated UTF-8 owned by the struct; a
 * text may hold NULs of its own (text_len counts them). */
struct capentry {
	char *name; /* "KEY.json" */
	char *text;
	size_t text_len;
};

struct capfile_in {
	struct capentry *v;
	size_t n;
};

/* Reads path. Returns HY_OK, or HY_ESHARD naming the file and the reason
 * (unreadable, not JSON, not an object of strings). */
int capfile_load(struct capfile_in *in, const char *path, struct hy_err *err);
void capfile_in_release(struct capfile_in *in);

#endif
