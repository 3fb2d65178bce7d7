#!/bin/sh
# A throwaway PostgreSQL server for the test suite (ctest's fixture `pg`), never for real data:
# trust authentication on 127.0.0.1 only, fsync off.
#   pg-test-server.sh start DIR   initdb into DIR/data, start postgres on 127.0.0.1 at a free port
#                                 (its unix socket in DIR when the path is short enough), and
#                                 write DIR/url: a postgresql:// URI for the superuser olsync_test
#   pg-test-server.sh stop DIR    pg_ctl stop -m fast, then remove DIR
# As root, initdb and postgres run as the `postgres` account (or `nobody` without it), which
# must be able to reach DIR. The binaries: pg_config --bindir, else /usr/lib/postgresql/*/bin.
set -eu

usage() {
	echo "usage: pg-test-server.sh start|stop DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bindir=""
if command -v pg_config >/dev/null 2>&1; then
	bindir=$(pg_config --bindir)
fi
if [ ! -x "$bindir/initdb" ]; then
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg-test-server.sh: no PostgreSQL server binaries (initdb): scripts/deps.sh installs them" >&2
	exit 1
fi

user=""
if [ "$(id -u)" -eq 0 ]; then
	if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
fi
# Runs a command as $user when we are root (postgres refuses to run as root).
as_user() {
	if [ -n "$user" ]; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}

stop() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
	fi
}

case $cmd in
start)
	stop	# a server left by an interrupted run
	rm -rf "$dir"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 700 "$dir"
	[ -z "$user" ] || chown "$user" "$dir"
	as_user "$bindir/initdb" -D "$dir/data" -U olsync_test --auth=trust -E UTF8 \
	    --no-locale -N >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		echo "pg-test-server.sh: initdb failed (can $user reach $dir?)" >&2
		exit 1
	}
	printf '%s\n' "local all all trust" "host all all 127.0.0.1/32 trust" \
	    >"$dir/data/pg_hba.conf"
	# A unix socket path is limited to 107 bytes: a deep build directory gets TCP only.
	sockdir=$dir
	if [ ${#dir} -gt 80 ]; then sockdir=""; fi
	tries=0
	while :; do
		port=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 20000 ))
		if as_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		    -o "-c listen_addresses=127.0.0.1 -p $port -k '$sockdir' -c fsync=off \
		    -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
		    start >/dev/null; then
			break
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 10 ]; then
			cat "$dir/server.log" >&2 || true
			echo "pg-test-server.sh: postgres did not start" >&2
			exit 1
		fi
	done
	echo "postgresql://olsync_test@127.0.0.1:$port/postgres" >"$dir/url"
	chmod 644 "$dir/url"
	echo "pg-test-server.sh: PostgreSQL $("$bindir/postgres" --version | awk "{print \$3}") on 127.0.0.1:$port, $dir/url"
	;;
stop)
	stop
	rm -rf "$dir"
	echo "pg-test-server.sh: stopped, $dir removed"
	;;
*)
	usage
	;;
esac
