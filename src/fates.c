/* A JSON file, small (one line a face sample), read whole. */
#include "fates.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonw.h"
#include "outfile.h"

static const char *const names[] = {"synthetic", "blurred", "dropped", "kept"};

const char *fate_name(enum fate f)
{
	return names[f];
}

int fates_add(struct fates *f, const char *key, size_t key_len, enum fate fate,
	      const char *reason)
{
	struct fate_entry *e;

	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 64;
		struct fate_entry *v = realloc(f->v, nc * sizeof(*v));
		if (!v)
			return -1;
		f->v = v;
		f->cap = nc;
	}
	e = &f->v[f->n];
	e->key = strndup(key, key_len);
	e->fate = fate;
	e->reason = reason ? strdup(reason) : NULL;
	if (!e->key || (reason && !e->reason)) {
		free(e->key);
		free(e->reason);
		return -1;
	}
	f->n++;
	return 0;
}

/* 1 when s is valid UTF-8 (what JSON text can carry unchanged). */
static int utf8_ok(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80	      ? 0
			: (*s & 0xe0) == 0xc0 ? 1
			: (*s & 0xf0) == 0xe0 ? 2
			: (*s & 0xf8) == 0xf0 ? 3
					      : -1;
		if (n < 0 || (n == 1 && *s < 0xc2))
			return 0;
		s++;
		while (n--)
			if ((*s++ & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

int fates_write(const struct fates *f, const char *dir, int do_fsync,
		struct hy_err *err)
{
	struct buf b = {0};
	int bad = 0, ret;

	bad |= buf_append(&b, "{\"samples\": [", 13);
	for (size_t i = 0; i < f->n; i++) {
		const struct fate_entry *e = &f->v[i];
		bad |= buf_append(
		    &b, i ? ",\n  {\"key\": " : "\n  {\"key\": ", i ? 12 : 11);
		bad |= jsonw_string(&b, e->key, strlen(e->key));
		if (!utf8_ok((const unsigned char *)e->key)) {
			/* A tar name in another encoding: JSON would turn its
			 * bytes into U+FFFD and reshard would miss the key. */
			bad |= buf_append(&b, ", \"key_hex\": \"", 14);
			for (const unsigned char *k =
				 (const unsigned char *)e->key;
			     *k; k++) {
				char hx[3];
				snprintf(hx, sizeof(hx), "%02x", *k);
				bad |= buf_append(&b, hx, 2);
			}
			bad |= buf_putc(&b, '"');
		}
		bad |= buf_append(&b, ", \"fate\": \"", 11);
		bad |= buf_append(&b, names[e->fate], strlen(names[e->fate]));
		bad |= buf_putc(&b, '"');
		if (e->reason) {
			bad |= buf_append(&b, ", \"reason\": ", 12);
			bad |= jsonw_string(&b, e->reason, strlen(e->reason));
		}
		bad |= buf_putc(&b, '}');
	}
	bad |= buf_append(&b, "\n]}\n", 4);
	if (bad) {
		buf_release(&b);
		return hy_err_set(err, HY_EFATAL, "out of memory");
	}
	ret = outfile_put(dir, FATES_FILE, "", b.data, b.len, do_fsync, err);
	buf_release(&b);
	return ret;
}

static int cmp_key_r(const void *a, const void *b, void *f)
{
	const struct fates *fs = f;

	return strcmp(fs->v[*(const size_t *)a].key,
		      fs->v[*(const size_t *)b].key);
}

int fates_load(struct fates *f, const char *edits_dir, const char *name,
	       struct hy_err *err)
{
	char *dir = path_join(edits_dir, name);
	char *path = dir ? path_join(dir, FATES_FILE) : NULL;
	FILE *fp = NULL;
	struct buf b = {0};
	cJSON *j = NULL;
	const cJSON *list, *it;
	int ret = HY_OK;

	memset(f, 0, sizeof(*f));
	if (!path) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	fp = fopen(path, "rb");
	if (!fp) {
		if (errno != ENOENT)
			ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
					 "%s: cannot read: %s", path,
					 strerror(errno));
		goto out;
	}
	for (;;) {
		char chunk[65536];
		size_t got = fread(chunk, 1, sizeof(chunk), fp);
		if (got && buf_append(&b, chunk, got)) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		if (got < sizeof(chunk))
			break;
	}
	if (ferror(fp)) {
		ret = hy_err_set(err, HY_ESHARD, "%s: cannot read: %s", path,
				 strerror(errno));
		goto out;
	}
	j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	list = cJSON_GetObjectItemCaseSensitive(j, "samples");
	if (!cJSON_IsArray(list)) {
		ret = hy_err_set(err, HY_ESHARD,
				 "%s: not a generate record (no \"samples\" "
				 "list)",
				 path);
		goto out;
	}
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
		const cJSON *fa = cJSON_GetObjectItemCaseSensitive(it, "fate");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "reason");
		const cJSON *hx =
		    cJSON_GetObjectItemCaseSensitive(it, "key_hex");
		char raw[4096];
		size_t fi = 0;

		while (fi < 4 && !(cJSON_IsString(fa) &&
				   !strcmp(fa->valuestring, names[fi])))
			fi++;
		if (!cJSON_IsString(k) || fi == 4) {
			ret = hy_err_set(err, HY_ESHARD,
					 "%s: entry %zu has no key or an "
					 "unknown fate",
					 path, f->n);
			goto out;
		}
		const char *key = k->valuestring;
		size_t key_len = strlen(key);
		if (cJSON_IsString(hx)) {
			size_t hl = strlen(hx->valuestring), ki;
			for (ki = 0; ki < hl / 2 && ki + 1 < sizeof(raw);
			     ki++) {
				unsigned v;
				if (sscanf(hx->valuestring + 2 * ki, "%2x",
					   &v) != 1)
					break;
				raw[ki] = (char)v;
			}
			if (hl % 2 || ki != hl / 2) {
				ret = hy_err_set(err, HY_ESHARD,
						 "%s: entry %zu: bad key_hex",
						 path, f->n);
				goto out;
			}
			raw[ki] = '\0';
			key = raw;
			key_len = ki;
		}
		if (fates_add(f, key, key_len, (enum fate)fi,
			      cJSON_IsString(r) ? r->valuestring : NULL)) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
	}
	f->sorted = malloc((f->n + 1) * sizeof(*f->sorted));
	if (!f->sorted) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < f->n; i++)
		f->sorted[i] = i;
	qsort_r(f->sorted, f->n, sizeof(*f->sorted), cmp_key_r, f);
out:
	if (ret)
		fates_release(f);
	cJSON_Delete(j);
	buf_release(&b);
	if (fp)
		fclose(fp);
	free(path);
	free(dir);
	return ret;
}

const struct fate_entry *fates_find(const struct fates *f, const char *key,
				    size_t key_len)
{
	size_t lo = 0, hi = f->sorted ? f->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = f->v[f->sorted[mid]].key;
		int c = strncmp(k, key, key_len);

		if (!c)
			c = k[key_len] ? 1 : 0;
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return &f->v[f->sorted[mid]];
	}
	return NULL;
}

void fates_release(struct fates *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].key);
		free(f->v[i].reason);
	}
	free(f->v);
	free(f->sorted);
	memset(f, 0, sizeof(*f));
}
