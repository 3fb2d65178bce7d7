/* sf_id.h: Salesforce record ids: 3-character key prefix, 12 base-62 characters, and the
 * 3-character case-safe suffix that makes the 18-character form. */
#ifndef SF_ID_H
#define SF_ID_H

#define SF_ID_LEN 18

/* Computes the 3-character suffix of a 15-character id into out (not NUL-terminated). */
void sf_id_suffix(const char *id15, char out[3]);
/* Makes the 18-character id for the seq-th record with this key prefix; out is NUL-terminated. */
void sf_id_make(const char *prefix, unsigned long long seq, char out[SF_ID_LEN + 1]);
/* Accepts a 15- or 18-character id (the 18-character one must carry the right suffix) and writes
 * its 18-character form; -1 if s is not an id. */
int sf_id_normalize(const char *s, char out[SF_ID_LEN + 1]);

#endif
