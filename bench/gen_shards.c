/* gen_shards: writes deterministic DataComp / img2dataset-like WebDataset
 * shards (and optionally a `generate`-stage edits folder) for the benchmarks. */
#define _POSIX_C_SOURCE 200809L

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

/* Fixed so that the same arguments give byte-identical shards. */
#define FIXED_MTIME 1700000000
#define POOL_SIZE 64
#define JPEG_MIN (30 * 1024)
#define JPEG_MAX (60 * 1024)
/* --small: ~96x96 JPEGs of 2..5 KiB, for soak runs of a million samples
 * (bench/soak.sh) where the images are not what is measured. */
#define SMALL_JPEG_MIN (2 * 1024)
#define SMALL_JPEG_MAX (5 * 1024)

/* ---- PRNG: splitmix64. Every sample seeds its own stream from (seed, shard,
 * index), so a shard's bytes do not depend on which other shards were made
 * in the same run (--first / --shards only choose which ones to write). ---- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

static void rng_seed(struct rng *r, uint64_t a, uint64_t b, uint64_t c)
{
	r->s = mix64(mix64(mix64(a) ^ b) ^ c);
}

/* Uniform in [0, n); the modulo bias is irrelevant for test data. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- SHA-256 (FIPS 180-4), self-contained so the generator needs no
 * OpenSSL; it only hashes the 64 pool images once. ---- */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) +
			      ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		uint32_t t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* Writes the lowercase hex digest (64 chars + NUL) into hex. */
static void sha256_hex(const unsigned char *data, size_t len, char hex[65])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	unsigned char tail[128] = { 0 };
	size_t full = len / 64 * 64, rest = len - full, tlen;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t off = 0; off < full; off += 64)
		sha256_block(h, data + off);
	memcpy(tail, data + full, rest);
	tail[rest] = 0x80;
	tlen = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (size_t off = 0; off < tlen; off += 64)
		sha256_block(h, tail + off);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08" PRIx32, h[i]);
}

/* ---- growable string, reused across samples ---- */

struct str {
	char *buf;
	size_t len, cap;
};

static void str_reserve(struct str *s, size_t extra)
{
	if (s->len + extra + 1 <= s->cap)
		return;
	size_t cap = s->cap ? s->cap : 1024;
	while (cap < s->len + extra + 1)
		cap *= 2;
	char *p = realloc(s->buf, cap);
	if (!p) {
		/* Test-data tool: running out of memory for a few KiB is fatal. */
		fprintf(stderr, "gen_shards: out of memory\n");
		exit(1);
	}
	s->buf = p;
	s->cap = cap;
}

