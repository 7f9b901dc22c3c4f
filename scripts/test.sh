#!/bin/sh
# The whole test suite: a -Werror build and an ASan+UBSan build, each running every test.
# Installs what it needs first. Exit status is non-zero when any test fails.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
jobs=$(nproc)
status=0
for cfg in build:-DCT_WERROR=ON build-asan:-DCT_SANITIZE=ON; do
    dir=${cfg%%:*}
    opts=${cfg#*:}
    echo "== $dir ($opts)"
    mkdir -p "$dir"
    sh scripts/build.sh "$dir" -DCT_WERROR=ON $opts
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900 || status=1
done
exit $status
