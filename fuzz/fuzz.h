/* fuzz.h: what every fuzz/fuzz_<name>.c shares: the libFuzzer entry point (declared here because
 * -Wmissing-prototypes wants a prototype, and fuzz/replay.c calls it without libFuzzer) and a
 * NUL-terminated copy of the input for the parsers that take C strings. */
#ifndef OL_FUZZ_H
#define OL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a C string (it ends at its first NUL, as it would coming from JSON or a header).
 * Caller frees. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
