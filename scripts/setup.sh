#!/bin/sh
# Install what codetracer needs to build and test, idempotently.
# As root: installs missing Debian packages with apt-get. Otherwise: names what is missing.
set -eu
PKGS="build-essential cmake pkg-config python3 git ca-certificates
libjansson-dev libuv1-dev libsqlite3-dev libcurl4-openssl-dev libtree-sitter-dev
libarchive-dev libyaml-dev libzstd-dev zstd bubblewrap valgrind clang clang-format
libclang-rt-14-dev"
# libclang-rt-14-dev: the ASan/UBSan/libFuzzer runtimes of Debian 12's clang (not a dependency of it).
# neovim: the Neovim client tests (tests/integration/test_neovim.py) run real headless Neovim.
PKGS="$PKGS neovim"
[ "${CT_SETUP_EXTRA:-}" ] && PKGS="$PKGS $CT_SETUP_EXTRA"
# Node + npm fetch the pinned tree-sitter grammars (grammars/package.json). Keep an existing node
# (any source); on a fresh Debian 12 install nodejs + npm from apt.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
# (Re)install the grammar sources when grammars/node_modules is missing or older than the lock file.
ct_grammars() {
    g="$(dirname "$0")/../grammars"
    [ -f "$g/package-lock.json" ] || return 0
    if [ ! -f "$g/node_modules/.package-lock.json" ] || [ "$g/package-lock.json" -nt "$g/node_modules/.package-lock.json" ]; then
        echo "codetracer setup: fetching tree-sitter grammars (npm ci in grammars/)" >&2
        (cd "$g" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
    fi
}
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    ct_grammars
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "codetracer setup: missing Debian packages:$missing" >&2
    echo "install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "codetracer setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
ct_grammars
