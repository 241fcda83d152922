/* Text-to-image protocols: the request for a prompt and the image read
 * back, for AUTOMATIC1111's API (POST /sdapi/v1/txt2img: A1111, Forge,
 * SD.Next, stable-diffusion.cpp's server) and OpenAI's images API (POST
 * /v1/images/generations with b64_json). */
#ifndef HY_IMGAPI_H
#define HY_IMGAPI_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

enum imgapi_kind { IMGAPI_A1111, IMGAPI_OPENAI };

struct imgapi_opts {
	enum imgapi_kind kind;
	const char *model;    /* NULL: the server's current one */
	long steps;	      /* <= 0: the server's default */
	double cfg_scale;     /* < 0: the server's default */
	const char *sampler;  /* NULL: the server's default */
	const char *negative; /* NULL: none */
};

/* Writes the path and the JSON body asking for one w x h image of the
 * prompt with seed. Returns 0, or -1 on ENOMEM. */
int imgapi_request(const struct imgapi_opts *o, const char *prompt, size_t len,
		   unsigned long seed, int w, int h, struct buf *path,
		   struct buf *body);

/* Reads the image bytes (base64-decoded) out of a response body into
 * `image`. Returns HY_OK, or HY_ESAMPLE with why filled when the body is
 * not a whole answer of this API (not JSON, no image, cut base64). */
int imgapi_parse(const struct imgapi_opts *o, const char *body, size_t len,
		 struct buf *image, char *why, size_t why_size);

/* A path every such server answers without work, for health probes. */
const char *imgapi_health_path(enum imgapi_kind k);

/* Strict base64 (RFC 4648, '=' padding, no line breaks): appends the
 * bytes to out. Returns 0, -1 on bad input (a length that is not a
 * multiple of 4, a foreign character, padding inside), -2 on ENOMEM. */
int imgapi_b64_decode(const char *s, size_t n, struct buf *out);

#endif
