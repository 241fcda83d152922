/* Stage `verify`: checks a resharded output against its input shard, its
 * edits and generate's record, streaming all three (a shard is never held
 * in memory):
 *  - OUT_DIR/NAME.tar exists and reads cleanly with our libarchive reader
 *    and with the strict POSIX parser of tarcheck.h, in step (both must see
 *    the same members);
 *  - it is the input with the edits applied, as reshard.h defines it:
 *    every sample in order, dropped ones (fate "dropped") absent entirely,
 *    nothing extra; members byte-equal to the input's, or to the edit
 *    file that replaces or adds them; every edit used;
 *  - an edited KEY.json names the sha256, width and height of the sample's
 *    image member in the output;
 *  - privacy: what became of each face sample, and whether its output
 *    still carries the original photo where its record says it must not
 *    (or where there is no record at all). */
#ifndef HY_VERIFY_H
#define HY_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "formats/fates.h"
#include "stages/stage.h"

struct verify_opts {
	const char
	    *edits_dir; /* EDITS_DIR: NAME/KEY.EXT and NAME/.generate.json */
	const char *out_dir; /* OUT_DIR: NAME.tar */
	long min_faces;	     /* what makes a face sample (as scan) */
	int max_reports;     /* problem lines per shard, then one
				"... and N more" (<= 0: 20) */
};

/* The privacy report's rows: what became of the input's face samples. */
enum verify_row {
	VR_FACES,	     /* face samples in the input */
	VR_SYNTHETIC,	     /* record "synthetic", photo replaced */
	VR_BLURRED,	     /* record "blurred", photo replaced */
	VR_DROPPED,	     /* record "dropped", sample absent */
	VR_KEPT,	     /* record "kept" (--leftover keep) */
	VR_KEPT_ORIGINAL,    /* ... of which carry their original photo */
	VR_NO_RECORD,	     /* no record, original photo: a violation */
	VR_NO_RECORD_EDITED, /* no record, photo replaced by an edit */
	VR_MISMATCH,	     /* record "synthetic"/"blurred", original photo: a
				violation */
	VR_NROWS
};

/* Face samples per fate and generate's reason ("no prompt", ...). */
struct verify_reason {
	enum fate fate;
	char *reason;
	int64_t n;
};

struct verify_counts {
	int64_t samples;      /* input samples */
	int64_t members;      /* output members compared */
	int64_t edited;	      /* output members equal to an edit file */
	int64_t dropped;      /* input samples left out by their fate */
	int64_t json_checked; /* edited KEY.json checked against its image */
	int64_t bad_meta;     /* input KEY.json unreadable: face count
				 unknown */
	int64_t problems;
	int64_t rows[VR_NROWS];
	struct verify_reason *reasons; /* of face samples with a record */
	size_t nreasons, cap;
	char **lines; /* the problem lines reported (max_reports), owned */
	size_t nlines;
};

/* Verifies input shard `path` (shard NAME) against OUT_DIR/NAME.tar and
 * EDITS_DIR/NAME/. Each problem goes to ctx->report as one line naming
 * the file, the offset or the sample key, and what is wrong (at most
 * max_reports lines, then a count). *c must be zeroed before the call and
 * released with verify_counts_release. Returns HY_OK when everything
 * holds; HY_ESHARD when something does not (err->msg counts the problems
 * and names the output); HY_EFATAL (out of memory); HY_ESTOP. */
int verify_shard(const struct stage_ctx *ctx, const struct verify_opts *o,
		 const char *path, const char *name, struct verify_counts *c,
		 struct hy_err *err);

/* Adds the counts and reasons of c to total (the lines are not copied).
 * 0, or -1 when out of memory. */
int verify_counts_add(struct verify_counts *total,
		      const struct verify_counts *c);

/* Frees what c owns and zeroes it; accepts a zeroed struct. */
void verify_counts_release(struct verify_counts *c);

/* "face samples", "synthetic", ... for reports. */
const char *verify_row_name(enum verify_row r);

/* The row a face sample with this fate counts in. */
enum verify_row verify_fate_row(enum fate f);

#endif
