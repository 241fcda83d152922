/* generate: one thread runs the event loop (requests to the image
 * servers, shard bookkeeping); worker threads read shards, check, convert
 * and write the images the servers send, and blur leftovers. The loop and
 * the workers meet in a task queue; an answer is handed to a worker with
 * POOL_DEFER, and the worker's verdict (a whole image of the right size, or
 * ask again) goes back to the pool, so a damaged image is retried like any
 * other bad answer.
 *
 * Sample files are written in EDITS_DIR/.NAME.part/ (formats/editpart.h),
 * KEY.json last: a sample whose KEY.json is there (and whose image matches
 * its sha256) is done, so a killed run redoes only the samples in flight.
 * The blur of leftovers is leftover.c's; the state both files share is in
 * generate_shard.h. */
#include "stages/generate.h"

#include <stdlib.h>
#include <string.h>

#include "formats/capfile.h"
#include "formats/editpart.h"
#include "formats/fates.h"
#include "formats/keypath.h"
#include "formats/meta.h"
#include "formats/metaedit.h"
#include "image/image.h"
#include "stages/generate_shard.h"
#include "stages/leftover.h"
#include "stages/runloop.h"
#include "tar/shard.h"
#include "util/digest.h"
#include "util/hash.h"
#include "util/progress.h"
#include "util/taskq.h"

struct gjob {
	struct pool_job base; /* first: the pool hands this pointer back */
	struct gtask task;
	struct gshard *sh;
	size_t idx;
	struct buf resp;
	enum pool_verdict verdict; /* of the post task */
	int ret;		   /* HY_OK, or HY_EFATAL (cannot write) */
	int blank; /* one flat colour: the server's safety checker said no */
	char why[256];
};

struct run {
	const struct stage_ctx *ctx;
	const struct generate_opts *o;
	const char *outdir;
	struct generate_counts *c;
	struct pool *pool;
	struct taskq *tq;
	struct gshard *active;
	size_t nactive;
	size_t room; /* jobs the pool may hold: submit_more stops there */
	struct hy_err *err;
	int fatal;
	char tag[32];
	const struct stage_link *link; /* in a pipeline, else NULL */
	const struct generate_input *base;
};

/* Tells the pipeline, if any, that a shard left this stage. */
static void notify(struct run *r, const struct generate_input *in, int ok)
{
	feed_input_done(r->link, (size_t)(in - r->base), ok);
}

unsigned long generate_seed(const char *key, size_t len)
{
	return hash_fnv1a32(key, len) & 0x7fffffffUL;
}

static int round64(double v)
{
	int r = (int)(v / 64 + 0.5) * 64;

	return r < 64 ? 64 : r;
}

void generate_size(int ow, int oh, int max_side, int *w, int *h)
{
	double s;

	if (ow <= 0 || oh <= 0) {
		*w = *h = round64(max_side);
		return;
	}
	s = (double)max_side / (ow > oh ? ow : oh);
	*w = round64(ow * s);
	*h = round64(oh * s);
	if (*w > max_side)
		*w = max_side / 64 * 64 < 64 ? 64 : max_side / 64 * 64;
	if (*h > max_side)
		*h = max_side / 64 * 64 < 64 ? 64 : max_side / 64 * 64;
}

/* Frees what g owns and leaves it empty, so that freeing it again (the
 * cleanup path after keep_sample) is harmless. */
static void sample_free(struct gsample *g)
{
	free(g->key);
	if (g->reason_owned)
		free((void *)g->reason);
	free(g->doubt);
	free(g->boxes_why);
	if (g->post) {
		if (g->post->job) {
			buf_release(&g->post->job->resp);
			free(g->post->job);
		}
		free(g->post->json);
		free(g->post->prompt);
		free(g->post);
	}
	memset(g, 0, sizeof(*g));
	/* Said again for clang's analyzer, which does not see memset
	 * clear the pointers. */
	g->key = g->doubt = g->boxes_why = NULL;
	g->reason = NULL;
	g->post = NULL;
}

/* Frees what only a request to the image server needs: the prompt and a
 * copy of KEY.json. A sample that is not sent keeps neither (a blur reads
 * its KEY.json again), so that a shard's leftovers cost no more than their
 * gsample and key. */
static void drop_post(struct gsample *g)
{
	if (!g->post)
		return;
	free(g->post->json);
	free(g->post->prompt);
	free(g->post);
	g->post = NULL;
}

