/* Language identification of captions with fastText's lid.176 model, for the
 * prompts stage's English filter (DataComp's rule). C interface over C++. */
#ifndef HY_LANGID_H
#define HY_LANGID_H

#include <stddef.h>

#include "util/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded model. Immutable once langid_open returns: one handle may be
 * shared by any number of threads calling langid_predict / langid_is at the
 * same time (each thread keeps its own scratch buffers, thread_local, reused
 * from call to call and sized by the longest text that thread has seen).
 * Only langid_close needs exclusive use. */
struct langid;

/* Room for any label of the lid.176 model plus its NUL ("en", "als",
 * "bxr"...); langid_open refuses models with longer labels. */
#define LANGID_LABEL_MAX 16

/* Loads a fastText supervised model (lid.176.ftz or .bin). On success
 * *out owns the model (about 1 MB for the .ftz) until langid_close.
 * Returns HY_OK, or HY_EFATAL with *out = NULL and err->msg naming the path
 * and the cause (cannot open, not a fastText model, damaged, not a
 * classifier, out of memory). */
int langid_open(struct langid **out, const char *model_path,
		struct hy_err *err);

/* Top-1 language of one UTF-8 text of `len` bytes (need not be
 * NUL-terminated; NULL is allowed when len is 0). Writes the label without
 * fastText's "__label__" prefix ("en", "de", "ja"...) into `label` (at
 * least LANGID_LABEL_MAX bytes) and its probability into *prob.
 * fastText classifies one line, so newlines, tabs and every other ASCII
 * control byte are read as spaces, like DataComp's text.replace("\n", " ")
 * followed by fastText's Python predict(); the probabilities match it.
 * Text that is empty or only spaces/control bytes gives label "" and
 * *prob 0; that is not an error. Returns HY_OK, or HY_EFATAL when
 * label_size is too small or memory runs out. */
int langid_predict(struct langid *l, const char *text, size_t len, char *label,
		   size_t label_size, float *prob);

/* DataComp's keep rule: *yes = 1 when the top-1 label of `text` is one of
 * langs[0..nlangs) and its probability is >= min_score (so min_score 0
 * keeps any top-1 match), else *yes = 0; empty text gives 0.
 * Returns HY_OK, or HY_EFATAL (out of memory) with err->msg set. */
int langid_is(struct langid *l, const char *text, size_t len,
	      const char *const *langs, size_t nlangs, float min_score,
	      int *yes, struct hy_err *err);

/* The model path to use when none is given (the CLI first looks at
 * $HYBRIDIZE_LID_MODEL; the library reads no environment):
 * .cache/models/lid.176.ftz (where scripts/fetch-model.sh puts it) in the
 * nearest directory above the running executable's
 * directory that has one, so build/hybridize, build/asan/hybridize and
 * build/unit/ tests all find the repository's copy; else
 * <executable's directory>/../.cache/models/lid.176.ftz, so that the error
 * from langid_open names where the file was expected. The string lives in a
 * static buffer that the next call overwrites: not thread-safe, call it
 * once at start-up. */
const char *langid_default_model(void);

/* Frees the model. Accepts NULL. No other call on l may be in progress. */
void langid_close(struct langid *l);

#ifdef __cplusplus
}
#endif

#endif
