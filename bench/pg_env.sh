# Sourced by the bench scripts whose olsync ledger is on PostgreSQL (instances.sh, perf.sh with
# PERF_POSTGRESQL=1): unless OL_TEST_PG_URL_FILE already names a server, starts a throwaway one
# (scripts/pg-test-server.sh: loopback, fsync off) for the script's run and stops it on exit,
# exporting OL_TEST_PG_URL_FILE (its URI) and OL_PG_DIR (its directory, where the benchmarks
# find the postmaster to measure its CPU).
if [ -z "${OL_TEST_PG_URL_FILE-}" ]; then
	OL_PG_DIR=$(mktemp -d /tmp/olsync-bench-pg.XXXXXX)
	trap 'scripts/pg-test-server.sh stop "$OL_PG_DIR" >&2' EXIT INT TERM
	scripts/pg-test-server.sh start "$OL_PG_DIR" >&2
	OL_TEST_PG_URL_FILE=$OL_PG_DIR/url
	export OL_TEST_PG_URL_FILE OL_PG_DIR
fi
