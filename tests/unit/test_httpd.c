/* test_httpd.c: lib/httpd.c's request deadline and its log of libmicrohttpd's messages, on
 * loopback with raw sockets: clients that trickle a request a byte at a time are closed by the
 * deadline while others are served; a keep-alive connection idle longer than the deadline, a
 * request sent slowly but in time and a handler slower than the deadline are not cut; a burst
 * of aborted connections logs a line a second at most. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "logcap.h"
#include "mono.h"
#include "rawtcp.h"
#include "sim_http.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define DEADLINE_SEC	2
#define IDLE_SEC	10
#define SLOW_MS		(DEADLINE_SEC * 1000 + 1500)	/* what GET /slow takes */
#define DRIBBLE_MS	500				/* between two bytes of a trickle */

struct fx {
	struct httpd *srv;
	int port;
	char base[64];
	pthread_mutex_t lock;
	int dribbled;		/* requests to /dribble that reached the handler */
};

static void
handle(struct httpd_request *req, struct httpd_response *resp, void *arg)
{
	struct fx *fx = arg;

	if (strcmp(req->path, "/slow") == 0)
		usleep(SLOW_MS * 1000);
	if (strcmp(req->path, "/dribble") == 0) {
		pthread_mutex_lock(&fx->lock);
		fx->dribbled++;
		pthread_mutex_unlock(&fx->lock);
	}
	httpd_respond_text(resp, 200, "text/plain", "ok\n");
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct httpd_config cfg = { .listen = "127.0.0.1:0", .timeout_sec = IDLE_SEC,
	    .request_deadline_sec = DEADLINE_SEC, .max_connections = 16 };
	char err[256];

	if (fx == NULL)
		return -1;
	pthread_mutex_init(&fx->lock, NULL);
	fx->srv = httpd_start(&cfg, handle, fx, err, sizeof(err));
	if (fx->srv == NULL) {
		fprintf(stderr, "httpd_start: %s\n", err);
		free(fx);
		return -1;
	}
	fx->port = httpd_port(fx->srv);
	snprintf(fx->base, sizeof(fx->base), "http://127.0.0.1:%d", fx->port);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	httpd_stop(fx->srv);		/* NULL when the test stopped it */
	pthread_mutex_destroy(&fx->lock);
	free(fx);
	return 0;
}

static unsigned long long
cuts(const struct fx *fx)
{
	struct httpd_stats st;

	httpd_stats(fx->srv, &st);
	return st.deadline_cuts;
}

static int
connect_to(int port)
{
	int fd = rawtcp_connect(NULL, port);

	assert_true(fd != -1);
	return fd;
}

/* Reads one response with a Content-Length body from fd within wait_ms; its status, or 0 when
 * the connection closed or nothing whole came. */
static int
read_status(int fd, int wait_ms)
{
	char buf[2048];
	size_t got = 0;
	long t0 = mono_ms();
	const char *end, *cl;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(buf, "\r\nContent-Length:")) != NULL && cl < end &&
		    (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10) <= got)
			return atoi(buf + 9);
		if (got == sizeof(buf) - 1 || poll(&p, 1, (int)(wait_ms - (mono_ms() - t0))) <= 0)
			return 0;
		if ((n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) <= 0)
			return 0;
		got += (size_t)n;
	}
}

