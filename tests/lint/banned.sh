#!/bin/sh
# Fails when C sources use functions the house bans (curl's checksrc idea): unbounded copies and
# formats, and non-reentrant tokenizers. Use snprintf, memcpy with a checked length, strtok_r.
set -eu
root=${1:-$(dirname "$0")/../..}
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|strncpy|stpcpy|tmpnam|asctime|ctime|gmtime|localtime)\('
if grep -nE "$banned" "$root"/lib/*.c "$root"/src/*.c "$root"/sim/*/*.c "$root"/bench/*.c \
    "$root"/tests/support/*.c "$root"/fuzz/*.c 2>/dev/null; then
	echo "banned.sh: the lines above use banned functions" >&2
	exit 1
fi
echo "banned.sh: no banned function in lib/ src/ sim/ bench/ tests/support/ fuzz/"
