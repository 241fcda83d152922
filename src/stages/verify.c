/* verify: one pass over an input shard and its output in step, with the
 * strict parser walking the output beside our reader. The output that
 * reshard must have written is rebuilt on the fly from the input, the
 * edits and the record (the same rules as reshard.c, written again here
 * so that one mistake is not in both), and compared member by member,
 * bodies piece by piece: memory stays at a few buffers whatever the
 * shard's size. */
#include "stages/verify.h"

#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/digest.h"
#include "formats/edits.h"
#include "image/image.h"
#include "util/infile.h"
#include "formats/keypath.h"
#include "formats/meta.h"
#include "util/outfile.h"
#include "util/progress.h"
#include "tar/shard.h"
#include "tar/tarcheck.h"

/* KEY.json is read whole (meta_parse), and so is the image of a sample
 * whose KEY.json was edited (image_probe, for its size); as generate. */
#define VERIFY_MAX_BODY (64u << 20)
/* Bodies are compared in pieces of this size (pread / read). */
#define VERIFY_CHUNK ((size_t)256 << 10)
/* Distinct generate reasons kept per count; the rest are lumped. */
#define VERIFY_MAX_REASONS     64
#define VERIFY_OTHER_REASONS   "(other reasons)"
#define VERIFY_DEFAULT_REPORTS 20
/* A replaced photo's face region still shows the original when more than
 * this share of the original's detail is in it (detail_kept). Measured on
 * the 48 face samples of the fixtures: our blur keeps 0.02-0.31; the
 * original re-encoded keeps 0.87-0.96 (JPEG quality 30-90), shrunk to
 * 1/2 0.82-0.90, to 1/3 at quality 50 0.56. */
#define VERIFY_LEAK_KEPT 0.5
/* Face regions are compared shrunk to at most this many pixels a side:
 * what makes a face known (eyes, nose, mouth) is there, the sensor noise
 * and the JPEG ringing that a re-encoding changes are averaged away. */
#define VERIFY_LOOK 16
/* Regions with less detail (mean luma gradient, grey levels) are flat. */
#define VERIFY_MIN_DETAIL 1.0

static const char zeros[65536];

/* A body read piece by piece: a byte range of a plain tar (pread), our
 * reader's blocks (compressed or sparse members: holes come as zeros), an
 * edit file, or memory. */
enum src_kind { SRC_RANGE, SRC_BLOCKS, SRC_FILE, SRC_MEM };

struct src {
	enum src_kind kind;
	const char *label; /* the file, for read errors */
	int fd;		   /* FILE */
	struct infile *in; /* RANGE */
	int64_t off, left; /* RANGE: next offset; RANGE, FILE: bytes left */
	struct shard *sh;  /* BLOCKS */
	int64_t pos, size;
	const void *blk; /* BLOCKS: a block not handed out yet */
	int64_t blk_at, blk_len;
	const char *mem; /* MEM */
	size_t mem_len;
	char *buf; /* RANGE, FILE: VERIFY_CHUNK bytes, not owned */
};

/* Where the bytes of the output pass through besides the comparison. */
struct sink {
	struct digest *md; /* NULL: not hashed */
	struct buf *cap;   /* NULL: not kept */
	int cut;	   /* over VERIFY_MAX_BODY: cap holds the start only */
};

/* The input sample being checked. */
struct sample {
	int active;
	struct buf key; /* as in the tar ("./" prefixes included) */
	size_t skip;	/* length of those prefixes */
	const struct fate_entry *fate;
	int dropped;
	size_t efirst, en; /* its edits */
	int json_edit;	   /* KEY.json is edited: check it against the image */
	int in_json, in_img; /* the input's KEY.json / image member was seen */
	int img_edited;	     /* ... and that image has an edit */
	int images;	     /* image members in the input, any format */
	int odd_image;	     /* one the stages cannot edit (meta.h) */
	int jsons;	     /* KEY.json members in the input */
	int extra_carried;   /* an image member after the first is the
				input's, unchanged */
	char key_why[160];   /* why the key cannot be a path, or "" */
	int carried; /* the output image is the input's: 1, 0, -1 unknown */
	int out_json, out_img; /* the output's KEY.json / image was seen */
	int64_t json_off, img_off;
	struct buf img_name;
	char img_sha[65]; /* "" when not hashed */
	int img_w, img_h; /* 0: not probed */
	char probe_why[200];
};

struct vs {
	const struct stage_ctx *ctx;
	const struct verify_opts *o;
	struct verify_counts *c;
	int max_reports;
	const char *in_path;
	char *out_path;
	char *record; /* EDITS_DIR/NAME/.generate.json */
	int have_record;
	struct shard *in, *out;
	int out_fd;
	struct tarcheck *tc;
	struct edits ed;
	struct fates fates;
	struct digest *md;
	char *ba, *bb;		/* pieces of the expected and the output body */
	struct buf jin;		/* the input's KEY.json */
	struct buf jout;	/* the output's KEY.json, when edited */
	struct buf img;		/* the output's image, when it or KEY.json is
				   edited */
	struct buf img_in;	/* the input's image, when it is edited */
	int img_in_cut;		/* img_in over VERIFY_MAX_BODY: not kept */
	int img_cut;		/* the same for img */
	struct meta m;		/* the input sample's KEY.json: the face rule */
	struct buf dropped_key; /* the last dropped sample, for messages */
	struct buf unrecorded;	/* the first face sample of a shard without
				   a record, which is reported once */
	int64_t in_done;
	struct sample s;
};

/* The sample's photo, as generate picks it (meta.h: one rule). */
static int is_image_ext(const char *ext)
{
	return meta_member_kind(ext) == META_PHOTO;
}

static const char *const row_names[VR_NROWS] = {
    [VR_FACES] = "face samples",
    [VR_SYNTHETIC] = "synthetic",
    [VR_BLURRED] = "blurred",
    [VR_DROPPED] = "dropped",
    [VR_KEPT] = "kept by policy",
    [VR_KEPT_ORIGINAL] = "with original photo",
    [VR_NO_RECORD] = "no record (violation)",
    [VR_NO_RECORD_EDITED] = "no record, photo not shipped",
    [VR_MISMATCH] = "mismatches (violation)",
};

const char *verify_row_name(enum verify_row r)
{
	return r < VR_NROWS ? row_names[r] : "?";
}

enum verify_row verify_fate_row(enum fate f)
{
	switch (f) {
	case FATE_SYNTHETIC: return VR_SYNTHETIC;
	case FATE_BLURRED: return VR_BLURRED;
	case FATE_DROPPED: return VR_DROPPED;
	default: return VR_KEPT;
	}
}

