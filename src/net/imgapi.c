/* Image API bodies are written by hand (a few fields, escaped by jsonw)
 * and answers parsed with cJSON: the base64 string is located by the
 * parser, never by searching the text. */
#include "net/imgapi.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"

const char *imgapi_health_path(enum imgapi_kind k)
{
	return k == IMGAPI_A1111 ? "/sdapi/v1/sd-models" : "/v1/models";
}

static const char *const dalle2_sizes[] = {"256x256", "512x512", "1024x1024",
					   NULL};
static const char *const dalle3_sizes[] = {"1024x1024", "1792x1024",
					   "1024x1792", NULL};
static const char *const gpt_image_sizes[] = {"1024x1024", "1536x1024",
					      "1024x1536", NULL};

/* OpenAI's image models and the sizes their API accepts (platform docs,
 * images/create "size"); another of theirs is sent as asked. */
static const struct {
	const char *name;
	const char *const *sizes;
} openai_models[] = {
    {"dall-e-2", dalle2_sizes},		{"dall-e-3", dalle3_sizes},
    {"gpt-image-1", gpt_image_sizes},	{"gpt-image-1-mini", gpt_image_sizes},
    {"gpt-image-1.5", gpt_image_sizes},
};

int imgapi_openai_model(const char *model)
{
	return model && (!strncmp(model, "dall-e-", 7) ||
			 !strncmp(model, "gpt-image-", 10));
}

const char *const *imgapi_fixed_sizes(const char *model)
{
	for (size_t i = 0;
	     model && i < sizeof(openai_models) / sizeof(*openai_models); i++)
		if (!strcmp(model, openai_models[i].name))
			return openai_models[i].sizes;
	return NULL;
}

int imgapi_fit_size(const char *model, int ow, int oh, int max_side, int *w,
		    int *h)
{
	const char *const *s = imgapi_fixed_sizes(model);
	double want = ow > 0 && oh > 0 ? log((double)ow / oh) : 0;
	double best_a = HUGE_VAL, best_s = HUGE_VAL;

	if (!s)
		return 0;
	for (; *s; s++) {
		int sw = atoi(*s), sh = atoi(strchr(*s, 'x') + 1);
		double a = fabs(log((double)sw / sh) - want);
		double side = fabs(log((double)(sw > sh ? sw : sh) /
				       (max_side > 0 ? max_side : 1024)));

		/* aspects within 1%: the same shape, the side decides */
		if (a < best_a - 0.01 || (a < best_a + 0.01 && side < best_s)) {
			best_a = a < best_a ? a : best_a;
			best_s = side;
			*w = sw;
			*h = sh;
		}
	}
	return 1;
}

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* The bodies are compact JSON ("," and ":" without spaces), as they have
 * always been sent: names are written whole with their separators, values
 * through jsonw. */
static int put_size(struct buf *b, int w, int h)
{
	return put(b, ",\"size\":\"") || jsonw_int(b, w) || put(b, "x") ||
	       jsonw_int(b, h) || put(b, "\"");
}

/* stable-diffusion.cpp's extra args: the sdcpp API's fields (api.md,
 * "sd_cpp_extra_args"), appended to the prompt. The server finds the block
 * with the regex <sd_cpp_extra_args>(.*?)</sd_cpp_extra_args>, whose '.'
 * stops at a line break and whose end is the first closing tag: the JSON
 * is one line (jsonw escapes control characters) and every '<' in it is
 * written \u003c, so no negative prompt can close the block early. Nothing
 * separates the block from the prompt: the server cuts it out, and the
 * prompt it keeps is ours, byte for byte. */
static int sdcpp_extra_args(const struct imgapi_opts *o, unsigned long seed,
			    struct buf *out)
{
	struct buf j = {0};
	int r = 0, nested = o->steps > 0 || o->cfg_scale >= 0 || o->sampler;

	r |= put(&j, "{\"seed\":");
	r |= jsonw_uint(&j, seed);
	if (o->negative) {
		r |= put(&j, ",\"negative_prompt\":");
		r |= jsonw_string(&j, o->negative, strlen(o->negative));
	}
	if (nested) {
		const char *sep = "";
		r |= put(&j, ",\"sample_params\":{");
		if (o->steps > 0) {
			r |= put(&j, "\"sample_steps\":");
			r |= jsonw_int(&j, o->steps);
			sep = ",";
		}
		if (o->sampler) {
			r |= put(&j, sep);
			r |= put(&j, "\"sample_method\":");
			r |= jsonw_string(&j, o->sampler, strlen(o->sampler));
			sep = ",";
		}
		if (o->cfg_scale >= 0) {
			r |= put(&j, sep);
			r |= put(&j, "\"guidance\":{\"txt_cfg\":");
			r |= jsonw_double(&j, "%.6g", o->cfg_scale);
			r |= put(&j, "}");
		}
		r |= put(&j, "}");
	}
	r |= put(&j, "}");
	r |= put(out, "<sd_cpp_extra_args>");
	for (size_t i = 0; !r && i < j.len; i++)
		r |= j.data[i] == '<' ? put(out, "\\u003c")
				      : buf_append(out, j.data + i, 1);
	r |= put(out, "</sd_cpp_extra_args>");
	buf_release(&j);
	return r;
}

