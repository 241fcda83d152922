/* Stage `extract` (step 1 of the old pipeline, for those who want folders):
 * unpacks a shard into DIR/NAME/. */
#ifndef HY_EXTRACT_H
#define HY_EXTRACT_H

#include "util/err.h"
#include "stages/stage.h"

/* Unpacks the shard at `path` into outdir/.NAME.part/, then renames that
 * folder to outdir/NAME, so NAME exists only when complete. Refused, named,
 * and failing the shard (nothing is left behind): member paths that are
 * absolute or climb out with ".."; hard links to such paths; symbolic links
 * that extract_symlink_unsafe rejects; devices, FIFOs, sockets and other
 * special members. Modes lose their setuid, setgid and sticky bits, also
 * when run as root. Returns HY_OK, HY_ESHARD, HY_EFATAL or HY_ESTOP. */
int extract_shard(const struct stage_ctx *ctx, const char *path,
		  const char *name, const char *outdir,
		  struct stage_counts *counts, struct hy_err *err);

/* 1 when a member path is absolute or has a ".." component. */
int extract_path_unsafe(const char *p);
/* 1 when a symbolic link at member path `member` (one that
 * extract_path_unsafe accepts) with target `target` may lead outside the
 * shard's folder: an absolute target, leading ".." components that climb
 * above it, or a ".." after a name (that name may be a link itself, so
 * where it climbs to cannot be told from the text). */
int extract_symlink_unsafe(const char *member, const char *target);

#endif
