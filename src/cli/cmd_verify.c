/* hybridize verify: check the final shards against the inputs, the edits
 * and generate's record, with a privacy report (what became of every face
 * sample). */
#include "commands.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/jsonw.h"
#include "util/outfile.h"
#include "util/progress.h"
#include "stages/verify.h"
#include "shardcmd.h"
#include "formats/facerule.h"
#include "stagecli.h"

static const char usage[] =
    "usage: hybridize verify SHARD... -e EDITS_DIR -o OUT_DIR [--min-faces N]\n"
    "                        [-j N] [--rank R --world W] [-q] [--json FILE]\n"
    "\n"
    "Checks that OUT_DIR/NAME.tar is what reshard must make of each input\n"
    "shard with EDITS_DIR/NAME/: readable by our tar reader and by a strict\n"
    "POSIX tar parser; every input sample in order (those generate dropped\n"
    "absent), nothing extra; each member byte-equal to the input's or to\n"
    "its edit file; every edit used; an edited KEY.json naming the sha256,\n"
    "width and height of the image member beside it. Nothing is written.\n"
    "\n"
    "Privacy: every face sample (KEY.json with at least N face_bboxes, or\n"
    "doubtful ones: malformed boxes, unreadable KEY.json; decided from the\n"
    "input) is counted by its fate in EDITS_DIR/NAME/.generate.json. One\n"
    "whose output still carries an original photo (any image member) is an\n"
    "error, unless generate kept it by policy (--leftover keep: reported)\n"
    "and it is not doubtful (malformed boxes or key, several photos). A\n"
    "replaced photo whose face regions still show the original's detail\n"
    "(re-encoded, rescaled: not blurred) is an error too.\n"
    "\n"
    "  -e, --edits DIR          the edits folder generate wrote\n"
    "  -o, --output DIR         where reshard wrote NAME.tar (read only)\n"
    "      --min-faces N        face boxes a face sample has (default: the\n"
    "                           value recorded in EDITS_DIR/.faces.json, else "
    "1)\n"
    "  -j, --jobs N             shards at once (default: SLURM_CPUS_PER_TASK,\n"
    "                           else the CPUs this process may use)\n"
    "      --rank R --world W   check shards i with i % W == R (default\n"
    "                           from SLURM, else 0/1)\n"
    "      --json FILE          also write the report as JSON (per shard and\n"
    "                           totals); '-': on stdout, instead of the table\n"
    "      --progress-interval S  seconds between progress lines when\n"
    "                           stderr is not a terminal (default 10)\n"
    "  -q, --quiet              no progress\n"
    "\n"
    "Each problem is one line on stderr naming the file, the offset or the\n"
    "sample, and what is wrong (20 a shard, then a count). Exit status: 0\n"
    "everything holds, 1 bad usage, 2 some problem, 130/143 on signals.\n";

struct result {
	char *name, *path;
	int ok;
	struct verify_counts c;
};

struct vstate {
	pthread_mutex_t lock; /* guards everything below */
	struct verify_opts vo;
	struct verify_counts total;
	struct result *v;
	size_t n, cap;
	int oom;	 /* a result could not be kept: the report would lie */
	int json_stdout; /* --json -: the JSON report is the summary */
};

/* The driver hands run() and summary() the struct shardcmd it was given:
 * this one, whose state the threads share (under s->lock). */
struct vcmd {
	struct shardcmd c; /* first */
	struct vstate *s;
};

static int run(const struct shardcmd *c, const struct stage_ctx *ctx,
	       const char *path, const char *name, struct stage_counts *counts,
	       struct hy_err *err)
{
	struct vstate *s = ((const struct vcmd *)c)->s;
	struct verify_counts vc = {0};
	int rc = verify_shard(ctx, &s->vo, path, name, &vc, err);

