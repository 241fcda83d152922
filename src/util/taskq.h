/* A fixed set of worker threads for CPU and file work (reading a shard,
 * decoding and encoding images) next to an event loop that must not stall:
 * the loop pushes tasks, workers run them, and the loop collects them
 * finished. A task is embedded in the caller's struct. */
#ifndef HY_TASKQ_H
#define HY_TASKQ_H

#include <stddef.h>

struct task {
	struct task *next;
	void (*run)(struct task *t); /* on a worker thread */
	int ran;		     /* 0 when cancelled before it ran */
};

struct taskq;

/* Starts `threads` workers. notify(ctx) is called by a worker after each
 * task it finishes (to wake the event loop); may be NULL. Returns 0, or -1
 * when no thread could be started. */
int taskq_new(struct taskq **out, int threads, void (*notify)(void *ctx),
	      void *ctx);

/* Queues a task (FIFO). */
void taskq_push(struct taskq *q, struct task *t);

/* Takes the finished tasks, oldest first (NULL when none). Waits up to
 * max_wait seconds for one when none is there. */
struct task *taskq_done(struct taskq *q, double max_wait);

/* Tasks queued or running. */
size_t taskq_busy(struct taskq *q);

/* Lets the running tasks finish, hands the ones that never ran back to
 * the done list (ran = 0) so that their owner can free them, and stops the
 * threads. Then taskq_done(q, 0) returns everything; taskq_free after. */
void taskq_drain(struct taskq *q);

/* Frees the queue (after taskq_drain); accepts NULL. */
void taskq_free(struct taskq *q);

#endif
