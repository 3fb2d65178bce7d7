/* test_receiver_abuse.c: the webhook of a running `olsync run` under attack from loopback
 * addresses (127.0.0.2 and up; the legitimate client is 127.0.0.1): connections opened and held
 * idle, more than the receiver serves; slowloris requests that stop half way; one that trickles
 * a byte every half second; a flood of forged POSTs. The receiver stays bounded (at most
 * RECEIVER's 64 connections, 32 from one address, idle and stalled ones closed after
 * listen_timeout, the trickling one that long after its first byte, threads and memory back down)
 * and keeps answering a validation handshake from another address within Graph's 3 s. The test
 * sets listen_timeout to 6 s (not the default 10 s: shorter, and the key is seen to work), times
 * OL_TEST_TIME_SCALE. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "e2e.h"
#include "mono.h"
#include "rawtcp.h"
#include "receiver.h"
#include "sim_http.h"
#include "xmalloc.h"

/* How much olsync's memory may grow under an attack, in kB. Under AddressSanitizer freed memory
 * sits in its quarantine (256 MB by default) before reuse, so growth there measures ASan, not
 * olsync: the bound allows for it. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_GROWTH_MAX_KB	((64 + 256) * 1024)
#else
#define RSS_GROWTH_MAX_KB	(64 * 1024)
#endif
#define ALICE		"alice@contoso.com"
#define MAX_CONN	64		/* the receiver's default */
#define MAX_PER_IP	(MAX_CONN / 2)
#define TIMEOUT_MS	6000		/* listen_timeout: idle timeout and request deadline */
/* Between two bytes of the trickling client, scaled like the deadline: its request (about 90
 * bytes) must take longer to send than the deadline, or nothing is cut. */
#define DRIBBLE_MS	((int)mono_scaled(500))
#define GRAPH_MS	3000		/* Graph's deadline for an answer */
#define FLOODERS	8
#define FLOOD_MS	((int)mono_scaled(4000))

static struct e2e_world world;
static struct e2e_daemon daemon_proc;
static int port;
static char base[64];
static int timeout_sec;		/* TIMEOUT_MS scaled, in whole seconds */

/* The attack's connections, closed whatever happens to the test that opened them. */
static int held[256];
static int nheld;

static int
hold(int fd)
{
	if (fd != -1 && nheld < (int)(sizeof(held) / sizeof(held[0])))
		held[nheld++] = fd;
	return fd;
}

static void
release_all(void)
{
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	nheld = 0;
}

static int
setup(void **state)
{
	char *extra;
	json_t *r;

	(void)state;
	port = e2e_free_port();
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	timeout_sec = (int)(mono_scaled(TIMEOUT_MS) / 1000);
	extra = xasprintf("listen 127.0.0.1:%d\npublic_url http://127.0.0.1:%d\n"
	    "listen_timeout %ds\nreconcile_interval 1h\nlog_level info\n", port, port,
	    timeout_sec);
	if (e2e_world_start(&world, "test_receiver_abuse",
	    E2E_SF_ALICE, "\"Account\":[]", "[" E2E_GRAPH_ALICE "]",
	    ALICE, extra) == -1) {
		free(extra);
		return -1;
	}
	free(extra);
	r = sim_http_ctl(world.graph.base_url, "POST", "/_sim/config",
	    "{\"require_https\":false}", 200);
	json_decref(r);
	e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	release_all();
	return e2e_world_teardown(&world, &daemon_proc);
}

/* A TCP connection to the receiver from loopback address src; -1 when refused. */
static int
connect_from(const char *src)
{
	return rawtcp_connect(src, port);
}

/* Of the n connections in fds (-1: refused at connect), how many are still open after
 * wait_ms; the closed ones are closed on our side and set to -1. */
static int
still_open(int *fds, int n, int wait_ms)
{
	int open = 0;

	for (int i = 0; i < n; i++) {
		if (fds[i] == -1)
			continue;
		if (rawtcp_closed(fds[i], i == 0 ? wait_ms : 0)) {
			close(fds[i]);
			fds[i] = -1;
		} else {
			open++;
		}
	}
	return open;
}

/* A validation handshake from 127.0.0.1: it must succeed; returns how long it took (ms). */
static long
handshake_ms(void)
{
	struct sim_http h;
	long t = mono_ms();

	sim_http_do(&h, base, "POST", RECEIVER_PATH_NOTIFY "?validationToken=still+here", NULL,
	    NULL, NULL);
	t = mono_ms() - t;
	sim_http_expect(&h, 200, "a handshake under attack");
	assert_string_equal(h.resp.body, "still here");
	sim_http_free(&h);
	return t;
}

