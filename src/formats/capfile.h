/* The caption / prompt stage file: {"KEY.json": text, ...}, laid out exactly
 * as the existing scripts' json.dump(d, f, indent=4, ensure_ascii=False). */
#ifndef HY_CAPFILE_H
#define HY_CAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/outfile.h"

/* Builds the file and writes it out as it grows: zero-initialise, then
 * begin / add... (capfile_flush after each) / capfile_commit. Until 64 KiB
 * are held nothing is written; past that the file goes out 64 KiB at a
 * time under its temporary name (outfile.h), so a shard of a million face
 * samples never holds its whole file in memory. */
struct capfile {
	struct buf out;	 /* not yet written */
	struct buf name; /* scratch for "KEY.json" */
	size_t n;
	size_t written; /* bytes already in file */
	struct outfile file;
	int file_open;
};

#define CAPFILE_FLUSH (64u << 10)

void capfile_begin(struct capfile *c);
/* key is the sample key without extension; ".json" is appended as the
 * existing format wants. Returns 0, or -1 on ENOMEM. */
int capfile_add(struct capfile *c, const char *key, size_t key_len,
		const char *text, size_t text_len);
/* Same, with the entry name given whole ("KEY.json"), as read back by
 * capfile_load. */
int capfile_add_name(struct capfile *c, const char *name, size_t name_len,
		     const char *text, size_t text_len);
/* Closes the object; c->out then holds the rest of the file (all of it
 * when nothing was flushed). 0, or -1 on ENOMEM. */
int capfile_end(struct capfile *c);
/* Once over CAPFILE_FLUSH bytes are held, writes them to dir/.NAME.json.part
 * (opened the first time). HY_OK or HY_EFATAL (outfile.h). */
int capfile_flush(struct capfile *c, const char *dir, const char *name,
		  int do_fsync, struct hy_err *err);
/* capfile_end, then puts dir/NAME.json in place whole; *len (when not
 * NULL) gets its size. HY_OK or HY_EFATAL. */
int capfile_commit(struct capfile *c, const char *dir, const char *name,
		   int do_fsync, size_t *len, struct hy_err *err);
/* Frees c, removing a temporary file left uncommitted. */
void capfile_release(struct capfile *c);

/* A stage file read back, as Python's json reads it: entries in file
 * order. Names and texts are NUL-terminated UTF-8 owned by the struct; a
 * text may hold NULs of its own (text_len counts them). */
struct capentry {
	char *name; /* "KEY.json" */
	char *text;
	size_t text_len;
};

/* A file as our writers lay it out is decoded in place, in the buffer it
 * was read into (an escaped string is never shorter than its text): what
 * stays per entry is its bytes in the file plus one capentry (24 bytes),
 * not a tree of it and copies of every string. */
struct capfile_in {
	struct capentry *v;
	size_t n;
	char *arena; /* set: names and texts point into it */
};

/* Reads path. Returns HY_OK, or HY_ESHARD naming the file and the reason
 * (unreadable, not JSON, not an object of strings). */
int capfile_load(struct capfile_in *in, const char *path, struct hy_err *err);
void capfile_in_release(struct capfile_in *in);

/* The number of entries of the stage file at path, without decoding them
 * (for `status`), file being the caller's reusable buffer. HY_OK; 1 when
 * it is not there; HY_ESHARD with err saying what is wrong (unreadable,
 * "'PATH': not JSON", "'PATH': not a JSON object"); HY_EFATAL on
 * ENOMEM. */
int capfile_count(const char *path, struct buf *file, int64_t *n,
		  struct hy_err *err);

#endif