/* Adds n samples of (fate, reason). -1 when out of memory. */
static int add_reason(struct verify_counts *c, enum fate f, const char *reason,
		      int64_t n)
{
	struct verify_reason *r;

	if (!reason)
		reason = "";
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->nreasons; i++)
			if (c->reasons[i].fate == f &&
			    !strcmp(c->reasons[i].reason, reason)) {
				c->reasons[i].n += n;
				return 0;
			}
		if (c->nreasons < VERIFY_MAX_REASONS)
			break;
		reason = VERIFY_OTHER_REASONS;
	}
	if (c->nreasons == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 8;
		r = realloc(c->reasons, nc * sizeof(*r));
		if (!r)
			return -1;
		c->reasons = r;
		c->cap = nc;
	}
	r = &c->reasons[c->nreasons];
	r->reason = strdup(reason);
	if (!r->reason)
		return -1;
	r->fate = f;
	r->n = n;
	c->nreasons++;
	return 0;
}

int verify_counts_add(struct verify_counts *t, const struct verify_counts *c)
{
	t->samples += c->samples;
	t->members += c->members;
	t->edited += c->edited;
	t->dropped += c->dropped;
	t->json_checked += c->json_checked;
	t->bad_meta += c->bad_meta;
	t->problems += c->problems;
	for (int i = 0; i < VR_NROWS; i++)
		t->rows[i] += c->rows[i];
	for (size_t i = 0; i < c->nreasons; i++)
		if (add_reason(t, c->reasons[i].fate, c->reasons[i].reason,
			       c->reasons[i].n))
			return -1;
	return 0;
}

