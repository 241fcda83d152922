/* What the stage commands share beyond the option parser. */
#include "stagecli.h"

#include <stdio.h>

#include "signals.h"

int cli_spawn(const struct cli_opts *o, const char *spawn_cmd,
	      const char *health_path, const char *what, const char *log_dir,
	      struct spawn **sp, const char *const **urls, size_t *nurls,
	      const char *cmd)
{
	struct spawn_opts so = {
	    .cmd = spawn_cmd,
	    .n = (int)o->gpus,
	    .health_path = health_path,
	    .timeout = o->spawn_timeout,
	    .log_dir = log_dir,
	    .what = what,
	};
	struct hy_err err = {0};
	int r = spawn_start(sp, &so, &cli_stop, &err);

	if (r != HY_OK) {
		fprintf(stderr, "hybridize %s: %s\n", cmd, err.msg);
		return r == HY_ESTOP ? cli_exit_status(1) : 1;
	}
	*nurls = spawn_urls(*sp, urls);
	return 0;
}
