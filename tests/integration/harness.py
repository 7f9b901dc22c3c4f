"""The small harness the CLI integration tests share (test_cli, test_discover, test_archives,
test_bad_input): where the binary and the fixtures are, named checks that record a failure and go
on, and the closing report (exit 0, 1 on a failure, 77 when every check was skipped)."""
import json
import os
import subprocess
import sys

SRC = os.environ.get("CT_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", os.path.join(SRC, "build")), "bin", "codetracer"))
FIX = os.path.join(SRC, "tests", "fixtures", "discovery")

failures, passed, skipped = [], [], []
# What checks may need: the loaders the binary has (from `codetracer formats --json`) and tools
# a test found (e.g. "zstd"). A check whose needs are missing is skipped, by name.
READY = set()


def start(name):
    """Check the binary exists and learn its loaders; False (with a message) when it is missing."""
    if not os.path.exists(BIN):
        print(f"{name}: binary not found: {BIN}", file=sys.stderr)
        return False
    out = subprocess.run([BIN, "formats", "--json"], capture_output=True, timeout=60).stdout.decode()
    READY.update(json.loads(line)["name"] for line in out.splitlines() if line.strip())
    return True


def case(name, needs=()):
    def deco(fn):
        missing = [n for n in needs if n not in READY]
        if missing:
            skipped.append(f"{name} (missing: {', '.join(missing)})")
            return fn
        try:
            fn()
            passed.append(name)
        except AssertionError as e:
            failures.append(f"{name}: {e}")
        except subprocess.TimeoutExpired as e:
            failures.append(f"{name}: timed out (a hang): {e}")
        return fn
    return deco


def eq(a, b, what):
    if a != b:
        raise AssertionError(f"{what}: expected {b!r}, got {a!r}")


def has(hay, needle, what):
    if needle not in hay:
        raise AssertionError(f"{what}: expected to contain {needle!r}, got {hay[:1500]!r}")


def finish(name):
    for s in skipped:
        print(f"SKIP {s}")
    for p in passed:
        print(f"ok   {p}")
    for f in failures:
        print(f"FAIL {f}")
    print(f"{name}: {len(passed)} passed, {len(failures)} failed, {len(skipped)} skipped")
    if failures:
        return 1
    return 0 if passed else 77