void verify_counts_release(struct verify_counts *c)
{
	for (size_t i = 0; i < c->nreasons; i++)
		free(c->reasons[i].reason);
	free(c->reasons);
	for (size_t i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	free(c->lines);
	memset(c, 0, sizeof(*c));
}

/* One problem line; the first max_reports are reported and kept. */
static void problem(struct vs *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct vs *v, const char *fmt, ...)
{
	struct verify_counts *c = v->c;
	char line[1024];
	va_list ap;

	c->problems++;
	if (c->problems > v->max_reports)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	hy_report(&v->ctx->report, "%s", line);
	/* A line the report file misses for want of memory is still on
	 * stderr. */
	char **l = realloc(c->lines, (c->nlines + 1) * sizeof(*l));
	if (l) {
		c->lines = l;
		if ((l[c->nlines] = strdup(line)))
			c->nlines++;
	}
}

/* The output is out of step with what it should be (or unreadable):
 * reported, and the rest of the shard cannot be compared. */
#define BROKEN(v, ...) (problem(v, __VA_ARGS__), HY_ESHARD)

/* A reader's error: HY_EFATAL / HY_ESTOP go up as they are, the rest is a
 * problem that ends the comparison. */
static int reader_error(struct vs *v, int rc, const struct hy_err *e,
			const char *what, struct hy_err *err)
{
	if (rc == HY_EFATAL || rc == HY_ESTOP) {
		*err = *e;
		return rc;
	}
	return BROKEN(v, "%s (%s)", e->msg, what);
}

/* The key of a sample without its "./" prefixes, for messages. */
static const char *skey(const struct vs *v)
{
	return v->s.key.data ? v->s.key.data + v->s.skip : "";
}

/* Next piece: > 0 bytes at *p, 0 at the end, or < 0 with err set. */
static int64_t src_next(struct src *s, const void **p, struct hy_err *err)
{
	int64_t n;

	switch (s->kind) {
	case SRC_MEM:
		if (!s->mem_len)
			return 0;
		*p = s->mem;
		n = (int64_t)s->mem_len;
		s->mem_len = 0;
		return n;
	case SRC_RANGE:
	case SRC_FILE: {
		size_t want = s->left < (int64_t)VERIFY_CHUNK ? (size_t)s->left
							      : VERIFY_CHUNK;
		ssize_t k;

		if (s->left <= 0)
			return 0;
		do
			k = s->kind == SRC_RANGE
				? infile_pread(s->in, s->buf, want, s->off)
				: read(s->fd, s->buf, want);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return hy_err_set(
			    err, HY_ESHARD, "%s: offset %lld: cannot read: %s",
			    s->label, (long long)s->off, strerror(errno));
		if (k == 0)
			return hy_err_set(
			    err, HY_ESHARD,
			    s->kind == SRC_RANGE
				? "%s: offset %lld: truncated: %lld bytes of "
				  "the member are missing"
				: "%s: byte %lld: the file shrank while read "
				  "(%lld bytes missing)",
			    s->label, (long long)s->off, (long long)s->left);
		s->off += k;
		s->left -= k;
		*p = s->buf;
		return k;
	}
	case SRC_BLOCKS:
		if (!s->blk) {
			int64_t at = 0;
			n = shard_read_block(s->sh, &s->blk, &at, err);
			if (n < 0) {
				s->blk = NULL;
				return n;
			}
			if (n == 0) {
				s->blk = NULL;
				if (s->pos >= s->size)
					return 0;
				at = s->size; /* a hole at the end */
			}
			s->blk_at = at;
			s->blk_len = n;
		}
		if (s->blk_at > s->pos) { /* a hole of a sparse member */
			n = s->blk_at - s->pos;
			if (n > (int64_t)sizeof(zeros))
				n = (int64_t)sizeof(zeros);
			s->pos += n;
			if (!s->blk_len)
				s->blk = NULL;
			*p = zeros;
			return n;
		}
		if (s->blk_at < s->pos || !s->blk_len)
			return hy_err_set(err, HY_ESHARD,
					  "%s: member blocks overlap at byte "
					  "%lld of the body",
					  s->label, (long long)s->blk_at);
		*p = s->blk;
		n = s->blk_len;
		s->pos += n;
		s->blk = NULL;
		return n;
	}
	return 0;
}

static void sink_put(struct sink *k, const void *p, size_t n)
{
	if (k->md)
		digest_update(k->md, p, n); /* a failure shows at digest_end */
	if (k->cap && !k->cut) {
		if (k->cap->len + n > VERIFY_MAX_BODY ||
		    buf_append(k->cap, p, n))
			k->cut = 1;
	}
}

/* Compares the expected body a with the output body b, feeding b's bytes
 * to the sink. Returns 0 (equal), 1 (they differ; *at = the first
 * differing byte of the body), or < 0 with err set and *which = 'a' or
 * 'b' for the side that could not be read. With `drain`, b is read to its
 * end after a difference, so that the sink sees all of it; a may be NULL
 * to only drain b. */
static int compare(struct src *a, struct src *b, struct sink *k, int drain,
		   int64_t *at, int *which, struct hy_err *err)
{
	const unsigned char *pa = NULL, *pb = NULL;
	int64_t na = 0, nb = 0, pos = 0;
	int differ = 0;

	*at = -1;
	for (;;) {
		int64_t n;

		if (nb == 0) {
			const void *p;
			nb = src_next(b, &p, err);
			if (nb < 0) {
				*which = 'b';
				return (int)nb;
			}
			pb = p;
			if (nb > 0)
				sink_put(k, pb, (size_t)nb);
		}
		if (a && !differ && na == 0) {
			const void *p;
			na = src_next(a, &p, err);
			if (na < 0) {
				*which = 'a';
				return (int)na;
			}
			pa = p;
		}
		if (nb == 0) { /* b ended: a must have too */
			if (a && !differ && na > 0) {
				differ = 1;
				*at = pos;
			}
			break;
		}
		if (a && !differ && na == 0) { /* a ended first */
			differ = 1;
			*at = pos;
		}
		if (!a || differ) {
			if (!drain)
				break;
			nb = 0;
			continue;
		}
		n = na < nb ? na : nb;
		if (memcmp(pa, pb, (size_t)n) != 0) {
			int64_t i = 0;
			while (pa[i] == pb[i])
				i++;
			differ = 1;
			*at = pos + i;
			continue;
		}
		pa += n;
		pb += n;
		na -= n;
		nb -= n;
		pos += n;
	}
	return differ;
}

static int md_start(struct vs *v, struct sink *k)
{
	k->md = v->md;
	return digest_begin(v->md);
}

/* "" when the digest failed. */
static void md_end(struct sink *k, char out[65])
{
	digest_end(k->md, out);
}

/* The body of the current member of reader sh (file label): a byte range
 * of the file where it can, else the reader's blocks. */
static void body_src(struct src *s, struct shard *sh, const char *label,
		     int64_t size, char *buf)
{
	struct infile *in;
	int64_t off;

	memset(s, 0, sizeof(*s));
	s->label = label;
	s->buf = buf;
	if (shard_data_range(sh, &in, &off)) {
		s->kind = SRC_RANGE;
		s->in = in;
		s->off = off;
		s->left = size;
	} else {
		s->kind = SRC_BLOCKS;
		s->sh = sh;
		s->size = size;
	}
}

/* Next member of the output, from our reader and from the strict parser,
 * which must agree. 1, 0 at the end of both, or < 0 (reported). */
static int out_next(struct vs *v, struct shard_member *om,
		    struct tarcheck_member *tm, struct hy_err *err)
{
	struct hy_err e = {0};
	int t, k;

	t = tarcheck_next(v->tc, tm, &e);
	if (t < 0)
		return reader_error(v, t, &e, "strict tar check", err);
	k = shard_next(v->out, om, &e);
	if (k < 0)
		return reader_error(v, k, &e, "our tar reader", err);
	if (k != t)
		return BROKEN(v,
			      "%s: offset %lld: the tar readers disagree: the "
			      "strict check %s, our reader %s",
			      v->out_path,
			      (long long)(t ? tm->header_offset
					    : shard_file_offset(v->out)),
			      t ? "reads another member" : "sees the end",
			      k ? "reads another member" : "sees the end");
	if (k == 0)
		return 0;
	if (strcmp(om->path, tm->path) != 0 || om->size != tm->size ||
	    om->is_data != (tm->type == '0'))
		return BROKEN(v,
			      "%s: offset %lld: the tar readers disagree: the "
			      "strict check reads '%s' (%lld bytes, type "
			      "'%c'), our reader '%s' (%lld bytes, %s)",
			      v->out_path, (long long)tm->header_offset,
			      tm->path, (long long)tm->size, tm->type, om->path,
			      (long long)om->size,
			      om->is_data ? "a file" : "not a file");
	return 1;
}

/* What the output has where the member `want` of sample `key` should be,
 * told as well as one member allows. */
static int out_of_step(struct vs *v, const char *want, const char *key,
		       size_t key_len, const struct shard_member *om,
		       const struct tarcheck_member *tm)
{
	size_t skip = shard_key_skip(key, key_len);

	if (om->key_len == key_len && !memcmp(om->path, key, key_len))
		return BROKEN(v,
			      "%s: offset %lld: sample '%.*s': member '%s' "
			      "where '%s' should be (members missing, added "
			      "or reordered)",
			      v->out_path, (long long)tm->header_offset,
			      (int)(key_len - skip), key + skip, om->path,
			      want);
	if (v->dropped_key.len && om->key_len == v->dropped_key.len &&
	    !memcmp(om->path, v->dropped_key.data, om->key_len))
		return BROKEN(v,
			      "%s: offset %lld: sample '%.*s': its fate is "
			      "\"dropped\" but the output has its member "
			      "'%s'",
			      v->out_path, (long long)tm->header_offset,
			      (int)om->key_len, om->path, om->path);
	return BROKEN(v,
		      "%s: offset %lld: sample '%.*s': missing from the output "
		      "or out of order: the output has '%s' (sample '%.*s') "
		      "where '%s' should be",
		      v->out_path, (long long)tm->header_offset,
		      (int)(key_len - skip), key + skip, om->path,
		      (int)om->key_len, om->path, want);
}

/* Faces of the input's KEY.json, read into v->jin. HY_OK (also for JSON
 * that cannot be read: counted), or a reader error (reported). */
static int read_in_json(struct vs *v, int *have, struct hy_err *err)
{
	struct hy_err e = {0};
	int rc = shard_read_body(v->in, &v->jin, VERIFY_MAX_BODY, &e);

	*have = rc == HY_OK;
	if (rc == HY_ESAMPLE) {
		v->c->bad_meta++;
		meta_set_unreadable(&v->m, e.msg);
		return HY_OK;
	}
	if (rc)
		return reader_error(v, rc, &e, "input", err);
	return HY_OK;
}

/* The face rule (meta.h) on the input's KEY.json, unreadable metadata
 * included: verify decides which samples show faces on its own. */
static void parse_faces(struct vs *v)
{
	struct hy_err e;

	/* meta_parse rewrites lone surrogates in place: after any
	 * comparison of these bytes. */
	if (meta_parse(&v->m, v->jin.data, v->jin.len, &e) != HY_OK)
		v->c->bad_meta++;
}

/* Counts the input's photos and KEY.json members of the sample: more
 * than one of either, or a photo no stage can edit, is a doubt. */
static void count_member(struct vs *v, const char *ext)
{
	enum meta_member k = meta_member_kind(ext);

	v->s.images += k != META_OTHER;
	v->s.odd_image |= k == META_PHOTO_ODD;
	if (!strcmp(ext, "json") && v->s.jsons++)
		meta_set_ambiguous(&v->m);
}

/* A data member of a dropped sample: not in the output; its KEY.json
 * still says whether it was a face sample. */
static int dropped_member(struct vs *v, const struct shard_member *im,
			  struct hy_err *err)
{
	int have, ret;

	count_member(v, im->ext);
	if (v->s.in_json || strcmp(im->ext, "json") != 0)
		return HY_OK;
	v->s.in_json = 1;
	ret = read_in_json(v, &have, err);
	if (!ret && have)
		parse_faces(v);
	return ret;
}

/* The edit of the current sample for extension ext, or NULL. */
static struct edit *find_edit(struct vs *v, const char *ext)
{
	for (size_t i = v->s.efirst; i < v->s.efirst + v->s.en; i++)
		if (!strcmp(v->ed.v[i].ext, ext))
			return &v->ed.v[i];
	return NULL;
}

/* Opens edit e as a source; -1 after reporting it. */
static int edit_src(struct vs *v, struct edit *e, struct src *s, char **file,
		    int64_t *size)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	*file = path_join(v->ed.dir, e->relpath);
	if (!*file) {
		problem(v, "%s/%s: out of memory", v->ed.dir, e->relpath);
		return -1;
	}
	s->fd = open(*file, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) < 0) {
		problem(v, "%s: cannot read edit: %s", *file, strerror(errno));
		return -1;
	}
	s->kind = SRC_FILE;
	s->label = *file;
	s->left = st.st_size;
	s->buf = v->ba;
	*size = st.st_size;
	return 0;
}

