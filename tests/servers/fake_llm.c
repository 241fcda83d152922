/* fake_llm: a fake LLM HTTP server (ollama and OpenAI-compatible APIs) and
 * a fake text-to-image server (AUTOMATIC1111 and OpenAI images APIs) that
 * the tests and benchmarks of `hybridize prompts` and `hybridize generate`
 * start on 127.0.0.1. It validates request bodies against the documented
 * APIs, answers with a deterministic rewrite of the prompt or a
 * deterministic picture drawn from it, models a server with N processing
 * slots, a FIFO queue and a per-request latency, and injects faults on
 * demand. One thread, epoll, non-blocking sockets, HTTP/1.1 keep-alive and
 * pipelining. Usage and behaviour: tests/servers/README.md and --help. */
#include <cjson/cJSON.h>
#include <png.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <zlib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Limits                                                               */

#define KIB		((size_t)1024)
#define MAX_HDR		(64 * KIB)   /* request line + headers, else 431 */
#define MAX_BODY	(1024 * KIB) /* decoded body, else 413 */
#define MAX_IN		(MAX_HDR + MAX_BODY + 64 * KIB) /* per-connection input */
#define IN_INIT		(4 * KIB)
#define KEEP_CAP	(64 * KIB) /* larger buffers are freed on recycling */
#define MAX_FREE_CONNS	4096
#define MAX_MODELS	16
#define MAX_FAULT_RULES 16
#define MAX_OUTAGES	16
#define MARK_SLOTS	4096 /* [[fault:KIND:N]] counters */
#define NS_PER_MS	1000000ULL
#define NS_PER_S	1000000000ULL
#define LINGER_NS	(2 * NS_PER_S) /* drain time before a graceful close */
#define FAKE_N_CTX	4096	       /* /props and /slots: context per slot */

/* ------------------------------------------------------------------ */
/* Small utilities                                                      */

static uint64_t now_ns; /* CLOCK_MONOTONIC, refreshed after each wait */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("fake_llm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* A growable byte buffer; reused across requests so that the hot path
 * does not allocate. Out of memory ends the process: this is a test
 * server and a partial answer would only confuse the test. */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->cap - b->len >= more)
		return;
	size_t nc = b->cap ? b->cap : 256;
	while (nc - b->len < more)
		nc *= 2;
	char *p = realloc(b->p, nc);
	if (!p)
		die("out of memory");
	b->p = p;
	b->cap = nc;
}

