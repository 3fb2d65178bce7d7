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

/* execv(argv) (argv[0] a path), for a child. olsync with OL_VALGRIND_OLSYNC set, sf-sim and
 * graph-sim with OL_VALGRIND_SIMS set (any non-empty value) run under valgrind memcheck instead,
 * exiting 99 on a memory error or a definite/indirect leak, the report in
 * $OL_VALGRIND_LOGS.<binary>.<pid> (default /tmp/valgrind.<binary>.<pid>), which
 * scripts/valgrind.sh checks. Returns only on failure. */
void sim_proc_exec(char *const argv[]);
/* Runs argv (argv[0] a path) and waits up to 10 s (mono_scaled; 5 minutes under valgrind) for
 * a stdout line "listening on HOST:PORT". -1 on failure (the child is killed). */
int sim_proc_start(struct sim_proc *p, char *const argv[]);
/* The same, waiting up to wait_ms for the line (a large seed file is read before it). */
int sim_proc_start_wait(struct sim_proc *p, char *const argv[], int wait_ms);
/* SIGTERM, then SIGKILL after 5 s (mono_scaled); returns the exit status (or 128+signal). */
int sim_proc_stop(struct sim_proc *p);
/* Starts emulator name ("sf-sim", "graph-sim") from $OL_BINARY_DIR on 127.0.0.1:0 with the
 * database db (NULL: ":memory:"; borrowed for the call). -1 on failure, with a line on stderr. */
int sim_proc_start_sim(struct sim_proc *p, const char *name, const char *db);
/* The end of a test's emulator: sim_proc_stop, and 0 only for a clean exit (status 0), else -1
 * with "<name> exited with status N" on stderr. Under ASan a leak or a crash in the emulator
 * makes the status non-zero, so a teardown that returns this fails the test. */
int sim_proc_stop_clean(struct sim_proc *p, const char *name);
/* A test program's exit status: failed (what cmocka_run_group_tests returned), or 1 when an
 * emulator stopped by sim_proc_stop_clean exited uncleanly. cmocka 1.1 prints a failing group
 * teardown but leaves it out of its count, so without this a crash or a leak of an emulator
 * stopped in a group teardown would pass. */
int sim_proc_exit_status(int failed);
/* $OL_BINARY_DIR/name, or ./name. Static buffer. */
const char *sim_proc_binary(const char *name);
/* $OL_SOURCE_DIR/relpath. Static buffer. */
const char *sim_proc_source(const char *relpath);

#endif
