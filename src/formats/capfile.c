/* Caption / prompt stage file writer. */
#include "formats/capfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/pyjson.h"

void capfile_begin(struct capfile *c)
{
	buf_clear(&c->out);
	c->n = 0;
	c->written = 0;
}

int capfile_add_name(struct capfile *c, const char *name, size_t name_len,
		     const char *text, size_t text_len)
{
	struct buf *o = &c->out;

	if (buf_append(o, c->n ? ",\n    " : "{\n    ", 6) ||
	    jsonw_string(o, name, name_len) || buf_append(o, ": ", 2) ||
	    jsonw_string(o, text, text_len))
		return -1;
	c->n++;
	return 0;
}

int capfile_add(struct capfile *c, const char *key, size_t key_len,
		const char *text, size_t text_len)
{
	buf_clear(&c->name);
	if (buf_append(&c->name, key, key_len) ||
	    buf_append(&c->name, ".json", 5))
		return -1;
	return capfile_add_name(c, c->name.data, c->name.len, text, text_len);
}

int capfile_end(struct capfile *c)
{
	if (c->n == 0)
		return buf_append(&c->out, "{}", 2);
	return buf_append(&c->out, "\n}", 2);
}

int capfile_flush(struct capfile *c, const char *dir, const char *name,
		  int do_fsync, struct hy_err *err)
{
	int ret;

	if (c->out.len < CAPFILE_FLUSH)
		return HY_OK;
	if (!c->file_open) {
		ret = outfile_open(&c->file, dir, name, ".json", do_fsync, err);
		if (ret)
			return ret;
		c->file_open = 1;
	}
	ret = outfile_write(&c->file, c->out.data, c->out.len, err);
	if (ret)
		return ret;
	c->written += c->out.len;
	buf_clear(&c->out);
	return HY_OK;
}

int capfile_commit(struct capfile *c, const char *dir, const char *name,
		   int do_fsync, size_t *len, struct hy_err *err)
{
	int ret;

	if (capfile_end(c))
		return hy_err_set(err, HY_EFATAL, "out of memory");
	if (len)
		*len = c->written + c->out.len;
	if (!c->file_open)
		return outfile_put(dir, name, ".json", c->out.data, c->out.len,
				   do_fsync, err);
	c->file_open = 0;
	ret = outfile_write(&c->file, c->out.data, c->out.len, err);
	if (ret) {
		outfile_abort(&c->file);
		return ret;
	}
	return outfile_commit(&c->file, err); /* aborts by itself */
}

void capfile_release(struct capfile *c)
{
	if (c->file_open)
		outfile_abort(&c->file);
	c->file_open = 0;
	buf_release(&c->out);
	buf_release(&c->name);
}

