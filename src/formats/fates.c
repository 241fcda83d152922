/* A JSON file, small (one line a face sample), read whole. */
#include "formats/fates.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/jsonw.h"
#include "util/outfile.h"

#define FATES_WRITE_CHUNK (64u << 10)

static const char *const names[] = {"synthetic", "blurred", "dropped", "kept"};

const char *fate_name(enum fate f)
{
	return names[f];
}

/* The one copy of reason, or NULL on ENOMEM. */
static const char *intern(struct fates *f, const char *reason)
{
	size_t len = strlen(reason), mask, i;
	const char *p;

	if ((f->nreasons + 1) * 2 > f->reasons_slots) {
		size_t n = f->reasons_slots ? f->reasons_slots * 2 : 16;
		const char **t = calloc(n, sizeof(*t));
		if (!t)
			return NULL;
		for (size_t k = 0; k < f->reasons_slots; k++) {
			if (!f->reasons[k])
				continue;
			i = hash_fnv1a64(f->reasons[k], strlen(f->reasons[k])) &
			    (n - 1);
			while (t[i])
				i = (i + 1) & (n - 1);
			t[i] = f->reasons[k];
		}
		free(f->reasons);
		f->reasons = t;
		f->reasons_slots = n;
	}
	mask = f->reasons_slots - 1;
	i = hash_fnv1a64(reason, len) & mask;
	while (f->reasons[i] && strcmp(f->reasons[i], reason) != 0)
		i = (i + 1) & mask;
	if (f->reasons[i])
		return f->reasons[i];
	p = strpool_add(&f->strings, reason, len);
	if (!p)
		return NULL;
	f->reasons[i] = p;
	f->nreasons++;
	return p;
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
	e->key = strpool_add(&f->strings, key, key_len);
	e->fate = fate;
	e->reason = reason ? intern(f, reason) : NULL;
	if (!e->key || (reason && !e->reason))
		return -1;
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

/* Appends entry e as a line of the record; nonzero on ENOMEM. */
static int put_entry(struct buf *b, const struct fate_entry *e, int first)
{
	int bad = 0;

	bad |= buf_append(
	    b, first ? "\n  {\"key\": " : ",\n  {\"key\": ", first ? 11 : 12);
	bad |= jsonw_string(b, e->key, strlen(e->key));
	if (!utf8_ok((const unsigned char *)e->key)) {
		/* A tar name in another encoding: JSON would turn its bytes
		 * into U+FFFD and reshard would miss the key. */
		bad |= buf_append(b, ", \"key_hex\": \"", 14);
		for (const unsigned char *k = (const unsigned char *)e->key; *k;
		     k++) {
			char hx[3];
			snprintf(hx, sizeof(hx), "%02x", *k);
			bad |= buf_append(b, hx, 2);
		}
		bad |= buf_putc(b, '"');
	}
	bad |= buf_append(b, ", \"fate\": \"", 11);
	bad |= buf_append(b, names[e->fate], strlen(names[e->fate]));
	bad |= buf_putc(b, '"');
	if (e->reason) {
		bad |= buf_append(b, ", \"reason\": ", 12);
		bad |= jsonw_string(b, e->reason, strlen(e->reason));
	}
	bad |= buf_putc(b, '}');
	return bad;
}

int fates_write(const struct fates *f, const char *dir, int do_fsync,
		struct hy_err *err)
{
	struct outfile of;
	struct buf b = {0};
	int ret;

	/* Written as it is laid out, 64 KiB at a time: no second copy of a
	 * big shard's record in memory. */
	ret = outfile_open(&of, dir, FATES_FILE, "", do_fsync, err);
	if (ret)
		return ret;
	if (buf_append(&b, "{\"samples\": [", 13))
		goto enomem;
	for (size_t i = 0; i < f->n; i++) {
		if (put_entry(&b, &f->v[i], i == 0))
			goto enomem;
		if (b.len >= FATES_WRITE_CHUNK) {
			ret = outfile_write(&of, b.data, b.len, err);
			if (ret)
				goto fail;
			buf_clear(&b);
		}
	}
	if (buf_append(&b, "\n]}\n", 4))
		goto enomem;
	ret = outfile_write(&of, b.data, b.len, err);
	if (ret)
		goto fail;
	buf_release(&b);
	return outfile_commit(&of, err); /* aborts by itself on failure */
enomem:
	ret = hy_err_set(err, HY_EFATAL, "out of memory");
fail:
	outfile_abort(&of);
	buf_release(&b);
	return ret;
}

/* Adds one entry read back (an object of the record). HY_OK, HY_ESHARD
 * naming path, or HY_EFATAL. */
static int load_entry(struct fates *f, const cJSON *it, const char *path,
		      struct hy_err *err)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
	const cJSON *fa = cJSON_GetObjectItemCaseSensitive(it, "fate");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "reason");
	const cJSON *hx = cJSON_GetObjectItemCaseSensitive(it, "key_hex");
	char raw[4096];
	size_t fi = 0;
	const char *key;
	size_t key_len;

	while (fi < 4 &&
	       !(cJSON_IsString(fa) && !strcmp(fa->valuestring, names[fi])))
		fi++;
	if (!cJSON_IsString(k) || fi == 4)
		return hy_err_set(err, HY_ESHARD,
				  "%s: entry %zu has no key or an unknown fate",
				  path, f->n);
	key = k->valuestring;
	key_len = strlen(key);
	if (cJSON_IsString(hx)) {
		size_t hl = strlen(hx->valuestring), ki;
		for (ki = 0; ki < hl / 2 && ki + 1 < sizeof(raw); ki++) {
			unsigned v;
			if (sscanf(hx->valuestring + 2 * ki, "%2x", &v) != 1)
				break;
			raw[ki] = (char)v;
		}
		if (hl % 2 || ki != hl / 2)
			return hy_err_set(err, HY_ESHARD,
					  "%s: entry %zu: bad key_hex", path,
					  f->n);
		raw[ki] = '\0';
		key = raw;
		key_len = ki;
	}
	if (fates_add(f, key, key_len, (enum fate)fi,
		      cJSON_IsString(r) ? r->valuestring : NULL))
		return hy_err_set(err, HY_EFATAL, "out of memory");
	return HY_OK;
}

