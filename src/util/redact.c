/* Secret masking for messages: the registered secrets (API keys, URL
 * passwords) and URL user-info. One function, used by every message
 * path; see redact.h. */
#include "util/redact.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Few secrets (one key, a password per endpoint): a list is enough. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t nsecrets, capsecrets;

int redact_add(const char *secret)
{
	int ret = 0;

	/* A secret this short would mask that text wherever it appears in
	 * every message (a password "x": every x), and protects little;
	 * user-info in a URL is masked by its place, whatever its length. */
	if (!secret || strlen(secret) < REDACT_MIN_SECRET)
		return 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], secret))
			goto out;
	if (nsecrets == capsecrets) {
		size_t cap = capsecrets ? 2 * capsecrets : 8;
		char **v = realloc(secrets, cap * sizeof(*v));
		if (!v) {
			ret = -1;
			goto out;
		}
		secrets = v;
		capsecrets = cap;
	}
	if (!(secrets[nsecrets] = strdup(secret))) {
		ret = -1;
		goto out;
	}
	nsecrets++;
out:
	pthread_mutex_unlock(&lock);
	return ret;
}

/* The user-info of url: *at points at its '@' and the result at its first
 * byte; NULL when there is none. The authority ends at '/', '?', '#',
 * whitespace or a quote (a URL inside a message). A scheme is optional
 * when `bare` is set (an endpoint as given), required otherwise (free
 * text, where "name@host" is not a URL). */
static const char *userinfo(const char *url, const char **at, int bare)
{
	const char *sep = strstr(url, "://");
	const char *start = sep ? sep + 3 : bare ? url : NULL;
	const char *p, *last = NULL;

	if (!start)
		return NULL;
	for (p = start; *p && !strchr("/?#\"' \t\r\n<>", *p); p++)
		if (*p == '@')
			last = p;
	*at = last;
	return last ? start : NULL;
}

int redact_add_url(const char *url)
{
	const char *at, *ui = url ? userinfo(url, &at, 1) : NULL;
	char tmp[1024];
	size_t n;
	const char *colon;

	if (!ui)
		return 0;
	n = (size_t)(at - ui);
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, ui, n);
	tmp[n] = '\0';
	if (redact_add(tmp))
		return -1;
	colon = strchr(tmp, ':');
	return colon ? redact_add(colon + 1) : 0;
}

void redact_reset(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = capsecrets = 0;
	pthread_mutex_unlock(&lock);
}

/* Appends n bytes of p to out (cap bytes, *k used), cutting at the end. */
static void put(char *out, size_t cap, size_t *k, const char *p, size_t n)
{
	if (*k + n >= cap)
		n = cap - 1 - *k;
	memcpy(out + *k, p, n);
	*k += n;
}

/* A message cut short (by an snprintf bound) may end in the first bytes
 * of a secret: at least this many of them are masked too. */
#define REDACT_MIN_TAIL 4

/* The length of the longest registered secret that starts at s, or of
 * the rest of s when it is the start of a secret; 0 when none. */
static size_t secret_at(const char *s)
{
	size_t best = 0, rest = strlen(s);

	for (size_t i = 0; i < nsecrets; i++) {
		size_t l = strlen(secrets[i]);
		if (l > best && !strncmp(s, secrets[i], l))
			best = l;
		else if (rest < l && rest >= REDACT_MIN_TAIL && rest > best &&
			 !strncmp(s, secrets[i], rest))
			best = rest;
	}
	return best;
}

char *redact(char *s, size_t size)
{
	char *out;
	size_t k = 0, i = 0, len;

	if (!s || !size)
		return s;
	len = strnlen(s, size - 1);
	s[len] = '\0';
	out = malloc(size);
	if (!out) {
		/* Nothing can be shown safely. */
		snprintf(s, size, "%s", "(message withheld: out of memory)");
		return s;
	}
	pthread_mutex_lock(&lock);
	while (i < len && k + 1 < size) {
		const char *at;
		size_t l = secret_at(s + i);

		if (l) {
			put(out, size, &k, REDACT_MASK, strlen(REDACT_MASK));
			i += l;
			continue;
		}
		if (!strncmp(s + i, "://", 3) && userinfo(s + i, &at, 0)) {
			put(out, size, &k, "://" REDACT_MASK,
			    strlen("://" REDACT_MASK));
			i = (size_t)(at - s);
			continue;
		}
		out[k++] = s[i++];
	}
	pthread_mutex_unlock(&lock);
	out[k] = '\0';
	memcpy(s, out, k + 1);
	free(out);
	return s;
}

void redact_url(char *out, size_t n, const char *url)
{
	const char *at, *ui = userinfo(url, &at, 1);
	size_t k = 0;

	if (!n)
		return;
	if (!ui) {
		put(out, n, &k, url, strlen(url));
	} else {
		put(out, n, &k, url, (size_t)(ui - url));
		put(out, n, &k, REDACT_MASK, strlen(REDACT_MASK));
		put(out, n, &k, at, strlen(at));
	}
	out[k] = '\0';
	redact(out, n); /* a secret in the rest (a key in a query) */
}
