/* sim_proc.c: starting and stopping our binaries for integration tests (see sim_proc.h). */
#include "sim_proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mono.h"

/* Whether the binary at path runs under valgrind memcheck: olsync with OL_VALGRIND_OLSYNC set
 * (non-empty), sf-sim and graph-sim with OL_VALGRIND_SIMS (scripts/valgrind.sh OLSYNC=1,
 * SIMS=1). */
static int
under_valgrind(const char *path)
{
	const char *base = strrchr(path, '/'), *vg;

	base = base != NULL ? base + 1 : path;
	if (strcmp(base, "olsync") == 0)
		vg = getenv("OL_VALGRIND_OLSYNC");
	else if (strcmp(base, "sf-sim") == 0 || strcmp(base, "graph-sim") == 0)
		vg = getenv("OL_VALGRIND_SIMS");
	else
		vg = NULL;
	return vg != NULL && *vg != '\0';
}

void
sim_proc_exec(char *const argv[])
{
	const char *logs = getenv("OL_VALGRIND_LOGS"), *base = strrchr(argv[0], '/');
	char *vargv[32], logopt[4096];
	int n = 0;

	if (!under_valgrind(argv[0])) {
		execv(argv[0], argv);
		return;
	}
	base = base != NULL ? base + 1 : argv[0];
	snprintf(logopt, sizeof(logopt), "--log-file=%s.%s.%%p",
	    logs != NULL && *logs != '\0' ? logs : "/tmp/valgrind", base);
	vargv[n++] = "/usr/bin/valgrind";
	vargv[n++] = "--leak-check=full";
	vargv[n++] = "--errors-for-leak-kinds=definite,indirect";
	vargv[n++] = "--error-exitcode=99";
	vargv[n++] = "--num-callers=30";
	vargv[n++] = logopt;
	for (int i = 0; argv[i] != NULL && n < 31; i++)
		vargv[n++] = argv[i];
	vargv[n] = NULL;
	execv(vargv[0], vargv);
}

int
sim_proc_start(struct sim_proc *p, char *const argv[])
{
	/* Under valgrind graph-sim's start-up includes making a 2048-bit RSA key, which takes
	 * minutes on a busy machine: more than the scaled 10 s, so there it gets 5 minutes. */
	return sim_proc_start_wait(p, argv, under_valgrind(argv[0]) ? 300000 :
	    (int)mono_scaled(10000));
}

int
sim_proc_start_wait(struct sim_proc *p, char *const argv[], int wait_ms)
{
	int fds[2];
	char line[256];
	size_t len = 0;

	memset(p, 0, sizeof(*p));
	if (pipe(fds) < 0)
		return -1;
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		sim_proc_exec(argv);
		fprintf(stderr, "sim_proc: cannot exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, wait_ms) <= 0)
			break;
		n = read(fds[0], line + len, 1);
		if (n <= 0)
			break;
		if (line[len] == '\n') {
			char *colon;

			line[len] = '\0';
			colon = strrchr(line, ':');
			if (strncmp(line, "listening on ", 13) == 0 && colon != NULL) {
				p->port = atoi(colon + 1);
				snprintf(p->base_url, sizeof(p->base_url), "http://127.0.0.1:%d",
				    p->port);
				/* Keep the pipe open but unread: the child writes little after this. */
				return 0;
			}
			len = 0;
			continue;
		}
		if (++len >= sizeof(line) - 1)
			len = 0;
	}
	close(fds[0]);
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	return -1;
}

int
sim_proc_stop(struct sim_proc *p)
{
	int status = 0;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	/* 5 s, scaled: under valgrind the leak check at exit takes a while too. */
	for (long i = 0, n = mono_scaled(5000) / 10; i < n; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		nanosleep(&ts, NULL);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	return 128 + SIGKILL;
}

int
sim_proc_start_sim(struct sim_proc *p, const char *name, const char *db)
{
	char bin[4096];
	char *argv[] = { bin, "--listen", "127.0.0.1:0", "--db", (char *)(db ? db : ":memory:"),
	    NULL };

	/* Our own copy: sim_proc_binary's buffer is static. */
	snprintf(bin, sizeof(bin), "%s", sim_proc_binary(name));
	if (sim_proc_start(p, argv) < 0) {
		fprintf(stderr, "cannot start %s\n", bin);
		return -1;
	}
	return 0;
}

/* Unclean exits seen by sim_proc_stop_clean, for sim_proc_exit_status. */
static int unclean_exits;

int
sim_proc_stop_clean(struct sim_proc *p, const char *name)
{
	int rc = sim_proc_stop(p);

	if (rc != 0) {
		fprintf(stderr, "%s exited with status %d\n", name, rc);
		unclean_exits++;
	}
	return rc == 0 ? 0 : -1;
}

int
sim_proc_exit_status(int failed)
{
	return failed != 0 || unclean_exits != 0 ? 1 : 0;
}

static const char *
joined(const char *env, const char *fallback, const char *rel)
{
	static char buf[4096];
	const char *dir = getenv(env);

	snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : fallback, rel);
	return buf;
}

const char *
sim_proc_binary(const char *name)
{
	return joined("OL_BINARY_DIR", ".", name);
}

const char *
sim_proc_source(const char *relpath)
{
	return joined("OL_SOURCE_DIR", "..", relpath);
}