static void buf_add(struct buf *b, const void *d, size_t n)
{
	if (n == 0)
		return; /* b->p may still be NULL: memcpy(NULL, ., 0) is UB */
	buf_reserve(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n =
	    vsnprintf(b->p ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Appends S as a JSON string literal. Invalid UTF-8 becomes U+FFFD so that
 * the reply always parses, whatever bytes the request carried. */
static void json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_reserve(b, n * 6 + 2);
	char *o = b->p + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x80) {
			i++;
			if (ch == '"' || ch == '\\') {
				*o++ = '\\';
				*o++ = (char)ch;
			} else if (ch >= 0x20) {
				*o++ = (char)ch;
			} else if (ch == '\n') {
				*o++ = '\\';
				*o++ = 'n';
			} else if (ch == '\r') {
				*o++ = '\\';
				*o++ = 'r';
			} else if (ch == '\t') {
				*o++ = '\\';
				*o++ = 't';
			} else {
				memcpy(o, "\\u00", 4);
				o[4] = hex[ch >> 4];
				o[5] = hex[ch & 15];
				o += 6;
			}
			continue;
		}
		/* Validate one UTF-8 sequence (no overlongs, no surrogates). */
		size_t len = 0;
		unsigned char lo = 0x80, hi = 0xbf;
		if (ch >= 0xc2 && ch <= 0xdf)
			len = 2;
		else if (ch >= 0xe0 && ch <= 0xef) {
			len = 3;
			if (ch == 0xe0)
				lo = 0xa0;
			if (ch == 0xed)
				hi = 0x9f;
		} else if (ch >= 0xf0 && ch <= 0xf4) {
			len = 4;
			if (ch == 0xf0)
				lo = 0x90;
			if (ch == 0xf4)
				hi = 0x8f;
		}
		bool good = len > 0 && i + len <= n;
		for (size_t k = 1; good && k < len; k++) {
			unsigned char cc = (unsigned char)s[i + k];
			if (k == 1 ? (cc < lo || cc > hi)
				   : (cc < 0x80 || cc > 0xbf))
				good = false;
		}
		if (good) {
			memcpy(o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

static void json_strz(struct buf *b, const char *s)
{
	json_str(b, s, strlen(s));
}

/* Deterministic randomness: a pure function of (seed, request number,
 * stream), so a run with the same --seed faults and delays the same
 * request numbers whatever the timing. */
static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static double unit_rand(uint64_t seed, uint64_t n, uint64_t stream)
{
	uint64_t h = splitmix64(seed ^ splitmix64(n * 4 + stream));
	return (double)(h >> 11) * 0x1.0p-53;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h ? h : 1;
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* S is one of the strings of the NULL-terminated SET. */
static bool str_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (streq(s, *set))
			return true;
	return false;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	return alen == blen && strncasecmp(a, b, blen) == 0;
}

static bool iprefix(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	return alen >= blen && strncasecmp(a, b, blen) == 0;
}

/* ------------------------------------------------------------------ */
/* Faults                                                               */

enum fault {
	F_NONE,
	F_429,
	F_500,
	F_503,
	F_HANG,
	F_GARBAGE,
	F_HALF,
	F_RESET,
	F_REFUSE,
	F_EMPTY,
	F_SLOW,
	F_REDIRECT, /* at once: 307 with a Location (--redirect-to) */
	F_ECHOKEY,  /* at once: 400 whose message quotes the API key sent */
	F_ENDLESS,  /* after the slot: 200 with a body that never ends */
	/* image routes only; on the LLM routes they mean no fault */
	F_B64CUT,
	F_IMGCUT,
	F_NOTIMG,
	F_WRONGSIZE,
	F_COUNT
};

static const char *const fault_names[F_COUNT] = {
    "none",	 "429",	    "500",	 "503",	      "hang",
    "garbage",	 "half",    "reset",	 "refuse",    "empty",
    "slow-body", "redirect", "echo-key", "endless",   "b64-cut",
    "image-cut", "not-image", "wrong-size",
};

static int fault_parse(const char *s, size_t n)
{
	for (int k = 0; k < F_COUNT; k++)
		if (ieq(s, n, fault_names[k]))
			return k;
	return -1;
}

static const char REFUSAL[] = "I'm sorry, but I can't help with that.";
/* What a reasoning model thinks before each answer (25 words): it comes
 * out of the same token budget as the answer. */
static const char REASONING[] =
    "Okay, the user wants this caption rewritten as a prompt without "
    "names, so I will describe the people by generic attributes and keep "
    "the scene.";
/* The bytes of the not-image fault: plain text, no image signature. */
static const char NOT_IMAGE[] =
    "fake_llm fault not-image: this is not an image\n";

/* ------------------------------------------------------------------ */
/* Configuration                                                        */

enum image_fmt { IMG_PNG, IMG_JPEG, IMG_WEBP };

/* --mimic: where one real server departs from the shared behaviour.
 * llama.cpp: llama-server's ollama-like routes, which answer /api/chat in
 * the OpenAI format and have no /api/generate or /api/version. */
enum mimic { MIMIC_NONE, MIMIC_SDCPP, MIMIC_OPENAI, MIMIC_LLAMACPP };

static struct config {
	int port;
	const char *port_file;
	unsigned max_seconds;
	unsigned slots; /* 0 = unlimited */
	unsigned lat_lo_ms, lat_hi_ms;
	uint64_t seed;
	struct {
		int kind;
		double rate;
	} rules[MAX_FAULT_RULES];
	int nrules;
	bool echo;
	const char *reply_prefix;
	bool reply_quotes;
	const char *api_key;
	const char *models[MAX_MODELS];
	int nmodels;
	uint64_t die_after;
	uint64_t die_after_ms;
	bool lenient;
	unsigned slow_ms;
	const char *redirect_to; /* Location of the redirect fault */
	int image_fmt;		 /* enum image_fmt */
	int mimic;		 /* enum mimic: a real server's quirks */
	const char *api_auth;	 /* A1111 --api-auth user:password */
	/* capacity models (see "Capacity models" below); 0 = off */
	unsigned http_threads;
	uint64_t keepalive_ns;
	unsigned keepalive_max;
	unsigned loading_ms;
	double batch_knee;
	struct {
		uint64_t start_ms, dur_ms;
	} outages[MAX_OUTAGES];
	int noutages;
	/* --reasoning: a reasoning model behind vLLM's (llama.cpp's, SGLang's)
	 * reasoning parser: OpenAI answers carry REASONING first */
	bool reasoning;
	/* --thinking: an ollama thinking model (qwen3, deepseek-r1): it thinks
	 * (REASONING, in "thinking") unless the request says "think": false */
	bool thinking;
} cfg = {
    .max_seconds = 600,
    .seed = 1,
    .reply_prefix = "",
    .slow_ms = 50,
    .keepalive_ns = 5 * NS_PER_S, /* CPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND */
    .keepalive_max = 100,	  /* CPPHTTPLIB_KEEPALIVE_MAX_COUNT */
};

/* ------------------------------------------------------------------ */
/* Counters (GET /stats and the last line on stderr)                    */

enum path_id {
	P_GENERATE,
	P_CHAT,
	P_OPENAI,
	P_TAGS,
	P_VERSION,
	P_MODELS,
	P_HEALTH,
	P_ROOT,
	P_TXT2IMG,
	P_IMAGES,
	P_SD_MODELS,
	P_PROGRESS,
	P_PING,
	P_PROPS,
	P_SLOTS,
	P_STATS,
	P_OTHER,
	P_COUNT
};

static const int status_list[] = {200, 307, 400, 401, 404, 405, 411, 413,
				  414, 429, 431, 500, 501, 503, 505};
#define NSTATUS (sizeof status_list / sizeof status_list[0])

static struct stats {
	uint64_t requests;	 /* every parsed request except GET /stats */
	uint64_t llm_requests;	 /* valid LLM generation requests */
	uint64_t image_requests; /* valid image generation requests */
	uint64_t llm_answered; /* generation requests finished (--die-after) */
	uint64_t ok;	       /* generation replies without fault */
	uint64_t images_made;  /* pictures drawn and encoded */
	uint64_t image_ns;     /* time spent drawing and encoding them */
	uint64_t faults[F_COUNT];
	uint64_t paths[P_COUNT];
	uint64_t status[NSTATUS];
	unsigned in_flight, max_in_flight;
	unsigned queued, max_queued;
	unsigned hanging;
	uint64_t cancelled; /* client left while queued, in a slot or hung */
	unsigned connections, max_connections;
	uint64_t accepted;
	uint64_t pumped; /* body bytes of the endless fault sent */
	/* capacity models */
	unsigned threads_busy, max_threads_busy; /* --http-threads */
	unsigned conn_waiting, max_conn_waiting; /* waiting for a thread */
	uint64_t thread_waits;	/* connections that had to wait */
	uint64_t waits_over_ka; /* ... longer than --keepalive-s */
	uint64_t max_thread_wait_ns;
	uint64_t ka_idle_closes, ka_max_closes;
	uint64_t loading_503;
	uint64_t slot_ns, max_slot_ns; /* simulated time in a slot */
	uint64_t outages, outage_lost, outage_resets;
} st;

static uint64_t start_ns;
static uint64_t restart_ns; /* the end of the last --outage; 0: none yet */

/* --loading-ms: the server answers 503 for T ms after it starts listening,
 * at start and after each restart, as llama-server does while it loads the
 * model (its HTTP server listens before the model is loaded). */
static bool loading_now(void)
{
	uint64_t from = restart_ns ? restart_ns : start_ns;
	return cfg.loading_ms && now_ns < from + cfg.loading_ms * NS_PER_MS;
}

static unsigned long long ns_to_ms(uint64_t ns)
{
	return (unsigned long long)(ns / NS_PER_MS);
}

/* The counters of the capacity models, appended to the /stats object. */
static void stats_json_capacity(struct buf *b)
{
	buf_addf(b,
		 ",\"http_threads\":%u,\"http_threads_busy\":%u,"
		 "\"max_http_threads_busy\":%u,\"conn_waiting\":%u,"
		 "\"max_conn_waiting\":%u,\"thread_waits\":%llu,"
		 "\"thread_waits_over_keepalive\":%llu,"
		 "\"max_thread_wait_ms\":%llu,\"keepalive_idle_closes\":%llu,"
		 "\"keepalive_max_closes\":%llu,\"loading\":%s,"
		 "\"loading_503\":%llu,\"slot_ms\":%llu,\"max_slot_ms\":%llu,"
		 "\"outages\":%llu,\"outage_lost_requests\":%llu,"
		 "\"outage_reset_connections\":%llu",
		 cfg.http_threads, st.threads_busy, st.max_threads_busy,
		 st.conn_waiting, st.max_conn_waiting,
		 (unsigned long long)st.thread_waits,
		 (unsigned long long)st.waits_over_ka,
		 ns_to_ms(st.max_thread_wait_ns),
		 (unsigned long long)st.ka_idle_closes,
		 (unsigned long long)st.ka_max_closes,
		 loading_now() ? "true" : "false",
		 (unsigned long long)st.loading_503, ns_to_ms(st.slot_ns),
		 ns_to_ms(st.max_slot_ns), (unsigned long long)st.outages,
		 (unsigned long long)st.outage_lost,
		 (unsigned long long)st.outage_resets);
}

static void stats_json(struct buf *b)
{
	static const char *const pnames[P_COUNT] = {"/api/generate",
						    "/api/chat",
						    "/v1/chat/completions",
						    "/api/tags",
						    "/api/version",
						    "/v1/models",
						    "/health",
						    "/",
						    "/sdapi/v1/txt2img",
						    "/v1/images/generations",
						    "/sdapi/v1/sd-models",
						    "/sdapi/v1/progress",
						    "/internal/ping",
						    "/props",
						    "/slots",
						    "/stats",
						    "other"};
	buf_addf(
	    b,
	    "{\"requests\":%llu,\"llm_requests\":%llu,\"image_requests\":%llu,"
	    "\"llm_answered\":%llu,\"ok\":%llu,\"images_made\":%llu,"
	    "\"image_us\":%llu,\"faults\":{",
	    (unsigned long long)st.requests,
	    (unsigned long long)st.llm_requests,
	    (unsigned long long)st.image_requests,
	    (unsigned long long)st.llm_answered, (unsigned long long)st.ok,
	    (unsigned long long)st.images_made,
	    (unsigned long long)(st.image_ns / 1000));
	for (int k = 1; k < F_COUNT; k++)
		buf_addf(b, "%s\"%s\":%llu", k > 1 ? "," : "", fault_names[k],
			 (unsigned long long)st.faults[k]);
	buf_addf(b,
		 "},\"in_flight\":%u,\"max_in_flight\":%u,\"queued\":%u,"
		 "\"max_queued\":%u,\"hanging\":%u,\"cancelled\":%llu,"
		 "\"connections\":%u,\"max_connections\":%u,\"accepted\":%llu,"
		 "\"slots\":%u,\"pumped_bytes\":%llu,\"uptime_ms\":%llu,"
		 "\"status\":{",
		 st.in_flight, st.max_in_flight, st.queued, st.max_queued,
		 st.hanging, (unsigned long long)st.cancelled, st.connections,
		 st.max_connections, (unsigned long long)st.accepted, cfg.slots,
		 (unsigned long long)st.pumped,
		 (unsigned long long)((mono_ns() - start_ns) / NS_PER_MS));
	for (size_t k = 0; k < NSTATUS; k++)
		buf_addf(b, "%s\"%d\":%llu", k ? "," : "", status_list[k],
			 (unsigned long long)st.status[k]);
	buf_adds(b, "},\"paths\":{");
	for (int k = 0; k < P_COUNT; k++)
		buf_addf(b, "%s\"%s\":%llu", k ? "," : "", pnames[k],
			 (unsigned long long)st.paths[k]);
	buf_adds(b, "}");
	stats_json_capacity(b);
	buf_adds(b, "}");
}

/* ------------------------------------------------------------------ */
/* Connections                                                          */

enum cstate {
	C_READ,	  /* reading / parsing the next request */
	C_QUEUED, /* waiting for a slot (FIFO) */
	C_BUSY,	  /* holds a slot; the timer ends the simulated generation */
	C_HANG,	  /* fault "hang": never answered */
	C_DRIP,	  /* fault "slow-body": timer sends one byte per tick */
	C_PUMP,	  /* fault "endless": body bytes until the client leaves */
	C_DRAIN,  /* write side shut; discarding input until EOF or timer */
	C_CLOSED  /* closed, freed at the end of the event batch */
};

enum api { API_GENERATE, API_CHAT, API_OPENAI, API_TXT2IMG, API_IMAGES };

static bool api_image(enum api a)
{
	return a == API_TXT2IMG || a == API_IMAGES;
}

enum method { M_GET, M_HEAD, M_POST, M_OTHER };

/* The request being parsed; offsets index c->in, whose first byte is the
 * first byte of the request (consumed requests are moved out), so they
 * stay valid when the buffer grows. */
struct req {
	int method;
	char path[256];
	bool http10, keep_alive, chunked, expect_continue, has_host;
	long long clen; /* -1: no Content-Length */
	size_t hdr_len, body_len, total_len;
	size_t auth_off, auth_len, fault_off, fault_len, ctype_off, ctype_len;
};

struct conn {
	int fd;
	enum cstate st;
	struct buf in;
	struct buf out; /* bytes the socket did not take yet, from out_off */
	size_t out_off;
	/* parse progress of the current request */
	bool hdr_done, cont_sent;
	size_t scan;	       /* where the search for the blank line resumes */
	size_t ck_pos, ck_dec; /* chunked body: scanned bytes, decoded bytes */
	struct req rq;
	/* the generation request being processed */
	enum api api;
	int fault;
	uint64_t seq;	 /* request number (1-based), drives seeded choices */
	uint64_t lat_ns; /* its simulated generation time */
	uint64_t arrival_ns;
	struct buf text;     /* the reply text */
	struct buf model;    /* model name as sent */
	long long max_words; /* num_predict / max_tokens; <= 0: no limit */
	unsigned n_choices;
	size_t prompt_words;
	/* image requests: c->text holds the prompt without fault markers */
	int img_w, img_h;
	uint64_t img_seed; /* as asked, else drawn for this request number */
	bool img_send;	   /* A1111 send_images */
	struct buf extra;  /* the reply's JSON after the image, preformatted */
	bool in_slot;
	/* How to answer, copied from c->rq when the request is dispatched:
	 * a delayed answer is sent after c->rq has moved on. */
	bool head_only, keep_alive, http10, v1, sdapi;
	bool oai_reply; /* answer in the OpenAI format (whatever the path) */
	bool think;	/* the model reasons (REASONING) before it answers */
	bool close_after; /* close once out is flushed */
	bool write_err;
	/* timer heap and queues */
	uint64_t deadline;
	long heap_idx;		    /* -1: no timer */
	struct conn *qnext, *qprev; /* slot FIFO */
	struct conn *anext, *aprev; /* all live connections */
	struct conn *fnext;	    /* free list / graveyard */
	/* --http-threads: whether a thread serves it (enum thread_state),
	 * its place in the FIFO of connections waiting for one, and the
	 * keep-alive bookkeeping of the thread that serves it */
	int th;
	struct conn *tnext, *tprev;
	uint64_t th_since; /* when it began to wait */
	unsigned ka_count; /* requests its thread has served */
	unsigned ka_armed; /* ka_count + 1 when the idle timer was set */
};

static int epfd = -1, listen_fd = -1, sig_fd = -1;
static char listen_tag, signal_tag; /* epoll data.ptr of the two */
static struct conn *all_conns, *graveyard, *free_conns;
static unsigned n_free;
static struct conn *q_head, *q_tail;
static struct conn **heap;
static size_t heap_n, heap_cap;
static const char *quit_reason; /* set: leave the event loop */
/* Scratch buffers, reused by every request (one thread). */
static struct buf sbody, sresp, stmp, otext;
static struct {
	uint64_t key;
	unsigned count;
} marks[MARK_SLOTS];

/* --- timer heap (min-heap on deadline, index kept in the conn) --- */

static void heap_swap(size_t a, size_t b)
{
	struct conn *t = heap[a];
	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->heap_idx = (long)a;
	heap[b]->heap_idx = (long)b;
}

static void heap_up(size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (heap[p]->deadline <= heap[i]->deadline)
			break;
		heap_swap(i, p);
		i = p;
	}
}

static void heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < heap_n && heap[l]->deadline < heap[m]->deadline)
			m = l;
		if (r < heap_n && heap[r]->deadline < heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

static void timer_del(struct conn *c)
{
	if (c->heap_idx < 0)
		return;
	size_t i = (size_t)c->heap_idx;
	c->heap_idx = -1;
	heap_n--;
	if (i == heap_n)
		return;
	heap[i] = heap[heap_n];
	heap[i]->heap_idx = (long)i;
	heap_up(i);
	heap_down((size_t)heap[i]->heap_idx);
}

static void timer_set(struct conn *c, uint64_t deadline)
{
	timer_del(c);
	if (heap_n == heap_cap) {
		heap_cap = heap_cap ? heap_cap * 2 : 256;
		heap = realloc(heap, heap_cap * sizeof(struct conn *));
		if (!heap)
			die("out of memory");
	}
	c->deadline = deadline;
	c->heap_idx = (long)heap_n;
	heap[heap_n++] = c;
	heap_up((size_t)c->heap_idx);
}

/* --- slot FIFO --- */

static void q_push(struct conn *c)
{
	c->qnext = NULL;
	c->qprev = q_tail;
	if (q_tail)
		q_tail->qnext = c;
	else
		q_head = c;
	q_tail = c;
	if (++st.queued > st.max_queued)
		st.max_queued = st.queued;
}

static void q_remove(struct conn *c)
{
	if (c->qprev)
		c->qprev->qnext = c->qnext;
	else
		q_head = c->qnext;
	if (c->qnext)
		c->qnext->qprev = c->qprev;
	else
		q_tail = c->qprev;
	c->qnext = c->qprev = NULL;
	st.queued--;
}

static void slot_start(struct conn *c, uint64_t t_free);
static void finish(struct conn *c, uint64_t t_done);
static void conn_drive(struct conn *c);
/* the capacity models, defined with the routes */
static void thread_drop(struct conn *c);
static bool thread_closes(int status);
static uint64_t slot_latency(uint64_t lat_ns);

/* Frees the slot, which became free at T_FREE, and gives it to the oldest
 * waiter. Its timer fires in this same loop iteration at the earliest,
 * which keeps this non-recursive. */
static void slot_release(struct conn *c, uint64_t t_free)
{
	if (!c->in_slot)
		return;
	c->in_slot = false;
	st.in_flight--;
	if (q_head) {
		struct conn *n = q_head;
		q_remove(n);
		slot_start(n, t_free);
	}
}

/* --- lifetime --- */

static struct conn *conn_new(int fd)
{
	struct conn *c = free_conns;
	if (c) {
		free_conns = c->fnext;
		n_free--;
	} else {
		c = calloc(1, sizeof *c);
		if (!c)
			die("out of memory");
	}
	struct buf in = c->in, out = c->out, text = c->text, model = c->model,
		   extra = c->extra;
	memset(c, 0, sizeof *c);
	c->in = in;
	c->out = out;
	c->text = text;
	c->model = model;
	c->extra = extra;
	c->in.len = c->out.len = 0;
	c->fd = fd;
	c->st = C_READ;
	c->heap_idx = -1;
	c->anext = all_conns;
	if (all_conns)
		all_conns->aprev = c;
	all_conns = c;
	if (++st.connections > st.max_connections)
		st.max_connections = st.connections;
	return c;
}

/* Closes now; RST instead of FIN when RESET. The memory is recycled only
 * after the current epoll batch, which may still hold events for C. */
static void conn_close(struct conn *c, bool reset)
{
	if (c->st == C_CLOSED)
		return;
	if (c->st == C_QUEUED || c->st == C_BUSY || c->st == C_HANG)
		st.cancelled++;
	if (c->st == C_QUEUED)
		q_remove(c);
	if (c->st == C_HANG)
		st.hanging--;
	slot_release(c, now_ns);
	timer_del(c);
	thread_drop(c);
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(c->fd); /* also removes it from the epoll set */
	c->fd = -1;
	c->st = C_CLOSED;
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		all_conns = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	st.connections--;
	c->fnext = graveyard;
	graveyard = c;
}

static void shrink(struct buf *b)
{
	if (b->cap > KEEP_CAP)
		buf_free(b);
	b->len = 0;
}

static void bury_dead(void)
{
	while (graveyard) {
		struct conn *c = graveyard;
		graveyard = c->fnext;
		shrink(&c->in);
		shrink(&c->out);
		shrink(&c->text);
		shrink(&c->model);
		shrink(&c->extra);
		if (n_free < MAX_FREE_CONNS) {
			c->fnext = free_conns;
			free_conns = c;
			n_free++;
		} else {
			buf_free(&c->in);
			buf_free(&c->out);
			buf_free(&c->text);
			buf_free(&c->model);
			buf_free(&c->extra);
			free(c);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Socket I/O                                                           */

/* Sends what the socket takes now and keeps the rest in c->out. */
static void conn_send(struct conn *c, const char *d, size_t n)
{
	if (c->out.len == c->out_off && c->st != C_DRIP) {
		c->out.len = c->out_off = 0;
		while (n > 0) {
			ssize_t w = send(c->fd, d, n, MSG_NOSIGNAL);
			if (w > 0) {
				d += w;
				n -= (size_t)w;
			} else if (w < 0 && errno == EINTR) {
				continue;
			} else if (w < 0 &&
				   (errno == EAGAIN || errno == EWOULDBLOCK)) {
				break;
			} else {
				c->write_err = true;
				return;
			}
		}
	}
	if (n > 0)
		buf_add(&c->out, d, n);
}

/* 0: all flushed or would block; -1: the peer is gone. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);
		if (w > 0)
			c->out_off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		else
			return -1;
	}
	c->out.len = c->out_off = 0;
	return 0;
}

/* >0 bytes read; 0 EOF; -1 would block; -2 error; -3 buffer full. */
static ssize_t conn_read(struct conn *c)
{
	if (c->in.cap == c->in.len) {
		if (c->in.cap >= MAX_IN)
			return -3;
		size_t nc = c->in.cap ? c->in.cap * 2 : IN_INIT;
		if (nc > MAX_IN)
			nc = MAX_IN;
		char *p = realloc(c->in.p, nc);
		if (!p)
			die("out of memory");
		c->in.p = p;
		c->in.cap = nc;
	}
	for (;;) {
		ssize_t n =
		    read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (n > 0)
			c->in.len += (size_t)n;
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
	}
}

/* A graceful close after an error reply: shut the write side and drain
 * what the client still sends, so that closing with unread input does not
 * turn into an RST that destroys the reply before the client reads it. */
static void conn_linger(struct conn *c)
{
	thread_drop(c); /* httplib's thread closes at once and moves on */
	shutdown(c->fd, SHUT_WR);
	c->st = C_DRAIN;
	timer_set(c, now_ns + LINGER_NS);
	for (;;) {
		c->in.len = 0;
		ssize_t n = conn_read(c);
		if (n > 0)
			continue;
		if (n != -1)
			conn_close(c, false);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Replies                                                              */

static const char *status_text(int s)
{
	switch (s) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 307: return "Temporary Redirect";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

enum send_mode { SEND_ALL, SEND_HALF, SEND_DRIP };

/* Queues one response. EXTRA: more header lines ("Name: v\r\n") or NULL.
 * SEND_HALF announces the whole body, sends half of it and closes;
 * SEND_DRIP sends the headers and leaves the body to the drip timer. */
static void respond(struct conn *c, int status, const char *ctype,
		    const char *extra, const char *body, size_t blen,
		    enum send_mode mode)
{
	for (size_t k = 0; k < NSTATUS; k++)
		if (status_list[k] == status)
			st.status[k]++;
	bool close = c->close_after || !c->keep_alive || mode == SEND_HALF ||
		     thread_closes(status);
	if (close)
		c->close_after = true;
	sresp.len = 0;
	buf_addf(&sresp,
		 "HTTP/1.1 %d %s\r\nServer: fake_llm\r\nContent-Type: %s\r\n"
		 "Content-Length: %zu\r\n%s%s\r\n",
		 status, status_text(status), ctype, blen, extra ? extra : "",
		 close	     ? "Connection: close\r\n"
		 : c->http10 ? "Connection: keep-alive\r\n"
			     : "");
	if (c->head_only)
		blen = 0;
	if (mode == SEND_DRIP) {
		conn_send(c, sresp.p, sresp.len);
		/* The drip timer owns c->out from here on. */
		buf_add(&c->out, body, blen);
		c->st = C_DRIP;
		timer_set(c, now_ns + cfg.slow_ms * NS_PER_MS);
		return;
	}
	buf_add(&sresp, body, mode == SEND_HALF ? blen / 2 : blen);
	conn_send(c, sresp.p, sresp.len);
}

static void respond_json(struct conn *c, int status, const struct buf *b,
			 const char *extra)
{
	respond(c, status, "application/json; charset=utf-8", extra, b->p,
		b->len, SEND_ALL);
}

/* An error in the flavour of the API the path belongs to: OpenAI's
 * {"error":{"message",...}} under /v1/, ollama's {"error":"..."} elsewhere,
 * with A1111's (FastAPI's) "detail" as well under /sdapi/. PARAM names the
 * offending field (OpenAI) or is NULL. */
static void reply_error(struct conn *c, int status, const char *param,
			const char *msg, const char *extra)
{
	sbody.len = 0;
	if (c->v1) {
		buf_adds(&sbody, "{\"error\":{\"message\":");
		json_strz(&sbody, msg);
		buf_addf(&sbody, ",\"type\":\"%s\",\"param\":",
			 status == 401	 ? "authentication_error"
			 : status >= 500 ? "server_error"
					 : "invalid_request_error");
		if (param)
			json_strz(&sbody, param);
		else
			buf_adds(&sbody, "null");
		buf_addf(&sbody, ",\"code\":%d}}", status);
	} else {
		buf_adds(&sbody, "{\"error\":");
		json_strz(&sbody, msg);
		if (c->sdapi) {
			buf_adds(&sbody, ",\"detail\":");
			json_strz(&sbody, msg);
		}
		buf_adds(&sbody, "}");
	}
	respond_json(c, status, &sbody, extra);
}

/* ------------------------------------------------------------------ */
/* HTTP request parsing                                                 */

/* Parses the request line and headers once the blank line has arrived.
 * Returns 1 done, 0 need more, or an HTTP error status. */
static int parse_head(struct conn *c)
{
	struct req *r = &c->rq;
	const char *p = c->in.p;
	size_t from = c->scan > 3 ? c->scan - 3 : 0;
	const char *e = c->in.len > from
			    ? memmem(p + from, c->in.len - from, "\r\n\r\n", 4)
			    : NULL;
	if (!e) {
		c->scan = c->in.len;
		return c->in.len >= MAX_HDR ? 431 : 0;
	}
	size_t hend = (size_t)(e - p) + 2; /* end of the last header line */
	if (hend + 2 > MAX_HDR)
		return 431;
	memset(r, 0, sizeof *r);
	r->clen = -1;
	r->hdr_len = hend + 2;

	/* Request line: METHOD SP TARGET SP HTTP/1.x */
	const char *le = memmem(p, hend, "\r\n", 2);
	size_t llen = (size_t)(le - p);
	const char *sp1 = memchr(p, ' ', llen);
	if (!sp1)
		return 400;
	const char *tgt = sp1 + 1;
	const char *sp2 = memchr(tgt, ' ', (size_t)(le - tgt));
	if (!sp2 || sp2 == tgt)
		return 400;
	size_t mlen = (size_t)(sp1 - p);
	r->method = mlen == 3 && !memcmp(p, "GET", 3)	 ? M_GET
		    : mlen == 4 && !memcmp(p, "POST", 4) ? M_POST
		    : mlen == 4 && !memcmp(p, "HEAD", 4) ? M_HEAD
							 : M_OTHER;
	const char *ver = sp2 + 1;
	size_t vlen = (size_t)(le - ver);
	if (vlen == 8 && !memcmp(ver, "HTTP/1.1", 8))
		r->http10 = false;
	else if (vlen == 8 && !memcmp(ver, "HTTP/1.0", 8))
		r->http10 = true;
	else if (vlen == 8 && !memcmp(ver, "HTTP/", 5))
		return 505;
	else
		return 400;
	if (*tgt != '/')
		return 400;
	size_t plen = 0;
	while (tgt + plen < sp2 && tgt[plen] != '?' && tgt[plen] != '#')
		plen++;
	if (plen >= sizeof r->path)
		return 414;
	memcpy(r->path, tgt, plen);
	r->path[plen] = 0;

	/* Header lines. */
	bool conn_close = false, conn_ka = false;
	size_t pos = llen + 2;
	while (pos < hend) {
		const char *l = p + pos;
		const char *nl = memmem(l, hend - pos, "\r\n", 2);
		size_t n = (size_t)(nl - l);
		pos += n + 2;
		if (*l == ' ' || *l == '\t')
			return 400; /* obsolete line folding */
		const char *colon = memchr(l, ':', n);
		if (!colon || colon == l || colon[-1] == ' ' ||
		    colon[-1] == '\t')
			return 400;
		size_t nlen = (size_t)(colon - l);
		const char *v = colon + 1, *ve = l + n;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t vl = (size_t)(ve - v);
		size_t voff = (size_t)(v - p);
		if (ieq(l, nlen, "content-length")) {
			long long cl = 0;
			if (vl == 0 || vl > 18)
				return vl > 18 ? 413 : 400;
			for (size_t k = 0; k < vl; k++) {
				if (v[k] < '0' || v[k] > '9')
					return 400;
				cl = cl * 10 + (v[k] - '0');
			}
			if (r->clen >= 0 && r->clen != cl)
				return 400;
			r->clen = cl;
		} else if (ieq(l, nlen, "transfer-encoding")) {
			if (!ieq(v, vl, "chunked"))
				return 501;
			r->chunked = true;
		} else if (ieq(l, nlen, "connection")) {
			/* A comma-separated token list. */
			const char *t = v;
			while (t < ve) {
				const char *te =
				    memchr(t, ',', (size_t)(ve - t));
				if (!te)
					te = ve;
				const char *a = t, *b = te;
				while (a < b && (*a == ' ' || *a == '\t'))
					a++;
				while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
					b--;
				if (ieq(a, (size_t)(b - a), "close"))
					conn_close = true;
				else if (ieq(a, (size_t)(b - a), "keep-alive"))
					conn_ka = true;
				t = te + 1;
			}
		} else if (ieq(l, nlen, "host")) {
			r->has_host = true;
		} else if (ieq(l, nlen, "expect")) {
			r->expect_continue = ieq(v, vl, "100-continue");
		} else if (ieq(l, nlen, "authorization")) {
			r->auth_off = voff;
			r->auth_len = vl;
		} else if (ieq(l, nlen, "x-fault")) {
			r->fault_off = voff;
			r->fault_len = vl;
		} else if (ieq(l, nlen, "content-type")) {
			r->ctype_off = voff;
			r->ctype_len = vl;
		}
	}
	r->keep_alive = r->http10 ? conn_ka && !conn_close : !conn_close;
	if (!r->http10 && !r->has_host)
		return 400; /* RFC 9112 3.2: Host is required in HTTP/1.1 */
	if (r->chunked && r->clen >= 0)
		return 400; /* request smuggling shape; refuse both */
	if (r->clen > (long long)MAX_BODY)
		return 413;
	return 1;
}

/* Walks a chunked body from *POS (a chunk-size line). DST: when non-NULL
 * the data is copied down to DST (in place decoding; DST never overtakes
 * the read position). Returns 1 complete (*POS = encoded length), 0 need
 * more (*POS at the first incomplete chunk), or an HTTP error status. */
static int chunk_walk(char *p, size_t n, size_t *pos, size_t *dec, char *dst)
{
	size_t at = *pos;
	for (;;) {
		const char *crlf =
		    at < n ? memmem(p + at, n - at, "\r\n", 2) : NULL;
		if (!crlf)
			return n - at > 1024 ? 400 : 0;
		size_t le = (size_t)(crlf - p);
		size_t k = at, size = 0;
		while (k < le && k - at < 16) {
			char ch = p[k];
			int d = ch >= '0' && ch <= '9'	 ? ch - '0'
				: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
				: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
							 : -1;
			if (d < 0)
				break;
			size = size * 16 + (size_t)d;
			k++;
		}
		if (k == at || k - at >= 16)
			return 400;
		while (k < le && (p[k] == ' ' || p[k] == '\t'))
			k++;
		if (k < le && p[k] != ';')
			return 400; /* only chunk extensions may follow */
		size_t data = le + 2;
		if (size == 0) {
			/* Trailer section: header lines up to a blank line. */
			size_t q = data;
			for (;;) {
				const char *t =
				    q < n ? memmem(p + q, n - q, "\r\n", 2)
					  : NULL;
				if (!t)
					return n - data > MAX_HDR ? 431 : 0;
				if ((size_t)(t - p) == q) {
					*pos = q + 2;
					return 1;
				}
				q = (size_t)(t - p) + 2;
			}
		}
		if (*dec + size > MAX_BODY)
			return 413;
		if (n < data + size + 2) {
			*pos = at;
			return 0;
		}
		if (p[data + size] != '\r' || p[data + size + 1] != '\n')
			return 400;
		if (dst)
			memmove(dst + *dec, p + data, size);
		*dec += size;
		at = data + size + 2;
		*pos = at;
	}
}

/* Returns 1 when a whole request is in c->in, 0 when more is needed, or
 * an HTTP error status (the connection is then closed after the reply). */
static int parse_request(struct conn *c)
{
	struct req *r = &c->rq;
	if (!c->hdr_done) {
		/* RFC 9112 2.2: ignore empty lines before a request line. */
		size_t skip = 0;
		while (skip + 1 < c->in.len && c->in.p[skip] == '\r' &&
		       c->in.p[skip + 1] == '\n')
			skip += 2;
		if (skip) {
			memmove(c->in.p, c->in.p + skip, c->in.len - skip);
			c->in.len -= skip;
		}
		int h = parse_head(c);
		if (h != 1)
			return h;
		c->hdr_done = true;
		c->ck_pos = c->ck_dec = 0;
	}
	char *body = c->in.p + r->hdr_len;
	size_t have = c->in.len - r->hdr_len;
	bool complete;
	if (r->chunked) {
		int k = chunk_walk(body, have, &c->ck_pos, &c->ck_dec, NULL);
		if (k > 1)
			return k;
		complete = k == 1;
		if (complete) {
			size_t pos = 0, dec = 0;
			chunk_walk(body, have, &pos, &dec, body);
			r->body_len = dec;
			r->total_len = r->hdr_len + c->ck_pos;
		} else if (c->in.len >= MAX_IN) {
			return 413; /* the encoding overhead does not fit */
		}
	} else {
		r->body_len = r->clen > 0 ? (size_t)r->clen : 0;
		r->total_len = r->hdr_len + r->body_len;
		complete = c->in.len >= r->total_len;
	}
	if (!complete && r->expect_continue && !r->http10 && !c->cont_sent) {
		c->cont_sent = true;
		conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	return complete ? 1 : 0;
}

/* Drops the handled request from c->in; pipelined bytes move to the
 * front. */
static void consume_request(struct conn *c)
{
	size_t n = c->rq.total_len;
	if (n > c->in.len)
		n = c->in.len;
	memmove(c->in.p, c->in.p + n, c->in.len - n);
	c->in.len -= n;
	c->hdr_done = c->cont_sent = false;
	c->scan = 0;
	memset(&c->rq, 0,
	       sizeof c->rq); /* a later parse error sees no stale path */
}

/* ------------------------------------------------------------------ */
/* Request validation (the documented ollama and OpenAI APIs)           */

enum { T_STR = 1, T_NUM = 2, T_INT = 4, T_BOOL = 8, T_OBJ = 16, T_ARR = 32 };

struct field {
	const char *name;
	unsigned types;
};

struct verr {
	char msg[320];
	char param[64];
};

static bool verr_set(struct verr *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool verr_set(struct verr *e, const char *param, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	snprintf(e->param, sizeof e->param, "%s", param ? param : "");
	return false;
}

static bool is_int(const cJSON *j)
{
	if (!cJSON_IsNumber(j))
		return false;
	double v = j->valuedouble;
	return v > -9e15 && v < 9e15 && (double)(long long)v == v;
}

static const char *type_words(unsigned t)
{
	static char s[96];
	s[0] = 0;
	static const char *const w[] = {"a string",  "a number",  "an integer",
					"a boolean", "an object", "an array"};
	for (int k = 0; k < 6; k++)
		if (t & (1u << k)) {
			if (s[0])
				strcat(s, " or ");
			strcat(s, w[k]);
		}
	return s;
}

/* Checks every member of OBJ against FIELDS: a type mismatch is an error
 * (as in ollama's Go decoder and OpenAI's schema); null means absent
 * (both APIs accept it); an unknown member is an error unless --lenient,
 * because a misspelt or misplaced field (num_predict at the top level) is
 * silently ignored by the real servers and is exactly what the client
 * tests must catch. */
static bool check_fields(const cJSON *obj, const struct field *f, size_t nf,
			 const char *where, struct verr *e)
{
	for (const cJSON *m = obj->child; m; m = m->next) {
		size_t k = 0;
		while (k < nf && strcmp(f[k].name, m->string) != 0)
			k++;
		if (k == nf) {
			if (cfg.lenient)
				continue;
			return verr_set(e, m->string, "unknown field '%s%s'",
					where, m->string);
		}
		if (cJSON_IsNull(m))
			continue;
		unsigned t = f[k].types;
		bool good = ((t & T_STR) && cJSON_IsString(m)) ||
			    ((t & T_NUM) && cJSON_IsNumber(m)) ||
			    ((t & T_INT) && is_int(m)) ||
			    ((t & T_BOOL) && cJSON_IsBool(m)) ||
			    ((t & T_OBJ) && cJSON_IsObject(m)) ||
			    ((t & T_ARR) && cJSON_IsArray(m));
		if (!good)
			return verr_set(e, m->string, "field '%s%s' must be %s",
					where, m->string, type_words(t));
	}
	return true;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNull(j) ? NULL : j;
}

static bool in_range(const cJSON *o, const char *k, double lo, double hi,
		     const char *where, struct verr *e)
{
	const cJSON *j = get(o, k);
	if (j && (j->valuedouble < lo || j->valuedouble > hi))
		return verr_set(e, k, "field '%s%s' must be between %g and %g",
				where, k, lo, hi);
	return true;
}

static bool all_strings(const cJSON *a, const char *name, struct verr *e)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, a) if (!cJSON_IsString(x)) return verr_set(
	    e, name, "field '%s' must be an array of strings", name);
	return true;
}

/* ollama "options" (api.Options and api.Runner). */
static bool check_ollama_options(const cJSON *o, struct verr *e)
{
	static const struct field f[] = {
	    {"num_keep", T_INT},
	    {"seed", T_INT},
	    {"num_predict", T_INT},
	    {"top_k", T_INT},
	    {"top_p", T_NUM},
	    {"min_p", T_NUM},
	    {"typical_p", T_NUM},
	    {"repeat_last_n", T_INT},
	    {"temperature", T_NUM},
	    {"repeat_penalty", T_NUM},
	    {"presence_penalty", T_NUM},
	    {"frequency_penalty", T_NUM},
	    {"penalize_newline", T_BOOL},
	    {"stop", T_ARR},
	    {"numa", T_BOOL},
	    {"num_ctx", T_INT},
	    {"num_batch", T_INT},
	    {"num_gpu", T_INT},
	    {"main_gpu", T_INT},
	    {"low_vram", T_BOOL},
	    {"use_mmap", T_BOOL},
	    {"use_mlock", T_BOOL},
	    {"num_thread", T_INT},
	    {"mirostat", T_INT},
	    {"mirostat_tau", T_NUM},
	    {"mirostat_eta", T_NUM},
	    {"tfs_z", T_NUM},
	};
	if (!check_fields(o, f, sizeof f / sizeof f[0], "options.", e))
		return false;
	const cJSON *stop = get(o, "stop");
	if (stop && !all_strings(stop, "options.stop", e))
		return false;
	const cJSON *np = get(o, "num_predict");
	if (np && np->valuedouble < -2)
		return verr_set(e, "num_predict",
				"options.num_predict must be >= -2");
	return in_range(o, "temperature", 0, 100, "options.", e) &&
	       in_range(o, "top_p", 0, 1, "options.", e);
}

/* The fields both ollama endpoints share. */
static bool check_ollama_common(const cJSON *j, struct verr *e)
{
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(j, "stream");
	if (!cJSON_IsBool(stream) || cJSON_IsTrue(stream))
		return verr_set(e, "stream",
				"fake_llm answers only \"stream\": false "
				"(ollama streams when it is absent or true)");
	const cJSON *fmt = get(j, "format");
	if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, "json") != 0 &&
	    fmt->valuestring[0])
		return verr_set(e, "format",
				"format must be \"json\" or a JSON schema");
	/* api.ThinkValue: a bool or "high", "medium", "low"; asking a model
	 * without the thinking capability to think is a 400, "think": false
	 * is fine (server/routes.go). llama-server ignores the field. */
	const cJSON *think = get(j, "think");
	if (cJSON_IsString(think) &&
	    !str_in(think->valuestring,
		    (const char *const[]){"high", "medium", "low", NULL}))
		return verr_set(e, "think",
				"invalid think value: \"%.40s\" (must be "
				"\"high\", \"medium\", \"low\", true, or false)",
				think->valuestring);
	if (think && !cJSON_IsFalse(think) && !cfg.thinking &&
	    cfg.mimic != MIMIC_LLAMACPP)
		return verr_set(e, "think",
				"\"%.200s\" does not support thinking",
				get(j, "model")->valuestring);
	const cJSON *opt = get(j, "options");
	return !opt || check_ollama_options(opt, e);
}

static bool check_model(const cJSON *j, struct verr *e)
{
	const cJSON *m = get(j, "model");
	if (!cJSON_IsString(m) || !m->valuestring[0])
		return verr_set(e, "model", "model is required");
	return true;
}

/* POST /api/generate. Sets *TEXT to the prompt. */
static bool check_generate(const cJSON *j, const char **text, struct verr *e)
{
	static const struct field f[] = {
	    {"model", T_STR},	       {"prompt", T_STR},
	    {"suffix", T_STR},	       {"images", T_ARR},
	    {"format", T_STR | T_OBJ}, {"options", T_OBJ},
	    {"system", T_STR},	       {"template", T_STR},
	    {"context", T_ARR},	       {"stream", T_BOOL},
	    {"raw", T_BOOL},	       {"keep_alive", T_STR | T_NUM},
	    {"think", T_BOOL | T_STR}, {"logprobs", T_BOOL},
	    {"top_logprobs", T_INT},   {"truncate", T_BOOL},
	    {"shift", T_BOOL},
	};
	if (!check_fields(j, f, sizeof f / sizeof f[0], "", e) ||
	    !check_model(j, e) || !check_ollama_common(j, e))
		return false;
	const cJSON *images = get(j, "images");
	if (images && !all_strings(images, "images", e))
		return false;
	const cJSON *ctx = get(j, "context");
	const cJSON *x;
	if (ctx)
		cJSON_ArrayForEach(x, ctx) if (!is_int(x)) return verr_set(
		    e, "context", "context must be an array of integers");
	const cJSON *p = get(j, "prompt");
	if (!p || !p->valuestring[0])
		return verr_set(e, "prompt",
				"prompt is required (an empty prompt only "
				"loads the model in ollama)");
	*text = p->valuestring;
	return true;
}

/* POST /api/chat. Sets *TEXT to the content of the last user message. */
static bool check_chat(const cJSON *j, const char **text, struct verr *e)
{
	static const struct field f[] = {
	    {"model", T_STR},
	    {"messages", T_ARR},
	    {"tools", T_ARR},
	    {"format", T_STR | T_OBJ},
	    {"options", T_OBJ},
	    {"stream", T_BOOL},
	    {"keep_alive", T_STR | T_NUM},
	    {"think", T_BOOL | T_STR},
	    {"logprobs", T_BOOL},
	    {"top_logprobs", T_INT},
	    {"truncate", T_BOOL},
	    {"shift", T_BOOL},
	};
	static const struct field mf[] = {
	    {"role", T_STR},	   {"content", T_STR},	{"images", T_ARR},
	    {"tool_calls", T_ARR}, {"thinking", T_STR}, {"tool_name", T_STR},
	};
	if (!check_fields(j, f, sizeof f / sizeof f[0], "", e) ||
	    !check_model(j, e) || !check_ollama_common(j, e))
		return false;
	const cJSON *msgs = get(j, "messages");
	if (!msgs || !cJSON_GetArraySize(msgs))
		return verr_set(e, "messages", "messages is required");
	const cJSON *m;
	*text = NULL;
	cJSON_ArrayForEach(m, msgs)
	{
		if (!cJSON_IsObject(m))
			return verr_set(e, "messages",
					"each message must be an object");
		if (!check_fields(m, mf, sizeof mf / sizeof mf[0],
				  "messages[].", e))
			return false;
		const cJSON *role = get(m, "role");
		if (!role)
			return verr_set(e, "role", "message without a role");
		const char *r = role->valuestring;
		if (!str_in(r,
			    (const char *const[]){"system", "user", "assistant",
						  "tool", NULL}))
			return verr_set(e, "role",
					"unknown message role '%s' (system, "
					"user, assistant or tool)",
					r);
		const cJSON *img = get(m, "images");
		if (img && !all_strings(img, "messages[].images", e))
			return false;
		const cJSON *content = get(m, "content");
		if (streq(r, "user"))
			*text = content ? content->valuestring : "";
	}
	if (!*text || !**text)
		return verr_set(e, "messages",
				"fake_llm needs a non-empty user message");
	return true;
}

/* Text of an OpenAI message content: a string or an array of parts. */
static bool openai_content(const cJSON *c, struct buf *out, struct verr *e)
{
	if (cJSON_IsString(c)) {
		buf_adds(out, c->valuestring);
		return true;
	}
	if (!cJSON_IsArray(c))
		return verr_set(
		    e, "content",
		    "content must be a string or an array of parts");
	const cJSON *part;
	bool first = true;
	cJSON_ArrayForEach(part, c)
	{
		const cJSON *type =
		    cJSON_GetObjectItemCaseSensitive(part, "type");
		if (!cJSON_IsObject(part) || !cJSON_IsString(type))
			return verr_set(
			    e, "content",
			    "each content part needs a string 'type'");
		const char *t = type->valuestring;
		if (streq(t, "text")) {
			const cJSON *tx =
			    cJSON_GetObjectItemCaseSensitive(part, "text");
			if (!cJSON_IsString(tx))
				return verr_set(
				    e, "content",
				    "a text part needs a string 'text'");
			if (!first)
				buf_adds(out, "\n");
			buf_adds(out, tx->valuestring);
			first = false;
		} else if (!str_in(t, (const char *const[]){
					  "image_url", "input_audio", "file",
					  "refusal", NULL})) {
			return verr_set(e, "content",
					"unknown content part type '%s'", t);
		}
	}
	return true;
}

/* POST /v1/chat/completions. The last user message's text goes to OUT. */
static bool check_openai(const cJSON *j, struct buf *out, struct verr *e)
{
	static const struct field f[] = {
	    /* OpenAI */
	    {"model", T_STR},
	    {"messages", T_ARR},
	    {"temperature", T_NUM},
	    {"top_p", T_NUM},
	    {"n", T_INT},
	    {"stream", T_BOOL},
	    {"stream_options", T_OBJ},
	    {"stop", T_STR | T_ARR},
	    {"max_tokens", T_INT},
	    {"max_completion_tokens", T_INT},
	    {"presence_penalty", T_NUM},
	    {"frequency_penalty", T_NUM},
	    {"logit_bias", T_OBJ},
	    {"logprobs", T_BOOL},
	    {"top_logprobs", T_INT},
	    {"user", T_STR},
	    {"seed", T_INT},
	    {"response_format", T_OBJ},
	    {"tools", T_ARR},
	    {"tool_choice", T_STR | T_OBJ},
	    {"parallel_tool_calls", T_BOOL},
	    {"store", T_BOOL},
	    {"metadata", T_OBJ},
	    {"reasoning_effort", T_STR},
	    {"service_tier", T_STR},
	    {"modalities", T_ARR},
	    {"prediction", T_OBJ},
	    {"audio", T_OBJ},
	    {"verbosity", T_STR},
	    /* sampling extras that vLLM, llama.cpp and SGLang accept */
	    {"top_k", T_INT},
	    {"min_p", T_NUM},
	    {"repetition_penalty", T_NUM},
	    {"min_tokens", T_INT},
	    {"ignore_eos", T_BOOL},
	    {"skip_special_tokens", T_BOOL},
	    {"chat_template_kwargs", T_OBJ},
	    {"cache_prompt", T_BOOL},
	};
	static const struct field mf[] = {
	    {"role", T_STR},
	    {"content", T_STR | T_ARR},
	    {"name", T_STR},
	    {"tool_calls", T_ARR},
	    {"tool_call_id", T_STR},
	    {"function_call", T_OBJ},
	    {"refusal", T_STR},
	    {"audio", T_OBJ},
	    {"reasoning_content", T_STR},
	};
	if (!check_fields(j, f, sizeof f / sizeof f[0], "", e) ||
	    !check_model(j, e))
		return false;
	const cJSON *stream = get(j, "stream");
	if (cJSON_IsTrue(stream))
		return verr_set(
		    e, "stream",
		    "fake_llm does not stream; send \"stream\": false "
		    "or leave it out");
	if (!in_range(j, "temperature", 0, 2, "", e) ||
	    !in_range(j, "top_p", 0, 1, "", e) ||
	    !in_range(j, "n", 1, 128, "", e) ||
	    !in_range(j, "max_tokens", 1, 1e12, "", e) ||
	    !in_range(j, "max_completion_tokens", 1, 1e12, "", e) ||
	    !in_range(j, "presence_penalty", -2, 2, "", e) ||
	    !in_range(j, "frequency_penalty", -2, 2, "", e) ||
	    !in_range(j, "top_logprobs", 0, 20, "", e))
		return false;
	const cJSON *stop = get(j, "stop");
	if (cJSON_IsArray(stop) &&
	    (!all_strings(stop, "stop", e) || cJSON_GetArraySize(stop) > 4))
		return verr_set(e, "stop", "stop takes up to 4 strings");
	const cJSON *rf = get(j, "response_format");
	if (rf) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(rf, "type");
		if (!cJSON_IsString(t) ||
		    !str_in(t->valuestring,
			    (const char *const[]){"text", "json_object",
						  "json_schema", NULL}))
			return verr_set(e, "response_format",
					"response_format.type must be text, "
					"json_object or json_schema");
	}
	const cJSON *msgs = get(j, "messages");
	if (!msgs || !cJSON_GetArraySize(msgs))
		return verr_set(e, "messages",
				"messages must be a non-empty array");
	const cJSON *m, *last_user = NULL;
	cJSON_ArrayForEach(m, msgs)
	{
		if (!cJSON_IsObject(m))
			return verr_set(e, "messages",
					"each message must be an object");
		if (!check_fields(m, mf, sizeof mf / sizeof mf[0],
				  "messages[].", e))
			return false;
		const cJSON *role = get(m, "role");
		if (!role)
			return verr_set(e, "messages",
					"message without a role");
		const char *r = role->valuestring;
		const cJSON *content = get(m, "content");
		bool needs_content = true;
		if (streq(r, "assistant")) {
			needs_content = false;
		} else if (streq(r, "tool")) {
			if (!get(m, "tool_call_id"))
				return verr_set(
				    e, "messages",
				    "a tool message needs tool_call_id");
		} else if (!str_in(r, (const char *const[]){
					  "system", "developer", "user",
					  "function", NULL})) {
			return verr_set(e, "messages",
					"unknown message role '%s' (system, "
					"developer, user, assistant, tool)",
					r);
		}
		if (needs_content && !content)
			return verr_set(e, "messages",
					"a %s message needs content", r);
		stmp.len = 0;
		if (content && !openai_content(content, &stmp, e))
			return false;
		if (streq(r, "user"))
			last_user = m;
	}
	if (!last_user)
		return verr_set(e, "messages", "fake_llm needs a user message");
	out->len = 0;
	openai_content(get(last_user, "content"), out, e);
	if (!out->len)
		return verr_set(e, "messages", "the user message is empty");
	return true;
}

/* What an image request asks for, as the two image APIs validate it. */
struct img_req {
	const char *prompt;
	const char *model; /* NULL: the first --model name */
	long long seed;	   /* -1: the server draws one */
	int w, h;
	bool send; /* A1111 send_images: false answers "images": [] */
};

/* An image side: what the SD-family servers accept (latent = 1/8). */
static bool image_side(long long v, const char *name, struct verr *e)
{
	if (v < 64 || v > 2048 || v % 8)
		return verr_set(e, name,
				"%s must be 64..2048 and a multiple of 8, "
				"not %lld",
				name, v);
	return true;
}

static bool image_seed(const cJSON *j, struct img_req *ir, struct verr *e)
{
	const cJSON *seed = get(j, "seed");
	ir->seed = seed ? (long long)seed->valuedouble : -1;
	if (ir->seed < -1)
		return verr_set(e, "seed",
				"seed must be >= 0, or -1 for a random one");
	return true;
}

/* The prompt and the sampling extensions both image APIs share. */
static bool image_common(const cJSON *j, struct img_req *ir, struct verr *e)
{
	const cJSON *p = get(j, "prompt");
	if (!p || !p->valuestring[0])
		return verr_set(e, "prompt", "prompt is required");
	ir->prompt = p->valuestring;
	ir->send = true;
	return image_seed(j, ir, e) && in_range(j, "steps", 1, 150, "", e) &&
	       in_range(j, "cfg_scale", 1, 30, "", e);
}

/* POST /sdapi/v1/txt2img (StableDiffusionTxt2ImgProcessingAPI). The
 * fields of the real schema that change neither the size nor the number
 * of images are accepted and ignored; hires fix and scripts are not. */
static bool check_txt2img(const cJSON *j, struct img_req *ir, struct verr *e)
{
	static const struct field f[] = {
	    {"prompt", T_STR},
	    {"negative_prompt", T_STR},
	    {"seed", T_INT},
	    {"steps", T_INT},
	    {"cfg_scale", T_NUM},
	    {"width", T_INT},
	    {"height", T_INT},
	    {"sampler_name", T_STR},
	    {"scheduler", T_STR},
	    {"batch_size", T_INT},
	    {"n_iter", T_INT},
	    {"override_settings", T_OBJ},
	    {"send_images", T_BOOL},
	    {"save_images", T_BOOL},
	    /* accepted, no effect on the fake */
	    {"styles", T_ARR},
	    {"subseed", T_INT},
	    {"subseed_strength", T_NUM},
	    {"seed_resize_from_h", T_INT},
	    {"seed_resize_from_w", T_INT},
	    {"sampler_index", T_STR},
	    {"restore_faces", T_BOOL},
	    {"tiling", T_BOOL},
	    {"do_not_save_samples", T_BOOL},
	    {"do_not_save_grid", T_BOOL},
	    {"eta", T_NUM},
	    {"denoising_strength", T_NUM},
	    {"s_min_uncond", T_NUM},
	    {"s_churn", T_NUM},
	    {"s_tmax", T_NUM},
	    {"s_tmin", T_NUM},
	    {"s_noise", T_NUM},
	    {"override_settings_restore_afterwards", T_BOOL},
	    {"force_task_id", T_STR},
	    {"enable_hr", T_BOOL},
	};
	if (!check_fields(j, f, sizeof f / sizeof f[0], "", e) ||
	    !image_common(j, ir, e))
		return false;
	const cJSON *styles = get(j, "styles");
	if (styles && !all_strings(styles, "styles", e))
		return false;
	const cJSON *w = get(j, "width"), *h = get(j, "height");
	if ((w && !image_side((long long)w->valuedouble, "width", e)) ||
	    (h && !image_side((long long)h->valuedouble, "height", e)))
		return false;
	ir->w = w ? (int)w->valuedouble : 512;
	ir->h = h ? (int)h->valuedouble : 512;
	static const char *const one[] = {"batch_size", "n_iter"};
	for (int k = 0; k < 2; k++) {
		const cJSON *n = get(j, one[k]);
		if (n && n->valuedouble != 1)
			return verr_set(e, one[k],
					"this fake serves one image per "
					"request: %s must be 1",
					one[k]);
	}
	if (cJSON_IsTrue(get(j, "enable_hr")))
		return verr_set(e, "enable_hr",
				"this fake has no hires fix: enable_hr must "
				"be false");
	const cJSON *send = get(j, "send_images");
	ir->send = !cJSON_IsFalse(send);
	ir->model = NULL;
	const cJSON *os = get(j, "override_settings");
	const cJSON *ck = os ? get(os, "sd_model_checkpoint") : NULL;
	if (ck && !cJSON_IsString(ck))
		return verr_set(e, "sd_model_checkpoint",
				"override_settings.sd_model_checkpoint must "
				"be a string");
	if (ck)
		ir->model = ck->valuestring;
	return true;
}

/* POST /v1/images/generations. seed, negative_prompt, steps and
 * cfg_scale are not OpenAI's: they are the extensions that local
 * OpenAI-compatible image servers accept. */
static bool check_images(const cJSON *j, struct img_req *ir, struct verr *e)
{
	static const struct field f[] = {
	    {"prompt", T_STR},
	    {"model", T_STR},
	    {"n", T_INT},
	    {"size", T_STR},
	    {"response_format", T_STR},
	    {"quality", T_STR},
	    {"style", T_STR},
	    {"user", T_STR},
	    {"seed", T_INT},
	    {"negative_prompt", T_STR},
	    {"steps", T_INT},
	    {"cfg_scale", T_NUM},
	};
	if (!check_fields(j, f, sizeof f / sizeof f[0], "", e) ||
	    !image_common(j, ir, e))
		return false;
	const cJSON *m = get(j, "model");
	if (m && !m->valuestring[0])
		return verr_set(e, "model", "model must not be empty");
	ir->model = m ? m->valuestring : NULL;
	const cJSON *n = get(j, "n");
	if (n && n->valuedouble != 1)
		return verr_set(e, "n",
				"this fake serves one image per request: n "
				"must be 1");
	const cJSON *rf = get(j, "response_format");
	if (rf && streq(rf->valuestring, "url"))
		return verr_set(e, "response_format",
				"this fake only serves response_format "
				"b64_json, not url");
	if (rf && !streq(rf->valuestring, "b64_json"))
		return verr_set(e, "response_format",
				"response_format must be b64_json (or url, "
				"which this fake does not serve)");
	ir->w = ir->h = 1024; /* OpenAI's default size */
	const cJSON *size = get(j, "size");
	if (size) {
		const char *s = size->valuestring;
		long long v[2] = {0, 0};
		bool good = true;
		for (int k = 0; k < 2 && good; k++) {
			const char *d = s;
			while (*s >= '0' && *s <= '9' && v[k] < 100000)
				v[k] = v[k] * 10 + (*s++ - '0');
			good = s > d && *s == (k ? '\0' : 'x');
			s += !k; /* past the 'x' */
		}
		if (!good)
			return verr_set(e, "size",
					"size must be WIDTHxHEIGHT, like "
					"\"1024x1024\", not \"%.40s\"",
					size->valuestring);
		if (!image_side(v[0], "width", e) ||
		    !image_side(v[1], "height", e))
			return verr_set(e, "size",
					"size \"%.40s\": each side must be "
					"64..2048 and a multiple of 8",
					size->valuestring);
		ir->w = (int)v[0];
		ir->h = (int)v[1];
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* --mimic: real servers' quirks on POST /v1/images/generations         */

/* OpenAI's image models and the sizes they accept; a model not listed
 * takes any size. The default model is dall-e-2. */
static const struct {
	const char *name;
	const char *sizes[4];
} openai_sizes[] = {
    {"dall-e-2", {"256x256", "512x512", "1024x1024", NULL}},
    {"dall-e-3", {"1024x1024", "1792x1024", "1024x1792", NULL}},
    {"gpt-image-1", {"1024x1024", "1536x1024", "1024x1536", NULL}},
    {"gpt-image-1-mini", {"1024x1024", "1536x1024", "1024x1536", NULL}},
    {"gpt-image-1.5", {"1024x1024", "1536x1024", "1024x1536", NULL}},
};

/* --mimic openai: api.openai.com refuses fields it does not know, with
 * 400 "Unknown parameter: 'seed'." (and response_format for gpt-image-*,
 * which always answer b64_json), and sizes the model does not make. Run
 * before the fake's own checks, so that OpenAI's words are the ones sent. */
static bool mimic_images_before(const cJSON *j, struct verr *e)
{
	static const char *const known[] = {
	    "prompt",	  "model",	     "n",
	    "size",	  "quality",	     "style",
	    "user",	  "response_format", "background",
	    "moderation", "output_format",   "output_compression",
	    NULL};
	if (cfg.mimic != MIMIC_OPENAI)
		return true;
	const cJSON *m = get(j, "model");
	const char *model = cJSON_IsString(m) ? m->valuestring : "dall-e-2";
	for (const cJSON *f = j->child; f; f = f->next)
		if (!str_in(f->string, known) ||
		    (streq(f->string, "response_format") &&
		     !strncmp(model, "gpt-image-", 10)))
			return verr_set(e, f->string,
					"Unknown parameter: '%.40s'.",
					f->string);
	const cJSON *sz = get(j, "size");
	const char *size = cJSON_IsString(sz) ? sz->valuestring : "1024x1024";
	for (size_t k = 0; k < sizeof openai_sizes / sizeof openai_sizes[0];
	     k++) {
		const char *const *v = openai_sizes[k].sizes;
		if (!streq(model, openai_sizes[k].name) || str_in(size, v))
			continue;
		return verr_set(e, "size",
				"Invalid value: '%.40s'. Supported values "
				"are: '%s', '%s', and '%s'.",
				size, v[0], v[1], v[2]);
	}
	return true;
}

static struct buf sdcpp_prompt; /* the prompt without its extra args */

/* --mimic sd.cpp: stable-diffusion.cpp's server takes only prompt, n and
 * size from the body of this route (examples/server/routes_openai.cpp):
 * seed, steps, cfg_scale and negative_prompt there are ignored, the seed
 * is the server's --seed (42). Its options come from a block
 * <sd_cpp_extra_args>{JSON}</sd_cpp_extra_args> in the prompt, found by
 * the regex <sd_cpp_extra_args>(.*?)</sd_cpp_extra_args> ('.' stops at a
 * line break) and cut out of it; JSON that does not parse is 400
 * "invalid sd_cpp_extra_args". Of its fields the image depends on the
 * seed (an integer; -1: a random one). */
static bool mimic_images_after(struct img_req *ir, struct verr *e)
{
	static const char open[] = "<sd_cpp_extra_args>",
			  close[] = "</sd_cpp_extra_args>";
	if (cfg.mimic != MIMIC_SDCPP)
		return true;
	ir->seed = 42;
	const char *p = ir->prompt, *a, *b = NULL;
	/* the leftmost opening tag whose closing tag follows on its line */
	for (a = strstr(p, open); a; a = strstr(a + 1, open)) {
		const char *nl = strpbrk(a, "\r\n");
		b = strstr(a + sizeof open - 1, close);
		if (b && (!nl || b < nl))
			break;
	}
	if (!a)
		return true;
	cJSON *x = cJSON_ParseWithLength(a + sizeof open - 1,
					 (size_t)(b - a) - (sizeof open - 1));
	if (!x) /* from_json_str: json::parse failed */
		return verr_set(e, NULL, "invalid sd_cpp_extra_args");
	const cJSON *seed = get(x, "seed");
	if (is_int(seed))
		ir->seed =
		    seed->valuedouble < 0 ? -1 : (long long)seed->valuedouble;
	cJSON_Delete(x);
	/* regex_replace: every block goes, this one and any other */
	sdcpp_prompt.len = 0;
	for (const char *q = p;;) {
		const char *o = strstr(q, open),
			   *c2 = o ? strstr(o, close) : NULL;
		const char *nl = o ? strpbrk(o, "\r\n") : NULL;
		if (!o || !c2 || (nl && nl < c2)) {
			buf_adds(&sdcpp_prompt, q);
			break;
		}
		buf_add(&sdcpp_prompt, q, (size_t)(o - q));
		q = c2 + sizeof close - 1;
	}
	buf_add(&sdcpp_prompt, "", 1); /* NUL, not counted */
	sdcpp_prompt.len--;
	ir->prompt = sdcpp_prompt.p;
	return true;
}

/* ------------------------------------------------------------------ */
/* Reply text                                                           */

static bool word_byte(unsigned char ch)
{
	return ch >= 0x80 || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static size_t count_words(const char *s, size_t n)
{
	size_t w = 0;
	bool in = false;
	for (size_t i = 0; i < n; i++) {
		bool sp =
		    s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r';
		if (!sp && !in)
			w++;
		in = !sp;
	}
	return w;
}

/* Finds a [[fault:KIND]] or [[fault:KIND:N]] marker. Returns false with
 * *KIND = -1 when there is none, false with *KIND = -2 when it is
 * malformed. */
static bool find_marker(const char *s, size_t n, int *kind, unsigned *times)
{
	*kind = -1;
	const char *m = memmem(s, n, "[[fault:", 8);
	if (!m)
		return false;
	const char *a = m + 8, *end = memmem(a, n - (size_t)(a - s), "]]", 2);
	*kind = -2;
	if (!end)
		return false;
	const char *colon = memchr(a, ':', (size_t)(end - a));
	const char *ke = colon ? colon : end;
	int k = fault_parse(a, (size_t)(ke - a));
	if (k < 0)
		return false;
	*times = 0;
	if (colon) {
		unsigned long v = 0;
		for (const char *d = colon + 1; d < end; d++) {
			if (*d < '0' || *d > '9' || v > 1000000)
				return false;
			v = v * 10 + (unsigned long)(*d - '0');
		}
		if (colon + 1 == end || v == 0)
			return false;
		*times = (unsigned)v;
	}
	*kind = k;
	return true;
}

/* [[fault:KIND:N]]: true for the first N requests whose user text hashes
 * to KEY, so a test can make one sample fail N times and then succeed. */
static bool mark_take(uint64_t key, unsigned times)
{
	size_t i = key % MARK_SLOTS;
	for (size_t probe = 0; probe < MARK_SLOTS; probe++) {
		size_t k = (i + probe) % MARK_SLOTS;
		if (marks[k].key == key || marks[k].key == 0) {
			marks[k].key = key;
			if (marks[k].count >= times)
				return false;
			marks[k].count++;
			return true;
		}
	}
	return false; /* table full: no more faults */
}

/* Copies S to OUT without its [[fault:...]] markers, so that they never
 * leak into replies (or into the picture drawn from a prompt). */
static void strip_markers(const char *s, size_t n, struct buf *out)
{
	out->len = 0;
	for (size_t i = 0; i < n;) {
		const char *m = memmem(s + i, n - i, "[[fault:", 8);
		const char *e =
		    m ? memmem(m, n - (size_t)(m - s), "]]", 2) : NULL;
		if (!m || !e) {
			buf_add(out, s + i, n - i);
			break;
		}
		buf_add(out, s + i, (size_t)(m - (s + i)));
		i = (size_t)(e + 2 - s);
	}
}

/* Builds the reply text for user text S into c->text: markers removed,
 * then echo or rewrite, then --reply-prefix and --reply-quotes. */
static void make_text(struct conn *c, const char *s, size_t n)
{
	strip_markers(s, n, &stmp);
	struct buf *t = &c->text;
	t->len = 0;
	buf_adds(t, cfg.reply_prefix);
	if (cfg.reply_quotes)
		buf_adds(t, "\"");
	if (cfg.echo) {
		buf_add(t, stmp.p, stmp.len);
	} else {
		/* "A photo of a person, " + the text with each word that starts
		 * with an ASCII capital letter replaced by "someone". */
		buf_adds(t, "A photo of a person, ");
		const unsigned char *u = (const unsigned char *)stmp.p;
		for (size_t i = 0; i < stmp.len;) {
			if (u[i] >= 'A' && u[i] <= 'Z' &&
			    (i == 0 || !word_byte(u[i - 1]))) {
				while (i < stmp.len && word_byte(u[i]))
					i++;
				buf_adds(t, "someone");
			} else {
				buf_add(t, stmp.p + i, 1);
				i++;
			}
		}
	}
	if (cfg.reply_quotes)
		buf_adds(t, "\"");
}

/* The length of S (N bytes) cut after MAX words (N when it has no more,
 * or MAX <= 0). */
static size_t cut_words(const char *s, size_t n, long long max)
{
	if (max <= 0)
		return n;
	size_t w = 0, i = 0;
	bool in = false;
	for (; i < n; i++) {
		bool sp =
		    s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r';
		if (!sp && !in && ++w > (size_t)max)
			break;
		in = !sp;
	}
	if (i >= n)
		return n;
	while (i > 0 &&
	       (s[i - 1] == ' ' || s[i - 1] == '\n' || s[i - 1] == '\t'))
		i--;
	return i;
}

/* Cuts c->text after max_words words; true when it did. */
static bool apply_limit(struct conn *c)
{
	size_t n = cut_words(c->text.p, c->text.len, c->max_words);
	bool cut = n < c->text.len;
	c->text.len = n;
	return cut;
}

static void add_created_at(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char d[40];
	strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_addf(b, "\"created_at\":\"%s.%09ldZ\"", d, ts.tv_nsec);
}

/* The successful body for c->api with c->text as the model's answer.
 * A model that thinks (c->think) spends the token budget on REASONING
 * first: a budget it uses up leaves no answer at all (OpenAI's "content"
 * null, ollama's "" with the thinking beside it), as vLLM's reasoning
 * parser and ollama do when max_tokens / num_predict ends the thinking. */
static void build_reply(struct conn *c, struct buf *b)
{
	size_t rlen = 0, rwords = 0;
	bool cut, no_answer = false;
	if (c->think) {
		rlen = cut_words(REASONING, sizeof REASONING - 1, c->max_words);
		rwords = count_words(REASONING, rlen);
		no_answer =
		    c->max_words > 0 && c->max_words <= (long long)rwords;
		if (c->max_words > 0)
			c->max_words -= (long long)rwords;
	}
	if (no_answer) {
		c->text.len = 0;
		cut = true;
	} else {
		cut = apply_limit(c);
	}
	size_t words = count_words(c->text.p, c->text.len) + rwords;
	b->len = 0;
	if (c->oai_reply) {
		buf_addf(b,
			 "{\"id\":\"chatcmpl-fake-%llu\",\"object\":\"chat."
			 "completion\",\"created\":%lld,\"model\":",
			 (unsigned long long)c->seq, (long long)time(NULL));
		json_str(b, c->model.p, c->model.len);
		buf_adds(b,
			 ",\"system_fingerprint\":\"fake_llm\",\"choices\":[");
		for (unsigned k = 0; k < c->n_choices; k++) {
			buf_addf(b,
				 "%s{\"index\":%u,\"message\":{\"role\":"
				 "\"assistant\","
				 "\"content\":",
				 k ? "," : "", k);
			if (no_answer)
				buf_adds(b, "null");
			else
				json_str(b, c->text.p, c->text.len);
			if (c->think) {
				/* vLLM renamed reasoning_content (still
				 * llama.cpp's and SGLang's) to reasoning. */
				buf_adds(b, ",\"reasoning_content\":");
				json_str(b, REASONING, rlen);
				buf_adds(b, ",\"reasoning\":");
				json_str(b, REASONING, rlen);
			}
			buf_addf(
			    b, "},\"logprobs\":null,\"finish_reason\":\"%s\"}",
			    cut ? "length" : "stop");
		}
		buf_addf(
		    b,
		    "],\"usage\":{\"prompt_tokens\":%zu,\"completion_tokens\":"
		    "%zu,\"total_tokens\":%zu}}",
		    c->prompt_words, words * c->n_choices,
		    c->prompt_words + words * c->n_choices);
		return;
	}
	buf_adds(b, "{\"model\":");
	json_str(b, c->model.p, c->model.len);
	buf_adds(b, ",");
	add_created_at(b);
	/* ollama: "thinking" beside the text (omitted when empty) */
	if (c->api == API_GENERATE) {
		buf_adds(b, ",\"response\":");
		json_str(b, c->text.p, c->text.len);
		if (c->think) {
			buf_adds(b, ",\"thinking\":");
			json_str(b, REASONING, rlen);
		}
	} else {
		buf_adds(b,
			 ",\"message\":{\"role\":\"assistant\",\"content\":");
		json_str(b, c->text.p, c->text.len);
		if (c->think) {
			buf_adds(b, ",\"thinking\":");
			json_str(b, REASONING, rlen);
		}
		buf_adds(b, "}");
	}
	buf_addf(
	    b,
	    ",\"done\":true,\"done_reason\":\"%s\",\"total_duration\":%llu,"
	    "\"load_duration\":0,\"prompt_eval_count\":%zu,"
	    "\"prompt_eval_duration\":0,\"eval_count\":%zu,"
	    "\"eval_duration\":%llu}",
	    cut ? "length" : "stop", (unsigned long long)c->lat_ns,
	    c->prompt_words, words, (unsigned long long)c->lat_ns);
}

/* ------------------------------------------------------------------ */
/* Images                                                               */

static struct buf simg;	   /* the encoded image */
static unsigned char *spx; /* RGB pixels, reused */
static size_t spx_cap;
static tjhandle tj;
static long long start_wall; /* "created" of the OpenAI images answers */

static void model_names(const char ***names, int *n);

/* floor(sqrt(v)) in integers: no libm, no float rounding across hosts. */
static int isqrt(int v)
{
	int r = 0;
	for (int bit = 1 << 30; bit; bit >>= 2) {
		if (v >= r + bit) {
			v -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
	}
	return r;
}

/* The picture for KEY (prompt + seed): a four-corner colour gradient under
 * 3 to 6 filled circles and rectangles, every colour and place drawn by
 * splitmix64 from KEY. Places and sizes are fractions of the image, so a
 * wrong-size answer shows the same picture smaller. Smooth areas keep the
 * PNG small and quick to compress; the gradient is 16.16 fixed point. */
static void draw(unsigned char *px, int w, int h, uint64_t key)
{
	uint64_t s = key;
	int c[4][3];
	for (int k = 0; k < 4; k++) {
		uint64_t r = splitmix64(s += 0x9e3779b97f4a7c15ULL);
		for (int ch = 0; ch < 3; ch++)
			c[k][ch] = (int)((r >> (ch * 8)) & 255);
	}
	int hd = h > 1 ? h - 1 : 1, wd = w > 1 ? w - 1 : 1;
	for (int y = 0; y < h; y++) {
		unsigned char *row = px + (size_t)y * (size_t)w * 3;
		int a[3], d[3];
		for (int ch = 0; ch < 3; ch++) {
			int64_t l =
			    (int64_t)(c[0][ch] * (hd - y) + c[2][ch] * y) *
			    65536 / hd;
			int64_t r =
			    (int64_t)(c[1][ch] * (hd - y) + c[3][ch] * y) *
			    65536 / hd;
			a[ch] = (int)l;
			d[ch] = (int)((r - l) / wd);
		}
		for (int x = 0; x < w; x++) {
			row[3 * x] = (unsigned char)(a[0] >> 16);
			row[3 * x + 1] = (unsigned char)(a[1] >> 16);
			row[3 * x + 2] = (unsigned char)(a[2] >> 16);
			a[0] += d[0];
			a[1] += d[1];
			a[2] += d[2];
		}
	}
	int m = w < h ? w : h;
	int n = 3 + (int)(splitmix64(s += 0x9e3779b97f4a7c15ULL) % 4);
	for (int k = 0; k < n; k++) {
		uint64_t r = splitmix64(s += 0x9e3779b97f4a7c15ULL);
		uint64_t col = splitmix64(s += 0x9e3779b97f4a7c15ULL);
		int cx = (int)((r & 0xffff) * (uint64_t)w >> 16);
		int cy = (int)((r >> 16 & 0xffff) * (uint64_t)h >> 16);
		int ry = m * (6 + (int)(r >> 32 & 0xff) % 20) / 100;
		int rx = m * (6 + (int)(r >> 40 & 0xff) % 20) / 100;
		bool circle = r >> 63;
		for (int y = cy - ry; y <= cy + ry; y++) {
			if (y < 0 || y >= h)
				continue;
			int hw =
			    circle ? isqrt(ry * ry - (y - cy) * (y - cy)) : rx;
			int x0 = cx - hw < 0 ? 0 : cx - hw;
			int x1 = cx + hw >= w ? w - 1 : cx + hw;
			unsigned char *p =
			    px + ((size_t)y * (size_t)w + (size_t)x0) * 3;
			for (int x = x0; x <= x1; x++, p += 3) {
				p[0] = (unsigned char)col;
				p[1] = (unsigned char)(col >> 8);
				p[2] = (unsigned char)(col >> 16);
			}
		}
	}
}

static void png_write_cb(png_structp p, png_bytep d, size_t n)
{
	buf_add(png_get_io_ptr(p), d, n);
}

static void png_flush_cb(png_structp p)
{
	(void)p;
}

/* PNG at zlib level 1 with the Up filter and run-length matching: on these
 * smooth pictures that is ~2 ms for 512x512 and ~70 KB, where libpng's
 * defaults (adaptive filters) take twice the time for a bigger file. A
 * libpng error longjmps here; it can only be out of memory. */
static void encode_png(const unsigned char *px, int w, int h, struct buf *out)
{
	png_structp p =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = p ? png_create_info_struct(p) : NULL;
	if (!info || setjmp(png_jmpbuf(p)))
		die("libpng: cannot encode a %dx%d image", w, h);
	png_set_write_fn(p, out, png_write_cb, png_flush_cb);
	png_set_compression_level(p, 1);
	png_set_compression_strategy(p, Z_RLE);
	png_set_compression_buffer_size(p, 64 * KIB);
	png_set_filter(p, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
	png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
	png_write_info(p, info);
	for (int y = 0; y < h; y++)
		png_write_row(p, px + (size_t)y * (size_t)w * 3);
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
}

static void encode_jpeg(const unsigned char *px, int w, int h, struct buf *out)
{
	if (!tj && !(tj = tjInitCompress()))
		die("libturbojpeg: %s", tjGetErrorStr());
	unsigned long size = tjBufSize(w, h, TJSAMP_420);
	buf_reserve(out, size);
	unsigned char *dst = (unsigned char *)out->p + out->len;
	if (tjCompress2(tj, px, w, 0, h, TJPF_RGB, &dst, &size, TJSAMP_420, 90,
			TJFLAG_NOREALLOC) != 0)
		die("libturbojpeg: %s", tjGetErrorStr2(tj));
	out->len += size;
}

static int webp_write_cb(const uint8_t *d, size_t n, const WebPPicture *pic)
{
	buf_add(pic->custom_ptr, d, n);
	return 1;
}

/* Lossy q80 at method 0, the fastest (~2 ms for 512x512; the default
 * method 4 takes 10 ms). */
static void encode_webp(const unsigned char *px, int w, int h, struct buf *out)
{
	WebPConfig wc;
	WebPPicture pic;
	if (!WebPConfigInit(&wc) || !WebPPictureInit(&pic))
		die("libwebp: version mismatch");
	wc.quality = 80;
	wc.method = 0;
	pic.width = w;
	pic.height = h;
	pic.writer = webp_write_cb;
	pic.custom_ptr = out;
	if (!WebPPictureImportRGB(&pic, px, w * 3) || !WebPEncode(&wc, &pic))
		die("libwebp: cannot encode a %dx%d image (error %d)", w, h,
		    (int)pic.error_code);
	WebPPictureFree(&pic);
}

/* Appends the standard base64 of D[0..N) to B (no line breaks). */
static void base64(struct buf *b, const unsigned char *d, size_t n)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	buf_reserve(b, (n + 2) / 3 * 4);
	char *o = b->p + b->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v =
		    (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		o[0] = t[v >> 18];
		o[1] = t[v >> 12 & 63];
		o[2] = t[v >> 6 & 63];
		o[3] = t[v & 63];
		o += 4;
	}
	if (i < n) {
		uint32_t v = (uint32_t)d[i] << 16 |
			     (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
		o[0] = t[v >> 18];
		o[1] = t[v >> 12 & 63];
		o[2] = i + 1 < n ? t[v >> 6 & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	b->len = (size_t)(o - b->p);
}

/* Appends the image of C, as a JSON string of base64, damaged as fault F
 * says. The picture is a pure function of the prompt (markers stripped),
 * the seed and the size, so a retried request gets the same bytes. */
static void add_image(struct conn *c, int f, struct buf *b)
{
	uint64_t t0 = mono_ns();
	int w = c->img_w, h = c->img_h;
	if (f == F_WRONGSIZE) {
		w = w / 2 > 0 ? w / 2 : 1;
		h = h / 2 > 0 ? h / 2 : 1;
	}
	simg.len = 0;
	if (f == F_NOTIMG) {
		buf_adds(&simg, NOT_IMAGE);
	} else {
		size_t need = (size_t)w * (size_t)h * 3;
		if (need > spx_cap) {
			free(spx);
			if (!(spx = malloc(need)))
				die("out of memory");
			spx_cap = need;
		}
		if (f == F_REFUSE) /* what a safety checker sends back */
			memset(spx, 0, need);
		else
			draw(spx, w, h,
			     splitmix64(fnv1a(c->text.p, c->text.len) ^
					splitmix64(c->img_seed)));
		if (cfg.image_fmt == IMG_JPEG)
			encode_jpeg(spx, w, h, &simg);
		else if (cfg.image_fmt == IMG_WEBP)
			encode_webp(spx, w, h, &simg);
		else
			encode_png(spx, w, h, &simg);
	}
	size_t n = f == F_IMGCUT ? simg.len / 2 : simg.len;
	buf_adds(b, "\"");
	size_t at = b->len;
	base64(b, (const unsigned char *)simg.p, n);
	if (f == F_B64CUT) /* half way, and 2 past a multiple of 4 */
		b->len = at + ((b->len - at) / 2 & ~(size_t)3) + 2;
	buf_adds(b, "\"");
	st.images_made += f != F_NOTIMG;
	st.image_ns += mono_ns() - t0;
}

/* Appends V as JSON. Strings go through json_str, so invalid UTF-8 in a
 * request comes back as U+FFFD like everywhere else. */
static void json_emit(struct buf *b, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		json_strz(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		char s[32];
		if (is_int(v)) {
			snprintf(s, sizeof s, "%lld", (long long)d);
		} else {
			snprintf(s, sizeof s, "%.15g", d);
			if (strtod(s, NULL) != d)
				snprintf(s, sizeof s, "%.17g", d);
		}
		buf_adds(b, s);
	} else if (cJSON_IsBool(v)) {
		buf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		bool obj = cJSON_IsObject(v);
		buf_adds(b, obj ? "{" : "[");
		for (const cJSON *m = v->child; m; m = m->next) {
			if (m != v->child)
				buf_adds(b, ",");
			if (obj) {
				json_strz(b, m->string);
				buf_adds(b, ":");
			}
			json_emit(b, m);
		}
		buf_adds(b, obj ? "}" : "]");
	} else {
		buf_adds(b, "null");
	}
}

/* Prepares an image request that was admitted: the prompt without
 * markers, the seed, the size, and in c->extra what the answer carries
 * after the image: A1111's "parameters" (the request as sent, prompt
 * without markers) and "info" (a JSON text, as A1111 sends it), or
 * OpenAI's "revised_prompt". */
static void setup_image(struct conn *c, const cJSON *j,
			const struct img_req *ir)
{
	strip_markers(ir->prompt, strlen(ir->prompt), &c->text);
	/* seed -1: A1111 draws a 32-bit seed; here it is drawn from --seed
	 * and the request number, so a client that wants the same image on
	 * a retry must send its own seed, as with a real server. */
	c->img_seed = ir->seed >= 0
			  ? (uint64_t)ir->seed
			  : splitmix64(cfg.seed ^ splitmix64(c->seq * 4 + 2)) &
				0xffffffffULL;
	c->img_w = ir->w;
	c->img_h = ir->h;
	c->img_send = ir->send;
	c->model.len = 0;
	if (ir->model) {
		buf_adds(&c->model, ir->model);
	} else {
		const char **names;
		int nn;
		model_names(&names, &nn);
		buf_adds(&c->model, names[0]);
	}
	struct buf *x = &c->extra;
	x->len = 0;
	if (c->api == API_IMAGES) {
		buf_adds(x, ",\"revised_prompt\":");
		json_str(x, c->text.p, c->text.len);
		return;
	}
	buf_adds(x, ",\"parameters\":{");
	for (const cJSON *m = j->child; m; m = m->next) {
		if (m != j->child)
			buf_adds(x, ",");
		json_strz(x, m->string);
		buf_adds(x, ":");
		if (streq(m->string, "prompt"))
			json_str(x, c->text.p, c->text.len);
		else
			json_emit(x, m);
	}
	const cJSON *np = get(j, "negative_prompt"), *st_ = get(j, "steps"),
		    *cfg_ = get(j, "cfg_scale"), *sn = get(j, "sampler_name"),
		    *sc = get(j, "scheduler");
	stmp.len = 0;
	buf_adds(&stmp, "{\"prompt\":");
	json_str(&stmp, c->text.p, c->text.len);
	buf_adds(&stmp, ",\"all_prompts\":[");
	json_str(&stmp, c->text.p, c->text.len);
	buf_adds(&stmp, "],\"negative_prompt\":");
	json_strz(&stmp, np ? np->valuestring : "");
	buf_addf(&stmp,
		 ",\"seed\":%llu,\"all_seeds\":[%llu],\"subseed\":-1,"
		 "\"width\":%d,\"height\":%d,\"sampler_name\":",
		 (unsigned long long)c->img_seed,
		 (unsigned long long)c->img_seed, c->img_w, c->img_h);
	json_strz(&stmp, sn ? sn->valuestring : "Euler a");
	buf_adds(&stmp, ",\"scheduler\":");
	json_strz(&stmp, sc ? sc->valuestring : "Automatic");
	buf_adds(&stmp, ",\"cfg_scale\":");
	if (cfg_)
		json_emit(&stmp, cfg_);
	else
		buf_adds(&stmp, "7");
	buf_addf(&stmp,
		 ",\"steps\":%d,\"batch_size\":1,\"restore_faces\":false,"
		 "\"sd_model_name\":",
		 st_ ? (int)st_->valuedouble : 20);
	json_str(&stmp, c->model.p, c->model.len);
	buf_adds(&stmp, ",\"sd_model_hash\":\"0000000000\","
			"\"version\":\"fake_llm\"}");
	buf_adds(x, "},\"info\":");
	json_str(x, stmp.p, stmp.len);
}

/* The body of a finished image request with fault F (none, or one that
 * still answers 200 JSON). "empty" answers no image at all. */
static void build_image_reply(struct conn *c, int f, struct buf *b)
{
	bool one = c->img_send && f != F_EMPTY;
	b->len = 0;
	if (c->api == API_TXT2IMG) {
		buf_adds(b, "{\"images\":[");
		if (one)
			add_image(c, f, b);
		buf_adds(b, "]");
		buf_add(b, c->extra.p, c->extra.len);
		buf_adds(b, "}");
		return;
	}
	buf_addf(b, "{\"created\":%lld,\"data\":[", start_wall);
	if (one) {
		buf_adds(b, "{\"b64_json\":");
		add_image(c, f, b);
		buf_add(b, c->extra.p, c->extra.len);
		buf_adds(b, "}");
	}
	buf_adds(b, "]}");
}

/* ------------------------------------------------------------------ */
/* Generation requests: validation, faults, slots                       */

/* Counts a generation request that got its final outcome; the N-th one
 * (--die-after N) ends the server once the reply has gone out. */
static void llm_done(void)
{
	st.llm_answered++;
	if (cfg.die_after && st.llm_answered >= cfg.die_after && !quit_reason)
		quit_reason = "--die-after reached";
}

static uint64_t latency_ns(uint64_t seq)
{
	if (cfg.lat_hi_ms <= cfg.lat_lo_ms)
		return cfg.lat_lo_ms * NS_PER_MS;
	double u = unit_rand(cfg.seed, seq, 1);
	uint64_t span = cfg.lat_hi_ms - cfg.lat_lo_ms + 1;
	uint64_t ms = cfg.lat_lo_ms + (uint64_t)(u * (double)span);
	if (ms > cfg.lat_hi_ms)
		ms = cfg.lat_hi_ms;
	return ms * NS_PER_MS;
}

/* Takes a slot. T_FREE: when the slot became free (0: a fresh request
 * that found a free slot). The latency starts at max(T_FREE, arrival), not
 * when this process gets to run: an ideal server hands the slot over the
 * instant the previous generation ends, and the timer wake-up delays
 * (~0.1 ms each) must not add up along the queue. 0 latency on a fresh
 * request is answered inline (the throughput benchmark's fast path). */
static void slot_start(struct conn *c, uint64_t t_free)
{
	c->in_slot = true;
	if (++st.in_flight > st.max_in_flight)
		st.max_in_flight = st.in_flight;
	c->lat_ns = slot_latency(latency_ns(c->seq));
	if (c->lat_ns == 0 && !t_free) {
		finish(c, now_ns);
		return;
	}
	uint64_t t0 = t_free > c->arrival_ns ? t_free : c->arrival_ns;
	c->st = C_BUSY;
	timer_set(c, t0 + c->lat_ns);
}

/* The simulated generation ended at T_DONE: free the slot, then answer as
 * the request's fault says. */
static void finish(struct conn *c, uint64_t t_done)
{
	slot_release(c, t_done);
	c->st = C_READ;
	int f = c->fault;
	if (f != F_NONE)
		st.faults[f]++;
	llm_done();
	switch (f) {
	case F_500:
		reply_error(c, 500, NULL, "fake_llm fault 500: internal error",
			    NULL);
		return;
	case F_RESET: conn_close(c, true); return;
	case F_ENDLESS: {
		/* No length, no end: the body runs until the client leaves.
		 * conn_drive pumps it as fast as the socket takes it. */
		static const char h[] =
		    "HTTP/1.1 200 OK\r\nServer: fake_llm\r\n"
		    "Content-Type: application/json; charset=utf-8\r\n"
		    "Connection: close\r\n\r\n{\"response\":\"";
		st.status[0]++; /* status_list[0] is 200 */
		c->close_after = true;
		conn_send(c, h, sizeof h - 1);
		c->st = C_PUMP;
		return;
	}
	case F_GARBAGE: {
		static const char g[] =
		    "<html><body><h1>502 Bad Gateway</h1></body></html>\n"
		    "{\"model\": \"fake\", \"response\": \"trunc";
		respond(c, 200, "application/json; charset=utf-8", NULL, g,
			sizeof g - 1, SEND_ALL);
		return;
	}
	case F_NONE: st.ok++; break;
	default: break;
	}
	if (api_image(c->api)) {
		build_image_reply(c, f, &sbody);
	} else {
		if (f == F_REFUSE) {
			c->text.len = 0;
			buf_adds(&c->text, REFUSAL);
		} else if (f == F_EMPTY) {
			c->text.len = 0;
		}
		build_reply(c, &sbody);
	}
	respond(c, 200, "application/json; charset=utf-8", NULL, sbody.p,
		sbody.len,
		f == F_HALF   ? SEND_HALF
		: f == F_SLOW ? SEND_DRIP
			      : SEND_ALL);
}

/* A generation request of any API: validation, model, fault, number,
 * then the admission faults and the slot. */
static void handle_gen(struct conn *c, enum api api)
{
	struct req *r = &c->rq;
	const char *body = c->in.p + r->hdr_len;
	struct verr e = {{0}, {0}};
	bool openai = api == API_OPENAI || api == API_IMAGES;
	bool image = api_image(api);
	/* OpenAI wants application/json; A1111 (FastAPI) parses the body as
	 * JSON when Content-Type is absent or JSON, and rejects other types
	 * (curl -d sends a form type). */
	bool ctype_needed = openai || (api == API_TXT2IMG && r->ctype_len);
	if (ctype_needed && !cfg.lenient &&
	    !iprefix(c->in.p + r->ctype_off, r->ctype_len,
		     "application/json")) {
		reply_error(c, 400, NULL,
			    "Content-Type must be application/json", NULL);
		llm_done();
		return;
	}
	cJSON *j = cJSON_ParseWithLength(body, r->body_len);
	if (!j || !cJSON_IsObject(j)) {
		reply_error(c, 400, NULL,
			    j ? "the body must be a JSON object"
			      : "invalid JSON in the request body",
			    NULL);
		cJSON_Delete(j);
		llm_done();
		return;
	}
	const char *text = NULL, *model = NULL;
	size_t text_len = 0;
	struct img_req ir = {0};
	bool good;
	if (api == API_GENERATE)
		good = check_generate(j, &text, &e);
	else if (api == API_CHAT)
		good = check_chat(j, &text, &e);
	else if (api == API_OPENAI)
		good = check_openai(j, &otext, &e);
	else if (api == API_TXT2IMG)
		good = check_txt2img(j, &ir, &e);
	else
		good = mimic_images_before(j, &e) && check_images(j, &ir, &e) &&
		       mimic_images_after(&ir, &e);
	if (good && api == API_OPENAI) {
		text = otext.p;
		text_len = otext.len;
	} else if (good) {
		if (image)
			text = ir.prompt;
		text_len = strlen(text);
	}
	if (good)
		model = image ? ir.model : get(j, "model")->valuestring;
	if (good && cfg.nmodels && model) {
		int k = 0;
		while (k < cfg.nmodels && !streq(cfg.models[k], model))
			k++;
		if (k == cfg.nmodels) {
			char msg[400];
			snprintf(msg, sizeof msg,
				 openai	 ? "The model `%.200s` does not exist."
				 : image ? "sd_model_checkpoint \"%.200s\" not "
					   "found (GET /sdapi/v1/sd-models)"
					 : "model \"%.200s\" not found, try "
					   "pulling it first",
				 model);
			reply_error(c, 404,
				    image && !openai ? "sd_model_checkpoint"
						     : "model",
				    msg, NULL);
			cJSON_Delete(j);
			llm_done();
			return;
		}
	}
	/* The fault: X-Fault header, else a marker in the user text, else
	 * the seeded --fault rules by request number. */
	int fault = F_NONE;
	if (good && r->fault_len) {
		fault = fault_parse(c->in.p + r->fault_off, r->fault_len);
		if (fault < 0)
			good = verr_set(&e, NULL, "unknown X-Fault kind");
	}
	unsigned times = 0;
	int mk = -1;
	if (good && !r->fault_len) {
		if (find_marker(text, text_len, &mk, &times)) {
			if (!times || mark_take(fnv1a(text, text_len), times))
				fault = mk;
		} else if (mk == -2) {
			good = verr_set(&e, NULL,
					"malformed [[fault:KIND]] or "
					"[[fault:KIND:N]] marker");
		}
	}
	if (!good) {
		reply_error(c, 400, e.param[0] ? e.param : NULL, e.msg, NULL);
		cJSON_Delete(j);
		llm_done();
		return;
	}
	/* One request number for both kinds: in a run of one kind it is the
	 * count of that kind, so seeded faults stay what they were. */
	if (image)
		st.image_requests++;
	else
		st.llm_requests++;
	c->seq = st.llm_requests + st.image_requests;
	c->arrival_ns = now_ns;
	if (mk < 0 && !r->fault_len && cfg.nrules) {
		double u = unit_rand(cfg.seed, c->seq, 0), acc = 0;
		for (int k = 0; k < cfg.nrules; k++) {
			acc += cfg.rules[k].rate;
			if (u < acc) {
				fault = cfg.rules[k].kind;
				break;
			}
		}
	}
	if (!image && fault >= F_B64CUT)
		fault = F_NONE; /* image faults do not apply to text */
	c->api = api;
	c->fault = fault;
	c->n_choices = 1;
	c->max_words = 0;
	/* llama-server serves /api/chat with its OpenAI handler: the answer
	 * is a chat.completion, and ollama's "options" mean nothing to it. */
	c->oai_reply = api == API_OPENAI ||
		       (api == API_CHAT && cfg.mimic == MIMIC_LLAMACPP);
	if (c->oai_reply) {
		c->think = !image && cfg.reasoning;
	} else {
		/* ollama: a thinking model thinks when "think" is absent */
		const cJSON *th = image ? NULL : get(j, "think");
		c->think = !image && cfg.thinking && !cJSON_IsFalse(th);
	}
	if (image) {
		setup_image(c, j, &ir);
	} else {
		c->model.len = 0;
		buf_adds(&c->model, model);
		c->prompt_words = count_words(text, text_len);
		make_text(c, text, text_len);
	}
	if (api == API_OPENAI) {
		const cJSON *n = get(j, "n");
		const cJSON *mt = get(j, "max_completion_tokens");
		if (!mt)
			mt = get(j, "max_tokens");
		if (n)
			c->n_choices = (unsigned)n->valuedouble;
		if (mt)
			c->max_words = (long long)mt->valuedouble;
	} else if (!image && !c->oai_reply) {
		const cJSON *o = get(j, "options");
		const cJSON *np = o ? get(o, "num_predict") : NULL;
		if (np)
			c->max_words = (long long)np->valuedouble;
	}
	cJSON_Delete(j);

	/* Admission faults answer at once, holding no slot: what a rate
	 * limiter or an overloaded front does. A hung request holds no slot
	 * either, so that a test's hang cannot starve the others. */
	switch (fault) {
	case F_429:
		st.faults[F_429]++;
		reply_error(c, 429, NULL, "fake_llm fault 429: rate limited",
			    "Retry-After: 1\r\n");
		llm_done();
		return;
	case F_503:
		st.faults[F_503]++;
		reply_error(c, 503, NULL,
			    "fake_llm fault 503: server busy, please try again",
			    NULL);
		llm_done();
		return;
	case F_HANG:
		st.faults[F_HANG]++;
		st.hanging++;
		c->st = C_HANG;
		return;
	case F_REDIRECT: {
		/* What a proxy in front of the server does when the client
		 * should have used https, or another host. */
		char loc[600];
		st.faults[F_REDIRECT]++;
		if (cfg.redirect_to)
			snprintf(loc, sizeof loc, "Location: %s\r\n",
				 cfg.redirect_to);
		else
			snprintf(loc, sizeof loc,
				 "Location: https://127.0.0.1%s\r\n", r->path);
		reply_error(c, 307, NULL, "fake_llm fault redirect", loc);
		llm_done();
		return;
	}
	case F_ECHOKEY: {
		/* Servers that quote the credential back in an error (as
		 * OpenAI's "Incorrect API key provided: sk-...") */
		char msg[600];
		st.faults[F_ECHOKEY]++;
		snprintf(msg, sizeof msg,
			 "echo-key: %.*s",
			 (int)(r->auth_len < 500 ? r->auth_len : 500),
			 c->in.p + r->auth_off);
		reply_error(c, 400, NULL, msg, NULL);
		llm_done();
		return;
	}
	default: break;
	}
	if (cfg.slots == 0 || st.in_flight < cfg.slots) {
		slot_start(c, 0);
	} else {
		c->st = C_QUEUED;
		q_push(c);
	}
}

/* ------------------------------------------------------------------ */
/* Other endpoints and routing                                          */

static void model_names(const char ***names, int *n)
{
	static const char *dflt[] = {"fake:latest"};
	if (cfg.nmodels) {
		*names = cfg.models;
		*n = cfg.nmodels;
	} else {
		*names = dflt;
		*n = 1;
	}
}

static void h_tags(struct conn *c)
{
	const char **m;
	int n;
	model_names(&m, &n);
	sbody.len = 0;
	buf_adds(&sbody, "{\"models\":[");
	for (int k = 0; k < n; k++) {
		buf_adds(&sbody, k ? ",{\"name\":" : "{\"name\":");
		json_strz(&sbody, m[k]);
		buf_adds(&sbody, ",\"model\":");
		json_strz(&sbody, m[k]);
		buf_adds(
		    &sbody,
		    ",\"modified_at\":\"2024-01-01T00:00:00Z\",\"size\":1,"
		    "\"digest\":\"0000000000000000000000000000000000000000000"
		    "000000000000000000000\",\"details\":{\"parent_model\":"
		    "\"\",\"format\":\"gguf\",\"family\":\"fake\","
		    "\"families\":[\"fake\"],\"parameter_size\":\"1B\","
		    "\"quantization_level\":\"Q4_0\"}}");
	}
	buf_adds(&sbody, "]}");
	respond_json(c, 200, &sbody, NULL);
}

static void h_models(struct conn *c)
{
	const char **m;
	int n;
	model_names(&m, &n);
	sbody.len = 0;
	buf_adds(&sbody, "{\"object\":\"list\",\"data\":[");
	for (int k = 0; k < n; k++) {
		buf_adds(&sbody, k ? ",{\"id\":" : "{\"id\":");
		json_strz(&sbody, m[k]);
		buf_adds(&sbody,
			 ",\"object\":\"model\",\"created\":0,\"owned_by\":"
			 "\"fake_llm\"}");
	}
	buf_adds(&sbody, "]}");
	respond_json(c, 200, &sbody, NULL);
}

static void h_version(struct conn *c)
{
	static const char v[] = "{\"version\":\"0.0.0-fake_llm\"}";
	respond(c, 200, "application/json; charset=utf-8", NULL, v,
		sizeof v - 1, SEND_ALL);
}

static void h_health(struct conn *c)
{
	static const char v[] = "{\"status\":\"ok\"}";
	respond(c, 200, "application/json; charset=utf-8", NULL, v,
		sizeof v - 1, SEND_ALL);
}

static void h_root(struct conn *c)
{
	static const char v[] = "Ollama is running";
	respond(c, 200, "text/plain; charset=utf-8", NULL, v, sizeof v - 1,
		SEND_ALL);
}

static void h_stats(struct conn *c)
{
	sbody.len = 0;
	stats_json(&sbody);
	respond_json(c, 200, &sbody, NULL);
}

static void h_generate(struct conn *c)
{
	handle_gen(c, API_GENERATE);
}
static void h_chat(struct conn *c)
{
	handle_gen(c, API_CHAT);
}
static void h_openai(struct conn *c)
{
	handle_gen(c, API_OPENAI);
}
static void h_txt2img(struct conn *c)
{
	handle_gen(c, API_TXT2IMG);
}
static void h_images(struct conn *c)
{
	handle_gen(c, API_IMAGES);
}

/* A1111 lists checkpoints as {title, model_name, hash, sha256, filename,
 * config}; clients match sd_model_checkpoint against title. */
static void h_sd_models(struct conn *c)
{
	const char **m;
	int n;
	model_names(&m, &n);
	sbody.len = 0;
	buf_adds(&sbody, "[");
	for (int k = 0; k < n; k++) {
		buf_adds(&sbody, k ? ",{\"title\":" : "{\"title\":");
		json_strz(&sbody, m[k]);
		buf_adds(&sbody, ",\"model_name\":");
		json_strz(&sbody, m[k]);
		buf_adds(&sbody, ",\"hash\":null,\"sha256\":null,"
				 "\"filename\":");
		stmp.len = 0;
		buf_adds(&stmp, "/models/Stable-diffusion/");
		buf_adds(&stmp, m[k]);
		json_str(&sbody, stmp.p, stmp.len);
		buf_adds(&sbody, ",\"config\":null}");
	}
	buf_adds(&sbody, "]");
	respond_json(c, 200, &sbody, NULL);
}

/* A1111's progress of the current job; health probes poll it. */
static void h_progress(struct conn *c)
{
	sbody.len = 0;
	buf_addf(&sbody,
		 "{\"progress\":0.0,\"eta_relative\":0.0,\"state\":{"
		 "\"skipped\":false,\"interrupted\":false,\"job\":\"\","
		 "\"job_count\":%u,\"job_timestamp\":\"0\",\"job_no\":0,"
		 "\"sampling_step\":0,\"sampling_steps\":0},"
		 "\"current_image\":null,\"textinfo\":null}",
		 st.in_flight + st.queued);
	respond_json(c, 200, &sbody, NULL);
}

static void h_ping(struct conn *c)
{
	respond(c, 200, "application/json", NULL, "{}", 2, SEND_ALL);
}

/* llama-server's GET /props, with the fields a client reads to size its
 * concurrency and prompts (server-context.cpp, get_props): total_slots is
 * --slots, n_ctx (per slot) is fixed. */
static void h_props(struct conn *c)
{
	const char **m;
	int n;
	model_names(&m, &n);
	sbody.len = 0;
	buf_addf(&sbody,
		 "{\"default_generation_settings\":{\"params\":{"
		 "\"n_predict\":-1,\"seed\":4294967295,\"temperature\":0.8,"
		 "\"top_k\":40,\"top_p\":0.95,\"min_p\":0.05},\"n_ctx\":%u},"
		 "\"total_slots\":%u,\"model_alias\":",
		 FAKE_N_CTX, cfg.slots);
	json_strz(&sbody, m[0]);
	stmp.len = 0;
	buf_adds(&stmp, "/models/");
	buf_adds(&stmp, m[0]);
	buf_adds(&stmp, ".gguf");
	buf_adds(&sbody, ",\"model_path\":");
	json_str(&sbody, stmp.p, stmp.len);
	buf_adds(&sbody,
		 ",\"modalities\":{\"vision\":false,\"audio\":false},"
		 "\"endpoint_slots\":true,\"endpoint_props\":false,"
		 "\"endpoint_metrics\":false,\"webui\":false,"
		 "\"chat_template\":\"{{ messages }}\",\"bos_token\":\"<s>\","
		 "\"eos_token\":\"</s>\",\"build_info\":\"b0-fake_llm\"}");
	respond_json(c, 200, &sbody, NULL);
}

/* llama-server's GET /slots: one object per slot (server_slot::to_json,
 * the fields that do not need a task). The fake does not number its
 * slots, so the first in_flight are the busy ones; with --slots 0
 * (unlimited) it lists one busy slot per request in flight. */
static void h_slots(struct conn *c)
{
	unsigned n = cfg.slots ? cfg.slots : st.in_flight;
	sbody.len = 0;
	buf_adds(&sbody, "[");
	for (unsigned k = 0; k < n; k++)
		buf_addf(&sbody,
			 "%s{\"id\":%u,\"n_ctx\":%u,\"speculative\":false,"
			 "\"is_processing\":%s}",
			 k ? "," : "", k, FAKE_N_CTX,
			 k < st.in_flight ? "true" : "false");
	buf_adds(&sbody, "]");
	respond_json(c, 200, &sbody, NULL);
}

static const struct route {
	const char *path;
	int method; /* M_GET also serves HEAD */
	void (*fn)(struct conn *);
	enum path_id id;
	bool auth; /* needs the --api-key */
} routes[] = {
    {"/api/generate", M_POST, h_generate, P_GENERATE, true},
    {"/api/chat", M_POST, h_chat, P_CHAT, true},
    {"/v1/chat/completions", M_POST, h_openai, P_OPENAI, true},
    {"/api/tags", M_GET, h_tags, P_TAGS, true},
    {"/api/version", M_GET, h_version, P_VERSION, true},
    {"/v1/models", M_GET, h_models, P_MODELS, true},
    {"/sdapi/v1/txt2img", M_POST, h_txt2img, P_TXT2IMG, true},
    {"/v1/images/generations", M_POST, h_images, P_IMAGES, true},
    {"/sdapi/v1/sd-models", M_GET, h_sd_models, P_SD_MODELS, true},
    {"/sdapi/v1/progress", M_GET, h_progress, P_PROGRESS, false},
    {"/internal/ping", M_GET, h_ping, P_PING, false},
    {"/props", M_GET, h_props, P_PROPS, true},
    {"/slots", M_GET, h_slots, P_SLOTS, true},
    {"/health", M_GET, h_health, P_HEALTH, false},
    {"/", M_GET, h_root, P_ROOT, false},
    {"/stats", M_GET, h_stats, P_STATS, false},
};

/* Whether the server --mimic names has this route: stable-diffusion.cpp
 * has no /sdapi/v1/progress, api.openai.com no /sdapi/ at all, llama-server
 * no /api/generate and no /api/version. */
static bool mimic_serves(const struct route *rt)
{
	if (cfg.mimic == MIMIC_SDCPP)
		return rt->id != P_PROGRESS;
	if (cfg.mimic == MIMIC_LLAMACPP)
		return rt->id != P_GENERATE && rt->id != P_VERSION;
	if (cfg.mimic == MIMIC_OPENAI)
		return strncmp(rt->path, "/sdapi/", 7) != 0;
	return true;
}

/* --api-auth: A1111 started with --api-auth user:password puts every
 * /sdapi/ route behind HTTP Basic (modules/api/api.py, Api.auth). A
 * missing or wrong one is 401 through its exception handler, which
 * writes {error, detail, body, errors} and drops the WWW-Authenticate
 * header FastAPI's HTTPBasic set. True when the request may go on. */
static bool basic_auth_ok(struct conn *c, bool post)
{
	static struct buf want; /* "Basic " + base64(user:password) */
	const struct req *r = &c->rq;
	if (!cfg.api_auth || !c->sdapi)
		return true;
	if (!want.len) {
		buf_adds(&want, "Basic ");
		base64(&want, (const unsigned char *)cfg.api_auth,
		       strlen(cfg.api_auth));
	}
	const char *a = c->in.p + r->auth_off;
	if (r->auth_len == want.len && !strncasecmp(a, want.p, 6) &&
	    !memcmp(a + 6, want.p + 6, want.len - 6))
		return true;
	/* HTTPBasic itself refuses a request without credentials */
	const char *why = iprefix(a, r->auth_len, "Basic ")
			      ? "Incorrect username or password"
			      : "Not authenticated";
	sbody.len = 0;
	buf_addf(&sbody,
		 "{\"error\":\"HTTPException\",\"detail\":\"%s\",\"body\":"
		 "\"\",\"errors\":\"401: %s\"}",
		 why, why);
	respond_json(c, 401, &sbody, NULL);
	if (post)
		llm_done();
	return false;
}

/* ------------------------------------------------------------------ */
/* Capacity models: llama-server's HTTP threads, model loading, a       */
/* batching server, restarts                                            */

static void handle_request(struct conn *c);

/* --http-threads N models cpp-httplib's fixed ThreadPool, which serves
 * llama-server's HTTP (n_threads_http, by default max(--parallel + 2,
 * cores - 1); llama.cpp since early 2026 lets it grow by 1024 dynamic
 * threads). The accept thread accepts every connection and queues it; a
 * worker takes the oldest and serves that one connection for its whole
 * keep-alive life: until the client closes it, until it has been idle for
 * the keep-alive timeout (5 s), or until it has served keep_alive_max_count
 * requests (100; the last answer says Connection: close). A queued
 * connection is not read at all. No threads here: a connection is served
 * (TH_SERVED) or waits (TH_WAIT) in a FIFO, and a waiting one is not read,
 * except for one thing: GET /stats is answered on it (TH_STATS once that
 * is all it asked), so that a test can look while the threads are full. */
enum thread_state { TH_NONE, TH_SERVED, TH_WAIT, TH_STATS };

static struct conn *tw_head, *tw_tail; /* waiting for a thread */

static void thread_wait_push(struct conn *c)
{
	c->th = TH_WAIT;
	c->th_since = now_ns;
	c->tnext = NULL;
	c->tprev = tw_tail;
	if (tw_tail)
		tw_tail->tnext = c;
	else
		tw_head = c;
	tw_tail = c;
	st.thread_waits++;
	if (++st.conn_waiting > st.max_conn_waiting)
		st.max_conn_waiting = st.conn_waiting;
}

static void thread_wait_remove(struct conn *c)
{
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		tw_head = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		tw_tail = c->tprev;
	c->tnext = c->tprev = NULL;
	st.conn_waiting--;
	c->th = TH_NONE;
}

static void thread_serve(struct conn *c)
{
	c->th = TH_SERVED;
	if (++st.threads_busy > st.max_threads_busy)
		st.max_threads_busy = st.threads_busy;
}

/* A new connection: true when a thread serves it now (drive it), false
 * when it waits in the FIFO. */
static bool thread_take(struct conn *c)
{
	if (!cfg.http_threads)
		return true;
	if (st.threads_busy < cfg.http_threads && !tw_head) {
		thread_serve(c);
		return true;
	}
	thread_wait_push(c);
	return false;
}

/* C no longer holds a thread, or no longer waits for one. The freed
 * thread goes to the oldest waiter in threads_assign, after the current
 * event, so that a close inside conn_drive never recurses into it. */
static void thread_drop(struct conn *c)
{
	if (c->th == TH_WAIT)
		thread_wait_remove(c);
	else if (c->th == TH_SERVED)
		st.threads_busy--;
	c->th = TH_NONE;
}

/* Once per turn of the event loop: free threads take the oldest waiting
 * connections, which are read from now on (what the client sent while it
 * waited is there at once; a client that left is seen to have left). */
static void threads_assign(void)
{
	while (tw_head && st.threads_busy < cfg.http_threads && !quit_reason) {
		struct conn *c = tw_head;
		thread_wait_remove(c);
		thread_serve(c);
		uint64_t w = now_ns - c->th_since;
		if (w > st.max_thread_wait_ns)
			st.max_thread_wait_ns = w;
		if (w > cfg.keepalive_ns)
			st.waits_over_ka++;
		conn_drive(c);
	}
}

/* httplib answers every error (>= 400) with Connection: close. */
static bool thread_closes(int status)
{
	return cfg.http_threads && status >= 400;
}

/* A request on C: the keep_alive_max_count-th one of its thread is
 * answered with Connection: close, then the thread closes the socket. */
static void thread_count(struct conn *c)
{
	if (c->th != TH_SERVED || ++c->ka_count < cfg.keepalive_max)
		return;
	if (!c->close_after && c->keep_alive)
		st.ka_max_closes++;
	c->close_after = true;
}

/* C read all it could. A served connection with nothing buffered and
 * nothing to send is idle: its thread waits for the next request for the
 * keep-alive timeout (counted from the end of the last answer, or from
 * when the thread took it), then closes it. Bytes of a next request stop
 * that clock (httplib then reads with its read timeout, 600 s in
 * llama-server, which the fake does not model). */
static void thread_idle(struct conn *c)
{
	if (c->th != TH_SERVED || c->st != C_READ)
		return;
	if (c->in.len || c->out.len > c->out_off) {
		timer_del(c);
		c->ka_armed = 0;
		return;
	}
	if (c->ka_armed == c->ka_count + 1 && c->heap_idx >= 0)
		return; /* idle since the same answer: the clock runs on */
	c->ka_armed = c->ka_count + 1;
	timer_set(c, now_ns + cfg.keepalive_ns);
}

static void thread_idle_expire(struct conn *c)
{
	if (c->th != TH_SERVED)
		return;
	st.ka_idle_closes++;
	conn_close(c, false);
}

/* A connection without a thread got bytes or an EOF. GET /stats is
 * answered (the fake's own window, not llama-server's); anything else
 * stays unread until a thread takes the connection. An EOF leaves a
 * waiting connection in the FIFO, as in httplib, where the thread that
 * takes it finds it closed; a connection that only ever asked /stats is
 * closed at once, as it never was a client of the pool. */
static void thread_wait_peek(struct conn *c)
{
	char b[2048];
	while (c->st == C_READ && (c->th == TH_WAIT || c->th == TH_STATS)) {
		ssize_t n = recv(c->fd, b, sizeof b, MSG_PEEK);
		if (n == 0 && c->th == TH_STATS) {
			conn_close(c, false);
			return;
		}
		if (n <= 0)
			return;
		if (n < 11 || memcmp(b, "GET /stats ", 11)) {
			if (c->th == TH_STATS)
				thread_wait_push(c);
			return;
		}
		const char *e = memmem(b, (size_t)n, "\r\n\r\n", 4);
		if (!e)
			return;
		size_t len = (size_t)(e - b) + 4;
		c->in.len = 0;
		buf_reserve(&c->in, len);
		if (recv(c->fd, c->in.p, len, 0) != (ssize_t)len) {
			conn_close(c, false);
			return;
		}
		c->in.len = len;
		if (c->th == TH_WAIT) {
			thread_wait_remove(c);
			st.thread_waits--; /* it never waited for a thread */
			c->th = TH_STATS;
		}
		if (parse_request(c) != 1) {
			conn_close(c, true);
			return;
		}
		handle_request(c);
		consume_request(c);
		if (c->close_after) {
			conn_linger(c);
			return;
		}
	}
}

/* --loading-ms: every route but /stats answers llama-server's 503 (its
 * pre-routing middleware, before the path and the API key are looked at). */
static bool loading_reply(struct conn *c, const struct route *rt)
{
	static const char b[] = "{\"error\":{\"message\":\"Loading model\","
				"\"type\":\"unavailable_error\",\"code\":503}}";
	if ((rt && rt->id == P_STATS) || !loading_now())
		return false;
	st.loading_503++;
	respond(c, 503, "application/json; charset=utf-8", NULL, b,
		sizeof b - 1, SEND_ALL);
	if (rt && rt->method == M_POST)
		llm_done();
	return true;
}

/* --batch-knee K: a batching server (vLLM, SGLang; --slots is then
 * max_num_seqs). A request that enters a slot when n requests are in the
 * slots, itself included, holds it for latency * (1 + (n - 1) / K): the
 * batch makes each step slower, less than in proportion. Fixed at entry;
 * a real server's requests also slow down when others join later. */
static uint64_t slot_latency(uint64_t lat_ns)
{
	if (cfg.batch_knee > 0 && st.in_flight > 1)
		lat_ns = (uint64_t)((double)lat_ns *
				    (1 + (st.in_flight - 1) / cfg.batch_knee));
	st.slot_ns += lat_ns;
	if (lat_ns > st.max_slot_ns)
		st.max_slot_ns = lat_ns;
	return lat_ns;
}

/* --outage START:DURATION: a crash and restart. The listening socket and
 * every connection close (RST, what the kernel sends for a dead process's
 * sockets with unread data), new connections are refused, and after
 * DURATION the server listens on the same port again, loading first
 * (--loading-ms). The counters go on across restarts. */
static int outage_i;   /* the next or current --outage */
static bool outage_on; /* the port is closed */
static int listen_open(int port);
static void listen_add(void);
static int listen_port;
static bool listen_paused;

static uint64_t outage_next(void)
{
	if (outage_on)
		return restart_ns;
	if (outage_i < cfg.noutages)
		return start_ns + cfg.outages[outage_i].start_ms * NS_PER_MS;
	return UINT64_MAX;
}

static void outage_begin(void)
{
	uint64_t cancelled = st.cancelled;
	st.outages++;
	for (struct conn *c = all_conns; c; c = c->anext)
		if (c->st == C_QUEUED || c->st == C_BUSY || c->st == C_HANG ||
		    c->st == C_DRIP || c->st == C_PUMP)
			st.outage_lost++;
	close(listen_fd); /* also leaves the epoll set */
	listen_fd = -1;
	listen_paused = false;
	while (all_conns) {
		st.outage_resets++;
		conn_close(all_conns, true);
	}
	st.cancelled = cancelled; /* the clients did not leave: we did */
	outage_on = true;
	restart_ns = now_ns + cfg.outages[outage_i].dur_ms * NS_PER_MS;
}

static void outage_end(void)
{
	listen_fd = listen_open(listen_port);
	listen_add();
	outage_on = false;
	outage_i++;
	restart_ns = now_ns; /* --loading-ms counts from here */
}

static void outage_tick(void)
{
	if (now_ns < outage_next())
		return;
	if (outage_on)
		outage_end();
	else
		outage_begin();
}

static void handle_request(struct conn *c)
{
	struct req *r = &c->rq;
	const struct route *rt = NULL;
	for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++)
		if (streq(routes[k].path, r->path) && mimic_serves(&routes[k]))
			rt = &routes[k];
	st.paths[rt ? rt->id : P_OTHER]++;
	if (!rt || rt->id != P_STATS)
		st.requests++;
	c->head_only = r->method == M_HEAD;
	c->keep_alive = r->keep_alive;
	c->http10 = r->http10;
	/* llama-server's errors are OpenAI's on every path. */
	c->v1 = !strncmp(r->path, "/v1/", 4) || cfg.mimic == MIMIC_LLAMACPP;
	c->sdapi = !strncmp(r->path, "/sdapi/", 7);
	thread_count(c);
	if (loading_reply(c, rt))
		return;
	if (!rt) {
		char msg[300];
		snprintf(msg, sizeof msg, "no such endpoint: %s", r->path);
		reply_error(c, 404, NULL, msg, NULL);
		return;
	}
	bool method_ok = r->method == rt->method ||
			 (rt->method == M_GET && r->method == M_HEAD);
	if (!method_ok) {
		reply_error(c, 405, NULL, "method not allowed",
			    rt->method == M_GET ? "Allow: GET, HEAD\r\n"
						: "Allow: POST\r\n");
		if (rt->method == M_POST)
			llm_done();
		return;
	}
	if (!basic_auth_ok(c, rt->method == M_POST))
		return;
	if (rt->auth && cfg.api_key && !(cfg.api_auth && c->sdapi)) {
		const char *a = c->in.p + r->auth_off;
		size_t al = r->auth_len, kl = strlen(cfg.api_key);
		if (!(al == 7 + kl && !strncasecmp(a, "Bearer ", 7) &&
		      !memcmp(a + 7, cfg.api_key, kl))) {
			/* Quotes what was sent, as OpenAI's "Incorrect API
			 * key provided: ..." does: a client must not print
			 * this body as it is. */
			char msg[600];
			snprintf(msg, sizeof msg,
				 "missing or wrong API key (Authorization: "
				 "Bearer KEY); got: %.*s",
				 (int)(al < 500 ? al : 500), a);
			reply_error(c, 401, NULL, msg,
				    "WWW-Authenticate: Bearer\r\n");
			if (rt->method == M_POST)
				llm_done();
			return;
		}
	}
	rt->fn(c);
}

/* ------------------------------------------------------------------ */
/* The connection state machine                                         */

/* Fault "endless": fills the socket with body bytes. 0: it would block;
 * -1: the client is gone. */
static int pump(struct conn *c)
{
	static char fill[65536];

	if (!fill[0])
		memset(fill, 'x', sizeof fill);
	for (;;) {
		ssize_t w = send(c->fd, fill, sizeof fill, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		st.pumped += (uint64_t)w;
	}
}

/* Makes all the progress possible on C: flush, parse and handle pipelined
 * requests while in C_READ, read more. Returns when the socket would block
 * or C waits for its timer. Edge-triggered epoll: every path that stops
 * reading before EAGAIN (buffer full) is resumed here once space is
 * freed, because the next call reads again. */
static void conn_drive(struct conn *c)
{
	while (c->st != C_CLOSED && !quit_reason) {
		if (c->write_err || (c->st != C_DRIP && conn_flush(c) < 0)) {
			conn_close(c, false);
			return;
		}
		if (c->st != C_DRIP && c->out.len > c->out_off)
			return; /* EPOLLOUT resumes */
		if (c->th == TH_WAIT || c->th == TH_STATS) {
			thread_wait_peek(c); /* not read: no thread yet */
			return;
		}
		if (c->st == C_PUMP) {
			if (pump(c) < 0)
				conn_close(c, false);
			return; /* EPOLLOUT resumes */
		}
		if (c->st == C_DRAIN) {
			c->in.len = 0;
			ssize_t n = conn_read(c);
			if (n > 0)
				continue;
			if (n != -1)
				conn_close(c, false);
			return;
		}
		if (c->close_after && c->st == C_READ) {
			conn_linger(c);
			return;
		}
		if (c->st == C_READ) {
			int p = parse_request(c);
			if (p == 1) {
				handle_request(c);
				if (c->st != C_CLOSED)
					consume_request(c);
				continue;
			}
			if (p > 1) {
				c->close_after = true;
				c->head_only = c->keep_alive = false;
				c->http10 = c->rq.http10;
				c->v1 = !strncmp(c->rq.path, "/v1/", 4) ||
					cfg.mimic == MIMIC_LLAMACPP;
				c->sdapi = !strncmp(c->rq.path, "/sdapi/", 7);
				reply_error(c, p, NULL, status_text(p), NULL);
				continue;
			}
		}
		ssize_t n = conn_read(c);
		if (n > 0 || (n == -3 && c->st == C_READ && !c->hdr_done &&
			      c->in.len >= MAX_HDR))
			continue;
		if (n == 0 || n == -2) {
			/* The client left: cancel whatever it was waiting for.
			 */
			conn_close(c, false);
		}
		if (n == -1)
			thread_idle(c);
		return;
	}
}

static void on_timer(struct conn *c)
{
	switch (c->st) {
	case C_BUSY:
		finish(c, c->deadline);
		conn_drive(c);
		break;
	case C_DRIP: {
		ssize_t w = send(c->fd, c->out.p + c->out_off, 1, MSG_NOSIGNAL);
		if (w == 1)
			c->out_off++;
		else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			 errno != EINTR) {
			conn_close(c, false);
			break;
		}
		if (c->out_off >= c->out.len) {
			c->out.len = c->out_off = 0;
			c->st = C_READ;
			conn_drive(c);
		} else {
			timer_set(c, now_ns + cfg.slow_ms * NS_PER_MS);
		}
		break;
	}
	case C_DRAIN: conn_close(c, false); break;
	case C_READ: thread_idle_expire(c); break;
	default: break;
	}
}

/* ------------------------------------------------------------------ */
/* Listening, signals, main loop                                        */

static bool listen_paused;
static uint64_t listen_resume_ns;

static void on_accept(void)
{
	/* Level-triggered listener: a bounded batch per wakeup keeps the
	 * established connections served during a connection storm. */
	for (int k = 0; k < 256; k++) {
		int fd = accept4(listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: stop polling the listener
				 * for a while rather than spin on it. */
				epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fd, NULL);
				listen_paused = true;
				listen_resume_ns = now_ns + 100 * NS_PER_MS;
			}
			return; /* EAGAIN, ECONNABORTED, ... */
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = conn_new(fd);
		st.accepted++;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT |
						   EPOLLRDHUP | EPOLLET,
					 .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conn_close(c, false);
			continue;
		}
		if (thread_take(c))
			conn_drive(c);
	}
}

static void listen_add(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listen_tag};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

/* A listening socket on 127.0.0.1:PORT (0: any free port). SO_REUSEADDR
 * also lets a restart after an --outage bind the same port again. */
static int listen_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind 127.0.0.1:%d: %s", port, strerror(errno));
	if (listen(fd, 4096) < 0)
		die("listen: %s", strerror(errno));
	return fd;
}

static void setup(void)
{
	/* Thousands of client connections in the load tests. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* The default 50 us timer slack would add up to 2.5 % to a 2 ms
	 * latency; the benchmarks compare against the ideal throughput. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sig_fd < 0 || epfd < 0)
		die("signalfd/epoll: %s", strerror(errno));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &signal_tag};
	epoll_ctl(epfd, EPOLL_CTL_ADD, sig_fd, &ev);

	listen_fd = listen_open(cfg.port);
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	getsockname(listen_fd, (struct sockaddr *)&a, &al);
	int port = ntohs(a.sin_port);
	listen_port = port; /* an --outage listens here again */
	listen_add();

	if (cfg.port_file) {
		/* Written then renamed: a poller never sees a partial file. */
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof tmp, "%s.tmp.%d", cfg.port_file,
			 (int)getpid());
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
		    rename(tmp, cfg.port_file) != 0)
			die("%s: %s", cfg.port_file, strerror(errno));
	}
	printf("fake_llm: listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
}

/* Waits for events until DEADLINE (UINT64_MAX: no deadline). Timers need
 * better than epoll_wait's milliseconds: a latency that overshoots by up
 * to 1 ms would skew the slot-throughput benchmarks by percents, so this
 * uses epoll_pwait2 (Linux 5.11) and falls back to rounding up to ms. */
static int wait_events(struct epoll_event *evs, int max, uint64_t deadline)
{
	static bool no_pwait2;
	uint64_t d = deadline > now_ns ? deadline - now_ns : 0;
	if (!no_pwait2) {
		struct timespec ts = {.tv_sec = (time_t)(d / NS_PER_S),
				      .tv_nsec = (long)(d % NS_PER_S)};
		int n = epoll_pwait2(epfd, evs, max,
				     deadline == UINT64_MAX ? NULL : &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		no_pwait2 = true;
	}
	int ms = -1;
	if (deadline != UINT64_MAX) {
		uint64_t m = (d + NS_PER_MS - 1) / NS_PER_MS;
		ms = m > INT_MAX ? INT_MAX : (int)m;
	}
	return epoll_wait(epfd, evs, max, ms);
}

static void run(void)
{
	uint64_t die_at =
	    cfg.die_after_ms ? start_ns + cfg.die_after_ms * NS_PER_MS : 0;
	uint64_t max_at =
	    cfg.max_seconds ? start_ns + cfg.max_seconds * NS_PER_S : 0;
	struct epoll_event evs[256];
	while (!quit_reason) {
		uint64_t next = UINT64_MAX;
		if (heap_n)
			next = heap[0]->deadline;
		if (die_at && die_at < next)
			next = die_at;
		if (max_at && max_at < next)
			next = max_at;
		if (listen_paused && listen_resume_ns < next)
			next = listen_resume_ns;
		if (cfg.noutages && outage_next() < next)
			next = outage_next();
		int n = wait_events(evs, 256, next);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		now_ns = mono_ns();
		for (int k = 0; k < n && !quit_reason; k++) {
			void *p = evs[k].data.ptr;
			if (p == &listen_tag) {
				on_accept();
			} else if (p == &signal_tag) {
				struct signalfd_siginfo si;
				if (read(sig_fd, &si, sizeof si) ==
				    (ssize_t)sizeof si)
					quit_reason = si.ssi_signo == SIGTERM
							  ? "SIGTERM"
							  : "SIGINT";
			} else {
				struct conn *c = p;
				if (c->st != C_CLOSED)
					conn_drive(c);
			}
		}
		while (!quit_reason && heap_n && heap[0]->deadline <= now_ns) {
			struct conn *c = heap[0];
			timer_del(c);
			on_timer(c);
		}
		if (cfg.noutages && !quit_reason)
			outage_tick();
		if (cfg.http_threads)
			threads_assign();
		if (!quit_reason && die_at && now_ns >= die_at)
			quit_reason = "--die-after-ms reached";
		if (!quit_reason && max_at && now_ns >= max_at)
			quit_reason = "--max-seconds reached";
		if (listen_paused && now_ns >= listen_resume_ns) {
			listen_paused = false;
			listen_add();
		}
		bury_dead();
	}
}

static void shutdown_all(void)
{
	close(listen_fd);
	while (all_conns)
		conn_close(all_conns, false);
	bury_dead();
	while (free_conns) {
		struct conn *c = free_conns;
		free_conns = c->fnext;
		buf_free(&c->in);
		buf_free(&c->out);
		buf_free(&c->text);
		buf_free(&c->model);
		buf_free(&c->extra);
		free(c);
	}
	free(heap);
	close(epfd);
	close(sig_fd);
}

/* ------------------------------------------------------------------ */
/* Command line                                                         */

static void usage(FILE *f)
{
	fputs(
	    "usage: fake_llm [--port P] [options]\n"
	    "A fake ollama / OpenAI-compatible LLM server and AUTOMATIC1111 /\n"
	    "OpenAI-images text-to-image server on 127.0.0.1.\n"
	    "  --port P              port, 0 = any free one (default 0)\n"
	    "  --port-file F         also write the port to F (atomically)\n"
	    "  --max-seconds N       exit after N s (default 600, 0 = never)\n"
	    "  --slots N             requests processed at once, others queue\n"
	    "                        in FIFO order (default 0 = unlimited)\n"
	    "  --latency-ms M|A-B    per-request time in a slot (default 0)\n"
	    "  --seed S              seed of random latency and faults\n"
	    "  --fault KIND:RATE     fault with probability RATE (repeatable;\n"
	    "                        KIND: 429 500 503 hang garbage half "
	    "reset\n"
	    "                        refuse empty slow-body redirect\n"
	    "                        echo-key endless; images only:\n"
	    "                        b64-cut image-cut not-image "
	    "wrong-size)\n"
	    "  --reply-mode M        rewrite (default) or echo\n"
	    "  --reply-prefix S      put S before every reply text\n"
	    "  --reply-quotes        wrap the reply text in double quotes\n"
	    "  --api-key K           require Authorization: Bearer K\n"
	    "  --model NAME          serve only these models (repeatable)\n"
	    "  --die-after N         exit after N generation requests\n"
	    "  --die-after-ms T      exit T ms after start\n"
	    "  --slow-interval-ms T  slow-body: one byte per T ms (default "
	    "50)\n"
	    "  --redirect-to URL     Location of the redirect fault (default\n"
	    "                        https://127.0.0.1 + the request path)\n"
	    "  --lenient             accept unknown request fields\n"
	    "  --image-format F      png (default), jpeg (q90) or webp (q80):\n"
	    "                        the bytes inside the base64 of images\n"
	    "  --mimic sd.cpp        /v1/images/generations as\n"
	    "                        stable-diffusion.cpp: seed, steps,\n"
	    "                        cfg_scale, negative_prompt only from\n"
	    "                        <sd_cpp_extra_args> in the prompt (seed\n"
	    "                        42 otherwise); no /sdapi/v1/progress\n"
	    "  --mimic openai        /v1/images/generations as OpenAI: only\n"
	    "                        its fields, only its models' sizes (400\n"
	    "                        otherwise); no /sdapi/ routes\n"
	    "  --mimic llama.cpp     behave as llama-server: /api/chat answers\n"
	    "                        in the OpenAI format, no /api/generate\n"
	    "  --reasoning           OpenAI answers: a reasoning model (vLLM's\n"
	    "                        reasoning parser): reasoning_content\n"
	    "                        first, content null when max_tokens\n"
	    "                        ends it\n"
	    "  --thinking            ollama: a thinking model: unless\n"
	    "                        \"think\": false, thinking first,\n"
	    "                        \"response\" empty when num_predict ends\n"
	    "                        it\n"
	    "  --api-auth U:P        /sdapi/ routes need HTTP Basic U:P (401\n"
	    "                        as A1111's --api-auth)\n"
	    "  --http-threads N      llama-server's HTTP threads: a thread\n"
	    "                        serves one connection for its whole\n"
	    "                        keep-alive life; others wait unread\n"
	    "  --keepalive-s S       with --http-threads: idle connections\n"
	    "                        close after S s (default 5)\n"
	    "  --keepalive-max N     with --http-threads: close after N\n"
	    "                        requests (default 100)\n"
	    "  --loading-ms T        503 'Loading model' for T ms after start\n"
	    "                        and after each restart\n"
	    "  --batch-knee K        batching server: a request that enters\n"
	    "                        with n in the slots takes latency *\n"
	    "                        (1 + (n - 1) / K)\n"
	    "  --outage START:DUR    at START ms close everything (RST),\n"
	    "                        refuse connections for DUR ms, listen\n"
	    "                        again\n"
	    "                        (repeatable, in order)\n"
	    "Per request: header 'X-Fault: KIND' or '[[fault:KIND]]' /\n"
	    "'[[fault:KIND:N]]' (first N times only) in the user text or\n"
	    "the image prompt.\n"
	    "GET /stats: counters; also printed to stderr on exit.\n",
	    f);
}

static unsigned long long parse_num(const char *s, const char *opt,
				    unsigned long long max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		die("%s: bad number '%s'", opt, s);
	return v;
}

/* The options of the capacity models, kept apart from the others. */
enum {
	O_HTTP_THREADS = 512,
	O_KEEPALIVE_S,
	O_KEEPALIVE_MAX,
	O_LOADING_MS,
	O_BATCH_KNEE,
	O_OUTAGE
};

static double parse_real(const char *s, const char *opt, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= lo && v <= hi))
		die("%s: bad number '%s' (%g..%g)", opt, s, lo, hi);
	return v;
}

/* True when O was one of them. */
static bool parse_capacity_opt(int o, const char *arg)
{
	switch (o) {
	case O_HTTP_THREADS:
		cfg.http_threads =
		    (unsigned)parse_num(arg, "--http-threads", 100000);
		return true;
	case O_KEEPALIVE_S:
		cfg.keepalive_ns =
		    (uint64_t)(parse_real(arg, "--keepalive-s", 0.001, 86400) *
			       (double)NS_PER_S);
		return true;
	case O_KEEPALIVE_MAX:
		cfg.keepalive_max =
		    (unsigned)parse_num(arg, "--keepalive-max", 1000000000);
		if (!cfg.keepalive_max)
			die("--keepalive-max: at least 1");
		return true;
	case O_LOADING_MS:
		cfg.loading_ms =
		    (unsigned)parse_num(arg, "--loading-ms", 86400000);
		return true;
	case O_BATCH_KNEE:
		cfg.batch_knee = parse_real(arg, "--batch-knee", 0.001, 1e9);
		return true;
	case O_OUTAGE: {
		char a[32];
		const char *colon = strchr(arg, ':');
		if (!colon || (size_t)(colon - arg) >= sizeof a)
			die("--outage: want START_MS:DURATION_MS, got '%s'",
			    arg);
		snprintf(a, sizeof a, "%.*s", (int)(colon - arg), arg);
		if (cfg.noutages == MAX_OUTAGES)
			die("--outage: at most %d", MAX_OUTAGES);
		uint64_t st0 = parse_num(a, "--outage", 86400000ULL * 7);
		uint64_t dur = parse_num(colon + 1, "--outage", 86400000ULL);
		if (cfg.noutages) {
			const int k = cfg.noutages - 1;
			if (st0 <=
			    cfg.outages[k].start_ms + cfg.outages[k].dur_ms)
				die("--outage: '%s' starts before the previous "
				    "one ends (give them in order)",
				    arg);
		}
		cfg.outages[cfg.noutages].start_ms = st0;
		cfg.outages[cfg.noutages++].dur_ms = dur;
		return true;
	}
	default: return false;
	}
}

static void parse_args(int argc, char **argv)
{
	enum {
		O_PORT = 256,
		O_PORT_FILE,
		O_MAX_SECONDS,
		O_SLOTS,
		O_LATENCY,
		O_SEED,
		O_FAULT,
		O_REPLY_MODE,
		O_REPLY_PREFIX,
		O_REPLY_QUOTES,
		O_API_KEY,
		O_MODEL,
		O_DIE_AFTER,
		O_DIE_AFTER_MS,
		O_SLOW,
		O_REDIRECT_TO,
		O_LENIENT,
		O_IMAGE_FORMAT,
		O_MIMIC,
		O_API_AUTH,
		O_REASONING,
		O_THINKING,
		O_HELP
	};
	static const struct option opts[] = {
	    {"port", required_argument, NULL, O_PORT},
	    {"port-file", required_argument, NULL, O_PORT_FILE},
	    {"max-seconds", required_argument, NULL, O_MAX_SECONDS},
	    {"slots", required_argument, NULL, O_SLOTS},
	    {"latency-ms", required_argument, NULL, O_LATENCY},
	    {"seed", required_argument, NULL, O_SEED},
	    {"fault", required_argument, NULL, O_FAULT},
	    {"reply-mode", required_argument, NULL, O_REPLY_MODE},
	    {"reply-prefix", required_argument, NULL, O_REPLY_PREFIX},
	    {"reply-quotes", no_argument, NULL, O_REPLY_QUOTES},
	    {"api-key", required_argument, NULL, O_API_KEY},
	    {"model", required_argument, NULL, O_MODEL},
	    {"die-after", required_argument, NULL, O_DIE_AFTER},
	    {"die-after-ms", required_argument, NULL, O_DIE_AFTER_MS},
	    {"slow-interval-ms", required_argument, NULL, O_SLOW},
	    {"redirect-to", required_argument, NULL, O_REDIRECT_TO},
	    {"lenient", no_argument, NULL, O_LENIENT},
	    {"image-format", required_argument, NULL, O_IMAGE_FORMAT},
	    {"mimic", required_argument, NULL, O_MIMIC},
	    {"api-auth", required_argument, NULL, O_API_AUTH},
	    {"http-threads", required_argument, NULL, O_HTTP_THREADS},
	    {"keepalive-s", required_argument, NULL, O_KEEPALIVE_S},
	    {"keepalive-max", required_argument, NULL, O_KEEPALIVE_MAX},
	    {"loading-ms", required_argument, NULL, O_LOADING_MS},
	    {"batch-knee", required_argument, NULL, O_BATCH_KNEE},
	    {"outage", required_argument, NULL, O_OUTAGE},
	    {"reasoning", no_argument, NULL, O_REASONING},
	    {"thinking", no_argument, NULL, O_THINKING},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	double total_rate = 0;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_PORT:
			cfg.port = (int)parse_num(optarg, "--port", 65535);
			break;
		case O_PORT_FILE: cfg.port_file = optarg; break;
		case O_MAX_SECONDS:
			cfg.max_seconds = (unsigned)parse_num(
			    optarg, "--max-seconds", 86400ULL * 7);
			break;
		case O_SLOTS:
			cfg.slots =
			    (unsigned)parse_num(optarg, "--slots", 1000000);
			break;
		case O_LATENCY: {
			char lo[32];
			const char *dash = strchr(optarg, '-');
			if (!dash) {
				cfg.lat_lo_ms = cfg.lat_hi_ms =
				    (unsigned)parse_num(optarg, "--latency-ms",
							3600000);
				break;
			}
			snprintf(lo, sizeof lo, "%.*s", (int)(dash - optarg),
				 optarg);
			cfg.lat_lo_ms =
			    (unsigned)parse_num(lo, "--latency-ms", 3600000);
			cfg.lat_hi_ms = (unsigned)parse_num(
			    dash + 1, "--latency-ms", 3600000);
			if (cfg.lat_hi_ms < cfg.lat_lo_ms)
				die("--latency-ms: %s: B < A", optarg);
			break;
		}
		case O_SEED:
			cfg.seed = parse_num(optarg, "--seed", ULLONG_MAX);
			break;
		case O_FAULT: {
			const char *colon = strrchr(optarg, ':');
			if (!colon)
				die("--fault: want KIND:RATE, got '%s'",
				    optarg);
			int k = fault_parse(optarg, (size_t)(colon - optarg));
			char *end;
			double rate = strtod(colon + 1, &end);
			if (k <= F_NONE || *end || end == colon + 1 ||
			    !(rate >= 0) || rate > 1)
				die("--fault: bad KIND:RATE '%s'", optarg);
			if (cfg.nrules == MAX_FAULT_RULES)
				die("--fault: at most %d", MAX_FAULT_RULES);
			cfg.rules[cfg.nrules].kind = k;
			cfg.rules[cfg.nrules++].rate = rate;
			total_rate += rate;
			if (total_rate > 1 + 1e-9)
				die("--fault: the rates add up to more than 1");
			break;
		}
		case O_REPLY_MODE:
			if (streq(optarg, "echo"))
				cfg.echo = true;
			else if (streq(optarg, "rewrite"))
				cfg.echo = false;
			else
				die("--reply-mode: rewrite or echo, not '%s'",
				    optarg);
			break;
		case O_REPLY_PREFIX: cfg.reply_prefix = optarg; break;
		case O_REPLY_QUOTES: cfg.reply_quotes = true; break;
		case O_API_KEY: cfg.api_key = optarg; break;
		case O_MODEL:
			if (cfg.nmodels == MAX_MODELS)
				die("--model: at most %d", MAX_MODELS);
			cfg.models[cfg.nmodels++] = optarg;
			break;
		case O_DIE_AFTER:
			cfg.die_after =
			    parse_num(optarg, "--die-after", ULLONG_MAX);
			break;
		case O_DIE_AFTER_MS:
			cfg.die_after_ms = parse_num(optarg, "--die-after-ms",
						     86400000ULL * 7);
			break;
		case O_SLOW:
			cfg.slow_ms = (unsigned)parse_num(
			    optarg, "--slow-interval-ms", 60000);
			break;
		case O_REDIRECT_TO:
			if (strlen(optarg) > 500)
				die("--redirect-to: at most 500 bytes");
			cfg.redirect_to = optarg;
			break;
		case O_LENIENT: cfg.lenient = true; break;
		case O_IMAGE_FORMAT:
			if (streq(optarg, "png"))
				cfg.image_fmt = IMG_PNG;
			else if (streq(optarg, "jpeg"))
				cfg.image_fmt = IMG_JPEG;
			else if (streq(optarg, "webp"))
				cfg.image_fmt = IMG_WEBP;
			else
				die("--image-format: png, jpeg or webp, not "
				    "'%s'",
				    optarg);
			break;
		case O_MIMIC:
			if (streq(optarg, "sd.cpp"))
				cfg.mimic = MIMIC_SDCPP;
			else if (streq(optarg, "openai"))
				cfg.mimic = MIMIC_OPENAI;
			else if (streq(optarg, "llama.cpp"))
				cfg.mimic = MIMIC_LLAMACPP;
			else
				die("--mimic: sd.cpp, openai or llama.cpp, not "
				    "'%s'",
				    optarg);
			break;
		case O_API_AUTH:
			if (!strchr(optarg, ':'))
				die("--api-auth: want user:password");
			cfg.api_auth = optarg;
			break;
		case O_REASONING: cfg.reasoning = true; break;
		case O_THINKING: cfg.thinking = true; break;
		case O_HELP: usage(stdout); exit(0);
		default:
			if (parse_capacity_opt(o, optarg))
				break;
			usage(stderr);
			exit(1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fake_llm: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	start_ns = now_ns = mono_ns();
	start_wall = (long long)time(NULL);
	setup();
	run();
	/* The counters as they stand when the run ends, before the shutdown
	 * cancels whatever is still in flight. */
	sbody.len = 0;
	stats_json(&sbody);
	shutdown_all();
	fprintf(stderr, "fake_llm: exiting: %s\n%.*s\n", quit_reason,
		(int)sbody.len, sbody.p);
	buf_free(&sbody);
	buf_free(&otext);
	buf_free(&sresp);
	buf_free(&stmp);
	buf_free(&simg);
	buf_free(&sdcpp_prompt);
	free(spx);
	if (tj)
		tjDestroy(tj);
	return 0;
}
