/* remote.h: how a failed call to Graph or Salesforce is classified, once, where the response is
 * parsed (STYLE.md): the engine acts on the class, never on status codes or message strings. */
#ifndef OL_REMOTE_H
#define OL_REMOTE_H

enum remote_class {
	REMOTE_OK,
	REMOTE_TEMP,	/* 5xx, timeouts, resets, lock errors: retry with backoff and jitter */
	REMOTE_WAIT,	/* Graph 429, Salesforce REQUEST_LIMIT_EXCEEDED: retry after wait_sec */
	REMOTE_AUTH,	/* 401 after one fresh token: a configuration problem, say so clearly */
	REMOTE_FINAL,	/* 4xx validation and the like: dead, with the reason */
};

struct remote_failure {
	enum remote_class cls;
	int status;		/* HTTP status, 0 when no response arrived */
	double wait_sec;	/* REMOTE_WAIT: at least this long (Retry-After), else 0 */
	char code[64];		/* "TooManyRequests", "REQUEST_LIMIT_EXCEEDED", "timeout", ... */
	char message[512];	/* for logs and the ledger; never a token or a body */
};

const char *remote_class_name(enum remote_class cls);	/* "temp", "wait", ... */

#endif
