/* err.c: filling a caller's error buffer (see err.h). */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

#undef err_set		/* err.h's analyzer-only stand-in */

int
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