static void shard_free(struct gshard *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		sample_free(&s->v[i]);
	free(s->v);
	free(s->part);
	free(s->final);
	free(s);
}

/* Prompts by key, sorted, for lookups while the shard streams by. */
struct pindex {
	struct capfile_in caps;
	size_t *idx;
};

static int cmp_caps(const void *a, const void *b, void *caps)
{
	const struct capfile_in *c = caps;

	return strcmp(c->v[*(const size_t *)a].name,
		      c->v[*(const size_t *)b].name);
}

/* The prompt of key, or NULL. Entry names are "KEY.json". */
static const struct capentry *pfind(const struct pindex *p, const char *key,
				    size_t len)
{
	size_t lo = 0, hi = p->caps.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *nm = p->caps.v[p->idx[mid]].name;
		int c = strncmp(nm, key, len);

		if (!c)
			c = strcmp(nm + (strlen(nm) >= len ? len : 0), ".json");
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return &p->caps.v[p->idx[mid]];
	}
	return NULL;
}

/* The sample being read in the first pass; m is its KEY.json. */
struct cur {
	struct gsample g;
	struct meta m;
	int active;
	int jsons;	   /* KEY.json members seen */
	char key_why[160]; /* why the key cannot be a path, or "" */
	char img_why[160]; /* a photo the sample cannot be made safe with
			      (a second one, another format), or "" */
};

/* Decides the sample just read: a face sample (the face rule, meta.h) or
 * one with a prompt is kept for this stage, with the doubt that makes a
 * face sample unsafe to edit. */
static int keep_sample(struct gshard *s, struct cur *c, struct hy_err *err)
{
	const struct generate_opts *o = s->r->o;
	int face;
	char why[400];

	if (!c->active)
		return HY_OK;
	c->active = 0;
	s->samples++;
	face = meta_face_sample(&c->m, o->min_faces);
	why[0] = '\0';
	if (c->key_why[0])
		snprintf(why, sizeof(why), "key cannot name a file (%s)",
			 c->key_why);
	else if (face && c->img_why[0])
		snprintf(why, sizeof(why), "%s", c->img_why);
	else if (face && c->m.doubt == META_UNREADABLE)
		snprintf(why, sizeof(why), "%s", c->m.why);
	if (why[0] && !face) {
		/* Not a face sample: it passes through as it is; only its
		 * prompt cannot be used. */
		hy_report(&s->r->ctx->report,
			  "%s: sample '%s': prompt not used: %s", s->in->shard,
			  c->g.key, why);
		sample_free(&c->g);
		return HY_OK;
	}
	if (!c->g.post && !face) {
		sample_free(&c->g);
		return HY_OK;
	}
	if (why[0]) {
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
			 ": dropped");
		hy_report(&s->r->ctx->report, "%s: sample '%s': %s",
			  s->in->shard, c->g.key, why);
		c->g.doubt = strdup(why);
		if (!c->g.doubt) {
			sample_free(&c->g);
			return hy_err_set(err, HY_EFATAL, "out of memory");
		}
	}
	if (face && c->m.doubt == META_BAD_BOXES &&
	    !(c->g.boxes_why = strdup(c->m.why))) {
		sample_free(&c->g);
		return hy_err_set(err, HY_EFATAL, "out of memory");
	}
	/* Never sent to a server (run_load decides on api_none and doubt
	 * first). */
	if (o->api_none || c->g.doubt)
		drop_post(&c->g);
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		struct gsample *v = realloc(s->v, nc * sizeof(*v));
		if (!v) {
			sample_free(&c->g);
			return hy_err_set(err, HY_EFATAL, "out of memory");
		}
		s->v = v;
		s->cap = nc;
	}
	s->v[s->n++] = c->g;
	memset(&c->g, 0, sizeof(c->g));
	return HY_OK;
}

/* First pass over a shard: the face samples, their metadata, the size of
 * the images that will be replaced. Bodies of other members are skipped. */
static int read_shard(struct gshard *s, const struct pindex *pi,
		      struct hy_err *err)
{
	struct shard *sh = NULL;
	struct shard_member m;
	struct cur c = {0};
	struct buf body = {0};
	struct hy_err e2;
	char why[sizeof(c.key_why)];
	size_t skip;
	int ret, more, pr;
	enum meta_member kind;

