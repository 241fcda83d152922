/* SIGINT / SIGTERM: stop cleanly. The handler only sets cli_stop; workers
 * poll it between members or requests, abandon their unfinished output,
 * and the command exits 128 + the signal number. */
#ifndef HY_CLI_SIGNALS_H
#define HY_CLI_SIGNALS_H

#include <stdatomic.h>

/* 0 = keep going; a signal number; or -1 after a fatal error (set by the
 * command, so that the other workers stop too). */
extern atomic_int cli_stop;

void cli_catch_signals(void);

/* Exit status for a finished command: 128 + signal after a signal, else
 * `failed` ? 2 : 0. */
int cli_exit_status(int failed);

/* Exit status for a stage command that ended with r: 1 for a
 * configuration error found at run time (a server refusing our key or
 * model), the signal's after a stop, else cli_exit_status(r != HY_OK ||
 * failed). */
int cli_stage_status(int r, int failed);

#endif
