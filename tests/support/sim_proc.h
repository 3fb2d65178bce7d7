/* sim_proc.h: start one of our binaries (sf-sim, graph-sim, olsync) for an integration test on
 * an ephemeral loopback port, learn its port from its first stdout line, stop it at the end. */
#ifndef SIM_PROC_H
#define SIM_PROC_H

#include <sys/types.h>

struct sim_proc {
	pid_t pid;
	int port;
	char base_url[64];	/* "http://127.0.0.1:PORT" */
};

/* Runs argv (argv[0] a path) and waits up to 10 s for a stdout line "listening on HOST:PORT".
 * -1 on failure (the child is killed). */
int sim_proc_start(struct sim_proc *p, char *const argv[]);
/* SIGTERM, then SIGKILL after 5 s; returns the exit status (or 128+signal). */
int sim_proc_stop(struct sim_proc *p);
/* $OL_BINARY_DIR/name, or ./name. Static buffer. */
const char *sim_proc_binary(const char *name);
/* $OL_SOURCE_DIR/relpath. Static buffer. */
const char *sim_proc_source(const char *relpath);

#endif
