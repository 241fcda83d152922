/* Caption / prompt stage file writer. */
#include "capfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "pyjson.h"

void capfile_begin(struct capfile *c)
{
	buf_clear(&c->out);
	c->n = 0;
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

void capfile_release(struct capfile *c)
{
	buf_release(&c->out);
	buf_release(&c->name);
}

int capfile_load(struct capfile_in *in, const char *path, struct hy_err *err)
{
	struct buf raw = {0}, scratch = {0}, text = {0};
	struct hy_err perr;
	cJSON *root = NULL, *it;
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n, i = 0;
	int ret = HY_OK;

	memset(in, 0, sizeof(*in));
	if (!f)
		return hy_err_set(err, hy_err_input(errno, HY_ESHARD),
				  "cannot read '%s': %s", path,
				  strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&raw, chunk, n)) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
	if (ferror(f)) {
		ret = hy_err_set(err, HY_ESHARD, "cannot read '%s': %s", path,
				 strerror(errno));
		goto out;
	}
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
	fclose(f);
	return ret;
}

void capfile_in_release(struct capfile_in *in)
{
	for (size_t i = 0; i < in->n && in->v; i++) {
		free(in->v[i].name);
		free(in->v[i].text);
	}
	free(in->v);
	memset(in, 0, sizeof(*in));
}
