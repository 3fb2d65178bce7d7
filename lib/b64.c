/* b64.c: base64 and base64url encoding and strict decoding (see b64.h). */
#include "b64.h"

#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "xmalloc.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *
encode(const unsigned char *in, size_t len, const char *alphabet, int pad)
{
	size_t i;
	char *out, *p;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		fatalx("b64: input of %zu bytes too large to encode", len);
	out = p = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = alphabet[v >> 18 & 0x3f];
		*p++ = alphabet[v >> 12 & 0x3f];
		*p++ = alphabet[v >> 6 & 0x3f];
		*p++ = alphabet[v & 0x3f];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		*p++ = alphabet[v >> 18 & 0x3f];
		*p++ = alphabet[v >> 12 & 0x3f];
		if (i + 1 < len)
			*p++ = alphabet[v >> 6 & 0x3f];
		else if (pad)
			*p++ = '=';
		if (pad)
			*p++ = '=';
	}
	*p = '\0';
	return out;
}

/* The 6-bit value of c in the chosen alphabet, or -1. */
static int
sextet(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static int
decode(const char *s, size_t slen, int url, unsigned char **out, size_t *outlen)
{
	size_t n = slen, npad = 0, i;
	uint32_t v = 0;
	unsigned char *buf, *p;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	while (n > 0 && s[n - 1] == '=' && npad < 2) {
		n--;
		npad++;
	}
	/* Standard base64 is always padded; base64url only needs whole quanta if it pads. */
	if ((!url || npad > 0) && slen % 4 != 0)
		return -1;
	if (n % 4 == 1)
		return -1;
	buf = p = xmalloc(n / 4 * 3 + 3);
	for (i = 0; i < n; i++) {
		int c = sextet((unsigned char)s[i], url);

		if (c < 0)
			goto bad;
		v = v << 6 | (uint32_t)c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*p++ = (unsigned char)(v >> bits & 0xff);
		}
	}
	/* Leftover bits must be zero, or "QQ==" and "QR==" would both mean "A". */
	if (bits > 0 && (v & ((1u << bits) - 1)) != 0)
		goto bad;
	*p = '\0';
	*out = buf;
	*outlen = (size_t)(p - buf);
	return 0;
bad:
	free(buf);
	return -1;
}

char *
b64_encode(const void *data, size_t len)
{
	return encode(data, len, std_alphabet, 1);
}

char *
b64url_encode(const void *data, size_t len)
{
	return encode(data, len, url_alphabet, 0);
}

int
b64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	return decode(s, slen, 0, out, outlen);
}

int
b64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	return decode(s, slen, 1, out, outlen);
}
