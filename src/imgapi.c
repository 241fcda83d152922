/* Image API bodies are written by hand (a few fields, escaped by jsonw)
 * and answers parsed with cJSON: the base64 string is located by the
 * parser, never by searching the text. */
#include "imgapi.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

const char *imgapi_health_path(enum imgapi_kind k)
{
	return k == IMGAPI_OPENAI ? "/v1/models" : "/sdapi/v1/progress";
}

static int put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static int putf(struct buf *b, const char *fmt, long v)
{
	char num[64];

	snprintf(num, sizeof(num), fmt, v);
	return put(b, num);
}

int imgapi_request(const struct imgapi_opts *o, const char *prompt, size_t len,
		   unsigned long seed, int w, int h, struct buf *path,
		   struct buf *body)
{
	char num[64];
	int r = 0;

	buf_clear(path);
	buf_clear(body);
	if (o->kind == IMGAPI_OPENAI) {
		r |= put(path, "/v1/images/generations");
		r |= put(body, "{\"prompt\":");
		r |= jsonw_string(body, prompt, len);
		if (o->model) {
			r |= put(body, ",\"model\":");
			r |= jsonw_string(body, o->model, strlen(o->model));
		}
		snprintf(num, sizeof(num), ",\"size\":\"%dx%d\"", w, h);
		r |= put(body, num);
		r |= put(body, ",\"n\":1,\"response_format\":\"b64_json\"");
		/* An extension local OpenAI-compatible servers accept: without
		 * it a re-run could not reproduce an image. */
		snprintf(num, sizeof(num), ",\"seed\":%lu", seed);
		r |= put(body, num);
	} else {
		r |= put(path, "/sdapi/v1/txt2img");
		r |= put(body, "{\"prompt\":");
		r |= jsonw_string(body, prompt, len);
		/* %lu: above LONG_MAX, %ld would send -1, A1111's "random" */
		snprintf(num, sizeof(num), ",\"seed\":%lu", seed);
		r |= put(body, num);
		snprintf(num, sizeof(num), ",\"width\":%d,\"height\":%d", w, h);
		r |= put(body, num);
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
		r |= putf(body, ",\"steps\":%ld", o->steps);
	if (o->cfg_scale >= 0) {
		snprintf(num, sizeof(num), ",\"cfg_scale\":%.6g", o->cfg_scale);
		r |= put(body, num);
	}
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

int imgapi_parse(const struct imgapi_opts *o, const char *body, size_t len,
		 struct buf *image, char *why, size_t why_size)
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
	if (o->kind == IMGAPI_OPENAI) {
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
			 o->kind == IMGAPI_OPENAI ? "data[0].b64_json"
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
