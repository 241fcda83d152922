/* The face rule's setting as the stage folders record it. Which samples are
 * face samples (meta_face_sample, formats/meta.h) depends on --min-faces;
 * scan, generate and verify must all use the value scan used, or verify
 * finds "violations" that are only a disagreement between stages (a face
 * sample to scan that generate passed through as a non-face one).
 *
 * So the value travels with the data: scan writes FOLDER/.faces.json
 * ({"min_faces": N}) into CAPTIONS_DIR, prompts copies it into PROMPTS_DIR,
 * generate into EDITS_DIR, and generate and verify read it from the folder
 * they are given. A value given on the command line that differs from the
 * recorded one is a configuration error that names the file. Folders made
 * by the old scripts have no record: the given value, else the default 1.
 * A dot-file, so that every reader of `*.json` stage files skips it. */
#ifndef HY_FACERULE_H
#define HY_FACERULE_H

#include "util/err.h"

#define FACERULE_FILE		   ".faces.json"
#define FACERULE_DEFAULT_MIN_FACES 1
#define FACERULE_UNSET		   (-1) /* --min-faces not given */

/* Reads dir's record into *min_faces, or FACERULE_UNSET when dir has none.
 * HY_ECONFIG when the file exists but is not a record we wrote (names the
 * file and what is wrong). */
int facerule_read(const char *dir, long *min_faces, struct hy_err *err);

/* Writes dir's record (dir must exist). Several ranks may write the same
 * folder at once: each writes its own temporary file and renames it into
 * place, and they write the same bytes. Refuses (HY_ECONFIG, naming the
 * file) when dir already records another value: that folder holds the work
 * of another threshold, which cannot be mixed with this one. */
int facerule_write(const char *dir, long min_faces, struct hy_err *err);

/* The value a stage uses, from the records of the folders it reads and
 * writes (dirs[0..n); a NULL entry or a folder without a record is
 * skipped): the recorded value, else `given`, else the default. HY_ECONFIG,
 * naming the files and the values, when two records disagree or `given`
 * (not FACERULE_UNSET) differs from a record. *recorded is set to 1 when
 * some folder had a record (the value is then known, not a default). */
int facerule_agree(const char *const *dirs, size_t n, long given, long *used,
		   int *recorded, struct hy_err *err);

#endif
