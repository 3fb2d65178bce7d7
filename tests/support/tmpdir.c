/* tmpdir.c: a test's temporary directory and its files (see tmpdir.h). */
#include "tmpdir.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xmalloc.h"

int
tmpdir_make(char *dir, size_t len, const char *prefix)
{
	char tmpl[PATH_MAX], real[PATH_MAX];

	snprintf(tmpl, sizeof(tmpl), "/tmp/%s.XXXXXX", prefix);
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, real) == NULL)
		return -1;
	if ((size_t)snprintf(dir, len, "%s", real) >= len)
		return -1;
	return 0;
}

void
tmpdir_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp;

	unlink(path);
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
	if (chmod(path, mode) == -1)
		fail_msg("chmod %s", path);
	free(path);
}

char *
tmpdir_read(const char *path, size_t max)
{
	FILE *fp = fopen(path, "r");
	char *buf = xcalloc(1, max + 1);

	if (fp != NULL) {
		size_t n = fread(buf, 1, max, fp);

		buf[n] = '\0';
		fclose(fp);
	}
	return buf;
}

int
tmpdir_remove(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd) == 0 ? 0 : -1;

	free(cmd);
	return rc;
}
