#!/bin/sh
# What the bench scripts share: build the tree (`make build`, into build/ or into the directory
# given as the first argument when it does not start with `-`), then run the bench program the
# script names with the remaining arguments. Run from the top of the source tree.
# Usage (from a bench script): exec "$(dirname "$0")/run.sh" PROGRAM "$@"
set -eu
prog=$1
shift
build=build
case ${1-} in
-*|'') ;;
*) build=$1; shift ;;
esac
make -s build BUILD="$build" >/dev/null
OL_BINARY_DIR="$build" OL_SOURCE_DIR="$(pwd)" exec "$build/$prog" "$@"