static char *skip_ws(char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* One past the closing quote of the string that opens at p, or NULL. */
static char *string_end(char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Walks an object of strings laid out plainly, calling on_entry (when not
 * NULL) with each name's and value's [start, end), quotes included; it may
 * rewrite the bytes of those spans. Returns the number of entries, -1 for
 * any other shape, or on_entry's first nonzero return. */
static long
scan_object(char *p, const char *end,
	    long (*on_entry)(void *, char *, char *, char *, char *), void *ctx)
{
	long n = 0, r;

	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return -1;
	p = skip_ws(p, end);
	if (p < end && *p == '}') {
		p++;
	} else {
		for (;;) {
			char *ns = p, *ne, *vs, *ve;

			if (p == end || *p != '"' || !(ne = string_end(p, end)))
				return -1;
			p = skip_ws(ne, end);
			if (p == end || *p++ != ':')
				return -1;
			vs = p = skip_ws(p, end);
			if (p == end || *p != '"' || !(ve = string_end(p, end)))
				return -1;
			if (on_entry && (r = on_entry(ctx, ns, ne, vs, ve)))
				return r;
			n++;
			p = skip_ws(ve, end);
			if (p == end)
				return -1;
			if (*p == '}') {
				p++;
				break;
			}
			if (*p++ != ',')
				return -1;
			p = skip_ws(p, end);
		}
	}
	return skip_ws(p, end) == end ? n : -1;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Decodes the string at [s, e) (quotes included) as pyjson reads it, into
 * its own place: at s, NUL-terminated. as_text: NULs come back as NULs
 * (pyjson_string); else the bytes cJSON holds, as a name is kept. Returns
 * the length, -2 when this string needs the whole-tree reader, -1 on
 * ENOMEM. */
static long decode_in_place(char *s, char *e, int as_text, struct buf *scratch,
			    struct buf *text)
{
	struct hy_err perr;
	cJSON *j = pyjson_parse(s, (size_t)(e - s), scratch, &perr);
	const char *src;
	size_t len;
	long ret = -2;

	if (!j)
		return perr.code == HY_EFATAL ? -1 : -2;
	if (!cJSON_IsString(j))
		goto out;
	if (as_text) {
		if (pyjson_string(j, text)) {
			ret = -1;
			goto out;
		}
		src = text->data;
		len = text->len;
	} else {
		src = j->valuestring;
		len = strlen(src);
	}
	if (len + 1 > (size_t)(e - s))
		goto out; /* cannot happen: escapes only shrink */
	memcpy(s, src, len);
	s[len] = '\0';
	ret = (long)len;
out:
	cJSON_Delete(j);
	return ret;
}

struct flat {
	struct capfile_in *in;
	struct buf scratch, text;
};

/* scan_object's callback: decodes one entry in place. 0, -2 (needs the
 * whole-tree reader) or -3 (ENOMEM). */
static long flat_entry(void *ctx, char *ns, char *ne, char *vs, char *ve)
{
	struct flat *f = ctx;
	struct capentry *e = &f->in->v[f->in->n];
	long len = decode_in_place(ns, ne, 0, &f->scratch, &f->text);

	if (len < 0)
		return len == -1 ? -3 : -2;
	e->name = ns;
	len = decode_in_place(vs, ve, 1, &f->scratch, &f->text);
	if (len < 0)
		return len == -1 ? -3 : -2;
	e->text = vs;
	e->text_len = (size_t)len;
	f->in->n++;
	return 0;
}

/* The plain layout, decoded in raw itself, which in then owns. Returns 1
 * when done, 0 when the file needs the whole-tree reader (another layout,
 * duplicate names, a string cJSON reads otherwise: raw is then spoilt),
 * -1 on ENOMEM. */
static int load_flat(struct capfile_in *in, struct buf *raw)
{
	struct flat f = {.in = in};
	const char **byname = NULL; /* the names, sorted */
	char *end = raw->data + raw->len;
	long n = scan_object(raw->data, end, NULL, NULL);
	int ret = 0;

	if (n < 0)
		return 0;
	in->v = calloc((size_t)n + 1, sizeof(*in->v));
	byname = malloc(((size_t)n + 1) * sizeof(*byname));
	if (!in->v || !byname) {
		ret = -1;
		goto out;
	}
	n = scan_object(raw->data, end, flat_entry, &f);
	if (n < 0) {
		ret = n == -3 ? -1 : 0;
		goto out;
	}
	for (size_t i = 0; i < in->n; i++)
		byname[i] = in->v[i].name;
	/* Python keeps the last value of a duplicate name at the first one's
	 * place: rare enough to leave to the whole-tree reader. */
	qsort(byname, in->n, sizeof(*byname), cmp_name);
	for (size_t i = 1; i < in->n; i++)
		if (strcmp(byname[i - 1], byname[i]) == 0)
			goto out;
	in->arena = raw->data;
	memset(raw, 0, sizeof(*raw));
	ret = 1;
out:
	if (ret != 1) {
		free(in->v);
		in->v = NULL;
		in->n = 0;
	}
	free(byname);
	buf_release(&f.scratch);
	buf_release(&f.text);
	return ret;
}

int capfile_load(struct capfile_in *in, const char *path, struct hy_err *err)
{
	struct buf raw = {0}, scratch = {0}, text = {0};
	struct hy_err perr;
	cJSON *root = NULL, *it;
	size_t i = 0;
	int ret, r;

	memset(in, 0, sizeof(*in));
	ret = buf_read_file(&raw, path, 0, err);
	if (ret)
		goto out;
	r = raw.len ? load_flat(in, &raw) : 0;
	if (r < 0) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	if (r == 1)
		goto out;
	/* Any other layout: the whole tree, read again (load_flat decodes
	 * in place). */
	buf_release(&raw);
	ret = buf_read_file(&raw, path, 0, err);
	if (ret)
		goto out;
	/* Python's reader: a NUL in a caption (\u0000) is kept, as the old
	 * scripts kept it. */
	root = pyjson_parse(raw.data ? raw.data : (char *)"", raw.len, &scratch,
			    &perr);
	if (!root && perr.code == HY_EFATAL) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		ret = hy_err_set(err, HY_ESHARD,
				 "'%s': not a JSON object of captions", path);
		goto out;
	}
	in->n = (size_t)cJSON_GetArraySize(root);
	in->v = calloc(in->n ? in->n : 1, sizeof(*in->v));
	if (!in->v) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, root)
	{
		struct capentry *e = &in->v[i++];

		if (!cJSON_IsString(it) || !it->string) {
			ret = hy_err_set(err, HY_ESHARD,
					 "'%s': entry '%s' is not a string",
					 path, it->string ? it->string : "?");
			goto out;
		}
		e->name = strdup(it->string);
		if (pyjson_string(it, &text) == 0) {
			e->text = malloc(text.len + 1);
			if (e->text)
				memcpy(e->text, text.data, text.len + 1);
		}
		if (!e->name || !e->text) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		e->text_len = text.len;
	}
out:
	if (ret)
		capfile_in_release(in);
	cJSON_Delete(root);
	buf_release(&raw);
	buf_release(&scratch);
	buf_release(&text);
	return ret;
}

void capfile_in_release(struct capfile_in *in)
{
	for (size_t i = 0; !in->arena && i < in->n && in->v; i++) {
		free(in->v[i].name);
		free(in->v[i].text);
	}
	free(in->v);
	free(in->arena);
	memset(in, 0, sizeof(*in));
}

int capfile_count(const char *path, struct buf *file, int64_t *n,
		  struct hy_err *err)
{
	cJSON *j;
	long k;
	int ret;

	*n = -1;
	ret = buf_read_file(file, path, 0, err);
	if (ret)
		return errno == ENOENT ? 1 : ret;
	/* Our writers' layout: the names and strings are only walked. */
	k = scan_object(file->data, file->data + file->len, NULL, NULL);
	if (k >= 0) {
		*n = k;
		return HY_OK;
	}
	j = cJSON_ParseWithLength(file->data, file->len);
	if (!j)
		return hy_err_set(err, HY_ESHARD, "'%s': not JSON", path);
	if (cJSON_IsObject(j))
		*n = cJSON_GetArraySize(j);
	else
		ret =
		    hy_err_set(err, HY_ESHARD, "'%s': not a JSON object", path);
	cJSON_Delete(j);
	return ret;
}
