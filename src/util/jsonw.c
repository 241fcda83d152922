/* JSON string escaping, Python-compatible (ensure_ascii=False). */
#include "util/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

int jsonw_string(struct buf *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	if (buf_reserve(out, len + 2))
		return -1;
	out->data[out->len++] = '"';
	while (i < len) {
		size_t run = i, k;

		/* Copy the longest run of plain ASCII in one go. */
		while (run < len && s[run] >= 0x20 && s[run] < 0x80 &&
		       s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i && buf_append(out, s + i, run - i))
			return -1;
		i = run;
		if (i >= len)
			break;
		unsigned char c = s[i];
		const char *esc = NULL;
		char tmp[8];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default: break;
		}
		if (esc) {
			if (buf_append(out, esc, strlen(esc)))
				return -1;
			i++;
			continue;
		}
		if (c < 0x20) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			if (buf_append(out, tmp, 6))
				return -1;
			i++;
			continue;
		}
		k = utf8_seq(s + i, len - i);
		if (k == 0) {
			if (buf_append(out, "\xEF\xBF\xBD", 3))
				return -1;
			i++;
			continue;
		}
		if (buf_append(out, s + i, k))
			return -1;
		i += k;
	}
	return buf_putc(out, '"');
}

int jsonw_sep(struct buf *out)
{
	char last = out->len ? out->data[out->len - 1] : '{';

	return last == '{' || last == '[' ? 0 : buf_append(out, ", ", 2);
}

int jsonw_key(struct buf *out, const char *key)
{
	if (jsonw_sep(out) || jsonw_string(out, key, strlen(key)))
		return -1;
	return buf_append(out, ": ", 2);
}

int jsonw_int(struct buf *out, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	return buf_append(out, num, (size_t)n);
}

int jsonw_uint(struct buf *out, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	return buf_append(out, num, (size_t)n);
}

int jsonw_double(struct buf *out, const char *fmt, double v)
{
	char num[64];
	int n;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = snprintf(num, sizeof(num), fmt, v);
#pragma GCC diagnostic pop
	if (n < 0)
		return -1;
	return buf_append(
	    out, num, (size_t)n < sizeof(num) ? (size_t)n : sizeof(num) - 1);
}

int jsonw_bool(struct buf *out, int v)
{
	return v ? buf_append(out, "true", 4) : buf_append(out, "false", 5);
}

int jsonw_key_int(struct buf *out, const char *key, int64_t v)
{
	return jsonw_key(out, key) || jsonw_int(out, v) ? -1 : 0;
}

int jsonw_key_string(struct buf *out, const char *key, const char *s)
{
	return jsonw_key(out, key) || jsonw_string(out, s, strlen(s)) ? -1 : 0;
}
