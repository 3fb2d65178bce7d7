/* replay.c: a main() for the fuzz targets without libFuzzer, so the gcc build (and its ASan
 * variant) runs each target over its checked-in corpus as a ctest. Every argument is a file or a
 * directory whose files are fed, one call each, in name order; each input sits in a buffer of
 * exactly its size so a sanitizer sees a read past it. Fails on a corpus with no file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long size;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	/* malloc(0) may return NULL: one spare byte, never passed on. */
	if ((buf = malloc((size_t)size + 1)) == NULL)
		abort();
	if (size > 0 && fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
main(int argc, char **argv)
{
	long files = 0;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		struct dirent **ents;
		struct stat st;
		int n;

		if (stat(argv[i], &st) == 0 && !S_ISDIR(st.st_mode)) {
			failed |= run_file(argv[i]) != 0;
			files++;
			continue;
		}
		if ((n = scandir(argv[i], &ents, NULL, by_name)) < 0) {
			fprintf(stderr, "replay: %s: cannot list\n", argv[i]);
			return 1;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				failed |= run_file(path) != 0;
				files++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	printf("replay: %ld inputs\n", files);
	return failed || files == 0;
}