/* A number from the daemon's /proc/<pid>/status line key ("VmRSS:" in kB, "Threads:"). */
static long
proc_status(const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_proc.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	assert_true(v >= 0);
	return v;
}

/* Waits up to wait_ms for the daemon to have at most n threads; returns the count seen. */
static long
threads_down_to(long n, long wait_ms)
{
	long t;

	for (long waited = 0; (t = proc_status("Threads:")) > n && waited < wait_ms;
	    waited += 100)
		usleep(100 * 1000);
	return t;
}

/* A request a byte every DRIBBLE_MS from 127.0.0.7, so the idle timeout never fires: only the
 * request deadline closes it. arg: where to put how long that took (ms), -1 if it did not. */
static void *
dribble(void *arg)
{
	static const char req[] = "POST " RECEIVER_PATH_NOTIFY " HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	long *cut_ms = arg;
	int fd = connect_from("127.0.0.7");

	*cut_ms = fd != -1 ? rawtcp_trickle(fd, req, DRIBBLE_MS) : -1;
	if (fd != -1)
		close(fd);
	return NULL;
}

/* The daemon's memory grew less than RSS_GROWTH_MAX_KB since rss0; not checked (a line says
 * so) when olsync runs under valgrind, whose own memory is in the figure. */
static void
check_rss_growth(long rss0)
{
	const char *vg = getenv("OL_VALGRIND_OLSYNC");

	if (vg != NULL && *vg != '\0') {
		fprintf(stderr, "RSS growth not checked: olsync runs under valgrind\n");
		return;
	}
	assert_true(proc_status("VmRSS:") - rss0 < RSS_GROWTH_MAX_KB);
}

/* Idle connections over the limits and slowloris requests: capped per address and in all,
 * the handshake answered meanwhile, every one of them closed after the idle timeout. A
 * connection over the total cap waits in the kernel's listen queue (MHD stops accepting), so
 * the cap is measured in the server: one thread per connection served. */
static void
test_idle_and_slow(void **state)
{
	static const char *const partial[] = {
		"POST " RECEIVER_PATH_NOTIFY " HTTP/1.1\r\nHost: x\r\nContent-Le",
		"POST " RECEIVER_PATH_NOTIFY " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
		    "{\"value\":[",
		"POST /graph/noti",
	};
	enum { ONE = MAX_CONN + 16, SLOW = 24, SLOW_IPS = 3 };
	int one[ONE], slow[SLOW_IPS][SLOW], open;
	long threads0, rss0, t0, t;
	long cut_ms;
	pthread_t dth;

	(void)state;
	assert_true(handshake_ms() < GRAPH_MS);
	threads0 = proc_status("Threads:");
	rss0 = proc_status("VmRSS:");
	/* First, so that it has a slot. */
	assert_int_equal(pthread_create(&dth, NULL, dribble, &cut_ms), 0);

	/* One address holding idle connections: it gets MAX_PER_IP of them, the rest are
	 * closed at once. */
	for (int i = 0; i < ONE; i++)
		one[i] = hold(connect_from("127.0.0.2"));
	open = still_open(one, ONE, (int)mono_scaled(500));
	if (open > MAX_PER_IP)
		fail_msg("%d idle connections from one address kept open", open);
	assert_true(open >= MAX_PER_IP / 2);
	t = proc_status("Threads:");
	/* + 1: the trickling client's connection, from its own address, has a thread too. */
	if (t > threads0 + MAX_PER_IP + 1)
		fail_msg("%ld threads for %d connections from one address", t - threads0, open);
	assert_true(handshake_ms() < GRAPH_MS);

	/* Slowloris from three more addresses: the server serves MAX_CONN at most. */
	for (int a = 0; a < SLOW_IPS; a++) {
		char src[32];

		snprintf(src, sizeof(src), "127.0.0.%d", 3 + a);
		for (int i = 0; i < SLOW; i++) {
			slow[a][i] = hold(connect_from(src));
			if (slow[a][i] != -1)
				(void)send(slow[a][i], partial[i % 3], strlen(partial[i % 3]),
				    MSG_NOSIGNAL);
		}
	}
	mono_sleep(500);
	t = proc_status("Threads:");
	if (t > threads0 + MAX_CONN)
		fail_msg("%ld threads serving connections, the limit is %d", t - threads0,
		    MAX_CONN);
	assert_true(t >= threads0 + MAX_CONN / 2);	/* the attack did take slots */
	check_rss_growth(rss0);

	/* Nothing more arrives: the server closes every one of them after the idle timeout
	 * (those queued beyond the cap are served, then time out in turn). */
	t0 = mono_ms();
	while (mono_ms() - t0 < 2 * timeout_sec * 1000L + mono_scaled(5000)) {
		open = still_open(one, ONE, 200);
		for (int a = 0; a < SLOW_IPS; a++)
			open += still_open(slow[a], SLOW, 0);
		if (open == 0)
			break;
	}
	if (open != 0)
		fail_msg("%d idle or stalled connections still open after %ld ms", open,
		    2 * timeout_sec * 1000L + mono_scaled(5000));
	/* Closed by the timeout, not at once. */
	assert_true(mono_ms() - t0 >= (timeout_sec - 3) * 1000L);
	/* The trickling client, by the deadline (to within the second of its pass). */
	assert_int_equal(pthread_join(dth, NULL), 0);
	if (cut_ms < (timeout_sec - 1) * 1000L || cut_ms > timeout_sec * 1000L + mono_scaled(3000))
		fail_msg("a request trickled a byte every %d ms: closed after %ld ms (-1: never), "
		    "the deadline is %d s", DRIBBLE_MS, cut_ms, timeout_sec);
	release_all();
	assert_true(handshake_ms() < GRAPH_MS);
	assert_true(threads_down_to(threads0, 3000) <= threads0);
}

