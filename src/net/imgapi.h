/* Text-to-image protocols: the request for a prompt and the image read
 * back, for AUTOMATIC1111's API (POST /sdapi/v1/txt2img: A1111, Forge,
 * SD.Next, stable-diffusion.cpp's server), OpenAI's images API (POST
 * /v1/images/generations with b64_json) and stable-diffusion.cpp's flavour
 * of it, whose sampling options ride in the prompt. */
#ifndef HY_IMGAPI_H
#define HY_IMGAPI_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* IMGAPI_SDCPP: stable-diffusion.cpp's POST /v1/images/generations, which
 * ignores seed, steps, cfg_scale and negative_prompt in the body (its seed
 * stays the server's --seed, 42) and reads them from a block
 * <sd_cpp_extra_args>{JSON}</sd_cpp_extra_args> that it cuts out of the
 * prompt (examples/server/routes_openai.cpp, common.cpp from_json_str). */
enum imgapi_kind { IMGAPI_A1111, IMGAPI_OPENAI, IMGAPI_SDCPP };

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

/* What the server used for an image, as far as it can be known: what it
 * reports (A1111's "info") or what the protocol makes it apply (sd.cpp's
 * extra args). Unknown: seed_known 0, steps <= 0, cfg_scale < 0, "". */
struct imgapi_used {
	int seed_known;
	unsigned long seed;
	long steps;
	double cfg_scale;
	char sampler[64];
	char model[256];
};

/* Reads the image bytes (base64-decoded) out of a response body into
 * `image`, and into `used` (may be NULL) what the server used for the
 * image asked for with `seed`. Returns HY_OK, or HY_ESAMPLE with why
 * filled when the body is not a whole answer of this API (not JSON, no
 * image, cut base64). */
int imgapi_parse(const struct imgapi_opts *o, unsigned long seed,
		 const char *body, size_t len, struct buf *image,
		 struct imgapi_used *used, char *why, size_t why_size);

/* A path every such server answers without work, for health probes:
 * A1111, Forge and sd.cpp all serve GET /sdapi/v1/sd-models (sd.cpp has no
 * /sdapi/v1/progress), OpenAI and sd.cpp GET /v1/models. */
const char *imgapi_health_path(enum imgapi_kind k);

/* 1 when `model` is one of OpenAI's own image models (dall-e-2, dall-e-3,
 * gpt-image-1...), which take only OpenAI's fields and fixed sizes. */
int imgapi_openai_model(const char *model);

/* The sizes an OpenAI model accepts, "WxH" strings ending with NULL; NULL
 * when the model takes any size (not one of OpenAI's, or NULL). */
const char *const *imgapi_fixed_sizes(const char *model);

/* For a model with fixed sizes: the accepted size nearest an ow x oh
 * original (0 x 0: unknown) whose longer side would be max_side: the
 * nearest aspect ratio first, then the longer side nearest max_side.
 * Returns 1 with *w, *h set, or 0 when the model takes any size. */
int imgapi_fit_size(const char *model, int ow, int oh, int max_side, int *w,
		    int *h);

/* Strict base64 (RFC 4648, '=' padding, no line breaks): appends the
 * bytes to out. Returns 0, -1 on bad input (a length that is not a
 * multiple of 4, a foreign character, padding inside), -2 on ENOMEM. */
int imgapi_b64_decode(const char *s, size_t n, struct buf *out);

#endif