int imgapi_request(const struct imgapi_opts *o, const char *prompt, size_t len,
		   unsigned long seed, int w, int h, struct buf *path,
		   struct buf *body)
{
	int r = 0;
	/* OpenAI's own models refuse fields they do not know ("Unknown
	 * parameter: 'seed'"), and gpt-image-* refuse response_format too
	 * (they always answer b64_json). */
	int strict = o->kind == IMGAPI_OPENAI && imgapi_openai_model(o->model);

	buf_clear(path);
	buf_clear(body);
	if (o->kind == IMGAPI_SDCPP) {
		struct buf p = {0};

		r |= put(path, "/v1/images/generations");
		r |= buf_append(&p, prompt, len);
		r |= sdcpp_extra_args(o, seed, &p);
		r |= put(body, "{\"prompt\":");
		r |= r ? 0 : jsonw_string(body, p.data, p.len);
		buf_release(&p);
		r |= put_size(body, w, h);
		r |= put(body, ",\"n\":1}");
		return r ? -1 : 0;
	}
	if (o->kind == IMGAPI_OPENAI) {
		r |= put(path, "/v1/images/generations");
		r |= put(body, "{\"prompt\":");
		r |= jsonw_string(body, prompt, len);
		if (o->model) {
			r |= put(body, ",\"model\":");
			r |= jsonw_string(body, o->model, strlen(o->model));
		}
		r |= put_size(body, w, h);
		r |= put(body, ",\"n\":1");
		if (!strict || strncmp(o->model, "gpt-image-", 10) != 0)
			r |= put(body, ",\"response_format\":\"b64_json\"");
		if (strict) {
			r |= put(body, "}");
			return r ? -1 : 0;
		}
		/* An extension local OpenAI-compatible servers accept: without
		 * it a re-run could not reproduce an image. */
		r |= put(body, ",\"seed\":");
		r |= jsonw_uint(body, seed);
	} else {
		r |= put(path, "/sdapi/v1/txt2img");
		r |= put(body, "{\"prompt\":");
		r |= jsonw_string(body, prompt, len);
		/* %lu: above LONG_MAX, %ld would send -1, A1111's "random" */
		r |= put(body, ",\"seed\":");
		r |= jsonw_uint(body, seed);
		r |= put(body, ",\"width\":");
		r |= jsonw_int(body, w);
		r |= put(body, ",\"height\":");
		r |= jsonw_int(body, h);
		r |= put(body, ",\"batch_size\":1,\"n_iter\":1");
		if (o->sampler) {
			r |= put(body, ",\"sampler_name\":");
			r |= jsonw_string(body, o->sampler, strlen(o->sampler));
		}
		if (o->model) {
			r |= put(
			    body,
			    ",\"override_settings\":{\"sd_model_checkpoint\":");
			r |= jsonw_string(body, o->model, strlen(o->model));
			r |= put(body, "}");
		}
	}
	/* Sampling options: A1111 fields, which OpenAI-compatible local
	 * servers take as extensions; only sent when asked for. */
	if (o->steps > 0)
		r |= put(body, ",\"steps\":") || jsonw_int(body, o->steps);
	if (o->cfg_scale >= 0)
		r |= put(body, ",\"cfg_scale\":") ||
		     jsonw_double(body, "%.6g", o->cfg_scale);
	if (o->negative) {
		r |= put(body, ",\"negative_prompt\":");
		r |= jsonw_string(body, o->negative, strlen(o->negative));
	}
	r |= put(body, "}");
	return r ? -1 : 0;
}

static signed char b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (signed char)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (signed char)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (signed char)(c - '0' + 52);
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int imgapi_b64_decode(const char *s, size_t n, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char *d;
	size_t pad = 0, k = 0;

	if (n % 4)
		return -1;
	if (n && p[n - 1] == '=')
		pad++;
	if (n > 1 && p[n - 2] == '=')
		pad++;
	if (buf_reserve(out, n / 4 * 3 + 1))
		return -2;
	d = (unsigned char *)out->data + out->len;
	for (size_t i = 0; i < n; i += 4) {
		int last = i + 4 == n;
		signed char a = b64val(p[i]), b = b64val(p[i + 1]);
		signed char c = last && pad == 2 ? 0 : b64val(p[i + 2]);
		signed char e = last && pad >= 1 ? 0 : b64val(p[i + 3]);

		if (a < 0 || b < 0 || c < 0 || e < 0)
			return -1;
		d[k++] = (unsigned char)(a << 2 | b >> 4);
		if (!last || pad < 2)
			d[k++] = (unsigned char)((b & 15) << 4 | c >> 2);
		if (!last || pad < 1)
			d[k++] = (unsigned char)((c & 3) << 6 | e);
	}
	out->len += k;
	out->data[out->len] = '\0';
	return 0;
}