static void str_put(struct str *s, const char *p, size_t n)
{
	str_reserve(s, n);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

static void str_puts(struct str *s, const char *p)
{
	str_put(s, p, strlen(p));
}

__attribute__((format(printf, 2, 3))) static void str_printf(struct str *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	str_reserve(s, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(s->buf + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

/* ---- the JPEG pool ---- */

struct pool_image {
	unsigned char *jpeg; /* owned, from tjAlloc: free with tjFree */
	unsigned long size;
	int width, height;
	char sha256[65];
};

/* A sine-like wave of period 2*pi for t >= 0, without libm (the build line
 * links only libarchive and libturbojpeg). */
static double wave(double t)
{
	double u = t * (1.0 / 6.283185307179586);
	u -= (double)(long long)u;
	return u < 0.5 ? 16 * u * (0.5 - u) : -16 * (u - 0.5) * (1 - u);
}

static unsigned char clamp255(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (unsigned char)v;
}

/* Paints a smooth "scene" (waves and a few blobs) into scene (w*h RGB). */
static void paint_scene(unsigned char *scene, int w, int h, uint64_t seed)
{
	struct rng r;
	double base[3], wv[3][4], blob[6][6];

	rng_seed(&r, seed, 0x5eed, 1);
	for (int c = 0; c < 3; c++) {
		base[c] = 40 + 170 * rng_unit(&r);
		wv[c][0] = 0.005 + 0.05 * rng_unit(&r); /* spatial frequencies */
		wv[c][1] = 0.005 + 0.05 * rng_unit(&r);
		wv[c][2] = 6.283 * rng_unit(&r); /* phase */
		wv[c][3] = 10 + 40 * rng_unit(&r); /* amplitude */
	}
	for (int b = 0; b < 6; b++) {
		blob[b][0] = w * rng_unit(&r); /* centre */
		blob[b][1] = h * rng_unit(&r);
		blob[b][2] = 20 + 120 * rng_unit(&r); /* radius */
		for (int c = 0; c < 3; c++)
			blob[b][3 + c] = 255 * rng_unit(&r);
	}
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			double px[3];
			for (int c = 0; c < 3; c++)
				px[c] = base[c] + wv[c][3] * wave(wv[c][0] * x + wv[c][1] * y + wv[c][2]);
			for (int b = 0; b < 6; b++) {
				double dx = x - blob[b][0], dy = y - blob[b][1];
				if (dx * dx + dy * dy < blob[b][2] * blob[b][2])
					for (int c = 0; c < 3; c++)
						px[c] = 0.35 * px[c] + 0.65 * blob[b][3 + c];
			}
			unsigned char *p = scene + 3 * ((size_t)y * (size_t)w + (size_t)x);
			for (int c = 0; c < 3; c++)
				p[c] = clamp255(px[c]);
		}
	}
}

/* rgb = scene + grain of the given amplitude (mostly luma, some chroma).
 * Grain is what drives the JPEG size, so the caller tunes the amplitude;
 * the same seed gives the same grain pattern whatever the amplitude. */
static void add_grain(unsigned char *rgb, const unsigned char *scene, int w, int h, uint64_t seed,
		      double grain)
{
	struct rng r;
	size_t npx = (size_t)w * (size_t)h;

	rng_seed(&r, seed, 0x9a1, 2);
	for (size_t i = 0; i < npx; i++) {
		uint64_t n = rng_next(&r);
		double luma = ((double)(n & 0xffff) / 65535.0 - 0.5) * 2 * grain;
		for (int c = 0; c < 3; c++) {
			double chroma = ((double)((n >> (16 + 16 * c)) & 0xffff) / 65535.0 - 0.5) * grain * 0.3;
			rgb[3 * i + c] = clamp255(scene[3 * i + c] + luma + chroma);
		}
	}
}

/* Builds POOL_SIZE distinct JPEGs of 30..60 KiB from the seed (with
 * `small`: 80..112 px a side, 2..5 KiB). Each image bisects its grain
 * amplitude towards a random target size; it stops as soon as it lands in
 * range, so most need only two or three encodes. */
static int pool_build(struct pool_image *pool, uint64_t seed, int small)
{
	const long jmin = small ? SMALL_JPEG_MIN : JPEG_MIN, jmax = small ? SMALL_JPEG_MAX : JPEG_MAX;

	tjhandle tj = tjInitCompress();
	unsigned char *rgb = NULL, *scene = NULL;
	int ret = -1;

	if (!tj) {
		fprintf(stderr, "gen_shards: tjInitCompress: %s\n", tjGetErrorStr2(NULL));
		goto out;
	}
	rgb = malloc(512 * 512 * 3);
	scene = malloc(512 * 512 * 3);
	if (!rgb || !scene) {
		fprintf(stderr, "gen_shards: out of memory\n");
		goto out;
	}
	for (int i = 0; i < POOL_SIZE; i++) {
		struct pool_image *im = &pool[i];
		struct rng r;
		rng_seed(&r, seed, 0x900L, (uint64_t)i);
		/* Multiples of 8 (384..512, or 80..112 with --small), as img2dataset
		 * resizes to a few sizes. */
		unsigned long target;
		double lo = 0, hi = 28, grain = 7; /* 7 lands most images at once */
		long tol = 6 * 1024;
		if (small) {
			im->width = 80 + 8 * (int)rng_below(&r, 5);
			im->height = 80 + 8 * (int)rng_below(&r, 5);
			target = 2560 + rng_below(&r, 2048);
			hi = 96;
			tol = 768;
		} else {
			im->width = 384 + 8 * (int)rng_below(&r, 17);
			im->height = 384 + 8 * (int)rng_below(&r, 17);
			target = 34 * 1024 + rng_below(&r, 22 * 1024);
		}
		uint64_t img_seed = rng_next(&r);
		paint_scene(scene, im->width, im->height, img_seed);
		for (int tries = 0; tries < 12; tries++) {
			add_grain(rgb, scene, im->width, im->height, img_seed, grain);
			tjFree(im->jpeg);
			im->jpeg = NULL;
			im->size = 0;
			if (tjCompress2(tj, rgb, im->width, 0, im->height, TJPF_RGB, &im->jpeg,
					&im->size, TJSAMP_420, 90, TJFLAG_ACCURATEDCT) != 0) {
				fprintf(stderr, "gen_shards: tjCompress2: %s\n", tjGetErrorStr2(tj));
				goto out;
			}
			long diff = (long)im->size - (long)target;
			if ((long)im->size >= jmin && (long)im->size <= jmax && labs(diff) < tol)
				break;
			if (diff > 0)
				hi = grain;
			else
				lo = grain;
			grain = (lo + hi) / 2;
		}
		if ((long)im->size < jmin || (long)im->size > jmax) {
			fprintf(stderr, "gen_shards: pool image %d: %lu bytes, outside %ld..%ld\n", i,
				im->size, jmin, jmax);
			goto out;
		}
		sha256_hex(im->jpeg, im->size, im->sha256);
	}
	ret = 0;
out:
	free(rgb);
	free(scene);
	if (tj)
		tjDestroy(tj);
	return ret;
}

static void pool_free(struct pool_image *pool)
{
	for (int i = 0; i < POOL_SIZE; i++)
		tjFree(pool[i].jpeg);
}

/* ---- captions and metadata ---- */

/* Mostly plain English, with the non-ASCII text real captions carry
 * (accents, emoji beyond the BMP, CJK) and characters JSON must escape. */
static const char *const words[] = {
	"a", "the", "of", "with", "and", "in", "on", "photo", "portrait", "woman",
	"man", "child", "smiling", "people", "standing", "beach", "city", "street", "night", "red",
	"blue", "old", "young", "family", "wedding", "dog", "cat", "car", "vintage", "stock",
	"image", "close-up", "sunset", "mountain", "house", "kitchen", "team", "meeting", "office", "park",
	"summer", "winter", "colorful", "background", "isolated", "white", "black", "happy", "business", "group",
	"café", "naïve", "São", "Paulo", "Zürich", "crème", "brûlée", "😀", "🎉", "❤️",
	"東京", "猫", "北京", "こんにちは", "서울", "Москва", "Ελλάδα", "“quoted”", "\"Best\"", "back\\slash",
	"50%", "&", "2019", "#travel", "@home", "—", "tab\there", "½", "€9.99", "naïve-ish",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))
#define NPLAIN 50 /* words[0..NPLAIN) are plain ASCII */

/* Replaces s with a caption of 3..20 words; about 2% are empty. */
static void make_caption(struct str *s, struct rng *r)
{
	s->len = 0;
	str_reserve(s, 0);
	s->buf[0] = '\0';
	if (rng_below(r, 50) == 0)
		return;
	uint32_t n = 3 + rng_below(r, 18);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			str_put(s, " ", 1);
		/* Mostly the plain words; one word in ten from the whole list. */
		str_puts(s, words[rng_below(r, rng_below(r, 10) ? NPLAIN : NWORDS)]);
	}
}