/* Output data member om (header at tm) against what it must hold: edit e
 * when there is one, else the input member im (its KEY.json already in
 * v->jin when jin_ok). */
static int check_body(struct vs *v, const struct shard_member *im,
		      struct edit *e, int jin_ok, int img, int json,
		      const char *in_sha, const struct shard_member *om,
		      const struct tarcheck_member *tm, struct hy_err *err)
{
	struct src a, b;
	struct sink k = {0};
	char *file = NULL;
	int64_t want, at = -1;
	int which = 0, differ, ret = HY_OK;
	int hash = img && (e || v->s.json_edit);

	a.fd = -1;
	if (e) {
		if (edit_src(v, e, &a, &file, &want)) {
			/* reported; the member counts as matched */
			e->applied = 1;
			v->c->members++;
			goto out;
		}
	} else if (jin_ok) {
		memset(&a, 0, sizeof(a));
		a.fd = -1;
		a.kind = SRC_MEM;
		a.mem = v->jin.data;
		a.mem_len = v->jin.len;
		want = (int64_t)v->jin.len;
	} else {
		body_src(&a, v->in, v->in_path, im->size, v->ba);
		want = im->size;
	}
	body_src(&b, v->out, v->out_path, om->size, v->bb);
	if (b.kind == SRC_RANGE && !tm->sparse && b.off != tm->data_offset) {
		ret =
		    BROKEN(v,
			   "%s: offset %lld: the tar readers disagree on "
			   "where the body of '%s' starts (%lld, %lld)",
			   v->out_path, (long long)tm->header_offset, om->path,
			   (long long)tm->data_offset, (long long)b.off);
		goto out;
	}
	if (hash && md_start(v, &k)) {
		ret = hy_err_set(err, HY_EFATAL, "sha256 failed");
		goto out;
	}
	if (img && (v->s.json_edit || e)) {
		buf_clear(&v->img);
		k.cap = &v->img;
	}
	if (json && v->s.json_edit) {
		buf_clear(&v->jout);
		k.cap = &v->jout;
	}
	if (want != om->size) {
		problem(v,
			"%s: offset %lld: sample '%s': member '%s' has %lld "
			"bytes, %s has %lld",
			v->out_path, (long long)tm->header_offset, skey(v),
			om->path, (long long)om->size,
			e ? file : "the input member", (long long)want);
		/* the sink still wants all of the output's bytes */
		differ = hash || k.cap
			     ? compare(NULL, &b, &k, 1, &at, &which, err)
			     : 0;
		if (differ == 0)
			differ = 1;
		at = -1;
	} else {
		differ = compare(&a, &b, &k, hash || k.cap, &at, &which, err);
	}
	if (differ < 0) {
		if (which == 'b' || !e) {
			ret = reader_error(v, differ, err,
					   which == 'b' ? "output" : "input",
					   err);
			goto out;
		}
		problem(v, "%s", err->msg); /* the edit file */
		goto out;
	}
	if (differ && at >= 0) /* the byte's own offset, unless sparse */
		problem(v,
			"%s: offset %lld: sample '%s': member '%s' differs "
			"from %s at byte %lld of its body",
			v->out_path,
			(long long)(tm->sparse ? tm->header_offset
					       : tm->data_offset + at),
			skey(v), om->path, e ? file : "the input member",
			(long long)at);
	if (img) {
		v->s.out_img = 1;
		v->s.img_off = tm->header_offset;
		buf_clear(&v->s.img_name);
		if (buf_append(&v->s.img_name, om->path, strlen(om->path)) ||
		    buf_putc(&v->s.img_name, '\0')) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		v->s.img_sha[0] = '\0';
		if (hash)
			md_end(&k, v->s.img_sha);
		v->img_cut = k.cut;
		if (im)
			v->s.carried = !e ? !differ
				       : !in_sha[0] || !v->s.img_sha[0]
					   ? -1
					   : !strcmp(in_sha, v->s.img_sha);
		if (v->s.json_edit && k.cap == &v->img) {
			struct hy_err pe;
			enum image_fmt f;
			if (k.cut)
				snprintf(v->s.probe_why, sizeof(v->s.probe_why),
					 "over %u bytes, not read",
					 VERIFY_MAX_BODY);
			else if (image_probe(v->img.data, v->img.len, &f,
					     &v->s.img_w, &v->s.img_h,
					     &pe) != HY_OK)
				snprintf(v->s.probe_why, sizeof(v->s.probe_why),
					 "%.190s", pe.msg);
		}
	}
	if (im && !img && !e && !differ &&
	    meta_member_kind(im->ext) != META_OTHER)
		v->s.extra_carried = 1;
	if (json) {
		v->s.out_json = 1;
		v->s.json_off = tm->header_offset;
		if (k.cut)
			v->s.out_json = 0; /* too large to parse: not checked */
	}
	v->c->members++;
	if (e) {
		e->applied = 1;
		v->c->edited++;
	}
out:
	if (e && a.fd >= 0) /* the edit file's; a reader's is not ours */
		close(a.fd);
	free(file);
	return ret;
}

