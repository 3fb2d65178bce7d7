#!/bin/sh
# Installs the Debian packages olsync needs to build and test, only when they are missing.
# As root it uses apt-get; otherwise it prints the exact command to run and fails.
# Usage: scripts/deps.sh [bench|test]   (bench: also what bench/perf.sh uses, wrk, and the
# PostgreSQL server bench/instances.sh starts; test: also what only the suite needs, chromium for
# dashboard_in_chromium and the PostgreSQL server the suite starts for its PostgreSQL runs
# (scripts/pg-test-server.sh); `make test` installs this group, `make build` and `make demo` do
# not: olsync itself needs only libpq, the client)
set -eu

PKGS="build-essential cmake pkg-config clang \
libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libsqlite3-dev libpq-dev libssl-dev libcmocka-dev \
sqlite3 openssl ca-certificates curl jq tzdata nodejs npm cppcheck"
case ${1-} in
'') ;;
bench) PKGS="$PKGS wrk postgresql" ;;
test) PKGS="$PKGS chromium postgresql" ;;
*) echo "usage: scripts/deps.sh [bench|test]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# node and npm may come from elsewhere than Debian (nvm, NodeSource): accept any working pair.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo "$missing" | xargs)

if [ -z "$missing" ]; then
	exit 0
fi

cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: $missing" >&2
	echo "deps.sh: run as root: apt-get update && $cmd" >&2
	exit 1
fi
echo "deps.sh: installing $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
