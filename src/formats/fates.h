/* What `generate` decided for every face sample of a shard, kept beside
 * its edits as EDITS_DIR/NAME/.generate.json: a synthetic image, or a
 * leftover (no prompt, declined, refused by the image server) that was
 * blurred, dropped or kept. reshard reads it to leave dropped samples
 * out; verify reads it for the privacy report. */
#ifndef HY_FATES_H
#define HY_FATES_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#include "util/err.h"
#include "util/strpool.h"

#define FATES_FILE ".generate.json"

enum fate { FATE_SYNTHETIC, FATE_BLURRED, FATE_DROPPED, FATE_KEPT };

struct fate_entry {
	const char *key; /* in strings */
	enum fate fate;
	const char *reason; /* leftovers: why no synthetic image; else NULL.
			       One copy of each distinct reason */
};

/* Per entry: 24 bytes, the key and its NUL, 8 for the index by key; a
 * reason once however many samples share it (a shard of a million face
 * samples left over for the same reason holds it once). */
struct fates {
	struct fate_entry *v; /* shard order */
	size_t n, cap;
	size_t *sorted;		/* indexes by key, built by fates_load */
	struct strpool strings; /* keys and reasons */
	const char **reasons;	/* distinct reasons, by hash */
	size_t nreasons, reasons_slots;
};

const char *fate_name(enum fate f); /* "synthetic", "blurred", ... */

/* Appends an entry (strings copied). 0, or -1 on ENOMEM. */
int fates_add(struct fates *f, const char *key, size_t key_len, enum fate fate,
	      const char *reason);

/* Writes dir/.generate.json atomically. HY_OK or HY_EFATAL. */
int fates_write(const struct fates *f, const char *dir, int do_fsync,
		struct hy_err *err);

/* Reads edits_dir/name/.generate.json; none there gives n = 0. HY_OK, or
 * HY_ESHARD naming the file and what is wrong. */
int fates_load(struct fates *f, const char *edits_dir, const char *name,
	       struct hy_err *err);

/* The entry of a key (after fates_load), or NULL. */
const struct fate_entry *fates_find(const struct fates *f, const char *key,
				    size_t key_len);

void fates_release(struct fates *f);

/* Entries of edits_dir/name/.generate.json by enum fate, added to
 * counts[4] (entries of no known fate are not counted), file being the
 * caller's reusable buffer (for `status`: no entry is kept). HY_OK; 1
 * when there is none (edits made by other tools); HY_ESHARD with err
 * saying what is wrong (unreadable, "'PATH': not JSON", "'PATH': no
 * \"samples\" list"); HY_EFATAL on ENOMEM. */
int fates_count(const char *edits_dir, const char *name, struct buf *file,
		int64_t counts[4], struct hy_err *err);

#endif
