#!/bin/sh
# make demo: until the sync engine lands, the demo shows sf-sim, the Salesforce emulator the engine
# will write to: it starts sf-sim on loopback, seeds a small company, and runs SOQL against it.
set -eu
build=${1:-build}
sim="$build/sf-sim"
[ -x "$sim" ] || { echo "demo: $sim is missing; run make build" >&2; exit 1; }

echo "olsync demo: the sync engine is not built yet (issue 4); showing sf-sim, the Salesforce emulator."
out=$(mktemp)
"$sim" --listen 127.0.0.1:0 --db :memory: --seed scripts/demo-seed.json >"$out" 2>/dev/null &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; rm -f "$out"; }
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM
for _ in $(seq 1 50); do
	grep -q '^listening on' "$out" && break
	sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$out")
[ -n "$addr" ] || { echo "demo: sf-sim did not start" >&2; exit 1; }
base="http://$addr"
token=$(curl -s -X POST "$base/_sim/token" -d '{}' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

query() {
	echo
	echo "SOQL> $1"
	curl -s -G -H "Authorization: Bearer $token" -H "X-PrettyPrint: 1" \
	    --data-urlencode "q=$1" "$base/services/data/v62.0/query"
	echo
}
echo "sf-sim is serving $base (instance_url), seeded from scripts/demo-seed.json"
query "SELECT Name, Email, Account.Name FROM Contact ORDER BY Name"
query "SELECT Name, StageName, CloseDate, IsClosed, Account.Name FROM Opportunity ORDER BY CloseDate"
query "SELECT Name, Company, Status, Owner.Name FROM Lead"
echo
echo "API calls so far: $(curl -s "$base/_sim/stats" | sed -n 's/.*"api_calls":\([0-9]*\).*/\1/p')"
