/* Per-shard journal of finished answers: one line per sample, appended as
 * each answer arrives, so a killed run loses only the requests in flight
 * and the next run resumes from it. Lives beside the outputs as
 * .NAME.journal and is removed once NAME.json is written. */
#ifndef HY_JOURNAL_H
#define HY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* The key of a journal's first line when it records the options its
 * answers were made with (prompts.c): ["#options", "", "TAG"]. */
#define JOURNAL_TAG_KEY "#options"

struct journal {
	int fd;
	char *path;
	struct buf line; /* reused */
};

/* Opens (creating) dir/.NAME.journal for appending, emptied first when
 * `fresh`. HY_OK or HY_EFATAL. */
int journal_open(struct journal *j, const char *dir, const char *name,
		 int fresh, struct hy_err *err);

/* Appends one finished sample: status "ok" (text = the prompt) or
 * "declined" (text = the answer or reason). One write(2) per line: a kill
 * leaves whole lines, and at worst a cut last line that loading skips. */
int journal_add(struct journal *j, const char *key, const char *status,
		const char *text, size_t len, struct hy_err *err);

/* Calls fn for every whole line of dir/.NAME.journal (none when there is
 * no journal). Returns HY_OK, or HY_ESHARD when it cannot be read. */
int journal_load(const char *dir, const char *name,
		 void (*fn)(void *ctx, const char *key, const char *status,
			    const char *text, size_t len),
		 void *ctx, struct hy_err *err);

/* The answers in dir/.NAME.journal: its whole lines, less the first one
 * when it is the options tag line, counted without holding the file (one
 * chunk at a time). HY_OK; HY_ESHARD naming the file when it cannot be
 * opened or read (not there included). */
int journal_count(const char *dir, const char *name, int64_t *answers,
		  struct hy_err *err);

/* Closes the journal; accepts a zeroed struct (fd 0 is never ours: call
 * only after journal_open, or with fd = -1). */
void journal_close(struct journal *j);

/* Removes dir/.NAME.journal. */
void journal_remove(const char *dir, const char *name);

#endif
