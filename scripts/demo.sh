#!/bin/sh
# make demo: olsync end to end on loopback. graph-sim (a Microsoft 365 tenant) and sf-sim (a
# Salesforce org) are seeded with a small sales team, a day of its mail and its meetings; `olsync
# run` logs them in real time (change notifications), then takes new mail and a rescheduled and a
# cancelled meeting within seconds; the script shows what Salesforce holds as SOQL results, and
# that a second pass changes nothing.
#
# usage: scripts/demo.sh [BUILD_DIR]     (default: build; needs olsync, sf-sim, graph-sim in it)
# Needs curl, jq, openssl and node (scripts/deps.sh installs them). Asks nothing, listens on 127.0.0.1
# only, keeps everything in a temporary directory, and stops what it started on exit or Ctrl-C.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
seeds="$here/demo"
build=${1:-build}

die() { echo "demo: $*" >&2; exit 1; }

for b in olsync sf-sim graph-sim; do
	[ -x "$build/$b" ] || die "$build/$b is missing; run make build (or make demo)"
done
for t in curl jq openssl node; do
	command -v "$t" >/dev/null 2>&1 || die "$t is missing; run scripts/deps.sh as root"
done
olsync="$build/olsync"

# Everything the demo writes, secrets included, lives here: private to us, gone at exit.
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/olsync-demo.XXXXXX")
sf_pid=
graph_pid=
olsync_pid=
cleanup() {
	for p in $olsync_pid $sf_pid $graph_pid; do
		kill "$p" 2>/dev/null || :
	done
	for p in $olsync_pid $sf_pid $graph_pid; do
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

# Two free loopback ports: olsync's webhook (graph-sim notifies it there) and its dashboard.
free_ports() {
	node -e 'const net = require("net"); const a = net.createServer().listen(0, "127.0.0.1",
	    () => { const b = net.createServer().listen(0, "127.0.0.1", () => {
	    console.log(a.address().port + " " + b.address().port); a.close(); b.close(); }); })'
}
set -- $(free_ports) || die "no free port"
port=$1 admin_port=$2
dashboard="http://127.0.0.1:$admin_port/"
sed -e "s|@GRAPH_URL@|$graph|g" -e "s|@SF_URL@|$sf|g" -e "s|@PORT@|$port|g" \
    -e "s|@ADMIN_PORT@|$admin_port|g" "$seeds/olsync.conf.in" >"$work/olsync.conf"
conf="$work/olsync.conf"
# graph-sim insists on https notification URLs as Graph does; the demo's webhook is plain http on
# loopback, which olsync accepts for 127.0.0.1 only.
curl -sSf -X POST -H 'Content-Type: application/json' --data-binary '{"require_https":false}' \
    "$graph/_sim/config" >/dev/null || die "graph-sim did not take its configuration"

