#!/bin/sh
# lint.sh: the static checkers over lib/ src/ sim/ with the checked-in configuration (.clang-tidy,
# .cppcheck/). Exits 1 on any finding, 77 when a wanted tool is missing. tests/ and bench/ are not
# checked: test code leans on cmocka macros and deliberate misuse.
#   scripts/lint.sh [--cppcheck|--clang-tidy] [BUILD]   (default: both; BUILD holds
#   compile_commands.json for clang-tidy, default build)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
want_cppcheck=1
want_tidy=1
case "${1:-}" in
--cppcheck) want_tidy=0; shift ;;
--clang-tidy) want_cppcheck=0; shift ;;
esac
build=${1:-$root/build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
status=0

for tool in $([ $want_cppcheck = 1 ] && echo cppcheck) \
    $([ $want_tidy = 1 ] && echo clang-tidy run-clang-tidy); do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "lint.sh: $tool not installed" >&2
		exit 77
	fi
done

cd "$root" || exit 1
if [ $want_cppcheck = 1 ]; then
	# No -j: cppcheck's cross-file checks (ctu*) only run single-threaded.
	start=$(date +%s)
	if cppcheck --quiet --enable=warning,portability,performance --std=c11 \
	    --library=.cppcheck/jansson.cfg --suppressions-list=.cppcheck/suppressions.txt \
	    --inline-suppr --error-exitcode=1 \
	    -I lib -I src -I sim/common -I sim/sf -I sim/graph lib src sim; then
		echo "lint.sh: cppcheck clean ($(($(date +%s) - start))s)"
	else
		echo "lint.sh: cppcheck findings above" >&2
		status=1
	fi
fi

if [ $want_tidy = 1 ]; then
	if [ ! -f "$build/compile_commands.json" ]; then
		echo "lint.sh: no $build/compile_commands.json (configure with CMake first)" >&2
		exit 1
	fi
	start=$(date +%s)
	out=$(mktemp)
	run-clang-tidy -p "$build" -quiet -j "$jobs" "$root/(lib|src|sim)/" >"$out" 2>&1
	rc=$?
	# clang-tidy prints "N warnings generated." for what its filters hid; a finding is a
	# file:line:col: warning|error line.
	if [ $rc -ne 0 ] || grep -qE '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$out"; then
		sed 's/\x1b\[[0-9;]*m//g' "$out" |
		    grep -vE '^(clang-tidy(-[0-9]+)? .*|[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? generated\.)$'
		echo "lint.sh: clang-tidy findings above" >&2
		status=1
	else
		echo "lint.sh: clang-tidy clean ($(($(date +%s) - start))s)"
	fi
	rm -f "$out"
fi
exit $status
