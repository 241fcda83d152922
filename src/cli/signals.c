/* Signal handling shared by the commands. */
#include "signals.h"

#include <signal.h>
#include <string.h>

#include "util/err.h"

atomic_int cli_stop;

static void on_signal(int sig)
{
	atomic_store(&cli_stop, sig);
}

void cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cli_exit_status(int failed)
{
	int sig = atomic_load(&cli_stop);

	if (sig > 0)
		return 128 + sig;
	return failed || sig < 0 ? 2 : 0;
}

int cli_stage_status(int r, int failed)
{
	if (r == HY_ECONFIG)
		return 1;
	if (r == HY_ESTOP)
		return cli_exit_status(1);
	return cli_exit_status(r != HY_OK || failed);
}
