#!/bin/sh
# Configure and build one tree. usage: scripts/build.sh BUILD_DIR [cmake options...]
set -eu
cd "$(dirname "$0")/.."
dir=$1
shift
mkdir -p "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log" >&2
    exit 1
}
cmake --build "$dir" -j"$(nproc)"