	ret = shard_open(&sh, s->in->shard, err);
	if (ret)
		return ret;
	shard_get_id(sh, &s->id);
	while ((more = shard_next(sh, &m, err)) == 1) {
		if (!m.is_data)
			continue;
		if (m.new_sample) {
			if ((ret = keep_sample(s, &c, err)))
				goto out;
			c.active = 1;
			c.jsons = 0;
			c.img_why[0] = '\0';
			meta_reset(&c.m);
			skip = shard_key_skip(m.path, m.key_len);
			c.g.key = strndup(m.path + skip, m.key_len - skip);
			c.g.key_len = m.key_len - skip;
			if (!c.g.key) {
				ret =
				    hy_err_set(err, HY_EFATAL, "out of memory");
				goto out;
			}
			/* into a local first: clang's analyzer loses track of
			 * c.g's pointers when c is written through a pointer */
			c.key_why[0] = '\0';
			if (keypath_check(c.g.key, c.g.key_len, why,
					  sizeof(why)))
				memcpy(c.key_why, why, sizeof(c.key_why));
			if (pi->caps.n) {
				const struct capentry *p =
				    pfind(pi, c.g.key, c.g.key_len);
				if (p) {
					c.g.post = calloc(1, sizeof(*c.g.post));
					if (c.g.post) {
						c.g.post->prompt =
						    strdup(p->text);
						c.g.post->prompt_len =
						    p->text_len;
					}
					if (!c.g.post || !c.g.post->prompt) {
						ret =
						    hy_err_set(err, HY_EFATAL,
							       "out of memory");
						goto out;
					}
				}
			}
		}
		kind = meta_member_kind(m.ext);
		if (!strcmp(m.ext, "json") && c.jsons++) {
			meta_set_ambiguous(&c.m);
		} else if (!strcmp(m.ext, "json")) {
			ret = shard_read_body(sh, &body, GEN_MAX_BODY, &e2);
			if (ret == HY_ESHARD || ret == HY_EFATAL) {
				*err = e2;
				goto out;
			}
			if (ret == HY_OK) {
				/* the copy for the request, before meta_parse
				 * mends body in place */
				if (c.g.post && !s->r->o->api_none &&
				    !(c.g.post->json = malloc(body.len + 1))) {
					ret = hy_err_set(err, HY_EFATAL,
							 "out of memory");
					goto out;
				}
				if (c.g.post && c.g.post->json) {
					memcpy(c.g.post->json, body.data,
					       body.len + 1);
					c.g.post->json_len = body.len;
				}
				/* unreadable: keep_sample reports the drop */
				pr = meta_parse(&c.m, body.data, body.len, &e2);
				if (pr == HY_EFATAL) {
					ret = pr;
					*err = e2;
					goto out;
				}
			} else {
				/* an oversized .json: a face sample of
				 * unknown faces, dropped */
				meta_set_unreadable(&c.m, e2.msg);
			}
		} else if (kind == META_OTHER) {
			continue;
		} else if (c.g.ext[0] || kind == META_PHOTO_ODD) {
			/* Only one photo, in a format we write, can be
			 * replaced or blurred; another would ship as it is. */
			if (!c.img_why[0]) {
				if (kind == META_PHOTO_ODD)
					snprintf(why, sizeof(why),
						 "image member '%.40s' cannot "
						 "be replaced or blurred",
						 m.ext);
				else
					snprintf(why, sizeof(why),
						 "several image members "
						 "('%.40s' and '%.40s')",
						 c.g.ext, m.ext);
				memcpy(c.img_why, why, sizeof(c.img_why));
			}
		} else {
			/* META_PHOTO: jpg, jpeg, png, webp: at most 4 bytes */
			snprintf(c.g.ext, sizeof(c.g.ext), "%s", m.ext);
			/* Its size only matters when it is replaced. */
			if (c.g.post && shard_read_body(sh, &body, GEN_MAX_BODY,
							&e2) == HY_OK) {
				enum image_fmt f;
				if (image_probe(body.data, body.len, &f,
						&c.g.post->ow, &c.g.post->oh,
						&e2) != HY_OK)
					c.g.post->ow = c.g.post->oh = 0;
			}
		}
	}
	if (more < 0) {
		ret = more;
		goto out;
	}
	ret = keep_sample(s, &c, err);
out:
	sample_free(&c.g);
	meta_release(&c.m);
	buf_release(&body);
	shard_close(sh);
	return ret;
}