struct flooder {
	char src[32];
	long posts;		/* answered */
	long refused;		/* connections refused or closed unanswered */
	volatile int *stop;
};

/* Forged notifications as fast as one connection at a time allows. */
static void *
flood(void *arg)
{
	struct flooder *f = arg;
	static const char body[] = "{\"value\":[{\"subscriptionId\":\"forged-sub\","
	    "\"clientState\":\"guess\",\"changeType\":\"created\",\"resource\":\"x\"}]}";
	char *req = xasprintf("POST " RECEIVER_PATH_NOTIFY " HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    sizeof(body) - 1, body);

	while (!*f->stop) {
		int fd = connect_from(f->src);
		char buf[1024];
		ssize_t n;
		size_t got = 0;

		if (fd == -1) {
			f->refused++;
			continue;
		}
		if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req))
			while ((n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0 &&
			    got + (size_t)n < sizeof(buf) - 1)
				got += (size_t)n;
		buf[got] = '\0';
		if (strncmp(buf, "HTTP/1.1 202", 12) == 0)
			f->posts++;
		else
			f->refused++;
		close(fd);
	}
	free(req);
	return NULL;
}

/* A flood of forged POSTs: every handshake meanwhile is answered within Graph's 3 s, the
 * forged ones are all refused as forged, and memory does not grow with the flood. */
static void
test_post_flood(void **state)
{
	struct flooder f[FLOODERS];
	pthread_t th[FLOODERS];
	volatile int stop = 0;
	long rss0 = proc_status("VmRSS:"), t0, worst = 0, posts = 0;
	char *log;

	(void)state;
	release_all();
	for (int i = 0; i < FLOODERS; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		snprintf(f[i].src, sizeof(f[i].src), "127.0.0.%d", 10 + i % 2);
		f[i].stop = &stop;
		assert_int_equal(pthread_create(&th[i], NULL, flood, &f[i]), 0);
	}
	t0 = mono_ms();
	while (mono_ms() - t0 < FLOOD_MS) {
		long ms = handshake_ms();

		if (ms > worst)
			worst = ms;
		usleep(100 * 1000);
	}
	stop = 1;
	for (int i = 0; i < FLOODERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		posts += f[i].posts;
	}
	fprintf(stderr, "flood: %ld forged POSTs answered 202 in %d ms; slowest handshake %ld ms\n",
	    posts, FLOOD_MS, worst);
	assert_true(posts >= 100);	/* it was a flood */
	assert_true(worst < GRAPH_MS);
	check_rss_growth(rss0);
	/* Nothing was marked: the daemon says they were forged. */
	assert_int_equal(e2e_daemon_stop(&daemon_proc), 0);
	log = e2e_daemon_log(&daemon_proc);
	{
		const char *line = strstr(log, "receiver stop");

		assert_non_null(line);
		assert_non_null(strstr(line, " accepted=0 "));
		/* test_idle_and_slow's trickling client, at least (stalled ones may have been
		 * closed by the deadline too, rather than by the idle timeout). */
		line = strstr(line, " deadline_cuts=");
		assert_non_null(line);
		assert_true(atoll(line + 15) >= 1);
	}
	free(log);
	e2e_daemon_start(&daemon_proc, world.dir, world.conf, port);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_and_slow),
		cmocka_unit_test(test_post_flood),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