# The week's meetings, made yesterday: each organizer invites, each rep answers.
today=$(date -u +%Y-%m-%d)
jq -c '.[]' "$seeds/meetings.json" | while IFS= read -r m; do
	start=$(date -u -d "$today + $(echo "$m" | jq -r .day) days $(echo "$m" | jq -r .at)" \
	    +%Y-%m-%dT%H:%M:%S)
	end=$(date -u -d "$start UTC + $(echo "$m" | jq -r .minutes) minutes" +%Y-%m-%dT%H:%M:%S)
	body=$(echo "$m" | jq -c --arg s "$start" --arg e "$end" '{organizer, subject,
	    attendees: [.attendees[] | {address: .}], location: (.location // ""),
	    start: {dateTime: $s, timeZone: "UTC"}, end: {dateTime: $e, timeZone: "UTC"}}')
	uid=$(curl -sSf -X POST -H 'Content-Type: application/json' --data-binary "$body" \
	    "$graph/_sim/events" | jq -r .uid) || die "graph-sim did not take a meeting"
	curl -sSf -X POST -H 'Content-Type: application/json' \
	    --data-binary "$(echo "$m" | jq -c .respond)" "$graph/_sim/events/$uid/respond" \
	    >/dev/null || die "graph-sim did not take an answer"
	printf '%s\t%s\t%s\n' "$(echo "$m" | jq -r .subject)" "$uid" "$start" >>"$work/meetings.tsv"
done
echo "  meetings: $(wc -l <"$work/meetings.tsv") this week: three accepted from customers, one" \
    "tentative, one internal"

echo
echo "\$ olsync check-config"
"$olsync" -c "$conf" check-config

# log_has WHAT: waits up to 20 s for a line of olsync's log holding WHAT.
log_has() {
	for _ in $(seq 1 200); do
		grep -q -- "$1" "$work/run.log" 2>/dev/null && return 0
		kill -0 "$olsync_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$work/run.log" >&2
	die "olsync did not log \"$1\""
}
# pass_sum KEY: KEY= summed over olsync's "engine pass" lines.
pass_sum() {
	sed -n "s/.*engine pass .*[ ]$1=\([0-9]*\).*/\1/p" "$work/run.log" |
	    awk '{ n += $1 } END { print n + 0 }'
}

echo
echo "\$ olsync run      (real time: webhook on 127.0.0.1:$port, subscriptions with graph-sim)"
t0=$(date +%s.%N)
"$olsync" -c "$conf" run 2>"$work/run.log" &
olsync_pid=$!
log_has "subscriptions reconciled"
log_has "engine pass rc=0"
subs=$("$olsync" -c "$conf" status | sed -n 's/^subscriptions *\([0-9]*\).*/\1/p')
echo "  ready in $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s with $subs" \
    "subscriptions (Inbox, Sent Items and Calendar of each rep); the first pass read the day:"
echo "  logged $(pass_sum logged), skipped $(pass_sum skipped), Leads created $(pass_sum leads)," \
    "failed $(pass_sum failed)"

# token, soql and count: what Salesforce holds, read the way a Salesforce user would: SOQL.
token=$(curl -sf -X POST "$sf/_sim/token" | jq -r .access_token)
soql() {
	curl -sfG -H "Authorization: Bearer $token" --data-urlencode "q=$1" \
	    "$sf/services/data/v62.0/query"
}
count() {
	soql "SELECT COUNT() FROM $1" | jq -r .totalSize
}
# wait_for SOQL [N]: polls (every 50 ms, up to 20 s) until the COUNT() query finds more than N
# (default 0) records; prints the seconds since $t, or "never" when it did not.
wait_for() {
	for _ in $(seq 1 400); do
		if [ "$(soql "$1" | jq -r .totalSize)" -gt "${2:-0}" ] 2>/dev/null; then
			echo "$(date +%s.%N) $t" | awk '{ printf "%.2f s", $1 - $2 }'
			return 0
		fi
		sleep 0.05
	done
	echo "never"
}

echo
echo "Now, live: new mail and a changed week (graph-sim notifies olsync as Graph would; olsync"
echo "gathers what comes within batch_window, 2 s by default, into one batch of Salesforce calls):"
jq -c '.[]' "$seeds/live.json" >"$work/live.jsonl"
while IFS= read -r m; do
	subject=$(echo "$m" | jq -r .subject)
	q="SELECT COUNT() FROM Task WHERE Subject = 'Email: $subject'"
	before=$(soql "$q" | jq -r .totalSize)
	t=$(date +%s.%N)
	curl -sSf -X POST -H 'Content-Type: application/json' --data-binary "$m" \
	    "$graph/_sim/mail" >/dev/null || die "graph-sim did not take the mail"
	echo "  mail \"$subject\": a Task in Salesforce after $(wait_for "$q" "$before")"
done <"$work/live.jsonl"
uid=$(awk -F '\t' '$1 == "TPS upgrade: legal review" { print $2 }' "$work/meetings.tsv")
old=$(awk -F '\t' '$1 == "TPS upgrade: legal review" { print $3 }' "$work/meetings.tsv")
new=$(date -u -d "$old UTC + 1 day" +%Y-%m-%dT%H:%M:%S)
t=$(date +%s.%N)
curl -sSf -X PATCH -H 'Content-Type: application/json' \
    --data-binary "{\"start\":\"${new}Z\",\"end\":\"$(date -u -d "$new UTC + 45 minutes" \
    +%Y-%m-%dT%H:%M:%S)Z\"}" "$graph/_sim/events/$uid" >/dev/null || die "no reschedule"
# A moved meeting resets the attendees' answers (as Exchange does): Chloe accepts again.
curl -sSf -X POST -H 'Content-Type: application/json' \
    --data-binary '{"user":"chloe@larkspur.example","response":"accepted"}' \
    "$graph/_sim/events/$uid/respond" >/dev/null || die "no answer"
echo "  Peter moves \"TPS upgrade: legal review\" a day later, Chloe accepts: the Event and the" \
    "Opportunity's next meeting moved after $(wait_for "SELECT COUNT() FROM Opportunity WHERE
    Name = 'Initech TPS upgrade' AND Next_Meeting_Date__c = ${new}.000Z")"
uid=$(awk -F '\t' '$1 == "Maintenance contract" { print $2 }' "$work/meetings.tsv")
t=$(date +%s.%N)
curl -sSf -X PATCH -H 'Content-Type: application/json' --data-binary '{"isCancelled":true}' \
    "$graph/_sim/events/$uid" >/dev/null || die "no cancellation"
echo "  Hank cancels \"Maintenance contract\": its Event deleted after" \
    "$(t=$t; for _ in $(seq 1 400); do
	[ "$(soql "SELECT COUNT() FROM Event WHERE Subject = 'Maintenance contract'" |
	    jq -r .totalSize)" = 0 ] && { echo "$(date +%s.%N) $t" |
	    awk '{ printf "%.2f s", $1 - $2 }'; break; }
	sleep 0.05
    done)"
