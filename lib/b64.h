/* b64.h: base64 (RFC 4648 §4) and base64url (§5), binary-safe, with strict decoders: a byte outside
 * the alphabet, misplaced padding or non-zero trailing bits is an error, never skipped, so two
 * different strings never decode to the same bytes (JWS signatures depend on that). */
#ifndef OL_B64_H
#define OL_B64_H

#include <stddef.h>

/* Encodes len bytes with '=' padding. Caller frees the NUL-terminated result. */
char *b64_encode(const void *data, size_t len);
/* Encodes len bytes with the URL alphabet ('-', '_') and no padding. Caller frees. */
char *b64url_encode(const void *data, size_t len);

/* Decodes slen characters of padded standard base64 (slen a multiple of 4; whitespace is invalid).
 * On success returns 0, *out holds *outlen bytes plus a NUL after them (so text can be used as a
 * string) and the caller frees *out. On bad input returns -1 and sets *out = NULL, *outlen = 0. */
int b64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);
/* Same for base64url; the padding may be present (then it must be right) or left off. */
int b64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);

#endif
