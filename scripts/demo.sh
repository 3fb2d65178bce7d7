#!/bin/sh
# make demo: olsync end to end on loopback. graph-sim (a Microsoft 365 tenant) and sf-sim (a
# Salesforce org) are seeded with a small sales team and a day of its mail; `olsync sync --once`
# logs it; the script then shows what Salesforce holds, and that a second pass changes nothing.
#
# usage: scripts/demo.sh [BUILD_DIR]     (default: build; needs olsync, sf-sim, graph-sim in it)
# Needs curl, jq and openssl (scripts/deps.sh installs them). Asks nothing, listens on 127.0.0.1
# only, keeps everything in a temporary directory, and stops what it started on exit or Ctrl-C.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
seeds="$here/demo"
build=${1:-build}

die() { echo "demo: $*" >&2; exit 1; }

for b in olsync sf-sim graph-sim; do
	[ -x "$build/$b" ] || die "$build/$b is missing; run make build (or make demo)"
done
for t in curl jq openssl; do
	command -v "$t" >/dev/null 2>&1 || die "$t is missing; run scripts/deps.sh as root"
done
olsync="$build/olsync"

# Everything the demo writes, secrets included, lives here: private to us, gone at exit.
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/olsync-demo.XXXXXX")
sf_pid=
graph_pid=
cleanup() {
	for p in $sf_pid $graph_pid; do
		kill "$p" 2>/dev/null || :
	done
	for p in $sf_pid $graph_pid; do
		wait "$p" 2>/dev/null || :
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

# start_sim NAME SEED: starts build/NAME on an ephemeral loopback port with an in-memory store
# and sets $pid. wait_sim NAME PID prints its base URL once it says "listening on".
start_sim() {
	"$build/$1" --listen 127.0.0.1:0 --db :memory: --seed "$2" \
	    >"$work/$1.out" 2>"$work/$1.log" &
	pid=$!
}
wait_sim() {
	for _ in $(seq 1 100); do
		grep -q '^listening on' "$work/$1.out" 2>/dev/null && break
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	addr=$(sed -n 's/^listening on //p' "$work/$1.out")
	[ -n "$addr" ] || { cat "$work/$1.log" >&2; die "$1 did not start"; }
	echo "http://$addr"
}

# table: tab-separated lines, the first a header, printed as aligned columns (cells cut at 40).
table() {
	awk -F '\t' '
	{
		for (i = 1; i <= NF; i++) {
			v = $i
			if (length(v) > 40)
				v = substr(v, 1, 39) "~"
			cell[NR, i] = v
			if (length(v) > w[i])
				w[i] = length(v)
		}
		if (NF > nf)
			nf = NF
	}
	END {
		for (r = 1; r <= NR; r++) {
			line = ""
			for (i = 1; i <= nf; i++)
				line = line sprintf("%-" w[i] "s  ", cell[r, i])
			sub(/ +$/, "", line)
			print "  " line
			if (r == 1) {
				line = ""
				for (i = 1; i <= nf; i++) {
					d = ""
					for (k = 0; k < w[i]; k++)
						d = d "-"
					line = line d "  "
				}
				sub(/ +$/, "", line)
				print "  " line
			}
		}
	}'
}

# The credentials olsync will use, made fresh for every run: the Entra app's client secret, and
# the RSA key + self-signed certificate of the Salesforce connected app (JWT bearer flow).
openssl rand -hex 24 >"$work/graph-client.secret"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=olsync demo" \
    -keyout "$work/salesforce-key.pem" -out "$work/salesforce-cert.pem" >/dev/null 2>&1 ||
    die "openssl could not make the Salesforce key and certificate"
# (Read from the file, not passed as an argument: command lines are visible to every user.)
jq --rawfile s "$work/graph-client.secret" '.apps[0].secret = ($s | rtrimstr("\n"))' \
    "$seeds/graph-seed.json" >"$work/graph-seed.json"
jq --rawfile c "$work/salesforce-cert.pem" '.ConnectedApp[0].certificate = $c' \
    "$seeds/sf-seed.json" >"$work/sf-seed.json"

start_sim graph-sim "$work/graph-seed.json"
graph_pid=$pid
start_sim sf-sim "$work/sf-seed.json"
sf_pid=$pid
graph=$(wait_sim graph-sim "$graph_pid")
sf=$(wait_sim sf-sim "$sf_pid")

echo "olsync demo: Larkspur Labs, three reps (Ana Ruiz, Ben Okafor, Chloe Martin), on loopback"
echo "  graph-sim (Microsoft 365: Entra tokens + Graph)  $graph"
echo "  sf-sim    (Salesforce: OAuth + REST API)          $sf"
echo "  Salesforce: 3 Accounts, 6 Contacts (two share samir@initech.example), a converted and an"
echo "  open Lead, 3 Opportunities with contact roles (Globex's is Closed Won)"

# A day of mail, yesterday (UTC): one POST /_sim/mail each; graph-sim puts a copy in every
# tenant recipient's Inbox and the tenant sender's Sent Items.
day=$(date -u -d yesterday +%Y-%m-%d 2>/dev/null || date -u -v-1d +%Y-%m-%d)
jq -c --arg day "$day" '.[] | .date = ($day + "T" + .at + ":00Z") | del(.at)' \
    "$seeds/mail.json" | while IFS= read -r m; do
	curl -sS -f -X POST -H 'Content-Type: application/json' --data-binary "$m" \
	    "$graph/_sim/mail" >"$work/mail.answer" || {
		rc=$?
		[ "$rc" -gt 128 ] && exit "$rc"	# interrupted: no message, just stop
		die "graph-sim did not take the mail $(echo "$m" | jq -c .subject)"
	}
	jq -r --argjson m "$m" '[$m.subject, .internetMessageId] | @tsv' "$work/mail.answer" \
	    >>"$work/mails.tsv"
done
echo "  mail on $day: $(wc -l <"$work/mails.tsv") emails: customer threads in and out, one to two reps,"
echo "  internal mail, a newsletter, an auto-reply, unknown senders"

sed -e "s|@GRAPH_URL@|$graph|g" -e "s|@SF_URL@|$sf|g" "$seeds/olsync.conf.in" >"$work/olsync.conf"
conf="$work/olsync.conf"

echo
echo "\$ olsync check-config"
"$olsync" -c "$conf" check-config

# pass_stat LOG LINE KEY: the value of KEY= in olsync's "LINE" log line (e.g. "ingest done").
pass_stat() {
	sed -n "s/.*$2 .*[ ]$3=\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

echo
echo "\$ olsync sync --once"
"$olsync" -c "$conf" sync --once 2>"$work/sync1.log" ||
    { cat "$work/sync1.log" >&2; die "olsync sync --once failed"; }
echo "  read $(pass_stat "$work/sync1.log" "ingest done" messages) copies in 3 mailboxes," \
    "$(pass_stat "$work/sync1.log" "ingest done" new) distinct emails;" \
    "logged $(pass_stat "$work/sync1.log" "engine pass" logged)," \
    "skipped $(pass_stat "$work/sync1.log" "engine pass" skipped)," \
    "Leads created $(pass_stat "$work/sync1.log" "engine pass" leads)," \
    "failed $(pass_stat "$work/sync1.log" "engine pass" failed)"

# What Salesforce holds now, read the way a Salesforce user would: SOQL.
token=$(curl -sf -X POST "$sf/_sim/token" | jq -r .access_token)
soql() {
	curl -sfG -H "Authorization: Bearer $token" --data-urlencode "q=$1" \
	    "$sf/services/data/v62.0/query"
}
count() {
	soql "SELECT COUNT() FROM $1" | jq -r .totalSize
}

echo
echo "Salesforce Tasks, by rep and thread:"
echo "  SOQL> SELECT Subject, Who.Name, What.Name, Owner.Name, ActivityDate FROM Task"
soql "SELECT Subject, Who.Name, What.Name, Owner.Name, ActivityDate FROM Task" |
    jq -r '["Subject", "Who", "What", "Owner", "ActivityDate"],
	(.records | sort_by(.Owner.Name, (.Subject | sub("^Email: (Re: )?"; "")), .Subject) | .[] |
	    [.Subject, (.Who.Name // "-"), (.What.Name // "-"), (.Owner.Name // "-"),
	    (.ActivityDate // "-")]) | @tsv' | table

echo
created_by="CreatedBy.Username = 'olsync@larkspur.example'"
echo "Leads olsync created, one per unknown sender:"
echo "  SOQL> SELECT Name, Company, Email, Owner.Name, LeadSource FROM Lead WHERE $created_by"
soql "SELECT Name, Company, Email, Owner.Name, LeadSource FROM Lead WHERE $created_by ORDER BY Name" |
    jq -r '["Name", "Company", "Email", "Owner", "LeadSource"],
	(.records[] | [.Name, .Company, .Email, (.Owner.Name // "-"), (.LeadSource // "-")]) | @tsv' |
    table

tasks=$(count Task)
leads=$(count Lead)
new_leads=$(soql "SELECT COUNT() FROM Lead WHERE $created_by" | jq -r .totalSize)
echo
echo "counts: Tasks $tasks, Leads $leads (olsync created $new_leads), EmailMessages $(count EmailMessage)"
echo "  - Hank Scorpio wrote to Ben and Chloe: one email, one Task (the ledger has two sightings)."
echo "  - Wile's converted Lead is ignored: his Contact gets the Tasks, on his open Opportunity."
echo "  - Two Contacts share samir@initech.example: the oldest wins (tie_break oldest)."
echo "  - Globex's only Opportunity is closed: Hank's Task has no What."
echo "  - Sam Stone wrote twice: one Lead, two Tasks; gmail.com gets the placeholder Company."
echo "  - The newsletter and the out-of-office reply are automated: skipped, no Lead."

echo
echo "\$ olsync status"
"$olsync" -c "$conf" status | sed 's/^/  /'

lunch=$(awk -F '\t' '$1 == "Lunch?" { print $2 }' "$work/mails.tsv")
echo
echo "\$ olsync show '$lunch'      (Ben to Ana: \"Lunch?\")"
"$olsync" -c "$conf" show "$lunch" | sed -e 's/\(graph_id=.\{16\}\).*/\1.../' -e 's/^/  /'

# Second pass: nothing new in Graph, so nothing may be written. Compare every Task's and Lead's
# id and LastModifiedDate before and after.
snapshot() {
	for o in Task Lead; do
		curl -sf "$sf/_sim/records/$o" | jq -r '.records[] | [.Id, .LastModifiedDate] | @tsv'
	done
}
snapshot >"$work/before"
echo
echo "\$ olsync sync --once      (again)"
"$olsync" -c "$conf" sync --once 2>"$work/sync2.log" ||
    { cat "$work/sync2.log" >&2; die "the second olsync sync --once failed"; }
snapshot >"$work/after"
if cmp -s "$work/before" "$work/after"; then
	unchanged="Salesforce unchanged"
else
	unchanged="Salesforce CHANGED"
fi
echo "  $(pass_stat "$work/sync2.log" "ingest done" new) new," \
    "$(pass_stat "$work/sync2.log" "engine pass" processed) processed," \
    "$(pass_stat "$work/sync2.log" "engine pass" logged) logged: $unchanged" \
    "(Tasks $(count Task), Leads $(count Lead))"

echo
echo "Later issues bring real time (change notifications), meetings as Events, and the dashboard."
