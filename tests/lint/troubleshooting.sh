#!/bin/sh
# Fails when docs/troubleshooting.md does not name an error olsync can print, so the document
# stays complete. The extraction rule (also at the top of the document):
#   - in lib/*.c and src/*.c, every call of log_warn, log_warnx, fatal or fatalx whose first
#     argument is a string literal, and every fprintf(stderr, "olsync: ...") (the CLI's messages);
#   - the literal is cut at its first word holding '=', '%' or '(' (the key=value pairs and the
#     printf conversions, which vary), except that a first word "event=NAME" is kept whole (the
#     sf: lines name their event that way); trailing blanks are dropped;
#   - what remains ("budget ledger_failed", "graph: token refused", "olsync: show: no message")
#     must appear verbatim in docs/troubleshooting.md.
# `troubleshooting.sh ROOT --list` prints the extracted names instead of checking them.
set -eu
root=${1:-$(dirname "$0")/../..}
doc=$root/docs/troubleshooting.md
names=$(perl -0777 -ne '
	sub cut {
		my @out;
		for my $w (split / /, $_[0]) {
			if ($w =~ /^event=/) { push @out, $w; last; }
			last if $w =~ /[=%(]/;
			push @out, $w;
		}
		return join(" ", @out);
	}
	s{/\*.*?\*/}{}gs;	# comments: a call quoted in one is not a message
	while (/\b(?:log_warnx?|fatalx?)\s*\(\s*"((?:[^"\\]|\\.)*)"/g) { print cut($1), "\n"; }
	while (/\bfprintf\s*\(\s*stderr\s*,\s*"(olsync: (?:[^"\\]|\\.)*)"/g) { print cut($1), "\n"; }
' "$root"/lib/*.c "$root"/src/*.c | sed 's/ *$//; s/\\n$//' | sort -u)
if [ "${2:-}" = "--list" ]; then
	printf '%s\n' "$names"
	exit 0
fi
[ -n "$names" ] || { echo "troubleshooting.sh: extracted nothing: the rule no longer matches the code" >&2; exit 1; }
missing=0
count=0
while IFS= read -r n; do
	count=$((count + 1))
	if ! grep -qF -- "$n" "$doc"; then
		echo "troubleshooting.sh: docs/troubleshooting.md does not mention '$n'" >&2
		missing=$((missing + 1))
	fi
done <<NAMES
$names
NAMES
if [ "$missing" -gt 0 ]; then
	echo "troubleshooting.sh: $missing of $count messages missing: add each with its cause and fix" >&2
	exit 1
fi
echo "troubleshooting.sh: all $count messages of lib/ and src/ are in docs/troubleshooting.md"