/* Decodes one UTF-8 sequence at *p (input is our own valid UTF-8). */
static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t cp;
	int n;

	if (s[0] < 0x80)
		cp = s[0], n = 1;
	else if (s[0] < 0xe0)
		cp = s[0] & 0x1f, n = 2;
	else if (s[0] < 0xf0)
		cp = s[0] & 0x0f, n = 3;
	else
		cp = s[0] & 0x07, n = 4;
	for (int i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	*p = s + n;
	return cp;
}

/* Appends text as a JSON string the way Python's json.dumps does with
 * ensure_ascii=True: \uXXXX in lowercase hex, surrogate pairs above the BMP. */
static void json_string(struct str *s, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	str_put(s, "\"", 1);
	while (*p) {
		uint32_t cp = utf8_next(&p);
		switch (cp) {
		case '"': str_puts(s, "\\\""); break;
		case '\\': str_puts(s, "\\\\"); break;
		case '\n': str_puts(s, "\\n"); break;
		case '\r': str_puts(s, "\\r"); break;
		case '\t': str_puts(s, "\\t"); break;
		case '\b': str_puts(s, "\\b"); break;
		case '\f': str_puts(s, "\\f"); break;
		default:
			if (cp < 0x20 || (cp >= 0x7f && cp < 0x10000))
				str_printf(s, "\\u%04" PRIx32, cp);
			else if (cp >= 0x10000)
				str_printf(s, "\\u%04" PRIx32 "\\u%04" PRIx32,
					   0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
			else
				str_put(s, (const char *)p - 1, 1);
		}
	}
	str_put(s, "\"", 1);
}

/* Appends a double as Python's repr() would: the shortest digits that read
 * back to the same value, and always a '.' or exponent. */
static void json_float(struct str *s, double v)
{
	char buf[40];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	str_puts(s, buf);
	if (!strpbrk(buf, ".e"))
		str_puts(s, ".0");
}

struct sample {
	char key[32];
	char uid[33];
	int img; /* index into the pool */
	int faces;
	double boxes[4][4];
	int orig_w, orig_h;
	int lone_surrogate; /* JSON caption carries an unpaired \udXXX */
	char url[160];
};

/* Metadata in json.dumps(indent=4) layout. With `edit`, writes the edited
 * record of the generate stage instead (SPEC "Edited metadata"). */
static void make_json(struct str *s, const struct sample *sm, const struct pool_image *im,
		      const char *caption, int edit, uint64_t edit_seed)
{
	s->len = 0;
	str_printf(s, "{\n    \"uid\": \"%s\",\n    \"face_bboxes\": ", sm->uid);
	if (sm->faces == 0 || edit) {
		str_puts(s, "[]");
	} else {
		str_puts(s, "[\n");
		for (int f = 0; f < sm->faces; f++) {
			str_puts(s, "        [\n");
			for (int c = 0; c < 4; c++) {
				str_puts(s, "            ");
				json_float(s, sm->boxes[f][c]);
				str_puts(s, c < 3 ? ",\n" : "\n");
			}
			str_puts(s, f < sm->faces - 1 ? "        ],\n" : "        ]\n");
		}
		str_puts(s, "    ]");
	}
	if (!edit)
		str_printf(s, ",\n    \"url\": \"%s\"", sm->url);
	str_puts(s, ",\n    \"caption\": ");
	if (sm->lone_surrogate && !edit) {
		/* Python writes a caption holding a stray surrogate (scraped,
		 * badly decoded text) as a lone escape; the .txt holds U+FFFD. */
		json_string(s, caption);
		s->len--; /* reopen the string */
		str_puts(s, " \\udc9f\"");
	} else {
		json_string(s, caption);
	}
	str_printf(s, ",\n    \"key\": \"%s\",\n    \"status\": \"success\",\n"
		      "    \"error_message\": null,\n    \"width\": %d,\n    \"height\": %d,\n",
		   sm->key, im->width, im->height);
	if (!edit)
		str_printf(s, "    \"original_width\": %d,\n    \"original_height\": %d,\n"
			      "    \"exif\": \"{}\",\n",
			   sm->orig_w, sm->orig_h);
	str_printf(s, "    \"sha256\": \"%s\"", im->sha256);
	if (edit)
		str_printf(s, ",\n    \"synthetic\": {\n        \"generator\": \"stabilityai/sdxl-turbo\",\n"
			      "        \"seed\": %" PRIu64 ",\n        \"llm_model\": \"llama3.1:8b\"\n    }",
			   edit_seed % 4294967296u);
	str_puts(s, "\n}");
}

static const char *const hosts[] = {
	"images.example.com", "cdn.shopify.example", "i.pinimg.example", "media.gettyimages.example",
	"upload.wikimedia.example", "live.staticflickr.example", "img.alicdn.example",
};

static void make_sample(struct sample *sm, uint64_t seed, unsigned shard, unsigned idx, int idx_digits,
			double face_ratio)
{
	struct rng r;

	rng_seed(&r, seed, shard, idx);
	/* Cannot truncate: shard < 10^8 and idx_digits <= 9 (main checks both). */
	if (snprintf(sm->key, sizeof(sm->key), "%08u%0*u", shard, idx_digits, idx) >= (int)sizeof(sm->key))
		abort();
	snprintf(sm->uid, sizeof(sm->uid), "%016" PRIx64 "%016" PRIx64, rng_next(&r), rng_next(&r));
	sm->img = (int)rng_below(&r, POOL_SIZE);
	sm->faces = 0;
	if (rng_unit(&r) < face_ratio) {
		/* Mostly one face, sometimes a group. */
		uint32_t k = rng_below(&r, 10);
		sm->faces = k < 6 ? 1 : k < 9 ? 2 : 4;
		for (int f = 0; f < sm->faces; f++) {
			double x0 = 0.9 * rng_unit(&r), y0 = 0.9 * rng_unit(&r);
			double bw = 0.02 + (0.98 - x0) * rng_unit(&r), bh = 0.02 + (0.98 - y0) * rng_unit(&r);
			sm->boxes[f][0] = x0;
			sm->boxes[f][1] = y0;
			sm->boxes[f][2] = x0 + bw;
			sm->boxes[f][3] = y0 + bh;
		}
	}
	sm->orig_w = 256 + (int)rng_below(&r, 3000);
	sm->orig_h = 256 + (int)rng_below(&r, 3000);
	sm->lone_surrogate = rng_below(&r, 1000) == 0;
	snprintf(sm->url, sizeof(sm->url), "https://%s/%02x/%02x/%016" PRIx64 "-%s.jpg?width=%d",
		 hosts[rng_below(&r, sizeof(hosts) / sizeof(hosts[0]))], rng_below(&r, 256),
		 rng_below(&r, 256), rng_next(&r), rng_below(&r, 2) ? "photo" : "image_large", sm->orig_w);
}

/* ---- writing ---- */

static int add_member(struct archive *a, struct archive_entry *e, const char *path, const char *name,
		      const void *data, size_t size)
{
	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, FIXED_MTIME, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (size && archive_write_data(a, data, size) != (la_ssize_t)size)) {
		fprintf(stderr, "gen_shards: %s: member %s: %s\n", path, name, archive_error_string(a));
		return -1;
	}
	return 0;
}

