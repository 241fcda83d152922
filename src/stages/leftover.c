/* The blur pass of stage generate: a second read of the shard, for the
 * photos and metadata of the leftovers only, each photo blurred in the
 * boxes its metadata gives (or whole) and written to the edits folder. */
#include "stages/leftover.h"

#include <stdio.h>
#include <string.h>

#include "formats/editpart.h"
#include "formats/meta.h"
#include "formats/metaedit.h"
#include "image/image.h"
#include "util/buf.h"
#include "util/digest.h"

static int same_key(const struct gsample *g, const char *key, size_t len)
{
	return g->key_len == len && !memcmp(g->key, key, len);
}

/* The next leftover from i on that has a photo to blur. */
static size_t next_left(const struct gshard *s, size_t i)
{
	while (i < s->n && !(s->v[i].st == G_LEFT && s->v[i].ext[0]))
		i++;
	return i;
}

/* Blurs one leftover's photo (body, as img_ret/img_err read it) in the
 * regions its metadata (json, or NULL) gives. HY_OK (blurred, or dropped
 * as unblurrable) or an error that stops the shard. */
static int blur_one(struct gshard *s, const struct hy_reporter *report,
		    struct gsample *g, struct buf *body, int img_ret,
		    const struct hy_err *img_err, struct buf *json,
		    struct meta *md, struct buf *out, struct buf *meta,
		    struct hy_err *err)
{
	const struct image_box *boxes = NULL;
	size_t nb = 0;
	struct hy_err e2;
	char sha[65];
	enum image_fmt f;
	int w = 0, h = 0, ret = img_ret;

	/* The regions by the face rule: the boxes, or the whole photo when
	 * they are in doubt. */
	meta_reset(md);
	if (!ret && json)
		ret = meta_parse(md, json->data, json->len, &e2);
	if (ret == HY_OK) {
		boxes = meta_hide(md, &nb);
		if (g->boxes_why &&
		    gsample_append_reason(g, g->boxes_why,
					  "the whole photo is blurred"))
			ret = hy_err_set(&e2, HY_EFATAL, "out of memory");
	}
	if (ret == HY_OK) {
		buf_clear(out);
		ret = image_blur_encoded(body->data, body->len, boxes, nb, out,
					 &e2);
	}
	if (ret == HY_OK)
		ret = image_probe(out->data, out->len, &f, &w, &h, &e2);
	if (ret == HY_EFATAL) {
		*err = img_ret == HY_EFATAL ? *img_err : e2;
		return ret;
	}
	if (ret) {
		/* A face that cannot be blurred must not ship. */
		char why[300];
		snprintf(why, sizeof(why),
			 "cannot blur the original image (%.200s): dropped",
			 img_ret == HY_OK ? e2.msg : img_err->msg);
		hy_report(report, "%s: sample '%s': %s", s->in->shard, g->key,
			  why);
		g->st = G_UNBLURRABLE;
		if (gsample_set_reason(g, why))
			return hy_err_set(err, HY_EFATAL, "out of memory");
		return HY_OK;
	}
	if (digest_sha256_hex(out->data, out->len, sha))
		return hy_err_set(err, HY_EFATAL, "sha256 failed");
	{
		struct metaedit_blur mb = {.w = w,
					   .h = h,
					   .sha256 = sha,
					   .boxes = (long)nb,
					   .reason = g->reason};
		ret = json ? metaedit_blurred(json->data, json->len, &mb, meta,
					      &e2)
			   : HY_ESAMPLE;
		if (ret == HY_ESAMPLE)
			ret = metaedit_blurred(NULL, 0, &mb, meta, &e2);
		if (ret) {
			*err = e2;
			return ret;
		}
	}
	ret = editpart_put(s->part, g->key, g->key_len, g->ext, out->data,
			   out->len, err);
	if (!ret)
		ret = editpart_put(s->part, g->key, g->key_len, "json",
				   meta->data, meta->len, err);
	if (ret)
		return ret;
	s->blurred++;
	g->st = G_BLURRED;
	return HY_OK;
}

/* KEY.json is read again here rather than kept from the first pass for
 * every leftover: memory stays flat in the samples of a shard. */
int leftover_blur(struct gshard *s, const struct hy_reporter *report,
		  struct hy_err *err)
{
	struct shard *sh = NULL;
	struct shard_member m;
	struct buf body = {0}, json = {0}, out = {0}, meta = {0};
	struct meta md = {0};
	struct shard_id id;
	struct hy_err img_err = {0}, e2;
	size_t i = next_left(s, 0);
	/* of leftover i: a member met, its JSON read, its photo read */
	int seen = 0, has_json = 0, has_img = 0, img_ret = HY_OK;
	int ret, more = 1;

	if (i == s->n)
		return HY_OK;
	ret = shard_open(&sh, s->in->shard, err);
	if (ret)
		return ret;
	/* Boxes from one file must not be applied to the photos of another
	 * (a face outside them would ship): a shard replaced since the first
	 * pass fails, and the next run reads the new one twice. */
	shard_get_id(sh, &id);
	if (!shard_id_equal(&id, &s->id)) {
		ret = hy_err_set(err, HY_ESHARD,
				 "%s: changed while being read (replaced or "
				 "rewritten since its metadata was read): "
				 "run again",
				 s->in->shard);
		goto out;
	}
	while (i < s->n) {
		struct gsample *g = &s->v[i];
		size_t skip;
		int same;

		more = shard_next(sh, &m, err);
		if (more < 0) {
			ret = more;
			goto out;
		}
		if (more == 1 && !m.is_data)
			continue;
		skip = more == 1 ? shard_key_skip(m.path, m.key_len) : 0;
		same =
		    more == 1 && same_key(g, m.path + skip, m.key_len - skip);
		if (seen && !same) {
			/* Leftover i ended: blur it, or drop it when its photo
			 * was not met again (the loop below). */
			if (!has_img)
				break;
			ret = blur_one(s, report, g, &body, img_ret, &img_err,
				       has_json ? &json : NULL, &md, &out,
				       &meta, err);
			if (ret)
				goto out;
			i = next_left(s, i + 1);
			seen = has_json = has_img = 0;
			if (i == s->n)
				break;
			g = &s->v[i];
			same = more == 1 &&
			       same_key(g, m.path + skip, m.key_len - skip);
		}
		if (more == 0)
			break;
		if (!same)
			continue;
		seen = 1;
		if (!strcmp(m.ext, "json") && !has_json) {
			/* the record the first pass read: the first one
			 * that reads */
			ret = shard_read_body(sh, &json, GEN_MAX_BODY, &e2);
			if (ret == HY_ESHARD || ret == HY_EFATAL) {
				*err = e2;
				goto out;
			}
			has_json = ret == HY_OK;
		} else if (!strcmp(m.ext, g->ext) && !has_img) {
			img_ret =
			    shard_read_body(sh, &body, GEN_MAX_BODY, &img_err);
			if (img_ret == HY_ESHARD) {
				*err = img_err;
				ret = img_ret;
				goto out;
			}
			has_img = 1;
		}
	}
	ret = HY_OK;
	/* A leftover the second pass did not meet (the shard changed under
	 * us) must not ship its face either. */
	for (; i < s->n; i = next_left(s, i + 1)) {
		s->v[i].st = G_UNBLURRABLE;
		gsample_set_reason_static(&s->v[i], "photo not found again for "
						    "blurring: dropped");
	}
out:
	buf_release(&body);
	buf_release(&json);
	buf_release(&out);
	buf_release(&meta);
	meta_release(&md);
	shard_close(sh);
	return ret;
}
