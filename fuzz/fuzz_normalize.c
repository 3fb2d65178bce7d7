/* fuzz_normalize.c: the values of a Graph message through src/normalize.c and the display-name
 * split of src/lead.c. Properties: a normalized message id or address normalizes to itself, and
 * truncation always yields valid UTF-8. */
#include <stdio.h>

#include "fuzz.h"
#include "lead.h"
#include "normalize.h"

static void
check_utf8(const char *s)
{
	uint32_t cp;
	int n;

	while ((n = normalize_utf8_next(s, &cp)) > 0)
		s += n;
	if (n < 0)
		abort();
}

/* f(f(x)) == f(x) whenever f(x) is accepted. */
static void
check_fixed_point(char *(*f)(const char *, char *, size_t), const char *s)
{
	char err[256];
	char *once = f(s, err, sizeof(err)), *twice;

	if (once == NULL)
		return;
	check_utf8(once);
	if ((twice = f(once, err, sizeof(err))) == NULL || strcmp(once, twice) != 0) {
		fprintf(stderr, "not a fixed point: \"%s\"\n", once);
		abort();
	}
	free(twice);
	free(once);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *t, *first, *last;
	char digest[NORMALIZE_DIGEST_LEN + 1], err[256];
	char **list;
	size_t n;

	check_fixed_point(normalize_message_id, s);
	check_fixed_point(normalize_address, s);
	if (normalize_address_list(s, &list, &n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			check_fixed_point(normalize_address, list[i]);
		normalize_strv_free(list);
	}
	normalize_digest(s, digest);
	t = normalize_truncate_utf8(s, size % 300);
	check_utf8(t);
	free(t);
	lead_name_parse(s, "john.doe@example.com", &first, &last);
	if (last == NULL || last[0] == '\0')
		abort();
	free(first);
	free(last);
	lead_name_parse(s, NULL, &first, &last);
	free(first);
	free(last);
	free(s);
	return 0;
}
