/* fuzz_config.c: config_parse on arbitrary text. Errors are fine; a crash, a leak or a success
 * that config_free cannot release is not. Relative paths resolve under a directory that does not
 * exist, so a secret-file option reads nothing. */
#include "config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct config_errors errs;
	int rc;

	memset(&errs, 0, sizeof(errs));
	rc = config_parse("fuzz.conf", (const char *)data, size, "/nonexistent-olsync-fuzz", &cfg,
	    &errs);
	if ((rc == 0) != (errs.n == 0))
		abort();
	config_free(&cfg);
	config_errors_free(&errs);
	return 0;
}