/* Makes r (malloc'd, or NULL when out of memory: -1) g's reason. */
static int take_reason(struct gsample *g, char *r)
{
	if (!r)
		return -1;
	if (g->reason_owned)
		free((void *)g->reason);
	g->reason = r;
	g->reason_owned = 1;
	return 0;
}

int gsample_set_reason(struct gsample *g, const char *why)
{
	return take_reason(g, strdup(why));
}

void gsample_set_reason_static(struct gsample *g, const char *why)
{
	if (g->reason_owned)
		free((void *)g->reason);
	g->reason = why;
	g->reason_owned = 0;
}

int gsample_append_reason(struct gsample *g, const char *why, const char *what)
{
	char *r = NULL;

	if (asprintf(&r, "%s; %s: %s", g->reason ? g->reason : "leftover", why,
		     what) < 0)
		r = NULL;
	return take_reason(g, r);
}

/* Load task: prompts, first pass, resume state, sizes and seeds. */
static void run_load(struct task *t)
{
	struct gshard *s = ((struct gtask *)t)->owner;
	const struct generate_opts *o = s->r->o;
	struct pindex pi = {0};
	int ret;

	if (s->in->prompts) {
		ret = capfile_load(&pi.caps, s->in->prompts, &s->err);
		if (ret)
			goto out;
		pi.idx = malloc((pi.caps.n + 1) * sizeof(*pi.idx));
		if (!pi.idx) {
			ret = hy_err_set(&s->err, HY_EFATAL, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < pi.caps.n; i++)
			pi.idx[i] = i;
		qsort_r(pi.idx, pi.caps.n, sizeof(*pi.idx), cmp_caps, &pi.caps);
	}
	ret = editpart_open(s->part, s->r->tag, &s->r->ctx->report,
			    s->in->shard, &s->err);
	if (!ret)
		ret = read_shard(s, &pi, &s->err);
	for (size_t i = 0; !ret && i < s->n; i++) {
		struct gsample *g = &s->v[i];
		const char *why = NULL;

		if (g->doubt) {
			g->st = G_DOUBTFUL;
			drop_post(g);
			continue;
		}
		if (o->api_none)
			why = "no image server (--image-api none)";
		else if (!g->post)
			why = "no prompt (caption not in the wanted language, "
			      "declined by the LLM, or no captions entry)";
		else if (!g->ext[0])
			why = "no image member to replace";
		else if (!g->post->prompt[strspn(g->post->prompt, " \t\r\n")])
			why = "empty prompt";
		if (why) {
			g->st = G_LEFT;
			gsample_set_reason_static(g, why);
			drop_post(g);
			continue;
		}
		if (editpart_done(s->part, g->key, g->key_len, g->ext)) {
			drop_post(g);
			g->st = G_DONE;
			s->resumed++;
			continue;
		}
		if (o->size_w > 0) {
			g->post->gw = o->size_w;
			g->post->gh = o->size_h;
		} else if (o->api.kind != IMGAPI_OPENAI ||
			   !imgapi_fit_size(o->api.model, g->post->ow,
					    g->post->oh, o->max_side,
					    &g->post->gw, &g->post->gh)) {
			/* (OpenAI's models make a few sizes only: the nearest
			 * one, which --resize brings to the original's) */
			generate_size(g->post->ow, g->post->oh, o->max_side,
				      &g->post->gw, &g->post->gh);
		}
		g->post->seed = o->seed >= 0
				    ? (unsigned long)o->seed
				    : generate_seed(g->key, g->key_len);
		g->st = G_PENDING;
		s->pending++;
	}
out:
	capfile_in_release(&pi.caps);
	free(pi.idx);
	s->ret = ret;
}

/* 1 when every pixel has the same colour. */
static int is_blank(const struct image *px)
{
	size_t n = (size_t)px->w * (size_t)px->h * (size_t)px->channels;
	size_t c = (size_t)px->channels;

	for (size_t i = c; i < n; i++)
		if (px->px[i] != px->px[i - c])
			return 0;
	return 1;
}

/* Post task: the server's answer made into the sample's three files. */
static void run_post(struct task *t)
{
	struct gjob *j = ((struct gtask *)t)->owner;
	struct gshard *s = j->sh;
	struct gsample *g = &s->v[j->idx];
	struct gpost *p = g->post;
	const struct generate_opts *o = s->r->o;
	enum image_fmt want = image_fmt_of_ext(g->ext), got;
	struct buf img = {0}, enc = {0}, meta = {0};
	struct image px = {0}, sized = {0};
	struct hy_err err;
	struct imgapi_used used;
	const struct buf *out = &img;
	char sha[65];
	int w, h, ret;

	j->verdict = POOL_RETRY;
	j->ret = HY_OK;
	if (imgapi_parse(&o->api, p->seed, j->resp.data ? j->resp.data : "",
			 j->resp.len, &img, &used, j->why,
			 sizeof(j->why)) != HY_OK)
		goto out;
	buf_release(&j->resp);
	if (image_probe(img.data, img.len, &got, &w, &h, &err) != HY_OK) {
		snprintf(j->why, sizeof(j->why), "%.200s", err.msg);
		goto out;
	}
	if (w != p->gw || h != p->gh) {
		snprintf(j->why, sizeof(j->why),
			 "image is %dx%d, %dx%d was asked for", w, h, p->gw,
			 p->gh);
		goto out;
	}
	/* Decoded whole even when its bytes are kept: half an image has a
	 * valid header too. */
	if (image_decode(img.data, img.len, want == IMAGE_JPEG ? 3 : 0, &px,
			 &err) != HY_OK) {
		snprintf(j->why, sizeof(j->why), "%s image: %.200s",
			 image_fmt_name(got), err.msg);
		goto out;
	}
	j->verdict = POOL_DONE;
	if (is_blank(&px)) {
		/* What A1111's NSFW filter sends instead of an image: the same
		 * seed would give it again, so the sample is a leftover. */
		j->blank = 1;
		goto out;
	}
	if (o->resize && p->ow > 0 && p->oh > 0 && (p->ow != w || p->oh != h)) {
		ret = image_resize(&px, p->ow, p->oh, &sized, &err);
		if (ret)
			goto fatal;
		image_release(&px);
		px = sized;
		memset(&sized, 0, sizeof(sized));
	}
	if (got != want || px.w != w || px.h != h) {
		ret = image_encode(&px, want, o->quality, &enc, &err);
		if (ret)
			goto fatal;
		out = &enc;
	}
	if (digest_sha256_hex(out->data, out->len, sha)) {
		hy_err_set(&err, HY_EFATAL, "sha256 failed");
		goto fatal;
	}
	{
		struct metaedit_synth ms = {
		    .prompt = p->prompt,
		    .prompt_len = p->prompt_len,
		    .w = px.w,
		    .h = px.h,
		    .sha256 = sha,
		    .generator = o->generator,
		    /* what the server used, never merely what was asked */
		    .model = used.model[0] ? used.model : NULL,
		    .has_seed = used.seed_known,
		    .seed = used.seed,
		    .steps = used.steps,
		    .cfg_scale = used.cfg_scale,
		    .sampler = used.sampler[0] ? used.sampler : NULL,
		    .llm_model = o->llm_model,
		};
		ret =
		    metaedit_synthetic(p->json, p->json_len, &ms, &meta, &err);
		if (ret == HY_ESAMPLE) /* the original record was not JSON */
			ret = metaedit_synthetic(NULL, 0, &ms, &meta, &err);
		if (ret)
			goto fatal;
	}
	ret = editpart_put(s->part, g->key, g->key_len, g->ext, out->data,
			   out->len, &err);
	if (!ret)
		ret = editpart_put(s->part, g->key, g->key_len, "txt",
				   p->prompt, p->prompt_len, &err);
	if (!ret) /* last: its presence means the sample is done */
		ret = editpart_put(s->part, g->key, g->key_len, "json",
				   meta.data, meta.len, &err);
	if (ret)
		goto fatal;
	goto out;
fatal:
	j->ret = HY_EFATAL;
	snprintf(j->why, sizeof(j->why), "%.200s", err.msg);
out:
	image_release(&px);
	image_release(&sized);
	buf_release(&img);
	buf_release(&enc);
	buf_release(&meta);
}

/* Finish task: leftovers, the fates record, and the folder into place. */
static void run_finish(struct task *t)
{
	struct gshard *s = ((struct gtask *)t)->owner;
	const struct generate_opts *o = s->r->o;
	struct fates f = {0};
	int ret = HY_OK;

	if (o->leftover == LEFTOVER_BLUR)
		ret = leftover_blur(s, &s->r->ctx->report, &s->err);
	for (size_t i = 0; !ret && i < s->n; i++) {
		struct gsample *g = &s->v[i];
		enum fate fa = FATE_SYNTHETIC;

		const char *why = g->reason;

		if (g->st == G_BLURRED) {
			fa = FATE_BLURRED;
		} else if (g->st == G_UNBLURRABLE) {
			fa = FATE_DROPPED;
			s->dropped++;
		} else if (g->st == G_DOUBTFUL) {
			fa = FATE_DROPPED;
			why = g->doubt;
			s->dropped++;
		} else if (g->st == G_LEFT) {
			/* blur that found no image member keeps the sample,
			 * unless its boxes are in doubt: keep never ships
			 * a photo whose faces may be anywhere */
			fa = o->leftover == LEFTOVER_DROP ||
				     (g->boxes_why && g->ext[0])
				 ? FATE_DROPPED
				 : FATE_KEPT;
			if (fa == FATE_DROPPED &&
			    o->leftover != LEFTOVER_DROP &&
			    gsample_append_reason(
				g, g->boxes_why,
				"dropped (a photo whose faces may "
				"be anywhere is never kept)"))
				ret = hy_err_set(&s->err, HY_EFATAL,
						 "out of memory");
			why = g->reason;
			if (fa == FATE_DROPPED)
				s->dropped++;
			else
				s->kept++;
		}
		if (!ret && fates_add(&f, g->key, g->key_len, fa,
				      fa == FATE_SYNTHETIC ? NULL : why))
			ret = hy_err_set(&s->err, HY_EFATAL, "out of memory");
	}
	if (!ret)
		ret = editpart_clean(s->part, &s->err);
	if (!ret)
		ret = fates_write(&f, s->part, 0, &s->err);
	fates_release(&f);
	if (!ret)
		ret = editpart_commit(s->part, s->final, s->r->outdir,
				      s->r->ctx->fsync, &s->err);
	s->ret = ret;
}

/* pool callbacks (event loop thread) */

static int on_request(void *ctx, struct pool_job *job, struct buf *path,
		      struct buf *body)
{
	struct run *r = ctx;
	struct gjob *j = (struct gjob *)job;
	struct gsample *g = &j->sh->v[j->idx];

	const struct gpost *p = g->post;

	return imgapi_request(&r->o->api, p->prompt, p->prompt_len, p->seed,
			      p->gw, p->gh, path, body);
}

static enum pool_verdict on_response(void *ctx, struct pool_job *job,
				     const char *body, size_t len, char *why,
				     size_t why_size)
{
	struct run *r = ctx;
	struct gjob *j = (struct gjob *)job;

	buf_clear(&j->resp);
	if (buf_append(&j->resp, body, len)) {
		snprintf(why, why_size, "out of memory");
		return POOL_RETRY;
	}
	taskq_push(r->tq, &j->task.t);
	return POOL_DEFER;
}

static void on_done(void *ctx, struct pool_job *job, int result)
{
	struct run *r = ctx;
	struct gjob *j = (struct gjob *)job;
	struct gshard *s = j->sh;
	struct gsample *g = &s->v[j->idx];
	char why[320];

	if (result == POOL_OK && !j->blank) {
		g->st = G_DONE;
		r->c->images++;
	} else if (result == POOL_REJECTED || result == POOL_OK) {
		/* Refused for good (a content filter, say): a leftover. */
		if (result == POOL_OK)
			snprintf(why, sizeof(why),
				 "the image server sent a blank image (its "
				 "safety checker refused the prompt)");
		else
			snprintf(why, sizeof(why),
				 "refused by the image server: %s", job->why);
		g->st = G_LEFT;
		r->c->rejected++;
		hy_report(&r->ctx->report, "%s: sample '%s': %s", s->in->shard,
			  g->key, why);
		if (gsample_set_reason(g, why) && !r->fatal)
			r->fatal =
			    hy_err_set(r->err, HY_EFATAL, "out of memory");
	} else {
		g->st = G_FAILED;
		s->nfailed++;
		r->c->failed++;
		hy_report(&r->ctx->report, "%s: sample '%s': %s", s->in->shard,
			  g->key, job->why);
	}
	s->pending--;
	progress_add(r->ctx->progress, 1, 0);
	buf_release(&j->resp);
	free(j);
	g->post->job = NULL;
	drop_post(g); /* written, or a leftover */
}

static void wake(void *ctx)
{
	struct run *r = ctx;

	if (r->pool)
		pool_wakeup(r->pool);
}

static int start_shard(struct run *r, const struct generate_input *in)
{
	struct gshard *s = calloc(1, sizeof(*s));
	char *dot;

	if (!s)
		return hy_err_set(r->err, HY_EFATAL, "out of memory");
	s->in = in;
	s->r = r;
	s->final = path_join(r->outdir, in->name);
	if (asprintf(&dot, ".%s.part", in->name) < 0)
		dot = NULL;
	s->part = dot ? path_join(r->outdir, dot) : NULL;
	free(dot);
	if (!s->final || !s->part) {
		shard_free(s);
		return hy_err_set(r->err, HY_EFATAL, "out of memory");
	}
	s->state = S_LOADING;
	s->task.kind = T_LOAD;
	s->task.owner = s;
	s->task.t.run = run_load;
	s->next = r->active;
	r->active = s;
	r->nactive++;
	taskq_push(r->tq, &s->task.t);
	return HY_OK;
}

static void unlink_shard(struct run *r, struct gshard *s)
{
	struct gshard **pp = &r->active;

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	r->nactive--;
	shard_free(s);
}

static int submit_more(struct run *r, struct gshard *s);

/* A shard's task is back. */
static int shard_task_done(struct run *r, struct gshard *s)
{
	if (s->ret == HY_EFATAL)
		return hy_err_set(r->err, HY_EFATAL, "%s", s->err.msg);
	if (s->ret) {
		hy_report(&r->ctx->report, "%s", s->err.msg);
		r->c->shards_failed++;
		notify(r, s->in, 0);
		unlink_shard(r, s);
		return HY_OK;
	}
	if (s->state == S_FINISHING) {
		r->c->shards_done++;
		r->c->blurred += s->blurred;
		r->c->dropped += s->dropped;
		r->c->kept += s->kept;
		notify(r, s->in, 1);
		if (r->ctx->progress) {
			atomic_fetch_add(&r->ctx->progress->shards_done, 1);
			progress_add(r->ctx->progress, 0, 1);
		}
		unlink_shard(r, s);
		return HY_OK;
	}
	/* Loaded: ask for the images. */
	s->state = S_RUNNING;
	r->c->samples += s->samples;
	r->c->faces += (int64_t)s->n;
	r->c->resumed += s->resumed;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].st != G_PENDING)
			progress_add(r->ctx->progress, 1, 0);
	return submit_more(r, r->active);
}

