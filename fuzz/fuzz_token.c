/* fuzz_token.c: receiver_token_ok on any bytes. The property: a token it lets through (echoed to
 * whoever asked) holds no NUL or control byte and is at most RECEIVER_MAX_TOKEN bytes. */
#include "fuzz.h"
#include "receiver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!receiver_token_ok((const char *)data, size))
		return 0;
	if (size == 0 || size > RECEIVER_MAX_TOKEN)
		abort();
	for (size_t i = 0; i < size; i++)
		if (data[i] < 0x20 || data[i] == 0x7F)
			abort();
	return 0;
}
