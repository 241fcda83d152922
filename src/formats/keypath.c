/* Sample key -> relative path, refused where it could leave its folder. */
#include "formats/keypath.h"

#include <stdio.h>
#include <string.h>

int keypath_check(const char *key, size_t len, char *why, size_t why_len)
{
	size_t at = 0;

	if (!len) {
		snprintf(why, why_len, "the key is empty");
		return -1;
	}
	if (len > KEYPATH_MAX) {
		snprintf(why, why_len, "the key is %zu bytes long, over %d",
			 len, KEYPATH_MAX);
		return -1;
	}
	if (memchr(key, '\0', len)) {
		snprintf(why, why_len, "the key holds a NUL byte");
		return -1;
	}
	if (key[0] == '/') {
		snprintf(why, why_len, "the key is an absolute path");
		return -1;
	}
	while (at <= len) {
		const char *c = key + at;
		const char *e = memchr(c, '/', len - at);
		size_t n = e ? (size_t)(e - c) : len - at;

		if (n == 0) {
			snprintf(why, why_len,
				 "the key has an empty path "
				 "component");
			return -1;
		}
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			snprintf(why, why_len,
				 "the key climbs out of its folder ('..')");
			return -1;
		}
		if (c[0] == '.') {
			snprintf(why, why_len,
				 "a component of the key starts with '.'");
			return -1;
		}
		if (n > KEYPATH_MAX_NAME) {
			snprintf(why, why_len,
				 "a component of the key is %zu bytes long, "
				 "over %d",
				 n, KEYPATH_MAX_NAME);
			return -1;
		}
		at += n + 1;
	}
	return 0;
}
