/* cJSON keeps object members in order, so replacing values in place keeps
 * the layout of the original record. */
#include "formats/metaedit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/pyjson.h"

/* Parses json as Python's json module does (pyjson.h), the reader that
 * decides which samples are face samples: an edit must start from the
 * record those decisions were made on. */
static cJSON *parse(const char *json, size_t len, struct hy_err *err)
{
	cJSON *j;

	if (!json)
		return cJSON_CreateObject();
	j = pyjson_parse_copy(json, len, err);
	if (!j)
		return NULL;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		hy_err_set(err, HY_ESAMPLE, "metadata is not a JSON object");
		return NULL;
	}
	return j;
}

/* Deletes every member named key. Python's json.load keeps the last of
 * duplicate keys, so leaving a later duplicate would ship the old value. */
static void drop(cJSON *o, const char *key)
{
	while (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
}

/* Sets key to item, in place when it exists (its duplicates removed),
 * else at the end. */
static int set(cJSON *o, const char *key, cJSON *item)
{
	cJSON *old;

	if (!item)
		return -1;
	old = cJSON_GetObjectItemCaseSensitive(o, key);
	if (old) {
		while (old->next) {
			cJSON *c = old->next;
			if (c->string && !strcmp(c->string, key))
				cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
			else
				old = c;
		}
		return cJSON_ReplaceItemInObjectCaseSensitive(o, key, item)
			   ? 0
			   : -1;
	}
	return cJSON_AddItemToObject(o, key, item) ? 0 : -1;
}

static int finish(cJSON *j, int bad, struct buf *out, struct hy_err *err)
{
	char *s = bad ? NULL : cJSON_PrintUnformatted(j);
	int ret = HY_OK;

	cJSON_Delete(j);
	buf_clear(out);
	if (!s || buf_append(out, s, strlen(s)))
		ret = hy_err_set(err, HY_EFATAL, "out of memory");
	free(s);
	return ret;
}

/* Fields that describe the photo that is no longer there. */
static void drop_photo_fields(cJSON *j)
{
	static const char *const gone[] = {"url", "exif", "original_width",
					   "original_height"};

	for (size_t i = 0; i < sizeof(gone) / sizeof(*gone); i++)
		drop(j, gone[i]);
}

int metaedit_synthetic(const char *json, size_t len,
		       const struct metaedit_synth *s, struct buf *out,
		       struct hy_err *err)
{
	cJSON *j = parse(json, len, err), *syn;
	char *prompt, seed[32];
	int bad = 0;

	if (!j)
		return err->code;
	prompt = malloc(s->prompt_len + 1);
	syn = cJSON_CreateObject();
	if (!prompt || !syn) {
		free(prompt);
		cJSON_Delete(syn);
		cJSON_Delete(j);
		return hy_err_set(err, HY_EFATAL, "out of memory");
	}
	memcpy(prompt, s->prompt, s->prompt_len);
	prompt[s->prompt_len] = '\0';
	bad |= set(j, "caption", cJSON_CreateString(prompt));
	free(prompt);
	bad |= set(j, "face_bboxes", cJSON_CreateArray());
	bad |= set(j, "width", cJSON_CreateNumber(s->w));
	bad |= set(j, "height", cJSON_CreateNumber(s->h));
	bad |= set(j, "sha256", cJSON_CreateString(s->sha256));
	drop_photo_fields(j);
	bad |= !cJSON_AddStringToObject(syn, "generator", s->generator);
	bad |= !(s->model ? cJSON_AddStringToObject(syn, "model", s->model)
			  : cJSON_AddNullToObject(syn, "model"));
	/* As an integer: a double keeps 15 digits and rounds larger seeds. */
	snprintf(seed, sizeof(seed), "%lu", s->seed);
	if (s->has_seed)
		bad |= !cJSON_AddRawToObject(syn, "seed", seed);
	if (s->steps > 0)
		bad |= !cJSON_AddNumberToObject(syn, "steps", (double)s->steps);
	if (s->cfg_scale >= 0)
		bad |= !cJSON_AddNumberToObject(syn, "cfg_scale", s->cfg_scale);
	if (s->sampler)
		bad |= !cJSON_AddStringToObject(syn, "sampler", s->sampler);
	bad |= !(s->llm_model
		     ? cJSON_AddStringToObject(syn, "llm_model", s->llm_model)
		     : cJSON_AddNullToObject(syn, "llm_model"));
	bad |= set(j, "synthetic", syn);
	return finish(j, bad, out, err);
}

int metaedit_blurred(const char *json, size_t len,
		     const struct metaedit_blur *b, struct buf *out,
		     struct hy_err *err)
{
	cJSON *j = parse(json, len, err), *d;
	int bad = 0;

	if (!j)
		return err->code;
	d = cJSON_CreateObject();
	if (!d) {
		cJSON_Delete(j);
		return hy_err_set(err, HY_EFATAL, "out of memory");
	}
	bad |= set(j, "width", cJSON_CreateNumber(b->w));
	bad |= set(j, "height", cJSON_CreateNumber(b->h));
	bad |= set(j, "sha256", cJSON_CreateString(b->sha256));
	/* The URL and EXIF lead back to the unblurred photo. */
	drop(j, "url");
	drop(j, "exif");
	bad |= !cJSON_AddStringToObject(d, "method", "face-blur");
	bad |= !cJSON_AddNumberToObject(d, "boxes", (double)b->boxes);
	bad |= !cJSON_AddStringToObject(d, "reason", b->reason);
	bad |= set(j, "deidentified", d);
	return finish(j, bad, out, err);
}
