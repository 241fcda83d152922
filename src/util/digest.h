/* SHA-256 of member bodies, as DataComp's `sha256` field holds it
 * (lowercase hex), on OpenSSL's libcrypto: in one call, or streamed over
 * chunks (verify hashes a body as it compares it, never holding it). */
#ifndef HY_DIGEST_H
#define HY_DIGEST_H

#include <stddef.h>

/* Writes the 64 hex digits and a NUL into out. Returns 0, or -1 when
 * libcrypto fails (out of memory). */
int digest_sha256_hex(const void *data, size_t n, char out[65]);

/* A streaming digest: digest_new once, then per body digest_begin,
 * digest_update over its chunks and digest_end; reusable, one thread at a
 * time. */
struct digest;

/* NULL on ENOMEM. */
struct digest *digest_new(void);
/* Starts a new body. 0, or -1 when libcrypto fails. */
int digest_begin(struct digest *d);
/* 0, or -1 when libcrypto fails (digest_end then gives ""). */
int digest_update(struct digest *d, const void *p, size_t n);
/* Writes the hex digits of the body begun last into out; "" and -1 when
 * the digest failed (at begin, an update or here). */
int digest_end(struct digest *d, char out[65]);
void digest_free(struct digest *d);

#endif
