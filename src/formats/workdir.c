/* The work folder's names, and the writer and reader of .hybridize/'s
 * shards.json and progress-R.json. */
#include "formats/workdir.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/outfile.h"

static const char *const stage_names[WORKDIR_NFOLDERS] = {
    "scan", "prompts", "generate", "reshard"};

const char *workdir_stage_name(enum workdir_folder f)
{
	return stage_names[f];
}

/* The temporaries are named by their writers: outfile.h (.NAME.json.part,
 * .NAME.tar.part), journal.h (.NAME.journal), generate (.NAME.part/). */
static const struct workdir_name names_captions[] = {
    {"", ".json", 0, WORKDIR_OUTPUT},
    {".", ".json.part", 0, WORKDIR_PART},
    {NULL, NULL, 0, WORKDIR_OUTPUT}};
static const struct workdir_name names_prompts[] = {
    {"", ".json", 0, WORKDIR_OUTPUT},
    {".", ".journal", 0, WORKDIR_JOURNAL},
    {".", ".json.part", 0, WORKDIR_PART},
    {NULL, NULL, 0, WORKDIR_OUTPUT}};
static const struct workdir_name names_edits[] = {
    {"", "", 1, WORKDIR_OUTPUT},
    {".", ".part", 1, WORKDIR_PART},
    {NULL, NULL, 0, WORKDIR_OUTPUT}};
static const struct workdir_name names_out[] = {
    {"", ".tar", 0, WORKDIR_OUTPUT},
    {".", ".tar.part", 0, WORKDIR_PART},
    {NULL, NULL, 0, WORKDIR_OUTPUT}};

const struct workdir_name *workdir_names(enum workdir_folder f)
{
	static const struct workdir_name *const all[WORKDIR_NFOLDERS] = {
	    names_captions, names_prompts, names_edits, names_out};

	return all[f];
}

size_t workdir_match(const struct workdir_name *n, const char *entry)
{
	size_t len = strlen(entry), pl = strlen(n->prefix),
	       sl = strlen(n->suffix);

	if (len <= pl + sl || strncmp(entry, n->prefix, pl) != 0 ||
	    strcmp(entry + len - sl, n->suffix) != 0 || entry[pl] == '.')
		return 0;
	return len - pl - sl;
}

char *workdir_path(const char *dir, const struct workdir_name *n,
		   const char *name)
{
	char *leaf = NULL, *path;

	if (asprintf(&leaf, "%s%s%s", n->prefix, name, n->suffix) < 0)
		return NULL;
	path = path_join(dir, leaf);
	free(leaf);
	return path;
}

/* Reads path and parses it; NULL with err set (HY_ESHARD, or HY_EFATAL on
 * ENOMEM), or with *absent set when it is not there. */
static cJSON *load_json(const char *path, struct buf *file, int *absent,
			struct hy_err *err)
{
	cJSON *j;
	int ret = buf_read_file(file, path, 0, err);

	*absent = 0;
	if (ret != HY_OK) {
		*absent = errno == ENOENT;
		return NULL;
	}
	j = cJSON_ParseWithLength(file->data, file->len);
	if (!j)
		hy_err_set(err, HY_ESHARD, "'%s': not JSON", path);
	return j;
}

/* --- shards.json ---------------------------------------------------- */

int workdir_list_write(const char *workdir, long world,
		       const struct workdir_shard *v, size_t n,
		       struct hy_err *err)
{
	char *dir = path_join(workdir, WORKDIR_STATE);
	struct buf b = {0};
	struct outfile f;
	int bad = !dir, ret;

	bad |= buf_putc(&b, '{') || jsonw_key(&b, "world") ||
	       jsonw_int(&b, world) || jsonw_key(&b, "shards") ||
	       buf_putc(&b, '[');
	/* One shard a line. */
	for (size_t i = 0; i < n && !bad; i++)
		bad |= (i && buf_putc(&b, ',')) || buf_append(&b, "\n  {", 4) ||
		       jsonw_key_string(&b, "name", v[i].name) ||
		       jsonw_key_string(&b, "path", v[i].path) ||
		       buf_putc(&b, '}');
	bad |= buf_append(&b, "\n]}\n", 4);
	if (bad) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	ret = mkdirs(dir, err);
	if (ret == HY_OK)
		ret = outfile_open_shared(&f, dir, WORKDIR_SHARD_LIST, "", 0,
					  err);
	if (ret == HY_OK) {
		ret = outfile_write(&f, b.data, b.len, err);
		if (ret == HY_OK)
			ret = outfile_commit(&f, err); /* aborts on failure */
		else
			outfile_abort(&f);
	}
out:
	free(dir);
	buf_release(&b);
	return ret;
}