/* Submits the pending samples of shard s and of those started before it
 * (oldest first) while the pool holds fewer than r->room jobs. A job
 * (about 650 bytes) is made when its request is near, not for every
 * pending sample of a shard at once: memory stays flat in the samples of
 * a shard. */
static int submit_more(struct run *r, struct gshard *s)
{
	int ret;

	if (!s || !r->pool)
		return HY_OK;
	ret = submit_more(r, s->next);
	if (ret || s->state != S_RUNNING)
		return ret;
	while (s->cursor < s->n && pool_pending(r->pool) < r->room) {
		size_t i = s->cursor++;
		struct gsample *g = &s->v[i];
		struct gjob *j;

		if (g->st != G_PENDING)
			continue;
		j = calloc(1, sizeof(*j));
		if (!j)
			return hy_err_set(r->err, HY_EFATAL, "out of memory");
		j->sh = s;
		j->idx = i;
		j->task.kind = T_POST;
		j->task.owner = j;
		j->task.t.run = run_post;
		g->post->job = j;
		pool_submit(r->pool, &j->base);
	}
	return HY_OK;
}

static int reap_tasks(struct run *r, struct task *t)
{
	int ret = HY_OK;

	while (t) {
		struct task *next = t->next;
		struct gtask *gt = (struct gtask *)t;

		if (!ret && gt->kind == T_POST) {
			struct gjob *j = gt->owner;
			if (j->ret == HY_EFATAL)
				ret = hy_err_set(r->err, HY_EFATAL, "%s: %s",
						 j->sh->in->shard, j->why);
			else {
				if (j->verdict == POOL_RETRY)
					memcpy(j->base.why, j->why,
					       sizeof(j->base.why));
				pool_resolve(r->pool, &j->base, j->verdict);
			}
		} else if (!ret) {
			ret = shard_task_done(r, gt->owner);
		}
		t = next;
	}
	return ret;
}

