#!/usr/bin/env python3
"""`codetracer inspect --tree` and the heuristic analyzer through `analyze --json`, on the
hand-written run dir tests/fixtures/heuristic/tree_run (steps.json + stage_ranges.json).

Expected values are written from the fixture: steps 1-2 look, 3 edits (sed -i), 4-5 read the
same file twice with nothing changed in between (5 is a repeat), 6 runs the tests; the dataset's
stage ranges are 1-2 and 3-6.
"""
import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("CT_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", os.path.join(SRC, "build")), "bin", "codetracer"))
RUN = os.path.join(SRC, "tests", "fixtures", "heuristic", "tree_run")

TREE = (
    "root\n"
    "├── [1] ls /app (explore)\n"
    "└── [2] cat /app/main.py (explore)\n"
    "    ├── [3] sed -i 's/a - b/a + b/' /app/main.py (change)\n"
    "    ├── [4] cat /app/main.py (explore)\n"
    "    ├── [5] cat /app/main.py (explore)\n"
    "    └── [6] python3 -m pytest -q /app/tests (explore)\n"
)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def main():
    r = subprocess.run([BIN, "inspect", RUN, "--tree"], capture_output=True, text=True, timeout=120)
    check(r.returncode in (0, 6), "inspect --tree exit status %d" % r.returncode)
    check(r.stdout.endswith(TREE), "inspect --tree prints the tree:\n" + r.stdout)

    r = subprocess.run([BIN, "inspect", RUN, "--tree", "--json"], capture_output=True, text=True, timeout=120)
    j = json.loads(r.stdout.splitlines()[0])
    check(j.get("tree") == TREE, "inspect --tree --json has the tree string")

    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([BIN, "analyze", RUN, "--json", "--output-dir", tmp], capture_output=True,
                           text=True, timeout=120)
        check(r.returncode in (0, 6), "analyze exit status %d: %s" % (r.returncode, r.stderr[-300:]))
        a = json.loads(r.stdout.splitlines()[0])
    labels = {l["step_id"]: l for l in a["labels"]}
    check(len(labels) == 6, "six labels")
    check(labels[5]["label"] == "unuseful", "step 5 (repeated read) is unuseful")
    check(labels[5].get("rule") == "repeat-command", "step 5 rule repeat-command")
    check("4" in (labels[5].get("reasoning") or ""), "step 5 reasoning cites step 4")
    for sid in (1, 2, 3, 4, 6):
        check(labels[sid]["label"] == "correct", "step %d is correct" % sid)
    stages = [(s["start_step_id"], s["end_step_id"]) for s in a["stages"]]
    check(stages == [(1, 2), (3, 6)], "stages from stage_ranges.json: %r" % stages)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