/* Input data member im and output member om (same name). */
static int data_member(struct vs *v, const struct shard_member *im,
		       const struct shard_member *om,
		       const struct tarcheck_member *tm, struct hy_err *err)
{
	struct edit *e = find_edit(v, im->ext);
	int img = !v->s.in_img && is_image_ext(im->ext);
	int json = !v->s.in_json && !strcmp(im->ext, "json");
	int jin_ok = 0, ret;
	char in_sha[65] = "";

	if (!om->is_data) {
		problem(v,
			"%s: offset %lld: sample '%s': member '%s' is a file "
			"in the input, not in the output",
			v->out_path, (long long)tm->header_offset, skey(v),
			om->path);
		v->c->members++;
		return HY_OK;
	}
	if (img)
		v->s.in_img = 1;
	count_member(v, im->ext);
	if (json) {
		v->s.in_json = 1;
		ret = read_in_json(v, &jin_ok, err);
		if (ret)
			return ret;
	}
	/* An edited photo: is the output's the original all the same? */
	if (img && e) {
		v->s.img_edited = 1;
		struct src a;
		struct sink k = {0};
		int64_t at;
		int which;

		if (md_start(v, &k))
			return hy_err_set(err, HY_EFATAL, "sha256 failed");
		buf_clear(&v->img_in);
		k.cap = &v->img_in; /* for the look at its faces */
		body_src(&a, v->in, v->in_path, im->size, v->ba);
		ret = compare(NULL, &a, &k, 1, &at, &which, err);
		if (ret < 0)
			return reader_error(v, ret, err, "input", err);
		md_end(&k, in_sha);
		v->img_in_cut = k.cut;
	}
	ret = check_body(v, im, e, jin_ok, img, json, in_sha, om, tm, err);
	if (!ret && jin_ok)
		parse_faces(v);
	return ret;
}

/* A member that is not a file (folder, link...): same type and target. */
static int other_member(struct vs *v, const struct shard_member *om,
			const struct tarcheck_member *tm, struct hy_err *err)
{
	struct archive_entry *ie = shard_entry(v->in);
	struct archive_entry *oe = shard_entry(v->out);
	const char *ih, *oh, *is, *os;

	if (!ie || !oe)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	ih = archive_entry_hardlink(ie);
	oh = archive_entry_hardlink(oe);
	is = archive_entry_symlink(ie);
	os = archive_entry_symlink(oe);
	v->c->members++;
	if (om->is_data ||
	    archive_entry_filetype(ie) != archive_entry_filetype(oe))
		problem(v,
			"%s: offset %lld: member '%s': another type than in "
			"the input",
			v->out_path, (long long)tm->header_offset, om->path);
	else if (!ih != !oh || (ih && strcmp(ih, oh) != 0) || !is != !os ||
		 (is && strcmp(is, os) != 0))
		problem(v,
			"%s: offset %lld: member '%s': links to '%s', the "
			"input's to '%s'",
			v->out_path, (long long)tm->header_offset, om->path,
			oh   ? oh
			: os ? os
			     : "",
			ih   ? ih
			: is ? is
			     : "");
	return HY_OK;
}

/* Edited KEY.json against the sample's image member in the output. */
static void check_json(struct vs *v)
{
	cJSON *j;
	const cJSON *sha, *w, *h;
	const char *out = v->out_path;
	long long at = (long long)v->s.json_off;

	if (!v->s.json_edit || !v->s.out_json)
		return;
	v->c->json_checked++;
	j = cJSON_ParseWithLength(v->jout.data ? v->jout.data : "",
				  v->jout.len);
	if (!cJSON_IsObject(j)) {
		problem(
		    v,
		    "%s: offset %lld: sample '%s': edited KEY.json is not a "
		    "JSON object",
		    out, at, skey(v));
		goto out;
	}
	sha = cJSON_GetObjectItemCaseSensitive(j, "sha256");
	w = cJSON_GetObjectItemCaseSensitive(j, "width");
	h = cJSON_GetObjectItemCaseSensitive(j, "height");
	if (!v->s.out_img) {
		if (cJSON_IsString(sha) || cJSON_IsNumber(w) ||
		    cJSON_IsNumber(h))
			problem(v,
				"%s: offset %lld: sample '%s': edited KEY.json "
				"describes an image, the sample has no image "
				"member",
				out, at, skey(v));
		goto out;
	}
	if (!cJSON_IsString(sha))
		problem(v,
			"%s: offset %lld: sample '%s': edited KEY.json has no "
			"\"sha256\" string",
			out, at, skey(v));
	else if (v->s.img_sha[0] && strcmp(sha->valuestring, v->s.img_sha) != 0)
		problem(v,
			"%s: offset %lld: sample '%s': edited KEY.json says "
			"sha256 %.64s, image member '%s' has %s",
			out, at, skey(v), sha->valuestring, v->s.img_name.data,
			v->s.img_sha);
	if (!v->s.img_w) {
		problem(v,
			"%s: offset %lld: sample '%s': cannot read the size of "
			"image member '%s': %s",
			out, (long long)v->s.img_off, skey(v),
			v->s.img_name.data, v->s.probe_why);
	} else if (!cJSON_IsNumber(w) || !cJSON_IsNumber(h) ||
		   w->valuedouble != v->s.img_w ||
		   h->valuedouble != v->s.img_h) {
		char ws[32] = "none", hs[32] = "none";
		if (cJSON_IsNumber(w))
			snprintf(ws, sizeof(ws), "%g", w->valuedouble);
		if (cJSON_IsNumber(h))
			snprintf(hs, sizeof(hs), "%g", h->valuedouble);
		problem(v,
			"%s: offset %lld: sample '%s': edited KEY.json says "
			"width %s, height %s; image member '%s' is %d x %d",
			out, at, skey(v), ws, hs, v->s.img_name.data,
			v->s.img_w, v->s.img_h);
	}
out:
	cJSON_Delete(j);
}

/* Why a face sample may not ship its photo even under --leftover keep
 * (the same doubts generate drops or blurs for), or NULL. */
static const char *doubt(const struct vs *v)
{
	if (v->s.key_why[0])
		return v->s.key_why;
	if (v->s.images > 1)
		return "it has several image members";
	if (v->s.odd_image)
		return "it has an image member no stage can replace or blur";
	if (v->m.doubt != META_SURE)
		return v->m.why;
	return NULL;
}

/* The pixels [x0, x1) x [y0, y1) of img shrunk to at most
 * VERIFY_LOOK x VERIFY_LOOK (area average). HY_OK or HY_EFATAL. */
