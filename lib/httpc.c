/* httpc.c: libcurl client (see httpc.h). */
#include "httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "xmalloc.h"

struct httpc {
	CURL *curl;
};

struct sink {
	struct httpc_response *resp;
	size_t cap;
	size_t max;
	int overflow;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("httpc: curl_global_init failed");
}

struct httpc *
httpc_new(void)
{
	struct httpc *c = xcalloc(1, sizeof(*c));

	pthread_once(&global_once, global_init);
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		fatalx("httpc: curl_easy_init failed");
	return c;
}

void
httpc_free(struct httpc *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	struct httpc_response *r = s->resp;

	if (r->body_len + n > s->max) {
		s->overflow = 1;
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	}
	if (r->body_len + n + 1 > s->cap) {
		s->cap = (r->body_len + n + 1) * 2;
		r->body = xrealloc(r->body, s->cap);
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	struct httpc_response *r = s->resp;
	size_t n = size * nmemb, end = n;
	char *colon = memchr(data, ':', n);
	size_t vstart;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue or a redirect): forget earlier headers. */
		for (size_t i = 0; i < r->nheaders; i++) {
			free(r->headers[i].name);
			free(r->headers[i].value);
		}
		r->nheaders = 0;
		return n;
	}
	if (colon == NULL || r->nheaders >= 128)
		return n;
	while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	vstart = (size_t)(colon - data) + 1;
	while (vstart < end && (data[vstart] == ' ' || data[vstart] == '\t'))
		vstart++;
	r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
	r->headers[r->nheaders].name = xstrndup(data, (size_t)(colon - data));
	r->headers[r->nheaders].value = xstrndup(data + vstart, end > vstart ? end - vstart : 0);
	r->nheaders++;
	return n;
}

enum httpc_fail
httpc_do(struct httpc *c, const struct httpc_request *req, struct httpc_response *resp,
    char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink;
	CURLcode rc;
	char ctype[256];
	const char *method = req->method ? req->method : "GET";
	enum httpc_fail fail = HTTPC_OK;

	memset(resp, 0, sizeof(*resp));
	resp->body = xcalloc(1, 1);
	memset(&sink, 0, sizeof(sink));
	sink.resp = resp;
	sink.cap = 1;
	sink.max = req->max_body ? req->max_body : (size_t)64 << 20;

	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, req->url);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 30000L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &sink);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Our peers are on loopback or are Microsoft/Salesforce: never through a proxy by accident. */
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	if (req->fresh_connect) {
		curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c->curl, CURLOPT_FORBID_REUSE, 1L);
	}
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body ? req->body_len : 0));
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (req->content_type != NULL) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", req->content_type);
		hdrs = curl_slist_append(hdrs, ctype);
	}
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		return HTTPC_OK;
	}
	switch (rc) {
	case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		fail = HTTPC_CONNECT;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		fail = HTTPC_TIMEOUT;
		break;
	case CURLE_GOT_NOTHING: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		fail = HTTPC_RESET;
		break;
	case CURLE_WRITE_ERROR:
		fail = sink.overflow ? HTTPC_TOO_LARGE : HTTPC_OTHER;
		break;
	default:
		fail = HTTPC_OTHER;
		break;
	}
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s %s: %s", method, req->url,
		    sink.overflow ? "response too large" : curl_easy_strerror(rc));
	return fail;
}

const char *
httpc_header(const struct httpc_response *resp, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			v = resp->headers[i].value;
	return v;
}

void
httpc_response_free(struct httpc_response *resp)
{
	for (size_t i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

char *
httpc_encode(const char *s, const char *keep, enum httpc_encoding how)
{
	const char *hex = how == HTTPC_FORM ? "0123456789abcdef" : "0123456789ABCDEF";
	size_t n = strlen(s), j = 0;
	char *out = xmalloc(3 * n + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr(keep, ch) != NULL) {
			out[j++] = (char)ch;
		} else if (ch == ' ' && how == HTTPC_FORM) {
			out[j++] = '+';
		} else {
			out[j++] = '%';
			out[j++] = hex[ch >> 4];
			out[j++] = hex[ch & 15];
		}
	}
	out[j] = '\0';
	return out;
}

char *
httpc_escape(const char *s)
{
	return httpc_encode(s, HTTPC_UNRESERVED, HTTPC_PERCENT);
}