	counts->samples = vc.samples;
	counts->edited = vc.edited;
	counts->dropped = vc.dropped;
	if (rc == HY_ESTOP) {
		verify_counts_release(&vc);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	if (verify_counts_add(&s->total, &vc))
		s->oom = 1;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct result *v = realloc(s->v, nc * sizeof(*v));
		if (v) {
			s->v = v;
			s->cap = nc;
		}
	}
	if (s->n < s->cap) {
		struct result *r = &s->v[s->n];
		r->name = strdup(name);
		r->path = strdup(path);
		r->ok = rc == HY_OK;
		r->c = vc; /* moved */
		memset(&vc, 0, sizeof(vc));
		s->n++;
		if (!r->name || !r->path)
			s->oom = 1;
	} else {
		s->oom = 1;
	}
	pthread_mutex_unlock(&s->lock);
	verify_counts_release(&vc);
	return rc;
}

/* Which samples verify checks as face samples. verify trusts no record to
 * decide what a leak is, so the threshold the stages recorded in
 * EDITS_DIR/.faces.json (formats/facerule.h) is only the default: any value
 * given is used, and a recorded one above the default, which leaves
 * samples with fewer boxes unchecked, is said out loud. */
static int face_threshold(const struct cli_opts *o, long *used)
{
	struct hy_err err = {0};
	long recorded;

	if (facerule_read(o->edits, &recorded, &err) != HY_OK) {
		fprintf(stderr, "hybridize verify: %s\n", err.msg);
		return -1;
	}
	if (o->min_faces != FACERULE_UNSET) {
		*used = o->min_faces;
		if (recorded != FACERULE_UNSET && recorded != o->min_faces)
			fprintf(stderr,
				"hybridize verify: note: checking with "
				"--min-faces %ld; %s/%s says the stages used "
				"%ld\n",
				o->min_faces, o->edits, FACERULE_FILE,
				recorded);
		return 0;
	}
	*used =
	    recorded != FACERULE_UNSET ? recorded : FACERULE_DEFAULT_MIN_FACES;
	if (*used > FACERULE_DEFAULT_MIN_FACES)
		fprintf(stderr,
			"hybridize verify: warning: samples with fewer than "
			"%ld face boxes are not checked: %s/%s says the "
			"stages used --min-faces %ld (give --min-faces %d to "
			"check every sample with a face box)\n",
			*used, o->edits, FACERULE_FILE, *used,
			FACERULE_DEFAULT_MIN_FACES);
	return 0;
}

static void print_privacy(const struct verify_counts *t, long min_faces,
			  FILE *o)
{
	static const enum verify_row order[] = {
	    VR_FACES, VR_SYNTHETIC, VR_BLURRED,		 VR_DROPPED,
	    VR_KEPT,  VR_NO_RECORD, VR_NO_RECORD_EDITED, VR_MISMATCH,
	};

	fprintf(o, "  privacy (face samples: --min-faces %ld)\n", min_faces);
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		enum verify_row r = order[i];

		if (r == VR_NO_RECORD_EDITED && !t->rows[r])
			continue;
		fprintf(o, "    %-28s %lld\n", verify_row_name(r),
			(long long)t->rows[r]);
		/* Generate's reasons under their fate's row. */
		for (size_t k = 0; k < t->nreasons; k++)
			if (verify_fate_row(t->reasons[k].fate) == r &&
			    t->reasons[k].reason[0])
				fprintf(o, "      %lld: %s\n",
					(long long)t->reasons[k].n,
					t->reasons[k].reason);
		if (r == VR_KEPT)
			fprintf(o, "      %-26s %lld\n",
				verify_row_name(VR_KEPT_ORIGINAL),
				(long long)t->rows[VR_KEPT_ORIGINAL]);
	}
}

