/* httpd.c: the libmicrohttpd server layer (see httpd.h). A request context is created by the URI
 * log callback (so the raw URI, with its query, is known before anything else), gathers the body
 * within the limit, then the handler runs once and its response is queued. A reaper thread
 * closes connections whose request is overdue (request_deadline_sec). */
#include "httpd.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "form.h"
#include "log.h"
#include "xmalloc.h"

#define NS_PER_SEC	1000000000LL
#define MHD_LOG_MAX	200		/* bytes of one of libmicrohttpd's messages logged */

/* An open connection, as the request deadline sees it. */
struct conn {
	struct conn	*prev, *next;
	int		 fd;
	int		 receiving;	/* 0 from a request's arrival until its response is sent */
	int		 cut;		/* shut down by the reaper */
	long long	 since;		/* CLOCK_MONOTONIC ns: the clock of the request arriving */
	long long	 rx;		/* bytes the socket had received at since, -1: unknown */
	char		 peer[INET6_ADDRSTRLEN];
};

struct httpd {
	struct MHD_Daemon *mhd;
	httpd_handler *handler;
	void *arg;
	struct httpd_config cfg;
	int port;

	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t wake;		/* the reaper's sleep; signalled to stop it */
	struct conn *conns;
	unsigned nconns;
	unsigned long long deadline_cuts;
	int stopping;
	long long mhd_logged_at;	/* CLOCK_MONOTONIC ns of MHD's last message logged, 0: none */
	unsigned long mhd_suppressed;	/* MHD's messages held back since */

	pthread_t reaper;
	int reaper_started;
};

struct reqctx {
	struct httpd_request req;
	char *raw;
	char *buf;
	size_t len, cap;
	int too_large;
	int started;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* The client's IPv4 address in buf, or "?". */
static void
peer_name(struct MHD_Connection *mc, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;

	snprintf(buf, len, "?");
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr, buf,
		    (socklen_t)len);
}

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

/*
 * The request deadline. libmicrohttpd (0.9.75 here) has only an idle timeout, which every byte
 * resets. Each connection is tracked from MHD_CONNECTION_NOTIFY_STARTED to _CLOSED; once a
 * second the reaper shuts down the socket of each one whose request is overdue, and MHD's
 * thread for it then reads EOF and closes the connection. The reaper holds srv->lock while it
 * does, and _CLOSED unlinks the record under the same lock. libmicrohttpd notifies _CLOSED
 * before it closes the socket (MHD_cleanup_connections, and the path for a failed accept, call
 * notify_connection, then close: read in libmicrohttpd's daemon.c of 0.9.4x, 0.9.5x and 1.0; the
 * installed microhttpd.h only says that _CLOSED means "a connection is closed"), so the fd the
 * reaper shuts down cannot be one the kernel has already handed out again.
 */

/* The connection's record, set by conn_notify; NULL once it is closed. */
static struct conn *
conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* How many bytes socket fd has received, or -1 when the kernel does not say (Linux 4.1+ does). */
static long long
rx_bytes(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (fd != -1 && getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    len >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return (long long)ti.tcpi_bytes_received;
	return -1;
}

static void
conn_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *srv = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = xcalloc(1, sizeof(*c));
		ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		c->fd = ci != NULL ? ci->connect_fd : -1;
		c->receiving = 1;
		c->since = now_ns();
		c->rx = rx_bytes(c->fd);
		peer_name(mc, c->peer, sizeof(c->peer));
		pthread_mutex_lock(&srv->lock);
		c->next = srv->conns;
		if (srv->conns != NULL)
			srv->conns->prev = c;
		srv->conns = c;
		srv->nconns++;
		pthread_mutex_unlock(&srv->lock);
		*socket_context = c;
		return;
	}
	if ((c = *socket_context) == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	pthread_mutex_unlock(&srv->lock);
	*socket_context = NULL;
	free(c);
}

/* receiving 0: a whole request has arrived (its handler and response are not the client's
 * delay); 1: its response is sent, the next request's clock starts. */
static void
conn_receiving(struct httpd *srv, struct MHD_Connection *mc, int receiving)
{
	struct conn *c = conn_of(mc);
	long long rx;

	if (c == NULL)
		return;
	rx = receiving ? rx_bytes(c->fd) : -1;
	pthread_mutex_lock(&srv->lock);
	c->receiving = receiving;
	c->since = now_ns();
	c->rx = rx;
	pthread_mutex_unlock(&srv->lock);
}

/* One pass over the connections, srv->lock held: those overdue are shut down. A connection on
 * which nothing has arrived since its clock started is idle, not slow (the idle timeout is for
 * it): its clock restarts, so that a request is timed from its first byte, to within a pass.
 * Returns how many were cut; peer gets the last one's address. */