static void
send_text(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * Trickled requests: cut by the deadline, however far they got.
 */

struct dribbler {
	const char *name;
	const char *head;	/* sent at once */
	const char *trickle;	/* then a byte every DRIBBLE_MS; longer than the deadline */
	int port;
	long cut_ms;		/* after the head; -1: still open when the trickle ran out */
};

static void *
dribble(void *arg)
{
	struct dribbler *d = arg;
	int fd = connect_to(d->port);

	if (send(fd, d->head, strlen(d->head), MSG_NOSIGNAL) != (ssize_t)strlen(d->head))
		d->cut_ms = 0;
	else
		d->cut_ms = rawtcp_trickle(fd, d->trickle, DRIBBLE_MS);
	close(fd);
	return NULL;
}

static void
test_dribblers_cut(void **state)
{
	struct fx *fx = *state;
	struct dribbler d[] = {
		{ "request line and headers", "",
		    "GET /dribble?x=1 HTTP/1.1\r\nHost: x\r\nX-Pad: 0123456789abcdef\r\n\r\n",
		    0, 0 },
		{ "body", "POST /dribble HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n",
		    "{\"value\":[\"0123456789abcdef0123456\"]}", 0, 0 },
	};
	pthread_t th[NELEM(d)];
	unsigned long long cuts0 = cuts(fx);
	struct sim_http h;
	long t;

	for (size_t i = 0; i < NELEM(d); i++) {
		d[i].port = fx->port;
		assert_true(strlen(d[i].trickle) * DRIBBLE_MS > (DEADLINE_SEC + 4) * 1000);
		assert_int_equal(pthread_create(&th[i], NULL, dribble, &d[i]), 0);
	}
	/* Served meanwhile, on another connection, and not held up until they are cut. */
	usleep(1000 * 1000);
	t = mono_ms();
	sim_http_do(&h, fx->base, "GET", "/quick", NULL, NULL, NULL);
	sim_http_expect(&h, 200, "a request while two clients trickle");
	sim_http_free(&h);
	assert_true(mono_ms() - t < DEADLINE_SEC * 1000L);
	for (size_t i = 0; i < NELEM(d); i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (d[i].cut_ms < (DEADLINE_SEC - 1) * 1000L ||
		    d[i].cut_ms > (DEADLINE_SEC + 2) * 1000L)
			fail_msg("%s trickled: closed after %ld ms (-1: never), the deadline is %d s",
			    d[i].name, d[i].cut_ms, DEADLINE_SEC);
	}
	assert_int_equal(cuts(fx) - cuts0, NELEM(d));
	assert_int_equal(fx->dribbled, 0);
}

/*
 * What the deadline must leave alone.
 */

/* A request sent slowly (but whole within the deadline), then, on the same connection, a
 * pause longer than the deadline (shorter than the idle timeout) and a second request. */
static void
test_keepalive_not_cut(void **state)
{
	struct fx *fx = *state;
	static const char *const pieces[] = { "GET /ka HTTP/1.1\r\n", "Host: x\r\n",
	    "X-Slow: 1\r\n", "\r\n" };
	static const char second[] = "GET /ka2 HTTP/1.1\r\nHost: x\r\n\r\n";
	unsigned long long cuts0 = cuts(fx);
	int fd = connect_to(fx->port);

	for (size_t i = 0; i < NELEM(pieces); i++) {
		if (i > 0)
			usleep(DRIBBLE_MS * 1000);
		send_text(fd, pieces[i], strlen(pieces[i]));
	}
	assert_int_equal(read_status(fd, 2000), 200);
	/* Idle: the deadline has nothing to time. */
	assert_false(rawtcp_closed(fd, (DEADLINE_SEC + 1) * 1000 + 500));
	send_text(fd, second, strlen(second));
	assert_int_equal(read_status(fd, 2000), 200);
	close(fd);
	assert_int_equal(cuts(fx), cuts0);
}

/* A handler that takes longer than the deadline: its client is not the slow one. */
static void
test_slow_handler_not_cut(void **state)
{
	struct fx *fx = *state;
	static const char req[] = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
	unsigned long long cuts0 = cuts(fx);
	int fd = connect_to(fx->port);
	long t0;

	/* After the server has the connection: a request that was all there when the
	 * connection was accepted would not start the deadline's clock at all. */
	usleep(200 * 1000);
	t0 = mono_ms();
	send_text(fd, req, strlen(req));
	assert_int_equal(read_status(fd, SLOW_MS + 2000), 200);
	assert_true(mono_ms() - t0 >= SLOW_MS);
	close(fd);
	assert_int_equal(cuts(fx), cuts0);
}

/*
 * libmicrohttpd's messages: through lib/log.c, a line a second at most.
 */

static void
test_mhd_log_limited(void **state)
{
	struct fx *fx = *state;
	enum { ABORTS = 40 };
	char path[] = "/tmp/test-httpd-log-XXXXXX";
	char line[1024];
	int saved = logcap_begin(path), lines = 0, wait;
	long held = 0;
	double t0, elapsed;
	FILE *f;

	t0 = mono_sec();
	/* Half a request, then a reset: libmicrohttpd has something to say about each. */
	for (int i = 0; i < ABORTS; i++) {
		static const char half[] =
		    "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab";
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		int c = connect_to(fx->port);

		send_text(c, half, sizeof(half) - 1);
		usleep(5 * 1000);
		assert_int_equal(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
		close(c);
	}
	/* Until the server has seen every reset. */
	for (wait = 0; wait < 3000; wait += 50) {
		struct httpd_stats st;

		httpd_stats(fx->srv, &st);
		if (st.connections == 0)
			break;
		usleep(50 * 1000);
	}
	elapsed = mono_sec() - t0;
	/* Stopping writes the count held back since the last line. */
	httpd_stop(fx->srv);
	fx->srv = NULL;
	logcap_end(saved);

	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p;

		if (strstr(line, " httpd mhd ") == NULL)
			continue;
		lines++;
		if ((p = strstr(line, " suppressed=")) != NULL)
			held += atol(p + 12);
	}
	fclose(f);
	unlink(path);
	if (lines < 1 || lines > 2 + (int)elapsed)
		fail_msg("%d lines of libmicrohttpd's in %.2f s", lines, elapsed);
	/* The messages were there, held back. */
	if (lines + held < ABORTS)
		fail_msg("%d lines and %ld held back for %d aborted requests", lines, held,
		    ABORTS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dribblers_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_not_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_handler_not_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mhd_log_limited, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
