/* Common includes for the cmocka unit tests (one file per module). */
#ifndef HY_UNIT_H
#define HY_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* UNIT_TMPDIR(dir, "name"); defines `static char dir[64]` and the cmocka
 * fixtures setup / teardown: a fresh folder /tmp/hy-unit-name-XXXXXX for
 * each test, removed with its content after it. One fixture for the
 * modules that write files, instead of a copy in each of their tests. */
#define UNIT_TMPDIR(var, name)                                                 \
	static char var[64];                                                   \
	static int setup(void **state)                                         \
	{                                                                      \
		(void)state;                                                   \
		snprintf(var, sizeof(var), "/tmp/hy-unit-" name "-XXXXXX");    \
		return mkdtemp(var) ? 0 : -1;                                  \
	}                                                                      \
	static int teardown(void **state)                                      \
	{                                                                      \
		char cmd[128];                                                 \
                                                                               \
		(void)state;                                                   \
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", var);                \
		return system(cmd) == 0 ? 0 : -1;                              \
	}                                                                      \
	struct unit_tmpdir_semicolon_

#endif
