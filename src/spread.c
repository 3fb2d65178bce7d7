/* spread.c: offsets from a hash, and the sweep that calls each mailbox at its own phase of an
 * interval (see spread.h). */
#include "spread.h"

#include <stddef.h>

int64_t
spread_offset(const char *key, int64_t range)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a, 64 bits */

	if (key == NULL || range < 2)
		return 0;
	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 'a' - 'A') : *p;

		h ^= c;
		h *= 0x100000001b3ULL;
	}
	/* The low bits of FNV-1a mix poorly for short keys that differ at the end: fold. */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (int64_t)(h % (uint64_t)range);
}

/* Floor division (a may be negative: a time before the first due time). */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void
spread_sweep_init(struct spread_sweep *sw, int64_t interval, int64_t start)
{
	sw->interval = interval < 1 ? 1 : interval;
	sw->start = start;
	sw->last = start;
}

int64_t
spread_sweep_run(struct spread_sweep *sw, const json_t *mailboxes, int64_t now,
    int (*due)(void *arg, const char *mailbox), void *arg)
{
	int64_t next = now + sw->interval, iv = sw->interval;
	size_t i;
	json_t *v;

	if (now < sw->last)
		now = sw->last;
	json_array_foreach(mailboxes, i, v) {
		const char *m = json_string_value(v);
		int64_t base, k_now, at;

		if (m == NULL)
			continue;
		base = sw->start + spread_offset(m, iv);
		k_now = floor_div(now - base, iv);
		/* A due time base + k * iv in (last, now]: k_now counts those up to now. */
		if (k_now > floor_div(sw->last - base, iv) && due(arg, m) == -1)
			return -1;
		at = base + (k_now + 1) * iv;
		if (at < next)
			next = at;
	}
	sw->last = now;
	return next;
}
