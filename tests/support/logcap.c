/* logcap.c: stderr captured in a file (see logcap.h). */
#include "logcap.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

int
logcap_begin(char *path)
{
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);

	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

void
logcap_end(int saved)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
}