/* snprintf into a path buffer; a path that does not fit is an error, not a
 * silently different file name. */
__attribute__((format(printf, 3, 4))) static int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "gen_shards: path too long: %.64s...\n", buf);
		return -1;
	}
	return 0;
}

static int write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	int ret = -1;

	if (!f) {
		fprintf(stderr, "gen_shards: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fwrite(data, 1, size, f) != size) {
		fprintf(stderr, "gen_shards: %s: write: %s\n", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fclose(f) != 0 && ret == 0) {
		fprintf(stderr, "gen_shards: %s: close: %s\n", path, strerror(errno));
		ret = -1;
	}
	return ret;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen_shards: %s: mkdir: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* mkdir -p: the benchmark passes nested folders that may not exist yet. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];

	if (path_fmt(buf, sizeof(buf), "%s", path) != 0)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "gen_shards: %s: mkdir: %s\n", buf, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return make_dir(buf);
}

struct opts {
	const char *out_dir, *edits_dir;
	unsigned shards, samples, first;
	double face_ratio, edit_ratio;
	uint64_t seed;
	int small; /* --small: tiny JPEGs */
};

struct totals {
	unsigned long long samples, bytes, edit_files;
};

/* Writes one shard to DIR/NAME.tar.tmp and renames it into place, so an
 * interrupted run never leaves a shard that looks complete. */
