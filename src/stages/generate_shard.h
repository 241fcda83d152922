/* What stage generate keeps per shard and per sample, shared by its two
 * files: generate.c (the event loop, the first pass over a shard, the
 * images) and leftover.c (the blur pass). Internal to the stage: no other
 * module includes it. A gshard and its samples are touched by one thread at
 * a time: the event loop, or the worker running the shard's task. */
#ifndef HY_GENERATE_SHARD_H
#define HY_GENERATE_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "stages/generate.h"
#include "tar/shard.h"
#include "util/err.h"
#include "util/taskq.h"

/* Largest member body read (an image or a JSON record). */
#define GEN_MAX_BODY (64u << 20)

struct gjob;
struct run;

/* G_LEFT: a leftover for the policy; G_BLURRED: blurred by the finish
 * task; G_UNBLURRABLE: a leftover whose photo could not be blurred, which is
 * dropped rather than shipped with a face; G_DOUBTFUL: a face sample that no
 * edit can make safe (its key cannot be a file name, it has several
 * photos, its metadata is unreadable), dropped without asking a server. */
enum gstate {
	G_PENDING,
	G_DONE,
	G_LEFT,
	G_FAILED,
	G_BLURRED,
	G_UNBLURRABLE,
	G_DOUBTFUL
};
enum gkind { T_LOAD, T_POST, T_FINISH };

struct gtask {
	struct task t; /* first: the queue hands this pointer back */
	enum gkind kind;
	void *owner;
};

/* What only a sample with a prompt needs, to ask the image server and to
 * write its edit: freed (drop_post) once it is not to be sent, or done. */
struct gpost {
	char *prompt;
	size_t prompt_len;
	char *json; /* the original metadata, or NULL */
	size_t json_len;
	int ow, oh; /* original image size; 0 when unknown */
	int gw, gh; /* size asked of the server */
	unsigned long seed;
	struct gjob *job;
};

/* A face sample (or one with a prompt) of the shard being generated: 56
 * bytes and its key, besides a gpost while it has a prompt to send. The
 * list of them is what stays per sample. */
struct gsample {
	char *key;
	struct gpost *post; /* NULL: no prompt (a leftover) */
	const char *reason; /* leftovers and failures: owned when
			       reason_owned, else a literal */
	char *doubt;	    /* G_DOUBTFUL's reason, set by the first pass */
	char *boxes_why;    /* face boxes in doubt, and why (NULL: trusted):
			       a leftover is blurred whole or dropped, never
			       kept */
	uint32_t key_len;
	unsigned char st; /* enum gstate */
	unsigned char reason_owned;
	/* the image member's extension (jpg, jpeg, png or webp: is_image_ext),
	 * or "": kept inline, not one allocation a sample */
	char ext[8];
};

struct gshard {
	const struct generate_input *in;
	struct run *r;
	char *part, *final;
	struct gsample *v;
	size_t n, cap;
	size_t pending;
	size_t cursor; /* the next sample to submit (submit_more) */
	int64_t nfailed, samples, resumed;
	int64_t blurred, dropped, kept; /* set by the finish task */
	struct shard_id id;		/* the file the first pass read */
	enum { S_LOADING, S_RUNNING, S_FINISHING } state;
	struct gtask task;
	int ret; /* of the last task */
	struct hy_err err;
	struct gshard *next;
};

/* Makes why (copied) g's reason. -1 when out of memory. */
int gsample_set_reason(struct gsample *g, const char *why);

/* The same with a string literal, not copied. */
void gsample_set_reason_static(struct gsample *g, const char *why);

/* Adds "; WHY: WHAT" to a leftover's reason. -1 when out of memory. */
int gsample_append_reason(struct gsample *g, const char *why, const char *what);

#endif
