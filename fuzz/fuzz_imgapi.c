/* Fuzz target: text-to-image answers (A1111 and OpenAI) and the strict
 * base64 decoder under them, checked against a plain reference decoder;
 * the input as a prompt must give request bodies that are JSON; the input
 * as an original KEY.json must give edited metadata that is a JSON object
 * without the photo's URL (metaedit parses the same untrusted text). */
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/imgapi.h"
#include "formats/metaedit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int val(uint8_t c)
{
	const char *al =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(al, c) : NULL;

	return p ? (int)(p - al) : -1;
}

/* RFC 4648 with '=' only at the end of the last quantum (unused bits
 * not checked, as imgapi does not). Returns the length, or -1. */
static long ref_decode(const uint8_t *s, size_t n, uint8_t *out)
{
	long k = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int last = i + 4 == n, v[4], pad = 0;

		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && last && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			v[j] = val(s[i + j]);
			if (v[j] < 0 || pad)
				return -1; /* foreign, or data after '=' */
		}
		out[k++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[k++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[k++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
	}
	return k;
}

static void check_b64(const uint8_t *data, size_t size)
{
	uint8_t *ref = malloc(size / 4 * 3 + 1);
	struct buf out = {0};
	long n;
	int r;

	if (!ref)
		return;
	n = ref_decode(data, size, ref);
	buf_append(&out, "pre", 3); /* decoding appends */
	r = imgapi_b64_decode((const char *)data, size, &out);
	if (r == -2)
		goto done;
	if ((n < 0) != (r < 0) || out.len != 3 + (n < 0 ? 0 : (size_t)n) ||
	    memcmp(out.data, "pre", 3) ||
	    (n > 0 && memcmp(out.data + 3, ref, (size_t)n))) {
		fprintf(stderr, "b64: decoder %d (%zu bytes), reference %ld\n",
			r, out.len - 3, n);
		abort();
	}
done:
	free(ref);
	buf_release(&out);
}

static void check_request(const struct imgapi_opts *o, const uint8_t *data,
			  size_t size)
{
	struct buf path = {0}, body = {0};
	cJSON *j;

	if (imgapi_request(o, (const char *)data, size, 42, 512, 512, &path,
			   &body) == 0) {
		j = cJSON_ParseWithLength(body.data, body.len);
		if (!cJSON_IsString(cJSON_GetObjectItem(j, "prompt"))) {
			fprintf(stderr, "request body is not JSON: %s\n",
				body.data);
			abort();
		}
		cJSON_Delete(j);
	}
	buf_release(&path);
	buf_release(&body);
}

static void check_edited(int r, const struct buf *out)
{
	cJSON *j;

	if (r != HY_OK)
		return;
	j = cJSON_ParseWithLength(out->data, out->len);
	if (!cJSON_IsObject(j) || cJSON_GetObjectItemCaseSensitive(j, "url") ||
	    cJSON_GetObjectItemCaseSensitive(j, "exif")) {
		fprintf(stderr, "edited metadata: %s\n", out->data);
		abort();
	}
	cJSON_Delete(j);
}

static void check_metaedit(const uint8_t *data, size_t size)
{
	struct metaedit_synth s = {.prompt = "p",
				   .prompt_len = 1,
				   .w = 64,
				   .h = 64,
				   .sha256 = "00",
				   .generator = "a1111",
				   .has_seed = 1,
				   .seed = 7,
				   .steps = 30,
				   .cfg_scale = -1};
	struct metaedit_blur b = {64, 64, "00", 1, "r"};
	struct buf out = {0};
	struct hy_err err;

	check_edited(
	    metaedit_synthetic((const char *)data, size, &s, &out, &err), &out);
	check_edited(metaedit_blurred((const char *)data, size, &b, &out, &err),
		     &out);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgapi_opts a1111 = {IMGAPI_A1111, "m", 20, 7.5, "Euler", "x"};
	struct imgapi_opts openai = {IMGAPI_OPENAI, NULL, 0, -1, NULL, NULL};
	struct imgapi_opts sdcpp = {IMGAPI_SDCPP, NULL, 8, 4.5, "euler", "<x>"};
	struct imgapi_used used;
	struct buf img = {0};
	char why[128];

	/* used: the answer's "info" text is read too */
	if (imgapi_parse(&a1111, 42, (const char *)data, size, &img, &used, why,
			 sizeof(why)) == HY_OK &&
	    !img.len)
		abort(); /* an image of no bytes is no image */
	if (imgapi_parse(&openai, 42, (const char *)data, size, &img, NULL, why,
			 sizeof(why)) == HY_OK &&
	    !img.len)
		abort();
	buf_release(&img);
	check_b64(data, size);
	check_request(&a1111, data, size);
	check_request(&openai, data, size);
	check_request(&sdcpp, data, size);
	check_metaedit(data, size);
	return 0;
}