/* Shards whose samples have all settled go to the finish task. */
static void finish_ready(struct run *r)
{
	struct gshard *s = r->active, *next;

	for (; s; s = next) {
		next = s->next;
		if (s->state != S_RUNNING || s->pending)
			continue;
		if (s->nfailed) {
			hy_report(&r->ctx->report,
				  "%s: %lld samples failed: no edits for this "
				  "shard; run again to retry them (finished "
				  "images are kept in %s)",
				  s->in->shard, (long long)s->nfailed, s->part);
			r->c->shards_failed++;
			notify(r, s->in, 0);
			unlink_shard(r, s);
			continue;
		}
		s->state = S_FINISHING;
		s->task.kind = T_FINISH;
		s->task.t.run = run_finish;
		taskq_push(r->tq, &s->task.t);
	}
}

/* runloop callbacks (event loop thread) */

static int loop_fill(void *arg)
{
	struct run *r = arg;

	return submit_more(r, r->active);
}

static int loop_open(void *arg, size_t idx)
{
	struct run *r = arg;

	return start_shard(r, &r->base[idx]);
}

/* The tasks the workers finished (waiting for them when no pool waited
 * already), then the shards ready to finish. */
static int loop_collect(void *arg)
{
	struct run *r = arg;
	int ret = reap_tasks(r, taskq_done(r->tq, r->pool ? 0 : 0.25));

	if (!ret)
		ret = r->fatal;
	if (ret)
		return ret;
	finish_ready(r);
	return HY_OK;
}