static int look_at(const struct image *img, int x0, int y0, int x1, int y1,
		   struct image *out, struct hy_err *err)
{
	struct image crop = {.w = x1 - x0, .h = y1 - y0, .channels = 3};
	int w = crop.w < VERIFY_LOOK ? crop.w : VERIFY_LOOK;
	int h = crop.h < VERIFY_LOOK ? crop.h : VERIFY_LOOK;
	int ret;

	crop.px = malloc((size_t)crop.w * (size_t)crop.h * 3);
	if (!crop.px)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	for (int y = 0; y < crop.h; y++)
		memcpy(crop.px + (size_t)y * (size_t)crop.w * 3,
		       img->px +
			   ((size_t)(y0 + y) * (size_t)img->w + (size_t)x0) * 3,
		       (size_t)crop.w * 3);
	ret = image_resize(&crop, w, h, out, err);
	image_release(&crop);
	return ret;
}

/* How much of a's detail b still shows, both the same size: the luma
 * gradients of b projected on a's, sum(ga . gb) / sum(ga . ga); 1 for the
 * same pixels. Noise (a re-encoding) and an unrelated picture are
 * uncorrelated with ga and add about 0; a blur takes the gradients away.
 * *detail: a's mean absolute gradient, in grey levels. */
static double detail_kept(const struct image *a, const struct image *b,
			  double *detail)
{
	double dot = 0, aa = 0, sa = 0;
	long n = 0;

#define LUMA(im, x, y)                                                         \
	((int)(im)->px[((size_t)(y) * (size_t)(im)->w + (size_t)(x)) * 3] +    \
	 (int)(im)                                                             \
	     ->px[((size_t)(y) * (size_t)(im)->w + (size_t)(x)) * 3 + 1] +     \
	 (int)(im)->px[((size_t)(y) * (size_t)(im)->w + (size_t)(x)) * 3 + 2])
	for (int y = 0; y + 1 < a->h; y++)
		for (int x = 0; x + 1 < a->w; x++) {
			int ax = LUMA(a, x + 1, y) - LUMA(a, x, y);
			int ay = LUMA(a, x, y + 1) - LUMA(a, x, y);
			int bx = LUMA(b, x + 1, y) - LUMA(b, x, y);
			int by = LUMA(b, x, y + 1) - LUMA(b, x, y);
			dot += (double)ax * bx + (double)ay * by;
			aa += (double)ax * ax + (double)ay * ay;
			sa += abs(ax) + abs(ay);
			n++;
		}
#undef LUMA
	*detail = n ? sa / (6.0 * n) : 0;
	return aa > 0 ? dot / aa : 0;
}

/* The photo of a face sample was replaced: do its face regions (meta_hide)
 * still show the original's detail? A blur takes the original's gradients
 * away and a new image is unrelated to them: either keeps little of them
 * (detail_kept near 0). The original again, re-encoded, rescaled or with
 * detail laid over it, keeps them (near 1). Compared at the output's size.
 * Returns the first region that still shows the original (0-based; *ratio:
 * what it keeps), -1 when none, -2 when it cannot tell (either image not
 * decodable here). */
static long original_left(struct vs *v, double *ratio)
{
	struct image a = {0}, b = {0}, r = {0};
	struct hy_err e;
	const struct image_box *box;
	size_t n;
	long found = -2;

	if (v->img_in_cut || v->img_cut ||
	    image_decode(v->img_in.data, v->img_in.len, 3, &a, &e) ||
	    image_decode(v->img.data, v->img.len, 3, &b, &e))
		goto out;
	if (a.w != b.w || a.h != b.h) {
		if (image_resize(&a, b.w, b.h, &r, &e))
			goto out;
		image_release(&a);
		a = r;
	}
	found = -1;
	box = meta_hide(&v->m, &n);
	for (size_t i = 0; i < n; i++) {
		int x0 = (int)(box[i].x0 * b.w), y0 = (int)(box[i].y0 * b.h);
		int x1 = (int)ceil(box[i].x1 * b.w);
		int y1 = (int)ceil(box[i].y1 * b.h);
		double detail, kept;
		struct image la = {0}, lb = {0};

		x1 = x1 > b.w ? b.w : x1;
		y1 = y1 > b.h ? b.h : y1;
		if (x1 - x0 < 2 || y1 - y0 < 2)
			continue; /* no gradient to look at */
		if (look_at(&a, x0, y0, x1, y1, &la, &e) ||
		    look_at(&b, x0, y0, x1, y1, &lb, &e)) {
			image_release(&la);
			found = -2;
			break;
		}
		kept = detail_kept(&la, &lb, &detail);
		image_release(&la);
		image_release(&lb);
		/* a flat region (under 1 grey level a pixel) shows nothing
		 * to recognise, blurred or not */
		if (detail >= VERIFY_MIN_DETAIL && kept > VERIFY_LEAK_KEPT) {
			*ratio = kept;
			found = (long)i;
			break;
		}
	}
out:
	image_release(&a);
	image_release(&b);
	return found;
}

/* What became of a face sample, and whether that is allowed. */
static int privacy(struct vs *v)
{
	struct verify_counts *c = v->c;
	const struct fate_entry *f = v->s.fate;
	int carried =
	    !v->s.dropped && (v->s.carried == 1 || v->s.extra_carried);
	const char *img = v->s.img_name.data ? v->s.img_name.data : "";
	const char *why = doubt(v);

	if (!meta_face_sample(&v->m, v->o->min_faces))
		return HY_OK;
	c->rows[VR_FACES]++;
	if (!v->s.dropped && !carried && v->s.img_edited) {
		double ratio = 0;
		long r = original_left(v, &ratio);
		size_t n;

		meta_hide(&v->m, &n);
		if (r >= 0) {
			c->rows[VR_MISMATCH]++;
			problem(v,
				"%s: sample '%s': photo '%s' was replaced, but "
				"face region %ld of %zu%s still shows the "
				"original (it keeps %.2f of the original's "
				"detail; a blur or a new image keeps little)",
				v->out_path, skey(v), img, r + 1, n,
				v->m.doubt != META_SURE ? " (the whole photo)"
							: "",
				ratio);
			return HY_OK;
		}
	}
	if (!f) {
		if (!carried) {
			c->rows[VR_NO_RECORD_EDITED]++;
			return HY_OK;
		}
		c->rows[VR_NO_RECORD]++;
		if (v->have_record)
			problem(v,
				"%s: sample '%s': face sample still carries "
				"its original photo '%s' and is not in %s",
				v->out_path, skey(v), img, v->record);
		else if (!v->unrecorded.len && /* one line a shard: below */
			 (buf_append(&v->unrecorded, skey(v),
				     strlen(skey(v))) ||
			  buf_putc(&v->unrecorded, '\0')))
			return HY_EFATAL;
		return HY_OK;
	}
	if ((f->fate == FATE_SYNTHETIC || f->fate == FATE_BLURRED) && carried) {
		c->rows[VR_MISMATCH]++;
		problem(v,
			"%s: sample '%s': generate recorded it as \"%s\" but "
			"the output still carries its original photo '%s'",
			v->out_path, skey(v), fate_name(f->fate), img);
		return HY_OK;
	}
	if (carried && why) {
		c->rows[VR_MISMATCH]++;
		problem(v,
			"%s: sample '%s': face sample still carries its "
			"original photo '%s' although %s (such a sample is "
			"blurred or dropped, never kept)",
			v->out_path, skey(v), img, why);
		return HY_OK;
	}
	c->rows[verify_fate_row(f->fate)]++;
	if (f->fate == FATE_KEPT && carried)
		c->rows[VR_KEPT_ORIGINAL]++;
	return add_reason(c, f->fate, f->reason, 1) ? HY_EFATAL : HY_OK;
}

