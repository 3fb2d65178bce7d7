/* lbproxy.c: the tests' round-robin TCP load balancer (see lbproxy.h): one accept thread, one
 * relay thread per connection polling both sockets. */
#include "lbproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xmalloc.h"

struct lbproxy {
	int		 fd;		/* listening */
	int		 port;
	int		 backends[LBPROXY_MAX_BACKENDS];
	size_t		 n;
	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* guards what follows */
	size_t		 next;		/* the backend the next connection tries first */
	long		 forwarded[LBPROXY_MAX_BACKENDS];
	long		 refused;
	int		 relays;	/* running */
	int		 stopping;
};

struct relay {
	struct lbproxy	*p;
	int		 a, b;		/* client, backend */
};

static int
connect_port(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copies what is readable on from to to: 1 moved, 0 from closed or failed. */
static int
pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf)), off = 0;

	if (n <= 0)
		return 0;
	while (off < n) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w <= 0)
			return 0;
		off += w;
	}
	return 1;
}

static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	struct lbproxy *p = r->p;
	struct pollfd pf[2];
	int idle = 0;

	pf[0].fd = r->a;
	pf[1].fd = r->b;
	pf[0].events = pf[1].events = POLLIN;
	for (;;) {
		int stopping, rc;

		pthread_mutex_lock(&p->lock);
		stopping = p->stopping;
		pthread_mutex_unlock(&p->lock);
		if (stopping)
			break;
		/* Short polls, so a stop is seen; idle time is counted across them. */
		rc = poll(pf, 2, 200);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0) {
			if (++idle >= LBPROXY_IDLE_MS / 200)
				break;
			continue;
		}
		idle = 0;
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(r->a, r->b))
			break;
		if ((pf[1].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(r->b, r->a))
			break;
	}
	close(r->a);
	close(r->b);
	pthread_mutex_lock(&p->lock);
	p->relays--;
	pthread_mutex_unlock(&p->lock);
	free(r);
	return NULL;
}

/* The next backend that accepts, from the round-robin position on; -1 when none does. */
static int
pick(struct lbproxy *p)
{
	size_t first, i;
	int fd;

	pthread_mutex_lock(&p->lock);
	first = p->next;
	p->next = (p->next + 1) % p->n;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n; i++) {
		size_t k = (first + i) % p->n;

		if ((fd = connect_port(p->backends[k])) != -1) {
			pthread_mutex_lock(&p->lock);
			p->forwarded[k]++;
			pthread_mutex_unlock(&p->lock);
			return fd;
		}
	}
	pthread_mutex_lock(&p->lock);
	p->refused++;
	pthread_mutex_unlock(&p->lock);
	return -1;
}

static void *
accept_main(void *arg)
{
	struct lbproxy *p = arg;

	for (;;) {
		struct relay *r;
		pthread_t t;
		int c = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC), b;

		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;		/* the listening socket was shut down: stop */
		}
		if ((b = pick(p)) == -1) {
			close(c);
			continue;
		}
		r = xcalloc(1, sizeof(*r));
		r->p = p;
		r->a = c;
		r->b = b;
		pthread_mutex_lock(&p->lock);
		p->relays++;
		pthread_mutex_unlock(&p->lock);
		if (pthread_create(&t, NULL, relay_main, r) != 0) {
			close(c);
			close(b);
			free(r);
			pthread_mutex_lock(&p->lock);
			p->relays--;
			pthread_mutex_unlock(&p->lock);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

struct lbproxy *
lbproxy_start(const int *ports, size_t n)
{
	struct lbproxy *p;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (n == 0 || n > LBPROXY_MAX_BACKENDS)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	memcpy(p->backends, ports, n * sizeof(*ports));
	p->n = n;
	pthread_mutex_init(&p->lock, NULL);
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (p->fd == -1 || bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(p->fd, 64) == -1 || getsockname(p->fd, (struct sockaddr *)&sa, &len) == -1)
		goto fail;
	p->port = ntohs(sa.sin_port);
	if (pthread_create(&p->thread, NULL, accept_main, p) != 0)
		goto fail;
	return p;
fail:
	if (p->fd != -1)
		close(p->fd);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

int
lbproxy_port(const struct lbproxy *p)
{
	return p->port;
}

long
lbproxy_forwarded(struct lbproxy *p, size_t i)
{
	long n;

	pthread_mutex_lock(&p->lock);
	n = i < p->n ? p->forwarded[i] : 0;
	pthread_mutex_unlock(&p->lock);
	return n;
}

long
lbproxy_refused(struct lbproxy *p)
{
	long n;

	pthread_mutex_lock(&p->lock);
	n = p->refused;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
lbproxy_stop(struct lbproxy *p)
{
	int left;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_mutex_unlock(&p->lock);
	shutdown(p->fd, SHUT_RDWR);
	pthread_join(p->thread, NULL);
	close(p->fd);
	do {
		pthread_mutex_lock(&p->lock);
		left = p->relays;
		pthread_mutex_unlock(&p->lock);
		if (left > 0)
			usleep(50 * 1000);
	} while (left > 0);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