/* A hash of every option that changes an image's bytes. */
static void options_tag(const struct generate_opts *o, char *out, size_t n)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "%d|%s|%s|%ld|%.6g|%s|%s|%ld|%dx%d|%d|%d|%d|%s", o->api_none,
		 o->generator ? o->generator : "",
		 o->api.model ? o->api.model : "", o->api.steps,
		 o->api.cfg_scale, o->api.sampler ? o->api.sampler : "",
		 o->api.negative ? o->api.negative : "", o->seed, o->size_w,
		 o->size_h, o->max_side, o->resize, o->quality,
		 o->llm_model ? o->llm_model : "");
	snprintf(out, n, "%016llx",
		 (unsigned long long)hash_fnv1a64(buf, strlen(buf)));
}

/* Set up as prompts_run_fed is, on purpose: the loop itself is shared
 * (runloop.h); what stays alike here is each stage filling its own struct
 * run and freeing its own shard type. */
int generate_run_fed(const struct stage_ctx *ctx, const struct generate_opts *o,
		     const struct generate_input *in, size_t n,
		     const struct stage_link *link, const char *outdir,
		     struct generate_counts *counts, FILE *summary,
		     struct hy_err *err)
{
	struct pool_callbacks cb = {on_request, on_response, on_done, NULL};
	struct run r = {.ctx = ctx,
			.o = o,
			.outdir = outdir,
			.c = counts,
			.err = err,
			.link = link,
			.base = in};
	struct runloop loop = {
	    .ctx = ctx,
	    .link = link,
	    .n = n,
	    .max_active = (size_t)(o->threads > 2 ? o->threads : 2),
	    .room = (size_t)(o->pool.max_in_flight > 0 ? o->pool.max_in_flight
						       : 1) *
		    4,
	    .arg = &r,
	    .fill = loop_fill,
	    .open = loop_open,
	    .nactive = &r.nactive,
	    .collect = loop_collect,
	};
	int ret;

	memset(counts, 0, sizeof(*counts));
	r.room = loop.room;
	cb.ctx = &r;
	options_tag(o, r.tag, sizeof(r.tag));
	if (taskq_new(&r.tq, o->threads, wake, &r) < 0)
		return hy_err_set(err, HY_EFATAL, "cannot start threads");
	ret = runloop_serve(&loop, o->api_none ? NULL : o->urls, o->nurls,
			    &o->pool, &cb, &r.pool, err);
	/* Running tasks finish (a finishing shard may still land whole);
	 * then nothing touches the shards. */
	taskq_drain(r.tq);
	runloop_pool_end(r.pool, &counts->retries, &counts->copies,
			 &counts->copies_won, summary, "image endpoint");
	while (r.active) {
		struct gshard *s = r.active;
		r.active = s->next;
		shard_free(s);
	}
	taskq_free(r.tq);
	return ret;
}
