/* The edits folder of one shard while stage generate writes it:
 * EDITS_DIR/.NAME.part/, holding KEY.EXT files (keys may have sub-folders)
 * and .options, a tag of the options its images were made with. Each
 * sample's files are written whole (outfile.h), KEY.json last, so that a
 * killed run leaves finished samples a later run keeps: editpart_open
 * keeps the folder when the options match, editpart_done says which
 * samples are finished. editpart_commit puts the folder in place as
 * EDITS_DIR/NAME/, which edits.h reads. Paths are the caller's; nothing
 * here keeps state between calls. */
#ifndef HY_EDITPART_H
#define HY_EDITPART_H

#include <stddef.h>

#include "util/err.h"

/* Makes the folder `part` (and its parents). One whose .options holds
 * another tag (images made with another model, seed, size...) is emptied
 * first, and that is reported through `report` as "SHARD: edits in
 * progress were made with other options ...". A new folder gets .options
 * = tag. HY_OK or HY_EFATAL. */
int editpart_open(const char *part, const char *tag,
		  const struct hy_reporter *report, const char *shard,
		  struct hy_err *err);

/* Writes part/KEY.EXT (the key's first key_len bytes; its folders made)
 * under a temporary name, then renamed. No fsync: editpart_commit syncs
 * once. HY_OK or HY_EFATAL. */
int editpart_put(const char *part, const char *key, size_t key_len,
		 const char *ext, const void *data, size_t len,
		 struct hy_err *err);

/* 1 when an earlier run finished sample KEY: part/KEY.json records a
 * synthetic image, and part/KEY.EXT has the sha256 it records (a crash of
 * the machine can leave a renamed but empty file; that sample is made
 * again). 0 otherwise, also on any error. Makes the key's folders. */
int editpart_done(const char *part, const char *key, size_t key_len,
		  const char *ext);

/* Removes the temporaries (".X.part", see outfile.h) a killed run left in
 * part whose samples this run did not write again. HY_OK or HY_EFATAL. */
int editpart_clean(const char *part, struct hy_err *err);

/* Renames part to final, after one syncfs of part's file system (instead
 * of an fsync per file) when do_fsync, then fsyncs outdir, the folder of
 * both. HY_OK or HY_EFATAL (part stays). */
int editpart_commit(const char *part, const char *final, const char *outdir,
		    int do_fsync, struct hy_err *err);

#endif