/* What the protocol makes the server apply, before any report. */
static void used_asked(const struct imgapi_opts *o, unsigned long seed,
		       struct imgapi_used *u)
{
	memset(u, 0, sizeof(*u));
	u->cfg_scale = -1;
	if (o->kind == IMGAPI_OPENAI) {
		/* OpenAI reports neither a seed nor sampling options, and
		 * whether a compatible server honoured our extensions cannot
		 * be told; the model is the one it was told to use. */
		if (o->model)
			snprintf(u->model, sizeof(u->model), "%s", o->model);
		return;
	}
	/* A1111 applies the fields it was sent (an unknown sampler or
	 * checkpoint is an error, not ignored); sd.cpp applies its extra
	 * args, but ignores a sample_method it does not know without a word,
	 * and serves the one model it was started with. */
	u->seed_known = 1;
	u->seed = seed;
	u->steps = o->steps;
	u->cfg_scale = o->cfg_scale;
	if (o->kind == IMGAPI_A1111 && o->sampler)
		snprintf(u->sampler, sizeof(u->sampler), "%s", o->sampler);
	if (o->kind == IMGAPI_A1111 && o->model)
		snprintf(u->model, sizeof(u->model), "%s", o->model);
}

/* A1111's "info": a JSON text (StableDiffusionProcessing.js()) with the
 * seed, steps, cfg_scale, sampler_name and sd_model_name the image was
 * made with, also where the request left them to the server. What it
 * reports overrides what was asked. */
static void used_reported(const cJSON *answer, struct imgapi_used *u)
{
	const char *text = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(answer, "info"));
	cJSON *info = text ? cJSON_Parse(text) : NULL;
	const cJSON *v;
	const char *s;

	if (!cJSON_IsObject(info))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(info, "seed");
	/* exact below 2^53 */
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	    v->valuedouble < 9007199254740992.0 &&
	    v->valuedouble == floor(v->valuedouble)) {
		u->seed_known = 1;
		u->seed = (unsigned long)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(info, "steps");
	if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e6)
		u->steps = (long)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(info, "cfg_scale");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0)
		u->cfg_scale = v->valuedouble;
	s = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(info, "sampler_name"));
	if (s && *s)
		snprintf(u->sampler, sizeof(u->sampler), "%s", s);
	s = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(info, "sd_model_name"));
	if (s && *s)
		snprintf(u->model, sizeof(u->model), "%s", s);
out:
	cJSON_Delete(info);
}

int imgapi_parse(const struct imgapi_opts *o, unsigned long seed,
		 const char *body, size_t len, struct buf *image,
		 struct imgapi_used *used, char *why, size_t why_size)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *item = NULL, *arr;
	const char *s;
	size_t n;
	int r;

	buf_clear(image);
	if (!j) {
		snprintf(why, why_size, "answer is not JSON (%zu bytes)", len);
		return HY_ESAMPLE;
	}
	if (o->kind != IMGAPI_A1111) {
		arr = cJSON_GetObjectItemCaseSensitive(j, "data");
		item = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, 0) : NULL;
		item = item ? cJSON_GetObjectItemCaseSensitive(item, "b64_json")
			    : NULL;
	} else {
		arr = cJSON_GetObjectItemCaseSensitive(j, "images");
		item = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, 0) : NULL;
	}
	s = cJSON_GetStringValue(item); /* NULL unless a string */
	if (!s) {
		snprintf(why, why_size, "answer has no image (%s)",
			 o->kind != IMGAPI_A1111 ? "data[0].b64_json"
						 : "images[0]");
		cJSON_Delete(j);
		return HY_ESAMPLE;
	}
	n = strlen(s);
	/* Some servers send a data URL. */
	if (!strncmp(s, "data:", 5)) {
		const char *comma = strchr(s, ',');
		if (comma) {
			n -= (size_t)(comma + 1 - s);
			s = comma + 1;
		}
	}
	r = imgapi_b64_decode(s, n, image);
	if (used) {
		used_asked(o, seed, used);
		if (o->kind == IMGAPI_A1111)
			used_reported(j, used);
	}
	cJSON_Delete(j);
	if (r == -2) {
		snprintf(why, why_size, "out of memory");
		return HY_ESAMPLE;
	}
	if (r || !image->len) {
		snprintf(why, why_size,
			 "image is not valid base64 (%zu characters)", n);
		buf_clear(image);
		return HY_ESAMPLE;
	}
	return HY_OK;
}
