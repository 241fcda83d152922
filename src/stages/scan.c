/* scan: captions of face samples, one streaming pass per shard. */
#include "stages/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "formats/capfile.h"
#include "formats/meta.h"
#include "util/outfile.h"
#include "util/progress.h"
#include "tar/shard.h"

/* Metadata and captions are small; a member this large is not one. */
#define SCAN_MAX_TEXT (16u << 20)

struct sample_state {
	struct buf key;
	struct buf json;
	struct buf txt;
	int has_json, has_txt;
	int jsons; /* KEY.json members: more than one is a doubt (meta.h) */
};

static void sample_reset(struct sample_state *s)
{
	buf_clear(&s->key);
	s->has_json = s->has_txt = s->jsons = 0;
}

/* Decides one finished sample; adds its caption to cf when it qualifies. */
static int finish_sample(const struct stage_ctx *ctx, const struct scan_opts *o,
			 const char *path, const char *outdir, const char *name,
			 struct sample_state *s, struct meta *m,
			 struct capfile *cf, struct stage_counts *c,
			 struct hy_err *err)
{
	struct hy_err perr;
	const char *cap;
	size_t cap_len;

	c->samples++;
	meta_reset(m); /* no metadata: no face boxes */
	if (s->jsons > 1) {
		/* No caption: generate drops the sample (meta.h) */
		meta_set_ambiguous(m);
		hy_report(&ctx->report, "%s: sample '%s': %s", path,
			  s->key.data, m->why);
		c->sample_errors++;
		return HY_OK;
	}
	if (s->has_json &&
	    meta_parse(m, s->json.data, s->json.len, &perr) != HY_OK) {
		if (perr.code == HY_EFATAL)
			return hy_err_set(err, HY_EFATAL, "%s: %s", path,
					  perr.msg);
		/* No caption: generate drops the sample (meta.h) */
		hy_report(&ctx->report, "%s: sample '%s': %s.json: %s", path,
			  s->key.data, s->key.data, perr.msg);
		c->sample_errors++;
		return HY_OK;
	}
	if (!meta_face_sample(m, o->min_faces))
		return HY_OK;
	c->faces++;
	if (m->has_caption) {
		cap = m->caption.data;
		cap_len = m->caption.len;
	} else if (s->has_txt) {
		cap = s->txt.data;
		cap_len = s->txt.len;
	} else {
		cap = "";
		cap_len = 0;
	}
	if (capfile_add(cf, s->key.data, s->key.len, cap, cap_len))
		return hy_err_set(err, HY_EFATAL, "%s: out of memory", path);
	return capfile_flush(cf, outdir, name, ctx->fsync, err);
}

int scan_shard(const struct stage_ctx *ctx, const struct scan_opts *o,
	       const char *path, const char *name, const char *outdir,
	       struct stage_counts *counts, struct hy_err *err)
{
	struct sample_state s = {0};
	struct meta m = {0};
	struct capfile cf = {0};
	struct shard *sh = NULL;
	struct shard_member mem;
	struct stage_counts c = {0};
	int64_t last = 0;
	size_t len = 0;
	int in_sample = 0, r, ret;

	capfile_begin(&cf);
	ret = shard_open(&sh, path, err);
	if (ret)
		goto out;
	while ((r = shard_next(sh, &mem, err)) > 0) {
		if (stage_stopped(ctx)) {
			ret = hy_err_set(err, HY_ESTOP, "%s: stopped", path);
			goto out;
		}
		if (!mem.is_data)
			continue;
		if (mem.new_sample) {
			if (in_sample) {
				ret = finish_sample(ctx, o, path, outdir, name,
						    &s, &m, &cf, &c, err);
				if (ret)
					goto out;
				progress_advance(ctx->progress, 1,
						 shard_file_offset(sh), &last);
			}
			sample_reset(&s);
			if (buf_append(&s.key, mem.path, mem.key_len)) {
				ret =
				    hy_err_set(err, HY_EFATAL, "out of memory");
				goto out;
			}
			in_sample = 1;
		}
		struct buf *dst = NULL;
		if (strcmp(mem.ext, "json") == 0) {
			dst = &s.json;
			s.has_json = 1;
			s.jsons++;
		} else if (strcmp(mem.ext, "txt") == 0) {
			dst = &s.txt;
			s.has_txt = 1;
		}
		if (!dst)
			continue; /* image bodies are skipped unread */
		ret = shard_read_body(sh, dst, SCAN_MAX_TEXT, err);
		if (ret == HY_ESAMPLE) {
			/* Without its JSON the sample counts as faceless: it is
			 * reported, and the run exits 2. */
			hy_report(&ctx->report, "%s", err->msg);
			c.sample_errors++;
			if (dst == &s.json)
				s.has_json = 0;
			else
				s.has_txt = 0;
			continue;
		}
		if (ret)
			goto out;
	}
	if (r < 0) {
		ret = r;
		goto out;
	}
	if (in_sample) {
		ret = finish_sample(ctx, o, path, outdir, name, &s, &m, &cf, &c,
				    err);
		if (ret)
			goto out;
		progress_advance(ctx->progress, 1, shard_file_offset(sh),
				 &last);
	}
	ret = capfile_commit(&cf, outdir, name, ctx->fsync, &len, err);
	c.bytes_out = (int64_t)len;
out:
	if (sh)
		progress_advance(ctx->progress, 0, shard_file_offset(sh),
				 &last);
	*counts = c;
	shard_close(sh);
	capfile_release(&cf);
	meta_release(&m);
	buf_release(&s.key);
	buf_release(&s.json);
	buf_release(&s.txt);
	return ret;
}
