/* Inference servers started by us (--spawn): one per local GPU, each told
 * its GPU by CUDA_VISIBLE_DEVICES and its port by the {port} in the
 * command, waited for until it answers, used as endpoints, and stopped when
 * the command ends, so one `srun` line per node does a whole stage. */
#ifndef HY_SPAWN_H
#define HY_SPAWN_H

#include <stdatomic.h>
#include <stddef.h>

#include "util/err.h"

struct spawn_opts {
	const char *cmd;	 /* run by /bin/sh; {port} and {gpu} replaced */
	int n;			 /* servers; 0: one per visible GPU */
	const char *health_path; /* GET probe; any answer < 500 is ready */
	double timeout;		 /* seconds for all to become ready */
	const char *log_dir;	 /* server i of host H writes
				    log_dir/.server-H-i.log */
	const char *what;	 /* "LLM", "image": for messages */
	/* The GPUs this job sees, as the caller read them from the
	 * environment (the library reads none): the comma-separated ids of
	 * gpu_list (indices, GPU-/MIG- UUIDs), named gpu_list_from in
	 * messages ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS"...), or NULL;
	 * else, when n is 0, the count in gpus_on_node
	 * (SLURM_GPUS_ON_NODE's text), or NULL: one server. */
	const char *gpu_list;
	const char *gpu_list_from;
	const char *gpus_on_node;
	/* Told of each server as it answers its probe, the one thing a long
	 * start shows: "LLM server 0 on GPU 0 ready at URL (12.3 s)". Its fn
	 * may be NULL. */
	struct hy_reporter ready;
};

struct spawn;

/* Starts the servers (each in its own process group, killed with us
 * through PR_SET_PDEATHSIG if we die) and waits until each answers its
 * health probe. Fails with HY_ECONFIG when a server exits before it is
 * ready (its exit status and the end of its log in the message) or the
 * timeout passes, after stopping the others; HY_ESTOP when *stop is set
 * while waiting. */
int spawn_start(struct spawn **out, const struct spawn_opts *o,
		const atomic_int *stop, struct hy_err *err);

/* The base URLs (http://127.0.0.1:PORT) of the servers, owned by s. */
size_t spawn_urls(const struct spawn *s, const char *const **urls);

/* SIGTERM to each server's process group, SIGKILL after a grace period,
 * and reaps them. Accepts NULL. */
void spawn_stop(struct spawn *s);

#endif