int workdir_list_load(struct workdir_list *l, const char *workdir,
		      struct buf *file, struct hy_err *err)
{
	char *dir = path_join(workdir, WORKDIR_STATE);
	char *path = dir ? path_join(dir, WORKDIR_SHARD_LIST) : NULL;
	cJSON *j = NULL, *w, *v, *e;
	int ret = HY_OK, absent = 0;
	size_t cap;

	memset(l, 0, sizeof(*l));
	if (!path) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	if (!(j = load_json(path, file, &absent, err))) {
		ret = absent ? 1 : err->code;
		goto out;
	}
	w = cJSON_GetObjectItemCaseSensitive(j, "world");
	v = cJSON_GetObjectItemCaseSensitive(j, "shards");
	if (!cJSON_IsNumber(w) || w->valuedouble < 1 || !cJSON_IsArray(v)) {
		ret = hy_err_set(err, HY_ESHARD,
				 "'%s': no \"world\" >= 1 and \"shards\" list",
				 path);
		goto out;
	}
	l->world = (long)w->valuedouble;
	cap = (size_t)cJSON_GetArraySize(v);
	l->v = calloc(cap + 1, sizeof(*l->v));
	if (!l->v)
		goto nomem;
	cJSON_ArrayForEach(e, v)
	{
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(e, "name"));
		const char *p = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(e, "path"));
		struct workdir_shard *s = &l->v[l->n];

		if (!name || !*name)
			continue;
		s->name = strdup(name);
		s->path = p ? strdup(p) : NULL;
		if (!s->name || (p && !s->path)) {
			free(s->name);
			free(s->path);
			goto nomem;
		}
		l->n++;
	}
	goto out;
nomem:
	ret = hy_err_set(err, HY_EFATAL, "out of memory");
out:
	if (ret != HY_OK)
		workdir_list_release(l);
	cJSON_Delete(j);
	free(path);
	free(dir);
	return ret;
}

void workdir_list_release(struct workdir_list *l)
{
	for (size_t i = 0; l->v && i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].path);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* --- progress-R.json ------------------------------------------------- */

int workdir_is_progress(const char *leaf)
{
	size_t len = strlen(leaf);

	return len > 14 && !strncmp(leaf, "progress-", 9) &&
	       !strcmp(leaf + len - 5, ".json");
}

/* One line, the keys in this order: scripts and tests grep it. */
int workdir_progress_text(struct buf *b, const struct workdir_progress *p)
{
	int bad = buf_putc(b, '{') || jsonw_key_int(b, "rank", p->rank) ||
		  jsonw_key_int(b, "world", p->world) ||
		  jsonw_key_int(b, "pid", p->pid) ||
		  jsonw_key_int(b, "started", p->started) ||
		  jsonw_key_int(b, "updated", p->updated) ||
		  jsonw_key(b, "elapsed") ||
		  jsonw_double(b, "%.1f", p->elapsed) ||
		  jsonw_key(b, "finished") || jsonw_bool(b, p->finished) ||
		  jsonw_key_int(b, "shards", p->shards) ||
		  jsonw_key_string(b, "host", p->host ? p->host : "") ||
		  jsonw_key(b, "stages") || buf_putc(b, '{');

	for (int s = 0; s < WORKDIR_NFOLDERS && !bad; s++)
		bad |= jsonw_key(b, stage_names[s]) || buf_putc(b, '{') ||
		       jsonw_key_int(b, "done", p->done[s]) ||
		       jsonw_key_int(b, "skipped", p->skipped[s]) ||
		       jsonw_key_int(b, "failed", p->failed[s]) ||
		       buf_putc(b, '}');
	bad |= buf_putc(b, '}') || jsonw_key_int(b, "samples", p->samples) ||
	       jsonw_key_int(b, "faces", p->faces) ||
	       jsonw_key_int(b, "prompts", p->prompts) ||
	       jsonw_key_int(b, "declined", p->declined) ||
	       jsonw_key_int(b, "other_lang", p->other_lang) ||
	       jsonw_key_int(b, "images", p->images) ||
	       jsonw_key_int(b, "blurred", p->blurred) ||
	       jsonw_key_int(b, "dropped", p->dropped) ||
	       jsonw_key_int(b, "kept", p->kept) ||
	       jsonw_key_int(b, "failed_samples", p->failed_samples) ||
	       jsonw_key_int(b, "bad_samples", p->bad_samples) ||
	       jsonw_key_int(b, "bytes_out", p->bytes_out) ||
	       jsonw_key(b, "failures") || buf_putc(b, '[');
	for (size_t i = 0; i < p->nfailures && !bad; i++)
		bad |= jsonw_sep(b) ||
		       jsonw_string(b, p->failures[i], strlen(p->failures[i]));
	bad |= buf_append(b, "]}\n", 3);
	return bad ? -1 : 0;
}

