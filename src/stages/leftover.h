/* The leftover policy `blur` of stage generate: a face sample that gets no
 * synthetic image (no prompt, refused by the server, no server) ships
 * with its faces blurred. The blur reads the shard a second time, for the
 * leftovers' photos and metadata only, so that the first pass keeps no
 * image in memory. Runs on a worker thread, in the shard's finish task. */
#ifndef HY_LEFTOVER_H
#define HY_LEFTOVER_H

#include "stages/generate_shard.h"
#include "util/err.h"

/* Blurs the photo of each leftover of s that has one (G_LEFT with an
 * ext) in the regions its metadata gives (the whole photo when its boxes
 * are in doubt), and writes KEY.EXT and KEY.json into s->part: the sample
 * becomes G_BLURRED (s->blurred counts it). One whose photo cannot be
 * blurred, or is not met again, becomes G_UNBLURRABLE, reported through
 * `report`: it is dropped rather than shipped with a face. Reasons are
 * updated (gsample_set_reason). Returns HY_OK; HY_ESHARD when the shard
 * was replaced since the first pass (s->id) or is damaged; HY_EFATAL
 * (memory, writing). */
int leftover_blur(struct gshard *s, const struct hy_reporter *report,
		  struct hy_err *err);

#endif
