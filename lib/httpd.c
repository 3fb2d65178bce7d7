/* httpd.c: the libmicrohttpd server layer (see httpd.h). A request context is created by the URI
 * log callback (so the raw URI, with its query, is known before anything else), gathers the body
 * within the limit, then the handler runs once and its response is queued. */
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "form.h"
#include "log.h"
#include "xmalloc.h"

struct httpd {
	struct MHD_Daemon *mhd;
	httpd_handler *handler;
	void *arg;
	struct httpd_config cfg;
	int port;
};

struct reqctx {
	struct httpd_request req;
	char *raw;
	char *buf;
	size_t len, cap;
	int too_large;
	int started;
};

int
httpd_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
httpd_decode(const char *s, size_t len, int plus_is_space)
{
	char *out = xmalloc(len + 1);
	size_t j = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    httpd_hexval(s[i + 1]) >= 0 && httpd_hexval(s[i + 2]) >= 0) {
			out[j++] = (char)(httpd_hexval(s[i + 1]) * 16 + httpd_hexval(s[i + 2]));
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			out[j++] = ' ';
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

char *
httpd_parse_target(const char *target, struct httpd_param *params, int max, int *nparams)
{
	const char *q = strchr(target, '?');

	*nparams = 0;
	if (q != NULL)
		*nparams = form_parse(q + 1, strlen(q + 1), FORM_KEEP_NAMELESS, params, max);
	return httpd_decode(target, q ? (size_t)(q - target) : strlen(target), 0);
}

const char *
httpd_header(const struct httpd_request *req, const char *name)
{
	if (req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
httpd_query(const struct httpd_request *req, const char *name)
{
	for (int i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].name, name) == 0)
			return req->query[i].value;
	return NULL;
}

void
httpd_response_clear(struct httpd_response *resp)
{
	free(resp->body);
	for (int i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	memset(resp, 0, sizeof(*resp));
}

static void
set_body(struct httpd_response *resp, int status, const char *ctype, char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->body = body;
	resp->body_len = len;
	snprintf(resp->content_type, sizeof(resp->content_type), "%s", ctype ? ctype : "");
}

void
httpd_respond_json(struct httpd_response *resp, int status, json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(json);
	if (text == NULL)
		fatalx("httpd: cannot encode a JSON response");
	set_body(resp, status, "application/json;charset=UTF-8", text, strlen(text));
}

void
httpd_respond_text(struct httpd_response *resp, int status, const char *content_type,
    const char *text)
{
	set_body(resp, status, content_type, xstrdup(text), strlen(text));
}

void
httpd_respond_empty(struct httpd_response *resp, int status)
{
	set_body(resp, status, NULL, NULL, 0);
}

void
httpd_response_header(struct httpd_response *resp, const char *name, const char *value)
{
	for (int i = 0; i < resp->nheaders; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0) {
			free(resp->headers[i].value);
			resp->headers[i].value = xstrdup(value);
			return;
		}
	}
	if (resp->nheaders >= (int)(sizeof(resp->headers) / sizeof(resp->headers[0])))
		fatalx("httpd: too many response headers");
	resp->headers[resp->nheaders].name = xstrdup(name);
	resp->headers[resp->nheaders].value = xstrdup(value);
	resp->nheaders++;
}

static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct reqctx *ctx = xcalloc(1, sizeof(*ctx));

	(void)cls;
	(void)conn;
	ctx->raw = xstrdup(uri);
	return ctx;
}

static void
request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct reqctx *ctx = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (ctx == NULL)
		return;
	free(ctx->req.path);
	form_free(ctx->req.query, ctx->req.nquery);
	free(ctx->raw);
	free(ctx->buf);
	free(ctx);
	*con_cls = NULL;
}

