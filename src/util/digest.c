/* SHA-256 on libcrypto's EVP interface: one-shot (no state kept between
 * calls, so thread-safe) or streamed through a reusable context. */
#include "util/digest.h"

#include <stdlib.h>

#include <openssl/evp.h>

struct digest {
	EVP_MD_CTX *md;
	int bad; /* a step of the current body failed */
};

static void hex32(const unsigned char *md, char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

int digest_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != 32)
		return -1;
	hex32(md, out);
	return 0;
}

struct digest *digest_new(void)
{
	struct digest *d = calloc(1, sizeof(*d));

	if (d && !(d->md = EVP_MD_CTX_new())) {
		free(d);
		d = NULL;
	}
	return d;
}

int digest_begin(struct digest *d)
{
	d->bad = !EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
	return d->bad ? -1 : 0;
}

int digest_update(struct digest *d, const void *p, size_t n)
{
	if (!d->bad && !EVP_DigestUpdate(d->md, p, n))
		d->bad = 1;
	return d->bad ? -1 : 0;
}

int digest_end(struct digest *d, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (d->bad || !EVP_DigestFinal_ex(d->md, md, &len) || len != 32)
		return -1;
	hex32(md, out);
	return 0;
}

void digest_free(struct digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->md);
	free(d);
}
