/* sf_id.c: record id generation and the 15/18-character conversion (see sf_id.h).
 * The suffix: for each 5-character chunk, bit i is set when character i is an upper-case letter;
 * the 5-bit value indexes "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345". */
#include "sf_id.h"

#include <string.h>

static const char suffix_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
static const char base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void
sf_id_suffix(const char *id15, char out[3])
{
	for (int chunk = 0; chunk < 3; chunk++) {
		int bits = 0;

		for (int i = 0; i < 5; i++) {
			char c = id15[chunk * 5 + i];

			if (c >= 'A' && c <= 'Z')
				bits |= 1 << i;
		}
		out[chunk] = suffix_chars[bits];
	}
}

void
sf_id_make(const char *prefix, unsigned long long seq, char out[SF_ID_LEN + 1])
{
	/* prefix (3) + pod "5g" + reserved "0" + 9 base-62 digits of seq */
	memcpy(out, prefix, 3);
	memcpy(out + 3, "5g0", 3);
	for (int i = 14; i >= 6; i--) {
		out[i] = base62[seq % 62];
		seq /= 62;
	}
	sf_id_suffix(out, out + 15);
	out[SF_ID_LEN] = '\0';
}

static int
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int
sf_id_normalize(const char *s, char out[SF_ID_LEN + 1])
{
	size_t len = strlen(s);
	char suffix[3];

	if (len != 15 && len != 18)
		return -1;
	for (size_t i = 0; i < 15; i++)
		if (!is_alnum(s[i]))
			return -1;
	sf_id_suffix(s, suffix);
	if (len == 18) {
		/* The suffix is case-insensitive on input, like Salesforce's. */
		for (int i = 0; i < 3; i++) {
			char c = s[15 + i];

			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if (c != suffix[i])
				return -1;
		}
	}
	memcpy(out, s, 15);
	memcpy(out + 15, suffix, 3);
	out[SF_ID_LEN] = '\0';
	return 0;
}