/* End of the input sample: edits for members it lacked must follow in
 * the output (in any order), then the sample's checks. */
static int end_sample(struct vs *v, struct hy_err *err)
{
	struct shard_member om;
	struct tarcheck_member tm;
	size_t left = 0;
	int ret;

	if (!v->s.active)
		return HY_OK;
	for (size_t i = v->s.efirst; i < v->s.efirst + v->s.en; i++) {
		struct edit *e = &v->ed.v[i];
		if (v->s.dropped)
			problem(v,
				"%s/%s: edit for sample '%s', whose fate is "
				"\"dropped\" (reshard leaves the sample out)",
				v->ed.dir, e->relpath, skey(v));
		else
			left += !e->applied;
	}
	while (left--) {
		struct edit *e = NULL;
		const char *ext;

		ret = out_next(v, &om, &tm, err);
		if (ret < 0)
			return ret;
		ext = ret ? om.ext : "";
		if (ret && om.is_data && om.key_len == v->s.key.len &&
		    !memcmp(om.path, v->s.key.data, om.key_len))
			e = find_edit(v, ext);
		if (!e || e->applied) {
			for (size_t i = v->s.efirst; !e || e->applied; i++)
				e = &v->ed.v[i];
			if (!ret)
				return BROKEN(
				    v,
				    "%s: offset %lld: sample '%s': "
				    "the output ends where edit "
				    "'%s/%s' should be added",
				    v->out_path,
				    (long long)shard_file_offset(v->out),
				    skey(v), v->ed.dir, e->relpath);
			return BROKEN(v,
				      "%s: offset %lld: sample '%s': member "
				      "'%s' where edit '%s/%s' should be added",
				      v->out_path, (long long)tm.header_offset,
				      skey(v), om.path, v->ed.dir, e->relpath);
		}
		ret = check_body(
		    v, NULL, e, 0, !v->s.out_img && is_image_ext(ext),
		    !v->s.out_json && !strcmp(ext, "json"), "", &om, &tm, err);
		if (ret)
			return ret;
	}
	if (!v->s.dropped)
		check_json(v);
	/* SPEC: the metadata of a replaced photo is edited too; left as it
	 * was, it still names the original (url, sha256, size). */
	if (!v->s.dropped && v->s.img_edited && v->s.in_json && !v->s.json_edit)
		problem(v,
			"%s: sample '%s': photo '%s' replaced by an edit, but "
			"KEY.json was not edited: it still describes the "
			"original photo",
			v->out_path, skey(v),
			v->s.img_name.data ? v->s.img_name.data : "");
	ret = privacy(v);
	if (ret)
		return hy_err_set(err, ret, "out of memory");
	v->s.active = 0;
	return HY_OK;
}

static int start_sample(struct vs *v, const struct shard_member *im,
			struct hy_err *err)
{
	struct sample *s = &v->s;

	buf_clear(&s->key);
	if (buf_append(&s->key, im->path, im->key_len) ||
	    buf_putc(&s->key, '\0'))
		return hy_err_set(err, HY_EFATAL, "out of memory");
	s->key.len--; /* the NUL is for messages only */
	s->active = 1;
	s->skip = shard_key_skip(im->path, im->key_len);
	s->fate =
	    fates_find(&v->fates, im->path + s->skip, im->key_len - s->skip);
	s->dropped = s->fate && s->fate->fate == FATE_DROPPED;
	s->en = edits_find(&v->ed, im->path + s->skip, im->key_len - s->skip,
			   &s->efirst);
	s->json_edit = 0;
	for (size_t i = s->efirst; i < s->efirst + s->en; i++) {
		v->ed.v[i].used = 1;
		s->json_edit |= !strcmp(v->ed.v[i].ext, "json");
	}
	s->in_json = s->in_img = s->out_json = s->out_img = 0;
	s->img_edited = 0;
	s->images = s->odd_image = s->jsons = s->extra_carried = 0;
	meta_reset(&v->m);
	if (keypath_check(im->path + s->skip, im->key_len - s->skip, s->key_why,
			  sizeof(s->key_why)) == 0)
		s->key_why[0] = '\0';
	s->carried = 0;
	s->img_sha[0] = '\0';
	s->img_w = s->img_h = 0;
	s->probe_why[0] = '\0';
	buf_clear(&s->img_name);
	v->c->samples++;
	progress_add(v->ctx->progress, 1, 0);
	if (s->dropped) {
		v->c->dropped++;
		buf_clear(&v->dropped_key);
		if (buf_append(&v->dropped_key, im->path, im->key_len))
			return hy_err_set(err, HY_EFATAL, "out of memory");
	}
	return HY_OK;
}