int workdir_progress_put(const char *workdir, long rank, const struct buf *text,
			 struct hy_err *err)
{
	char *dir = path_join(workdir, WORKDIR_STATE);
	char leaf[64];
	int ret;

	snprintf(leaf, sizeof(leaf), "progress-%ld.json", rank);
	if (!dir)
		return hy_err_set(err, HY_EFATAL, "out of memory");
	ret = outfile_put(dir, leaf, "", text->data, text->len, 0, err);
	free(dir);
	return ret;
}

int workdir_progress_write(const char *workdir,
			   const struct workdir_progress *p, struct hy_err *err)
{
	struct buf b = {0};
	int ret;

	if (workdir_progress_text(&b, p))
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
	else
		ret = workdir_progress_put(workdir, p->rank, &b, err);
	buf_release(&b);
	return ret;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int workdir_progress_load(struct workdir_progress *p, const char *path,
			  struct buf *file, struct hy_err *err)
{
	cJSON *j, *st, *f, *e;
	const char *host;
	int absent;

	memset(p, 0, sizeof(*p));
	j = load_json(path, file, &absent, err);
	if (!j)
		return absent ? 1 : err->code;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return hy_err_set(err, HY_ESHARD, "'%s': not a JSON object",
				  path);
	}
	host =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "host"));
	p->host = strdup(host ? host : "");
	p->rank = (long)jnum(j, "rank");
	p->world = (long)jnum(j, "world");
	p->pid = (long)jnum(j, "pid");
	p->started = (int64_t)jnum(j, "started");
	p->updated = (int64_t)jnum(j, "updated");
	p->elapsed = jnum(j, "elapsed");
	p->finished =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "finished"));
	p->shards = (int64_t)jnum(j, "shards");
	p->samples = (int64_t)jnum(j, "samples");
	p->faces = (int64_t)jnum(j, "faces");
	p->prompts = (int64_t)jnum(j, "prompts");
	p->declined = (int64_t)jnum(j, "declined");
	p->other_lang = (int64_t)jnum(j, "other_lang");
	p->images = (int64_t)jnum(j, "images");
	p->blurred = (int64_t)jnum(j, "blurred");
	p->dropped = (int64_t)jnum(j, "dropped");
	p->kept = (int64_t)jnum(j, "kept");
	p->failed_samples = (int64_t)jnum(j, "failed_samples");
	p->bad_samples = (int64_t)jnum(j, "bad_samples");
	p->bytes_out = (int64_t)jnum(j, "bytes_out");
	st = cJSON_GetObjectItemCaseSensitive(j, "stages");
	for (int s = 0; s < WORKDIR_NFOLDERS; s++) {
		const cJSON *o =
		    cJSON_GetObjectItemCaseSensitive(st, stage_names[s]);

		p->done[s] = (int64_t)jnum(o, "done");
		p->skipped[s] = (int64_t)jnum(o, "skipped");
		p->failed[s] = (int64_t)jnum(o, "failed");
	}
	f = cJSON_GetObjectItemCaseSensitive(j, "failures");
	p->failures =
	    calloc((size_t)cJSON_GetArraySize(f) + 1, sizeof(*p->failures));
	if (!p->host || !p->failures)
		goto nomem;
	cJSON_ArrayForEach(e, f)
	{
		if (!cJSON_IsString(e))
			continue;
		if (!(p->failures[p->nfailures] = strdup(e->valuestring)))
			goto nomem;
		p->nfailures++;
	}
	cJSON_Delete(j);
	return HY_OK;
nomem:
	cJSON_Delete(j);
	workdir_progress_release(p);
	return hy_err_set(err, HY_EFATAL, "out of memory");
}

void workdir_progress_release(struct workdir_progress *p)
{
	for (size_t i = 0; p->failures && i < p->nfailures; i++)
		free(p->failures[i]);
	free(p->failures);
	free(p->host);
	memset(p, 0, sizeof(*p));
}
