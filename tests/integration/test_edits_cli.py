#!/usr/bin/env python3
"""`codetracer edits` on tests/fixtures/spans/run_openhands.json against tests/fixtures/spans/ws.

The fixture is a 16-step OpenHands run written by hand (see tests/unit/test_edits.c for the list);
the workspace holds the files as they are "today". Checks, with values counted by hand from the
fixture: the detected container root, per-edit status, ranges (0-based lines, byte columns), the
enclosing definition, the step that broke syntax, --map / --root, a workspace copied elsewhere
with a different container layout, and the usage / input errors.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("CT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", "build"), "bin", "codetracer"))
FIX = os.path.join(SRC, "tests", "fixtures", "spans")
RUN = os.path.join(FIX, "run_openhands.json")
WS = os.path.join(FIX, "ws")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def edits(*args):
    rc, out, err = run("edits", RUN, "--json", *args)
    check(rc == 0, "edits --json exit 0 (got %d: %s)" % (rc, err))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# 1. detected root, the whole table
rows = edits("--workspace", WS)
check(len(rows) == 16, "16 edits (got %d)" % len(rows))
by_step = {r["step"]: r for r in rows}
expect_status = {1: "found", 2: "found", 3: "found", 4: "found", 5: "found", 6: "found", 7: "found",
                 8: "found", 9: "found", 10: "found", 11: "found", 12: "file_missing",
                 13: "file_missing", 14: "moved_on", 15: "not_reconstructed", 16: "not_reconstructed"}
for step, st in expect_status.items():
    check(by_step.get(step, {}).get("status") == st, "step %d status %s (got %s)" % (step, st, by_step.get(step, {}).get("status")))
s2 = by_step[2]
check(s2["file"] == "app/calc.py", "step 2 file relative to the workspace")
check(s2["range"] == {"bytes": [55, 71], "start": {"line": 2, "byte_col": 0}, "end": {"line": 2, "byte_col": 16}},
      "step 2 range: %s" % s2.get("range"))
check(s2.get("definition", {}).get("name") == "add" and s2["definition"]["kind"] == "function", "step 2 in function add")
s7 = by_step[7]
check(s7["range"]["bytes"] == [124, 158] and s7["range"]["end"]["byte_col"] == 34, "step 7 byte columns on the Ça va line")
check(by_step[10]["match"] == "whitespace", "step 10 on the CRLF file matches whitespace-insensitively")
check(by_step[10]["range"]["bytes"] == [17, 67], "step 10 range")
check(by_step[3]["match"] == "fuzzy", "step 3 is a fuzzy match")
check([r["step"] for r in rows if r["syntax_broken"]] == [3], "only step 3 broke syntax")
check("reason" in by_step[15] and "sed" in by_step[15]["reason"], "step 15 says why not")
check(by_step[11]["path"] == "/testbed/lib/strutil.c" and by_step[11]["edit_line"] == 8,
      "step 11: the hunk of git apply, its path taken from `cd /testbed`")

# 2. the human table
rc, out, err = run("edits", RUN, "--workspace", WS)
check(rc == 0, "text output exit 0")
check('container root "/testbed"' in out, "text names the detected root")
check("app/calc.py:3:1-3:17  exact  in function add" in out, "text: 1-based line:col, match and definition")
check("[syntax broken by this step]" in out.splitlines()[3], "text flags step 3")

# 3. another layout: the same files under a different local tree, mapped explicitly
tmp = tempfile.mkdtemp(prefix="ct_edits_")
try:
    shutil.copytree(WS, os.path.join(tmp, "checkout"))
    rows = edits("--workspace", tmp, "--map", "/testbed=" + os.path.join(tmp, "checkout"))
    by_step = {r["step"]: r for r in rows}
    check(by_step[2]["status"] == "found" and by_step[2]["range"]["bytes"] == [55, 71], "--map: step 2 found")
    check(by_step[12]["status"] == "file_missing", "--map: deleted file still missing")
    # an explicit --root that does not fit: absolute paths fall back to the longest suffix
    rows = edits("--workspace", os.path.join(tmp, "checkout"), "--root", "/nowhere")
    check({r["step"]: r for r in rows}[2]["status"] == "found", "--root that does not fit: suffix search")
    # the file renamed since: step 13's text is in renamed_after.ts, but at a new path
    os.remove(os.path.join(tmp, "checkout", "app", "calc.py"))
    rows = edits("--workspace", os.path.join(tmp, "checkout"))
    check({r["step"]: r for r in rows}[2]["status"] == "file_missing", "calc.py removed: file_missing")
finally:
    shutil.rmtree(tmp)

# 4. errors
rc, out, err = run("edits")
check(rc == 2, "no PATH: exit 2")
rc, out, err = run("edits", RUN, "--map", "nothing")
check(rc == 2, "--map without = : exit 2")
rc, out, err = run("edits", RUN, "--bogus")
check(rc == 2, "unknown option: exit 2")
rc, out, err = run("edits", os.path.join(FIX, "does-not-exist.json"))
check(rc == 3, "missing trajectory: exit 3 (got %d)" % rc)
rc, out, err = run("edits", RUN, "--workspace", os.path.join(FIX, "no-such-dir"))
check(rc != 0 and "workspace" in err, "missing workspace is an error that says so")
rc, out, err = run("edits", "--help")
check(rc == 0 and "--workspace" in out, "--help")

if failures:
    print("%d failure(s)" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
