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
