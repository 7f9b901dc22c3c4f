#!/bin/sh
# The whole test suite (what CI runs, via .ci/run): a -Werror build with gcc (or the default cc)
# and an ASan+UBSan build with clang that also builds the libFuzzer targets, each running every
# test: unit, golden, integration, conformance (skipped when ../shared/corpus is absent) and a
# short bounded run of every fuzz target. Installs what it needs first.
# Exit status is non-zero when any test fails.
# Environment: CT_FUZZ_SECONDS (default 10) = seconds per fuzz target; CT_TEST_BUILD_DIR
# (default build) = the first build dir, the sanitizer one is the same name + "-asan".
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
jobs=$(nproc)
status=0
# VS Code extension: its pinned npm dependencies (the registry is the only network use);
# tests/integration/test_vscode.py then runs tsc, the node tests and vsce package in every build.
if [ -f clients/vscode/package-lock.json ] && command -v npm >/dev/null 2>&1; then
    if [ ! -f clients/vscode/node_modules/.package-lock.json ] ||
        [ clients/vscode/package-lock.json -nt clients/vscode/node_modules/.package-lock.json ]; then
        (cd clients/vscode && npm ci --ignore-scripts --no-audit --no-fund >/dev/null) || status=1
    fi
fi
fuzz_seconds=${CT_FUZZ_SECONDS:-10}
b=${CT_TEST_BUILD_DIR:-build}
for cfg in "$b:cc:-DCT_WERROR=ON" "$b-asan:clang:-DCT_SANITIZE=ON:-DCT_FUZZ=ON:-DCT_FUZZ_SECONDS=$fuzz_seconds"; do
    dir=${cfg%%:*}
    rest=${cfg#*:}
    cc=${rest%%:*}
    opts=$(echo "${rest#*:}" | tr ':' ' ')
    echo "== $dir (CC=$cc $opts)"
    mkdir -p "$dir"
    # A tree configured with another compiler must be configured afresh.
    if [ -f "$dir/CMakeCache.txt" ] && [ "$cc" = clang ] &&
        ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' "$dir/CMakeCache.txt"; then
        rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
    fi
    # shellcheck disable=SC2086
    CC=$cc sh scripts/build.sh "$dir" -DCT_WERROR=ON $opts
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900 || status=1
done
# Nothing may have written into the trajectories the suite read.
python3 tests/conformance/corpus_unchanged.py || status=1
exit $status