# Let the last batch settle before reading.
sleep 1

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
echo "Leads olsync created, one per unknown sender, each with its owner:"
echo "  SOQL> SELECT Name, Company, Email, Owner.Name, LeadSource FROM Lead WHERE $created_by"
soql "SELECT Name, Company, Email, Owner.Name, LeadSource FROM Lead WHERE $created_by ORDER BY Name" |
    jq -r '["Name", "Company", "Email", "Owner", "LeadSource"],
	(.records[] | [.Name, .Company, .Email, (.Owner.Name // "-"), (.LeadSource // "-")]) | @tsv' |
    table

echo
echo "Meetings the reps accepted from customers, as Events:"
echo "  SOQL> SELECT Subject, Who.Name, What.Name, Owner.Name, StartDateTime FROM Event"
soql "SELECT Subject, Who.Name, What.Name, Owner.Name, StartDateTime FROM Event" |
    jq -r '["Subject", "Who", "What", "Owner", "StartDateTime"],
	(.records | sort_by(.StartDateTime) | .[] | [.Subject, (.Who.Name // "-"),
	    (.What.Name // "-"), (.Owner.Name // "-"), .StartDateTime]) | @tsv' | table

echo
echo "Opportunities and their next meeting:"
echo "  SOQL> SELECT Name, StageName, Next_Meeting_Date__c FROM Opportunity"
soql "SELECT Name, StageName, Next_Meeting_Date__c FROM Opportunity ORDER BY Name" |
    jq -r '["Name", "StageName", "Next_Meeting_Date__c"],
	(.records[] | [.Name, .StageName, (.Next_Meeting_Date__c // "-")]) | @tsv' | table

tasks=$(count Task)
leads=$(count Lead)
new_leads=$(soql "SELECT COUNT() FROM Lead WHERE $created_by" | jq -r .totalSize)
echo
echo "counts: Tasks $tasks, Leads $leads (olsync created $new_leads), Events $(count Event)," \
    "EmailMessages $(count EmailMessage)"
echo "  - Hank Scorpio wrote to Ben and Chloe: one email, one Task (the ledger has two sightings)."
echo "  - Wile's converted Lead is ignored: his Contact gets the Tasks, on his open Opportunity."
echo "  - Two Contacts share samir@initech.example: the oldest wins (tie_break oldest)."
echo "  - Globex's only Opportunity is closed: Hank's Task has no What."
echo "  - Sam Stone wrote twice: one Lead, two Tasks; gmail.com gets the placeholder Company."
echo "  - The newsletter and the out-of-office reply are automated: skipped, no Lead."
echo "  - Lisa's meeting was only tentatively accepted, the pipeline review is internal: no Event;"
echo "    Hank's cancelled meeting lost its Event, Peter's moved one its date."

echo
echo "\$ olsync status"
"$olsync" -c "$conf" status | sed 's/^/  /'

lunch=$(awk -F '\t' '$1 == "Lunch?" { print $2 }' "$work/mails.tsv")
echo
echo "\$ olsync show '$lunch'      (Ben to Ana: \"Lunch?\")"
"$olsync" -c "$conf" show "$lunch" | sed -e 's/\(graph_id=.\{16\}\).*/\1.../' -e 's/^/  /'

# The dashboard and metrics olsync serves on loopback (admin_listen) while it runs.
summary=$(curl -sf "${dashboard}api/summary") || die "the dashboard did not answer"
echo
echo "Dashboard: $dashboard   (also ${dashboard}metrics, /healthz, /readyz; loopback only)"
echo "  GET ${dashboard}api/summary: $(echo "$summary" | jq -c '.emails // .')"
echo "  GET ${dashboard}metrics: $(curl -sf "${dashboard}metrics" | grep -c '^olsync_') samples," \
    "for example $(curl -sf "${dashboard}metrics" | grep '^olsync_emails{state="logged"}' ||
    echo '-')"

echo
echo "\$ kill -TERM olsync      (it finishes what it has in hand, then exits)"
kill -TERM "$olsync_pid"
rc=0
wait "$olsync_pid" || rc=$?
olsync_pid=
[ "$rc" -eq 0 ] || { tail -n 20 "$work/run.log" >&2; die "olsync run exited $rc"; }
echo "  exit status 0; $(grep -c ' warn \| error ' "$work/run.log") warnings or errors in its log"

# Second pass: nothing new in Graph, so nothing may be written. Compare every Task's, Lead's and
# Event's id and LastModifiedDate before and after.
snapshot() {
	for o in Task Lead Event Opportunity; do
		curl -sf "$sf/_sim/records/$o" | jq -r '.records[] | [.Id, .LastModifiedDate] | @tsv'
	done
}
snapshot >"$work/before"
echo
echo "\$ olsync sync --once      (again, from the same ledger)"
"$olsync" -c "$conf" sync --once 2>"$work/sync2.log" ||
    { cat "$work/sync2.log" >&2; die "the second olsync sync --once failed"; }
snapshot >"$work/after"
if cmp -s "$work/before" "$work/after"; then
	unchanged="Salesforce unchanged"
else
	unchanged="Salesforce CHANGED"
fi
stat2() {
	sed -n "s/.*$1 .*[ ]$2=\([0-9]*\).*/\1/p" "$work/sync2.log" | tail -n 1
}
echo "  $(stat2 "ingest done" new) new, $(stat2 "engine pass" processed) processed," \
    "$(stat2 "engine pass" logged) logged: $unchanged" \
    "(Tasks $(count Task), Leads $(count Lead), Events $(count Event))"

# On a terminal, olsync runs on with the dashboard until Ctrl-C; elsewhere (a pipe, a test) the
# demo ends here. DEMO_EXIT=1 ends it on a terminal too.
if [ -t 1 ] && [ -z "${DEMO_EXIT:-}" ]; then
	"$olsync" -c "$conf" run 2>"$work/run2.log" &
	olsync_pid=$!
	echo
	echo "olsync runs on: open $dashboard in a browser on this machine (it refreshes"
	echo "itself). Ctrl-C stops olsync and the emulators and removes everything."
	wait "$olsync_pid" || :
	olsync_pid=
fi

echo
echo "Done: the demo's emulators and files are removed on exit."
