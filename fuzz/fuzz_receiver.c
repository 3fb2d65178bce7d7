/* fuzz_receiver.c: a notification POST body through receiver_parse, as Graph (or anyone who
 * finds the webhook) may send it. Every item is either malformed or holds a usable id. */
#include "fuzz.h"
#include "receiver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receiver_item *items;
	size_t n;

	if (receiver_parse((const char *)data, size, &items, &n) == 0) {
		if (n > RECEIVER_MAX_ITEMS)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!items[i].malformed && (items[i].id == NULL || items[i].id[0] == '\0'))
				abort();
		receiver_items_free(items, n);
	} else if (items != NULL || n != 0) {
		abort();
	}
	return 0;
}
