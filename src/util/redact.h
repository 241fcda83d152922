/* Secrets kept out of every message: the API key, and the user:password
 * part of endpoint URLs. Every path that prints an endpoint or a server's
 * answer goes through redact() (hy_err_set, hy_report and the pool's job
 * reasons call it), so stderr, logs, the summary, status files and
 * journals never hold them. */
#ifndef HY_REDACT_H
#define HY_REDACT_H

#include <stddef.h>

/* What a secret is replaced with. */
#define REDACT_MASK "***"
/* Shorter secrets are not masked as free text (see redact_add). */
#define REDACT_MIN_SECRET 6

/* Registers a secret that is masked in every message from now on (copied;
 * NULL or one under REDACT_MIN_SECRET bytes is ignored). Thread-safe. Returns
 * 0, or -1 when out of memory (the caller should stop: the secret would leak).
 */
int redact_add(const char *secret);

/* Registers the user-info of a URL ("user:pass" of
 * "http://user:pass@host/"), and its password alone, as secrets, so that
 * a server echoing them back is masked too. Returns 0 or -1 (memory). */
int redact_add_url(const char *url);

/* Forgets every secret (tests; the end of main). */
void redact_reset(void);

/* Masks, in place, the NUL-terminated s in a buffer of `size` bytes: each
 * registered secret and the user-info of any "scheme://user-info@host"
 * become REDACT_MASK. A result longer than the buffer is cut (never a
 * secret's first bytes left visible). Thread-safe. Returns s. */
char *redact(char *s, size_t size);

/* Writes url to out (n bytes) without its user-info: "http://u:p@h:1/x"
 * becomes "http://" REDACT_MASK "@h:1/x"; a URL without a scheme
 * ("u:p@h:1") too. */
void redact_url(char *out, size_t n, const char *url);

#endif