static int write_shard(const struct opts *o, const struct pool_image *pool, unsigned shard,
		       struct totals *t)
{
	char name[16], path[PATH_MAX], tmp[PATH_MAX], edir[PATH_MAX], member[64], epath[PATH_MAX];
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct str cap = { 0 }, json = { 0 }, ecap = { 0 };
	int idx_digits = 4, ret = -1;

	/* img2dataset widens the index when a shard holds >= 10^4 samples. */
	for (unsigned n = o->samples - 1; n >= 10000; n /= 10)
		idx_digits++;
	snprintf(name, sizeof(name), "%08u", shard);
	if (path_fmt(path, sizeof(path), "%s/%s.tar", o->out_dir, name) != 0 ||
	    path_fmt(tmp, sizeof(tmp), "%s.tmp", path) != 0)
		goto out;
	if (o->edits_dir) {
		if (path_fmt(edir, sizeof(edir), "%s/%s", o->edits_dir, name) != 0 || make_dir(edir) != 0)
			goto out;
	}
	a = archive_write_new();
	e = archive_entry_new();
	if (!a || !e) {
		fprintf(stderr, "gen_shards: out of memory\n");
		goto out;
	}
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		fprintf(stderr, "gen_shards: %s: %s\n", tmp, archive_error_string(a));
		goto out;
	}
	for (unsigned i = 0; i < o->samples; i++) {
		struct sample sm = { 0 };
		struct rng r;
		const struct pool_image *im;

		make_sample(&sm, o->seed, shard, i, idx_digits, o->face_ratio);
		im = &pool[sm.img];
		/* Captions draw from a stream of their own, so they stay the same
		 * whatever the face ratio. */
		rng_seed(&r, o->seed ^ 0xc0ffee, shard, i);
		make_caption(&cap, &r);
		make_json(&json, &sm, im, cap.buf, 0, 0);
		if (sm.lone_surrogate)
			str_puts(&cap, " \xef\xbf\xbd");
		snprintf(member, sizeof(member), "%s.jpg", sm.key);
		if (add_member(a, e, tmp, member, im->jpeg, im->size) != 0)
			goto out;
		snprintf(member, sizeof(member), "%s.txt", sm.key);
		if (add_member(a, e, tmp, member, cap.buf, cap.len) != 0)
			goto out;
		snprintf(member, sizeof(member), "%s.json", sm.key);
		if (add_member(a, e, tmp, member, json.buf, json.len) != 0)
			goto out;
		t->samples++;

		/* The edit decision uses a separate stream too: changing
		 * --edit-ratio must not change the shards. */
		rng_seed(&r, o->seed ^ 0xed17, shard, i);
		if (!o->edits_dir || rng_unit(&r) >= o->edit_ratio)
			continue;
		const struct pool_image *eim = &pool[(sm.img + 1 + (int)rng_below(&r, POOL_SIZE - 1)) % POOL_SIZE];
		uint64_t eseed = rng_next(&r);
		/* An LLM prompt: a fixed lead-in, then caption-like words. */
		make_caption(&cap, &r);
		ecap.len = 0;
		str_puts(&ecap, "A photorealistic portrait of a person,");
		if (cap.len) {
			str_put(&ecap, " ", 1);
			str_put(&ecap, cap.buf, cap.len);
		}
		if (path_fmt(epath, sizeof(epath), "%s/%s.jpg", edir, sm.key) != 0 ||
		    write_file(epath, eim->jpeg, eim->size) != 0)
			goto out;
		if (path_fmt(epath, sizeof(epath), "%s/%s.txt", edir, sm.key) != 0 ||
		    write_file(epath, ecap.buf, ecap.len) != 0)
			goto out;
		make_json(&json, &sm, eim, ecap.buf, 1, eseed);
		if (path_fmt(epath, sizeof(epath), "%s/%s.json", edir, sm.key) != 0 ||
		    write_file(epath, json.buf, json.len) != 0)
			goto out;
		t->edit_files += 3;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		fprintf(stderr, "gen_shards: %s: %s\n", tmp, archive_error_string(a));
		goto out;
	}
	t->bytes += (unsigned long long)archive_filter_bytes(a, -1);
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "gen_shards: rename %s -> %s: %s\n", tmp, path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		unlink(tmp);
	archive_entry_free(e);
	archive_write_free(a);
	free(cap.buf);
	free(json.buf);
	free(ecap.buf);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gen_shards -o DIR [--shards N] [--samples N] [--first N] [--face-ratio F]\n"
		   "                  [--edits EDITS_DIR [--edit-ratio F]] [--seed S] [--small]\n"
		   "Writes DIR/%%08d.tar shards of KEY.jpg/KEY.txt/KEY.json samples; the same\n"
		   "arguments give byte-identical files. Defaults: --shards 1 --samples 10000\n"
		   "--first 0 --face-ratio 0.3 --edit-ratio 0.3 --seed 1.\n"
		   "Images are JPEGs of 384..512 px a side and 30..60 KB; --small makes them\n"
		   "80..112 px and 2..5 KB (soak runs of millions of samples).\n");
}