static enum MHD_Result
queue(struct MHD_Connection *conn, struct httpd_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : (void *)"",
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (resp->content_type[0] != '\0')
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (int i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct httpd *srv = cls;
	struct reqctx *ctx = *con_cls;
	struct httpd_response resp;
	const union MHD_ConnectionInfo *ci;
	char peer[INET6_ADDRSTRLEN] = "?";
	enum MHD_Result ret;

	(void)url;
	(void)version;
	if (ctx == NULL)
		return MHD_NO;
	if (!ctx->started) {
		ctx->started = 1;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (ctx->too_large || ctx->len + *upload_size > srv->cfg.max_body) {
			ctx->too_large = 1;
		} else {
			if (ctx->len + *upload_size + 1 > ctx->cap) {
				ctx->cap = (ctx->len + *upload_size + 1) * 2;
				if (ctx->cap > srv->cfg.max_body + 1)
					ctx->cap = srv->cfg.max_body + 1;
				ctx->buf = xrealloc(ctx->buf, ctx->cap);
			}
			memcpy(ctx->buf + ctx->len, upload_data, *upload_size);
			ctx->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&resp, 0, sizeof(resp));
	if (ctx->too_large) {
		httpd_respond_text(&resp, 413, "text/plain", "request body too large\n");
	} else if (strlen(ctx->raw) > srv->cfg.max_uri) {
		httpd_respond_text(&resp, 414, "text/plain", "request URI too long\n");
	} else {
		ctx->req.method = method;
		ctx->req.raw_uri = ctx->raw;
		ctx->req.body = ctx->buf ? ctx->buf : (char *)"";
		if (ctx->buf != NULL)
			ctx->buf[ctx->len] = '\0';
		ctx->req.body_len = ctx->len;
		ctx->req.conn = conn;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr,
			    peer, sizeof(peer));
		ctx->req.peer = peer;
		ctx->req.path = httpd_parse_target(ctx->raw, ctx->req.query, HTTPD_MAX_PARAMS,
		    &ctx->req.nquery);
		srv->handler(&ctx->req, &resp, srv->arg);
		if (resp.status == 0 && !resp.drop)
			httpd_respond_text(&resp, 500, "text/plain", "no response\n");
	}
	ret = resp.drop ? MHD_NO : queue(conn, &resp);
	httpd_response_clear(&resp);
	return ret;
}

static int
parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t errlen)
{
	const char *colon = strrchr(listen, ':');
	char host[64];
	char *end;
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host)) {
		snprintf(err, errlen, "listen address \"%s\" is not HOST:PORT", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535 || colon[1] == '\0') {
		snprintf(err, errlen, "listen address \"%s\": bad port", listen);
		return -1;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, errlen, "listen address \"%s\": host must be an IPv4 address", listen);
		return -1;
	}
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

struct httpd *
httpd_start(const struct httpd_config *cfg, httpd_handler *handler, void *arg, char *err,
    size_t errlen)
{
	struct httpd *srv = xcalloc(1, sizeof(*srv));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	srv->cfg = *cfg;
	if (srv->cfg.max_body == 0)
		srv->cfg.max_body = 1 << 20;
	if (srv->cfg.max_uri == 0)
		srv->cfg.max_uri = 16384;
	if (srv->cfg.timeout_sec == 0)
		srv->cfg.timeout_sec = 60;
	if (srv->cfg.max_connections == 0)
		srv->cfg.max_connections = 256;
	srv->handler = handler;
	srv->arg = arg;
	if (parse_listen(cfg->listen, &sa, err, errlen) < 0) {
		free(srv);
		return NULL;
	}
	if ((cfg->tls_cert_pem == NULL) != (cfg->tls_key_pem == NULL)) {
		snprintf(err, errlen, "TLS needs both a certificate and a key");
		free(srv);
		return NULL;
	}
	srv->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
	    (cfg->tls_cert_pem ? MHD_USE_TLS : 0), 0, NULL, NULL,
	    access_handler, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_logger, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
	    MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.timeout_sec,
	    MHD_OPTION_CONNECTION_LIMIT, srv->cfg.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->cfg.max_per_ip,
	    /* Room for the URI limit plus headers: longer requests are refused by MHD itself. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(srv->cfg.max_uri * 2 + 65536),
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
	    /* MHD stops at the first MHD_OPTION_END: without TLS the key options are skipped. */
	    cfg->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cfg->tls_cert_pem,
	    MHD_OPTION_HTTPS_MEM_KEY, cfg->tls_key_pem,
	    /* TLS 1.2 and 1.3 only, as Graph asks of a notification endpoint (§2.1). */
	    MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s", cfg->listen);
		free(srv);
		return NULL;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : ntohs(sa.sin_port);
	return srv;
}

int
httpd_port(const struct httpd *srv)
{
	return srv->port;
}

void
httpd_stop(struct httpd *srv)
{
	if (srv == NULL)
		return;
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