static int walk(struct vs *v, struct hy_err *err)
{
	struct shard_member im, om;
	struct tarcheck_member tm;
	struct hy_err e = {0};
	int k, ret;

	while ((k = shard_next(v->in, &im, &e)) > 0) {
		if (stage_stopped(v->ctx))
			return hy_err_set(err, HY_ESTOP, "%s: stopped",
					  v->in_path);
		progress_advance(v->ctx->progress, 0, shard_file_offset(v->in),
				 &v->in_done);
		if (im.is_data && im.new_sample) {
			ret = end_sample(v, err);
			if (!ret)
				ret = start_sample(v, &im, err);
			if (ret)
				return ret;
		}
		if (im.is_data && v->s.dropped) {
			ret = dropped_member(v, &im, err);
			if (ret)
				return ret;
			continue;
		}
		ret = out_next(v, &om, &tm, err);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return BROKEN(v,
				      "%s: offset %lld: sample '%s': the "
				      "output ends where member '%s' should "
				      "be (it and all after it are missing)",
				      v->out_path,
				      (long long)shard_file_offset(v->out),
				      im.is_data ? skey(v) : "", im.path);
		if (strcmp(om.path, im.path) != 0)
			return out_of_step(v, im.path, im.path,
					   im.is_data ? im.key_len
						      : strlen(im.path),
					   &om, &tm);
		if (!im.is_data) {
			ret = other_member(v, &om, &tm, err);
			if (ret)
				return ret;
			continue;
		}
		ret = data_member(v, &im, &om, &tm, err);
		if (ret)
			return ret;
	}
	if (k < 0)
		return reader_error(v, k, &e, "input", err);
	ret = end_sample(v, err);
	if (ret)
		return ret;
	ret = out_next(v, &om, &tm, err);
	if (ret < 0)
		return ret;
	if (ret > 0) {
		int was_dropped =
		    v->dropped_key.len && om.key_len == v->dropped_key.len &&
		    !memcmp(om.path, v->dropped_key.data, om.key_len);
		return BROKEN(v,
			      "%s: offset %lld: member '%s' after the input's "
			      "last member%s",
			      v->out_path, (long long)tm.header_offset, om.path,
			      was_dropped ? " (its sample's fate is "
					    "\"dropped\")"
					  : "");
	}
	return HY_OK;
}

/* Opens the output with both readers. HY_OK, or reported. */
static int open_output(struct vs *v, struct hy_err *err)
{
	struct hy_err e = {0};
	struct stat st;
	int rc;

	if (stat(v->out_path, &st) < 0)
		return BROKEN(v, "%s: %s", v->out_path,
			      errno == ENOENT
				  ? "missing (reshard has not written it)"
				  : strerror(errno));
	v->out_fd = open(v->out_path, O_RDONLY | O_CLOEXEC);
	if (v->out_fd < 0)
		return BROKEN(v, "%s: cannot open: %s", v->out_path,
			      strerror(errno));
	rc = tarcheck_open(&v->tc, v->out_fd, v->out_path, &e);
	if (rc)
		return reader_error(v, rc, &e, "strict tar check", err);
	rc = shard_open(&v->out, v->out_path, &e);
	if (rc) {
		/* libarchive could not even tell the format: the strict
		 * parser's first header says more precisely why. */
		struct tarcheck_member tm;
		struct hy_err e2 = {0};
		int t = tarcheck_next(v->tc, &tm, &e2);
		if (t < 0)
			return reader_error(v, t, &e2, "strict tar check", err);
		return reader_error(v, rc, &e, "our tar reader", err);
	}
	return HY_OK;
}

int verify_shard(const struct stage_ctx *ctx, const struct verify_opts *o,
		 const char *path, const char *name, struct verify_counts *c,
		 struct hy_err *err)
{
	struct vs v = {.ctx = ctx,
		       .o = o,
		       .c = c,
		       .in_path = path,
		       .out_fd = -1,
		       .max_reports = o->max_reports > 0
					  ? o->max_reports
					  : VERIFY_DEFAULT_REPORTS};
	struct hy_err e = {0};
	char *dir = NULL;
	struct stat st;
	int ret, rc;

	if (asprintf(&v.out_path, "%s/%s.tar", o->out_dir, name) < 0)
		v.out_path = NULL;
	dir = path_join(o->edits_dir, name);
	v.record = dir ? path_join(dir, FATES_FILE) : NULL;
	v.ba = malloc(VERIFY_CHUNK);
	v.bb = malloc(VERIFY_CHUNK);
	v.md = digest_new();
	if (!v.out_path || !v.record || !v.ba || !v.bb || !v.md) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	v.have_record = stat(v.record, &st) == 0;
	rc = edits_load(&v.ed, o->edits_dir, name, &e);
	if (!rc)
		rc = fates_load(&v.fates, o->edits_dir, name, &e);
	if (rc) {
		ret = reader_error(&v, rc, &e, "edits", err);
		goto out;
	}
	rc = shard_open(&v.in, path, &e);
	if (rc) {
		ret = reader_error(&v, rc, &e, "input", err);
		goto out;
	}
	ret = open_output(&v, err);
	if (!ret)
		ret = walk(&v, err);
	if ((ret == HY_OK || ret == HY_ESHARD) && v.unrecorded.len)
		problem(&v,
			"%s: %lld face sample%s still carr%s the original "
			"photo, and the shard has no generate record (%s is "
			"missing: generate has not run for it); the first: "
			"sample '%s'",
			v.out_path, (long long)c->rows[VR_NO_RECORD],
			c->rows[VR_NO_RECORD] == 1 ? "" : "s",
			c->rows[VR_NO_RECORD] == 1 ? "ies" : "y", v.record,
			v.unrecorded.data);
	if (!ret) {
		for (size_t i = 0; i < v.ed.n; i++)
			if (!v.ed.v[i].used)
				problem(&v,
					"%s/%s: edit for key '%.*s', which "
					"shard %s does not have (never "
					"applied)",
					v.ed.dir, v.ed.v[i].relpath,
					(int)v.ed.v[i].key_len,
					v.ed.v[i].relpath, path);
	}
out:
	if (v.in)
		progress_advance(ctx->progress, 0, shard_file_offset(v.in),
				 &v.in_done);
	if ((ret == HY_OK || ret == HY_ESHARD) && c->problems) {
		if (c->problems > v.max_reports)
			hy_report(&ctx->report, "%s: ... and %lld more",
				  v.out_path ? v.out_path : name,
				  (long long)(c->problems - v.max_reports));
		ret = hy_err_set(err, HY_ESHARD,
				 "%s: does not verify against %s: %lld "
				 "problem%s",
				 v.out_path ? v.out_path : name, path,
				 (long long)c->problems,
				 c->problems == 1 ? "" : "s");
	}
	shard_close(v.in);
	shard_close(v.out);
	tarcheck_close(v.tc);
	if (v.out_fd >= 0)
		close(v.out_fd);
	edits_release(&v.ed);
	fates_release(&v.fates);
	digest_free(v.md);
	free(v.ba);
	free(v.bb);
	buf_release(&v.jin);
	buf_release(&v.jout);
	buf_release(&v.img);
	buf_release(&v.img_in);
	meta_release(&v.m);
	buf_release(&v.dropped_key);
	buf_release(&v.unrecorded);
	buf_release(&v.s.key);
	buf_release(&v.s.img_name);
	free(v.out_path);
	free(v.record);
	free(dir);
	return ret;
}