static int parse_uint(const char *opt, const char *arg, unsigned long long max, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || *v > max) {
		fprintf(stderr, "gen_shards: %s: not a number in 0..%llu: '%s'\n", opt, max, arg);
		return -1;
	}
	return 0;
}

static int parse_ratio(const char *opt, const char *arg, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(arg, &end);
	if (errno || end == arg || *end || !(*v >= 0 && *v <= 1)) {
		fprintf(stderr, "gen_shards: %s: not a ratio in 0..1: '%s'\n", opt, arg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },	{ "shards", required_argument, NULL, 'n' },
		{ "samples", required_argument, NULL, 's' },	{ "first", required_argument, NULL, 'f' },
		{ "face-ratio", required_argument, NULL, 'F' }, { "edits", required_argument, NULL, 'e' },
		{ "edit-ratio", required_argument, NULL, 'E' }, { "seed", required_argument, NULL, 'S' },
		{ "small", no_argument, NULL, 'm' },		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .shards = 1, .samples = 10000, .face_ratio = 0.3, .edit_ratio = 0.3, .seed = 1 };
	struct pool_image pool[POOL_SIZE] = { 0 };
	struct totals t = { 0 };
	struct timespec t0, t1;
	unsigned long long v;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "o:e:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out_dir = optarg; break;
		case 'e': o.edits_dir = optarg; break;
		case 'n':
			if (parse_uint("--shards", optarg, 100000000, &v) != 0)
				return 1;
			o.shards = (unsigned)v;
			break;
		case 's':
			if (parse_uint("--samples", optarg, 100000000, &v) != 0)
				return 1;
			if (v == 0) {
				fprintf(stderr, "gen_shards: --samples must be at least 1\n");
				return 1;
			}
			o.samples = (unsigned)v;
			break;
		case 'f':
			if (parse_uint("--first", optarg, 99999999, &v) != 0)
				return 1;
			o.first = (unsigned)v;
			break;
		case 'F':
			if (parse_ratio("--face-ratio", optarg, &o.face_ratio) != 0)
				return 1;
			break;
		case 'E':
			if (parse_ratio("--edit-ratio", optarg, &o.edit_ratio) != 0)
				return 1;
			break;
		case 'S':
			if (parse_uint("--seed", optarg, UINT64_MAX, &v) != 0)
				return 1;
			o.seed = v;
			break;
		case 'm': o.small = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!o.out_dir || optind != argc) {
		usage(stderr);
		return 1;
	}
	if ((unsigned long long)o.first + o.shards > 100000000ULL) {
		fprintf(stderr, "gen_shards: shard numbers must stay below 10^8 (%%08d names)\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (make_dirs(o.out_dir) != 0 || (o.edits_dir && make_dirs(o.edits_dir) != 0))
		goto out;
	if (pool_build(pool, o.seed, o.small) != 0)
		goto out;
	for (unsigned s = 0; s < o.shards; s++)
		if (write_shard(&o, pool, o.first + s, &t) != 0)
			goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "gen_shards: %u shards, %llu samples, %llu bytes (%.1f MB), %llu edit files, %.2f s\n",
		o.shards, t.samples, t.bytes, (double)t.bytes / 1e6, t.edit_files,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	ret = 0;
out:
	pool_free(pool);
	return ret;
}