static void summary(const struct shardcmd *c, const struct shardcmd_tally *t,
		    FILE *o)
{
	const struct vstate *s = ((const struct vcmd *)c)->s;
	const struct verify_counts *v = &s->total;
	char rate[32];

	if (s->json_stdout)
		return;
	progress_fmt_count(rate, sizeof(rate),
			   t->secs > 0 ? (double)v->samples / t->secs : 0);
	fprintf(o, "hybridize verify: %s in %.2f s\n",
		t->sig	    ? "stopped"
		: t->failed ? "problems found"
			    : "all outputs verify",
		t->secs);
	fprintf(o, "  %-16s %zu\n", "shards checked", t->shards);
	fprintf(o, "  %-16s %zu\n", "  ok", t->done);
	fprintf(o, "  %-16s %zu\n", "  failed", t->failed);
	if (t->stopped)
		fprintf(o, "  %-16s %zu\n", "  not finished", t->stopped);
	fprintf(o, "  %-16s %lld\n", "samples", (long long)v->samples);
	fprintf(o, "  %-16s %lld\n", "members compared", (long long)v->members);
	fprintf(o, "  %-16s %lld\n", "edited members", (long long)v->edited);
	fprintf(o, "  %-16s %lld\n", "dropped samples", (long long)v->dropped);
	fprintf(o, "  %-16s %lld\n", "edited KEY.json",
		(long long)v->json_checked);
	if (v->bad_meta)
		fprintf(o, "  %-16s %lld\n", "unreadable KEY.json",
			(long long)v->bad_meta);
	fprintf(o, "  %-16s %lld\n", "problems", (long long)v->problems);
	print_privacy(v, s->vo.min_faces, o);
	fprintf(o, "  %-16s %s/s\n", "speed", rate);
}

/* JSON report */

static const char *const row_keys[VR_NROWS] = {
    [VR_FACES] = "face_samples",
    [VR_SYNTHETIC] = "synthetic",
    [VR_BLURRED] = "blurred",
    [VR_DROPPED] = "dropped",
    [VR_KEPT] = "kept",
    [VR_KEPT_ORIGINAL] = "kept_with_original_photo",
    [VR_NO_RECORD] = "no_record",
    [VR_NO_RECORD_EDITED] = "no_record_photo_not_shipped",
    [VR_MISMATCH] = "mismatches",
};

static int jstr(struct buf *b, const char *s)
{
	return jsonw_string(b, s, strlen(s));
}

static int jf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int jf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	return n < 0 || buf_append(b, tmp, strlen(tmp));
}

static int jcounts(struct buf *b, const struct verify_counts *c)
{
	int bad = 0;

	bad |= jf(b,
		  "\"samples\": %lld, \"members_compared\": %lld, "
		  "\"edited_members\": %lld, \"dropped_samples\": %lld, "
		  "\"edited_json_checked\": %lld, \"unreadable_json\": %lld, "
		  "\"problems\": %lld, \"privacy\": {",
		  (long long)c->samples, (long long)c->members,
		  (long long)c->edited, (long long)c->dropped,
		  (long long)c->json_checked, (long long)c->bad_meta,
		  (long long)c->problems);
	for (int r = 0; r < VR_NROWS; r++)
		bad |=
		    jf(b, "\"%s\": %lld, ", row_keys[r], (long long)c->rows[r]);
	bad |= jf(b, "\"reasons\": [");
	for (size_t i = 0; i < c->nreasons; i++) {
		bad |= jf(b, "%s{\"fate\": \"%s\", \"reason\": ", i ? ", " : "",
			  fate_name(c->reasons[i].fate));
		bad |= jstr(b, c->reasons[i].reason);
		bad |=
		    jf(b, ", \"samples\": %lld}", (long long)c->reasons[i].n);
	}
	bad |= jf(b, "]}");
	return bad;
}

static int cmp_result(const void *a, const void *b)
{
	return strcmp(((const struct result *)a)->name,
		      ((const struct result *)b)->name);
}

