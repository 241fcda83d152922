/* Error struct helpers shared by all modules. */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/redact.h"

int hy_err_set(struct hy_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	redact(err->msg, sizeof(err->msg)); /* may quote a server or URL */
	return code;
}

int hy_err_input(int errnum, int code)
{
	return errnum == EMFILE || errnum == ENFILE || errnum == ENOMEM
		   ? HY_EFATAL
		   : code;
}

void hy_report(const struct hy_reporter *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!r || !r->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	redact(line, sizeof(line));
	r->fn(r->ctx, line);
}
