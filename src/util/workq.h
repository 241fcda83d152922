/* Runs one function over N work items (shards) on a fixed number of
 * threads. Threads, not processes: each shard has its own reader, writer
 * and buffers, so workers share nothing but counters. */
#ifndef HY_WORKQ_H
#define HY_WORKQ_H

#include <stdatomic.h>
#include <stddef.h>

/* Calls fn(ctx, i) for i in [0, n) over `threads` threads (1 = in the
 * calling thread), handing out items in order. Once *stop is non-zero no
 * new item starts. Returns 0, or -1 when no thread could be started. */
int workq_run(size_t n, int threads, void (*fn)(void *ctx, size_t i), void *ctx,
	      const atomic_int *stop);

/* CPUs this process may use: SLURM_CPUS_PER_TASK is the caller's business;
 * this is the affinity mask (at least 1). */
int workq_cpus(void);

#endif