/* Writes the report atomically (a script must never read half of one). */
static int write_json(struct vstate *s, const char *file, size_t shards,
		      size_t failed, struct hy_err *err)
{
	struct buf b = {0};
	char *dir = NULL;
	const char *base, *slash = strrchr(file, '/');
	int bad = 0, ret;

	if (s->oom)
		return hy_err_set(err, HY_EFATAL,
				  "out of memory: no JSON report");
	qsort(s->v, s->n, sizeof(*s->v), cmp_result);
	bad |= jf(&b,
		  "{\"ok\": %s, \"min_faces\": %ld, \"shards\": %zu, "
		  "\"shards_ok\": %zu, \"shards_failed\": %zu,\n \"totals\": {",
		  failed ? "false" : "true", s->vo.min_faces, shards,
		  shards - failed, failed);
	bad |= jcounts(&b, &s->total);
	bad |= jf(&b, "},\n \"per_shard\": [");
	for (size_t i = 0; i < s->n; i++) {
		const struct result *r = &s->v[i];
		bad |= jf(&b, "%s\n  {\"name\": ", i ? "," : "");
		bad |= jstr(&b, r->name);
		bad |= jf(&b, ", \"input\": ");
		bad |= jstr(&b, r->path);
		bad |= jf(&b, ", \"ok\": %s, ", r->ok ? "true" : "false");
		bad |= jcounts(&b, &r->c);
		bad |= jf(&b, ", \"messages\": [");
		for (size_t k = 0; k < r->c.nlines; k++) {
			bad |= jf(&b, "%s", k ? ", " : "");
			bad |= jstr(&b, r->c.lines[k]);
		}
		bad |= jf(&b, "]}");
	}
	bad |= jf(&b, "\n]}\n");
	if (bad) {
		buf_release(&b);
		return hy_err_set(err, HY_EFATAL, "out of memory");
	}
	if (!strcmp(file, "-")) {
		ret = fwrite(b.data, 1, b.len, stdout) == b.len
			  ? HY_OK
			  : hy_err_set(err, HY_EFATAL,
				       "cannot write standard output");
		buf_release(&b);
		return ret;
	}
	dir = slash ? strndup(file, (size_t)(slash - file)) : strdup(".");
	base = slash ? slash + 1 : file;
	if (!dir)
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
	else
		ret = outfile_put(*dir ? dir : "/", base, "", b.data, b.len, 1,
				  err);
	free(dir);
	buf_release(&b);
	return ret;
}

/* --json FILE must be writable before hours of checking start. */
static int json_target_ok(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *dir = slash ? strndup(file, (size_t)(slash - file)) : strdup(".");
	int ok = dir && slash != file + strlen(file) - 1 &&
		 access(*dir ? dir : "/", W_OK) == 0;

	if (!ok)
		fprintf(stderr,
			"hybridize verify: --json %s: cannot write there: %s\n",
			file,
			dir && errno ? strerror(errno) : "not a file name");
	free(dir);
	return ok;
}

int cmd_verify(int argc, char **argv)
{
	struct cli_opts o;
	struct vstate s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct vcmd vc = {.c = {.name = "verify",
				.out_suffix = ".tar",
				.run = run,
				.opts = &o,
				.stage_opts = &s.vo},
			  .s = &s};
	const struct shardcmd_ext x = {.flags = SHARDCMD_READ_OUTPUT,
				       .summary = summary};
	struct hy_err err = {0};
	int r = cli_parse(argc, argv, CLI_VERIFY, usage, &o);

	if (r == 0 && (!o.edits || !*o.edits)) {
		fprintf(stderr, "hybridize verify: -e EDITS_DIR is required "
				"(see 'hybridize verify --help')\n");
		r = -1;
	}
	if (r == 0 && o.json && strcmp(o.json, "-") != 0 &&
	    (!*o.json || !json_target_ok(o.json)))
		r = -1;
	if (r == 0 && cli_resolve_rank(&o) < 0)
		r = -1;
	if (r != 0) {
		cli_free(&o);
		return r > 0 ? 0 : 1;
	}
	s.vo.edits_dir = o.edits;
	s.vo.out_dir = o.output;
	if (face_threshold(&o, &s.vo.min_faces) < 0) {
		cli_free(&o);
		return 1;
	}
	s.json_stdout = o.json && !strcmp(o.json, "-");
	r = shardcmd_main_ext(&vc.c, &x);
	if (o.json && (r == 0 || r == 2)) {
		size_t failed = 0;
		for (size_t i = 0; i < s.n; i++)
			failed += !s.v[i].ok;
		if (write_json(&s, o.json, s.n, failed, &err)) {
			fprintf(stderr, "hybridize verify: %s\n", err.msg);
			r = 2;
		}
	}
	for (size_t i = 0; i < s.n; i++) {
		free(s.v[i].name);
		free(s.v[i].path);
		verify_counts_release(&s.v[i].c);
	}
	free(s.v);
	verify_counts_release(&s.total);
	cli_free(&o);
	return r;
}
