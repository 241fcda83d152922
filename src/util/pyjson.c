/* JSON as Python's json module reads it, on cJSON. Python wrote the
 * records (KEY.json) and the stage files of the old scripts; where cJSON
 * reads a text otherwise, the text or the tree is mended first: lone
 * surrogate escapes become U+FFFD (what SPEC.md asks for; json-c would do
 * the same), NaN / Infinity / -Infinity become numbers, duplicate keys
 * keep the last value at the first one's place, and a \u0000 escape stays
 * a NUL inside its string (cJSON's strings end at NUL: it travels as
 * U+10FFFF, a noncharacter, until pyjson_string turns it back). cJSON was
 * chosen for speed (~2x json-c on a 600-byte DataComp record, measured). */
#include "util/pyjson.h"

#include <math.h>
#include <stdlib.h>
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

size_t pyjson_fix_surrogates(char *json, size_t len)
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

/* A NUL inside a string, as cJSON carries it: U+10FFFF, a noncharacter
 * that no text uses (one that did would come back as a NUL). */
#define NUL_ESCAPE "\\udbff\\udfff"
#define NUL_UTF8   "\xf4\x8f\xbf\xbf"

/* Python's json writes float('nan') and float('inf') as NaN, Infinity and
 * -Infinity by default. Outside strings they become null (no JSON number
 * is NaN; a NaN coordinate is as unusable as a null one) and +-1e999,
 * which strtod reads as +-inf. Inside strings, \u0000 becomes NUL_ESCAPE.
 * Returns 1 and fills out when something was rewritten, 0 when the text
 * needs nothing, -1 out of memory. */
static int python_tokens(const char *json, size_t len, struct buf *out)
{
	static const struct {
		const char *from, *to;
	} tok[] = {
	    {"NaN", "null"}, {"Infinity", "1e999"}, {"-Infinity", "-1e999"}};
	size_t i = 0, done = 0;
	int in_str = 0, changed = 0;

	if (!memmem(json, len, "NaN", 3) && !memmem(json, len, "Infinity", 8) &&
	    !memmem(json, len, "\\u0000", 6))
		return 0;
	buf_clear(out);
	while (i < len) {
		char c = json[i];
		size_t k;

		if (in_str) {
			if (c == '\\' && len - i >= 6 &&
			    !memcmp(json + i, "\\u0000", 6)) {
				if (buf_append(out, json + done, i - done) ||
				    buf_append(out, NUL_ESCAPE,
					       strlen(NUL_ESCAPE)))
					return -1;
				i += 6;
				done = i;
				changed = 1;
				continue;
			}
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			i++;
			continue;
		}
		if (c == '"') {
			in_str = 1;
			i++;
			continue;
		}
		for (k = 0; k < sizeof(tok) / sizeof(*tok); k++) {
			size_t n = strlen(tok[k].from);
			if (len - i >= n && !memcmp(json + i, tok[k].from, n))
				break;
		}
		if (k == sizeof(tok) / sizeof(*tok)) {
			i++;
			continue;
		}
		if (buf_append(out, json + done, i - done) ||
		    buf_append(out, tok[k].to, strlen(tok[k].to)))
			return -1;
		i += strlen(tok[k].from);
		done = i;
		changed = 1;
	}
	if (!changed)
		return 0;
	if (buf_append(out, json + done, len - done) || buf_putc(out, '\0'))
		return -1;
	out->len--;
	return 1;
}

struct member_ref {
	cJSON *item;
	size_t at;
};

static int name_cmp(const cJSON *a, const cJSON *b)
{
	return strcmp(a->string ? a->string : "", b->string ? b->string : "");
}

static int cmp_member(const void *a, const void *b)
{
	const struct member_ref *x = a, *y = b;
	int c = name_cmp(x->item, y->item);

	if (c)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Python's dict keeps a duplicate key where it first appeared, with the
 * value it had last; cJSON keeps every copy and finds the first. Makes the
 * tree what Python holds, in every object of it. Sorting the members finds
 * duplicates in n log n: a hostile record may have a million keys. -1 when
 * out of memory. */
static int python_duplicates(cJSON *node)
{
	struct member_ref *v = NULL;
	size_t n = 0, i = 0;
	cJSON *c;
	int ret = 0;

	for (c = node ? node->child : NULL; c; c = c->next, n++)
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
		    python_duplicates(c))
			return -1;
	if (!cJSON_IsObject(node) || n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -1;
	for (c = node->child; c; c = c->next, i++)
		v[i] = (struct member_ref){c, i};
	qsort(v, n, sizeof(*v), cmp_member);
	for (i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && !name_cmp(v[i].item, v[j].item))
			j++;
		if (j - i > 1) {
			cJSON *last =
			    cJSON_DetachItemViaPointer(node, v[j - 1].item);
			for (size_t k = i + 1; k < j - 1; k++)
				cJSON_Delete(cJSON_DetachItemViaPointer(
				    node, v[k].item));
			/* frees the first copy; the last takes its place */
			if (!cJSON_ReplaceItemViaPointer(node, v[i].item,
							 last)) {
				cJSON_Delete(last);
				ret = -1;
				break;
			}
		}
		i = j;
	}
	free(v);
	return ret;
}

/* Parses text (len bytes, NUL at text[len]) that needs no more mending. */
static cJSON *parse_mended(const char *text, size_t len, struct hy_err *err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);

	if (!root) {
		size_t at = end && end >= text ? (size_t)(end - text) : 0;
		hy_err_set(err, HY_ESAMPLE, "invalid JSON at byte %zu", at);
		return NULL;
	}
	while (end < text + len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end < text + len) {
		hy_err_set(err, HY_ESAMPLE,
			   "invalid JSON: extra data at byte %zu",
			   (size_t)(end - text));
		cJSON_Delete(root);
		return NULL;
	}
	if (python_duplicates(root)) {
		cJSON_Delete(root);
		hy_err_set(err, HY_EFATAL, "out of memory");
		return NULL;
	}
	return root;
}

cJSON *pyjson_parse(char *json, size_t len, struct buf *scratch,
		    struct hy_err *err)
{
	int r;

	pyjson_fix_surrogates(json, len);
	r = python_tokens(json, len, scratch);
	if (r < 0) {
		hy_err_set(err, HY_EFATAL, "out of memory");
		return NULL;
	}
	return r ? parse_mended(scratch->data, scratch->len, err)
		 : parse_mended(json, len, err);
}

cJSON *pyjson_parse_copy(const char *json, size_t len, struct hy_err *err)
{
	struct buf scratch = {0};
	char *copy = malloc(len + 1);
	cJSON *j = NULL;

	if (!copy) {
		hy_err_set(err, HY_EFATAL, "out of memory");
		return NULL;
	}
	memcpy(copy, json, len);
	copy[len] = '\0';
	j = pyjson_parse(copy, len, &scratch, err);
	free(copy);
	buf_release(&scratch);
	return j;
}

int pyjson_string(const cJSON *s, struct buf *out)
{
	const char *p = s->valuestring ? s->valuestring : "";
	const char *nul;

	buf_clear(out);
	while ((nul = strstr(p, NUL_UTF8))) {
		if (buf_append(out, p, (size_t)(nul - p)) ||
		    buf_putc(out, '\0'))
			return -1;
		p = nul + strlen(NUL_UTF8);
	}
	if (buf_append(out, p, strlen(p)) || buf_putc(out, '\0'))
		return -1;
	out->len--;
	return 0;
}
