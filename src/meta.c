/* KEY.json parsing on cJSON. cJSON was chosen for speed (~2x json-c on a
 * 600-byte DataComp record, measured); it rejects lone surrogate escapes, so
 * meta_fix_surrogates() turns them into U+FFFD before parsing, which is what
 * json-c would do and what SPEC.md asks for. */
#include "meta.h"

#include <cJSON.h>
#include <string.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the 4 hex digits after "\u" at p (p points at the backslash).
 * Returns the code unit, or -1 when this is not a complete \uXXXX escape. */
static long u_escape(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (int i = 2; i < 6; i++) {
		int h = hexval((unsigned char)p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

size_t meta_fix_surrogates(char *json, size_t len)
{
	char *p = json, *end = json + len;
	size_t fixed = 0;

	/* Fast path: no escaped surrogate can be present without "\u" then
	 * 'd' or 'D'; most records have no \u at all. */
	for (;;) {
		char *bs = memchr(p, '\\', (size_t)(end - p));
		long u, lo;

		if (!bs)
			break;
		if (end - bs < 2)
			break;
		if (bs[1] != 'u') {
			p = bs + 2; /* skip the escaped char, e.g. \\ or \" */
			continue;
		}
		u = u_escape(bs, end);
		if (u < 0) {
			p = bs + 2;
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF) {
			lo = u_escape(bs + 6, end);
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				p = bs + 12; /* a valid pair */
				continue;
			}
		} else if (!(u >= 0xDC00 && u <= 0xDFFF)) {
			p = bs + 6;
			continue;
		}
		memcpy(bs, "\\ufffd", 6);
		fixed++;
		p = bs + 6;
	}
	return fixed;
}

int meta_parse(struct meta *m, char *json, size_t len, struct hy_err *err)
{
	cJSON *root = NULL, *it;
	const char *end = NULL;
	int ret = HY_OK;

	m->faces = 0;
	m->has_caption = 0;
	buf_clear(&m->caption);

	meta_fix_surrogates(json, len);
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root) {
		size_t at = end && end >= json ? (size_t)(end - json) : 0;
		ret =
		    hy_err_set(err, HY_ESAMPLE, "invalid JSON at byte %zu", at);
		goto out;
	}
	while (end < json + len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end < json + len) {
		ret = hy_err_set(err, HY_ESAMPLE,
				 "invalid JSON: extra data at byte %zu",
				 (size_t)(end - json));
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		ret = hy_err_set(err, HY_ESAMPLE, "JSON is not an object");
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "face_bboxes");
	if (cJSON_IsArray(it))
		m->faces = cJSON_GetArraySize(it);
	it = cJSON_GetObjectItemCaseSensitive(root, "caption");
	if (cJSON_IsString(it) && it->valuestring) {
		if (buf_append(&m->caption, it->valuestring,
			       strlen(it->valuestring))) {
			ret = hy_err_set(err, HY_EFATAL, "out of memory");
			goto out;
		}
		m->has_caption = 1;
	}
out:
	cJSON_Delete(root);
	return ret;
}

void meta_release(struct meta *m)
{
	buf_release(&m->caption);
}