/* Walks the record as fates_write lays it out, one entry a line: checks
 * the layout only (f NULL), or parses each line alone into f, so that no
 * tree of the whole file is built. Returns HY_OK, HY_ESHARD or HY_EFATAL
 * as load_entry, or 1 when the text is laid out otherwise (f is then left
 * empty: the caller reads the text whole). */
static int walk_lines(struct fates *f, const char *t, size_t len,
		      const char *path, struct hy_err *err)
{
	static const char head[] = "{\"samples\": [", tail[] = "\n]}\n";
	const size_t tail_len = sizeof(tail) - 1;
	const char *q = t + sizeof(head) - 1, *end = t + len;
	int ret;

	if (len < sizeof(head) - 1 || memcmp(t, head, sizeof(head) - 1) != 0)
		return 1;
	for (int first = 1;; first = 0) {
		const char *nl, *obj, *stop, *pend = NULL;
		cJSON *it;

		if ((size_t)(end - q) == tail_len && !memcmp(q, tail, tail_len))
			return HY_OK;
		if (!first && *q++ != ',')
			return 1;
		if (end - q < 3 || memcmp(q, "\n  ", 3) != 0)
			return 1;
		obj = q + 3;
		nl = memchr(obj, '\n', (size_t)(end - obj));
		if (!nl || nl == obj)
			return 1;
		stop = nl[-1] == ',' ? nl - 1 : nl;
		q = stop;
		if (!f)
			continue;
		it = cJSON_ParseWithLengthOpts(obj, (size_t)(stop - obj), &pend,
					       0);
		if (!it || pend != stop || !cJSON_IsObject(it)) {
			cJSON_Delete(it);
			fates_release(f);
			return 1;
		}
		ret = load_entry(f, it, path, err);
		cJSON_Delete(it);
		if (ret)
			return ret;
	}
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
	struct buf b = {0};
	cJSON *j = NULL;
	const cJSON *list, *it;
	int ret = HY_OK;

	memset(f, 0, sizeof(*f));
	if (!path) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	if (buf_read_file(&b, path, 0, NULL) != HY_OK) {
		if (errno == ENOMEM)
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
		else if (errno != ENOENT)
			ret = hy_err_set(err, hy_err_input(errno, HY_ESHARD),
					 "%s: cannot read: %s", path,
					 strerror(errno));
		goto out;
	}
	ret = walk_lines(NULL, b.data ? b.data : "", b.len, path, err);
	if (ret == 0)
		ret = walk_lines(f, b.data ? b.data : "", b.len, path, err);
	if (ret == 1) { /* not as we write it: the whole tree */
		ret = HY_OK;
		j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
		list = cJSON_GetObjectItemCaseSensitive(j, "samples");
		if (!cJSON_IsArray(list)) {
			ret = hy_err_set(err, HY_ESHARD,
					 "%s: not a generate record (no "
					 "\"samples\" list)",
					 path);
			goto out;
		}
		cJSON_ArrayForEach(it, list)
		{
			ret = load_entry(f, it, path, err);
			if (ret)
				goto out;
		}
	}
	if (ret)
		goto out;
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
	strpool_release(&f->strings);
	free(f->reasons);
	free(f->v);
	free(f->sorted);
	memset(f, 0, sizeof(*f));
}

int fates_count(const char *edits_dir, const char *name, struct buf *file,
		int64_t counts[4], struct hy_err *err)
{
	char *dir = path_join(edits_dir, name);
	char *path = dir ? path_join(dir, FATES_FILE) : NULL;
	cJSON *j = NULL, *list, *e;
	int ret;

	if (!path) {
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
		goto out;
	}
	ret = buf_read_file(file, path, 0, err);
	if (ret) {
		if (errno == ENOENT)
			ret = 1;
		goto out;
	}
	j = cJSON_ParseWithLength(file->data, file->len);
	if (!j) {
		ret = hy_err_set(err, HY_ESHARD, "'%s': not JSON", path);
		goto out;
	}
	list = cJSON_GetObjectItemCaseSensitive(j, "samples");
	if (!cJSON_IsArray(list)) {
		ret = hy_err_set(err, HY_ESHARD, "'%s': no \"samples\" list",
				 path);
		goto out;
	}
	cJSON_ArrayForEach(e, list)
	{
		const char *f = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(e, "fate"));

		for (int k = 0; f && k < 4; k++)
			if (!strcmp(f, names[k]))
				counts[k]++;
	}
out:
	cJSON_Delete(j);
	free(path);
	free(dir);
	return ret;
}
