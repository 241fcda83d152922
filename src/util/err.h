/* Error codes and the error struct every library function fills: the message
 * names the file, the offset or key, and the cause; the code says how far the
 * damage reaches (one sample, one shard, or the whole run). */
#ifndef HY_ERR_H
#define HY_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" { /* langid.cc, the C++ adapter, fills these too */
#endif

enum hy_rc {
	HY_OK = 0,
	HY_ESAMPLE = -2, /* this sample is bad: report it, skip it, go on */
	HY_ESHARD = -3, /* this shard is dead: no output for it, others go on */
	HY_EFATAL = -4, /* stop everything (output dir gone, out of memory) */
	HY_ESTOP = -5,	/* stopped on request (SIGTERM / SIGINT) */
	HY_ECONFIG = -6, /* configuration found wrong at run time (servers
			    refuse our key or model): stop, exit 1 */
};

struct hy_err {
	int code;
	char msg[1024];
};

/* Sets err->code and a printf-style message; returns code so that library
 * code can `return hy_err_set(err, HY_ESHARD, "...")`. err may be NULL. */
int hy_err_set(struct hy_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The code for an input that cannot be opened or read: `code` (the input
 * is at fault), unless errnum says that this process is short of file
 * descriptors or memory. Then every other input would fail the same way:
 * HY_EFATAL stops the run instead of failing good shards one by one. */
int hy_err_input(int errnum, int code);

/* Sample-level problems inside a shard that the stage reports and survives:
 * fn is called with one complete line (no trailing newline). fn must be
 * thread-safe when several shards run at once. */
struct hy_reporter {
	void (*fn)(void *ctx, const char *line);
	void *ctx;
};

void hy_report(const struct hy_reporter *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
