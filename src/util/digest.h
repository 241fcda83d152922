/* SHA-256 of member bodies, as DataComp's `sha256` field holds it
 * (lowercase hex), on OpenSSL's libcrypto. */
#ifndef HY_DIGEST_H
#define HY_DIGEST_H

#include <stddef.h>

/* Writes the 64 hex digits and a NUL into out. Returns 0, or -1 when
 * libcrypto fails (out of memory). */
int digest_sha256_hex(const void *data, size_t n, char out[65]);

#endif
