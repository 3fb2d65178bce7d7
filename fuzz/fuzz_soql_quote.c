/* fuzz_soql_quote.c: the property of normalize_soql_quote. For any string s, the literal it makes,
 * in "SELECT Id FROM Contact WHERE Email = <lit>", parses with sf-sim's SOQL parser as exactly one
 * string literal whose value is s (invalid UTF-8 bytes as U+FFFD, as the quoter promises).
 * abort() when not. Inputs over SOQL's 4,000-character literal limit are skipped. */
#include <stdio.h>

#include "fuzz.h"
#include "normalize.h"
#include "sf_soql_int.h"

#define HEAD	"SELECT Id FROM Contact WHERE Email = "

static struct sf_schema schema;
static int loaded;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct soql_query q;
	struct sf_error err;
	char *s, *want, *lit, *soql, errbuf[256];
	const struct soql_cond *c;

	if (!loaded) {
		if (sf_schema_load(&schema, SF_SIM_DEFAULT_SCHEMA, errbuf, sizeof(errbuf)) < 0) {
			fprintf(stderr, "schema: %s\n", errbuf);
			abort();
		}
		loaded = 1;
	}
	if (size > 4000)
		return 0;
	s = fuzz_cstr(data, size);
	/* SIZE_MAX characters: no cut, only invalid bytes replaced. */
	want = normalize_truncate_utf8(s, (size_t)-1);
	lit = normalize_soql_quote(s);
	soql = malloc(sizeof(HEAD) + strlen(lit));
	if (soql == NULL)
		abort();
	memcpy(soql, HEAD, sizeof(HEAD) - 1);
	memcpy(soql + sizeof(HEAD) - 1, lit, strlen(lit) + 1);
	memset(&q, 0, sizeof(q));
	memset(&err, 0, sizeof(err));
	if (soql_parse(soql, &schema, 0, &q, &err) < 0) {
		fprintf(stderr, "does not parse: %s\n%s\n", soql, err.message);
		abort();
	}
	c = q.where;
	if (c == NULL || c->kind != C_PRED || c->op != OP_EQ || c->nvals != 1 ||
	    c->vals[0].kind != V_TEXT || strcmp(c->vals[0].text, want) != 0) {
		fprintf(stderr, "not one literal equal to the input: %s\n", soql);
		abort();
	}
	soql_query_free(&q);
	free(soql);
	free(lit);
	free(want);
	free(s);
	return 0;
}