static unsigned
reap(struct httpd *srv, long long now, char *peer, size_t peerlen)
{
	long long limit = (long long)srv->cfg.request_deadline_sec * NS_PER_SEC;
	unsigned cut = 0;

	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		if (!c->receiving || c->cut || c->fd == -1)
			continue;
		if (c->rx != -1 && rx_bytes(c->fd) == c->rx) {
			c->since = now;
			continue;
		}
		if (now - c->since < limit)
			continue;
		(void)shutdown(c->fd, SHUT_RDWR);
		c->cut = 1;
		srv->deadline_cuts++;
		cut++;
		snprintf(peer, peerlen, "%s", c->peer);
	}
	return cut;
}

static void *
reaper_main(void *arg)
{
	struct httpd *srv = arg;
	char peer[INET6_ADDRSTRLEN];
	struct timespec until;
	unsigned long long total;
	unsigned cut;

	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		cut = reap(srv, now_ns(), peer, sizeof(peer));
		total = srv->deadline_cuts;
		if (cut > 0) {
			/* One line a pass at most, written outside the lock. */
			pthread_mutex_unlock(&srv->lock);
			log_warnx("httpd request_deadline closed=%u total=%llu deadline_sec=%u "
			    "last_peer=%s", cut, total, srv->cfg.request_deadline_sec, peer);
			pthread_mutex_lock(&srv->lock);
			if (srv->stopping)
				break;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec++;
		pthread_cond_timedwait(&srv->wake, &srv->lock, &until);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* libmicrohttpd's own messages (one per aborted connection, among others) go to our log at
 * most one a second, with how many were held back, so a flood of broken clients cannot flood
 * the log; each is cut at MHD_LOG_MAX bytes with control bytes and quotes replaced. */
__attribute__((format(printf, 2, 0)))
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *srv = cls;
	char msg[MHD_LOG_MAX + 1];
	unsigned long held;
	long long now = now_ns();
	size_t n;

	pthread_mutex_lock(&srv->lock);
	if (srv->mhd_logged_at != 0 && now - srv->mhd_logged_at < NS_PER_SEC) {
		srv->mhd_suppressed++;
		pthread_mutex_unlock(&srv->lock);
		return;
	}
	srv->mhd_logged_at = now;
	held = srv->mhd_suppressed;
	srv->mhd_suppressed = 0;
	pthread_mutex_unlock(&srv->lock);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "?");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == '"' || msg[i] == 0x7f)
			msg[i] = '?';
	log_warnx("httpd mhd msg=\"%s\" suppressed=%lu", msg, held);
}

static void
request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct reqctx *ctx = *con_cls;

	(void)toe;
	conn_receiving(cls, conn, 1);
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
	char peer[INET6_ADDRSTRLEN];
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
	conn_receiving(srv, conn, 0);
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
		peer_name(conn, peer, sizeof(peer));
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
	pthread_condattr_t ca;

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
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->wake, &ca);
	pthread_condattr_destroy(&ca);
	srv->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
	    (cfg->tls_cert_pem ? MHD_USE_TLS : 0), 0, NULL, NULL,
	    access_handler, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_logger, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_notify, srv,
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
		goto fail;
	}
	if (srv->cfg.request_deadline_sec > 0) {
		if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
			snprintf(err, errlen, "cannot start the request deadline's thread");
			MHD_stop_daemon(srv->mhd);
			goto fail;
		}
		srv->reaper_started = 1;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : ntohs(sa.sin_port);
	return srv;
fail:
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	return NULL;
}

int
httpd_port(const struct httpd *srv)
{
	return srv->port;
}

void
httpd_stats(struct httpd *srv, struct httpd_stats *out)
{
	pthread_mutex_lock(&srv->lock);
	out->connections = srv->nconns;
	out->deadline_cuts = srv->deadline_cuts;
	pthread_mutex_unlock(&srv->lock);
}

void
httpd_stop(struct httpd *srv)
{
	if (srv == NULL)
		return;
	if (srv->reaper_started) {
		pthread_mutex_lock(&srv->lock);
		srv->stopping = 1;
		pthread_cond_signal(&srv->wake);
		pthread_mutex_unlock(&srv->lock);
		pthread_join(srv->reaper, NULL);
	}
	/* Closes every connection: each _CLOSED notification frees its record. */
	MHD_stop_daemon(srv->mhd);
	if (srv->mhd_suppressed > 0)
		log_warnx("httpd mhd suppressed=%lu", srv->mhd_suppressed);
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
