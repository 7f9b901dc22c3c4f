#!/usr/bin/env python3
"""`codetracer inspect --tree` and the heuristic analyzer through `analyze --json`, on the
hand-written run dir tests/fixtures/heuristic/tree_run (steps.json + stage_ranges.json).

Expected values are written from the fixture: steps 1-2 look, 3 edits (sed -i), 4-5 read the
same file twice with nothing changed in between (5 is a repeat), 6 runs the tests; the dataset's
stage ranges are 1-2 and 3-6.

Then the bundled example examples/mini-swe-agent/django-regression.traj.json (read by hand):
step 1 and step 5 run the same grep with only a print-only `python -c` (3) and a test run (4) in
between → 5 is a repeat; step 6 edits html.py and step 8 reverts it with `git checkout --` → 6 is
wrong (reverted-edit), 8 is correct; the tests passed at 4 and fail at 11 with step 9's edit of
text.py in effect → 9 is the regression; 12 reruns the failing tests unchanged.
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

    example = os.path.join(SRC, "examples", "mini-swe-agent", "django-regression.traj.json")
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([BIN, "analyze", example, "--json", "--output-dir", tmp],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode in (0, 6), "analyze example exit status %d" % r.returncode)
        a = json.loads(r.stdout.splitlines()[0])
    got = {l["step_id"]: (l["label"], l.get("rule")) for l in a["labels"]}
    want = {5: ("unuseful", "repeat-command"), 6: ("incorrect", "reverted-edit"),
            9: ("incorrect", "regression"), 12: ("unuseful", "retry-failure")}
    for sid in range(1, 16):
        exp = want.get(sid, ("correct", None))
        check(got.get(sid, ("?",))[0] == exp[0], "example step %d is %s: %r" % (sid, exp[0], got.get(sid)))
        if exp[1]:
            check(got.get(sid, ("?", "?"))[1] == exp[1], "example step %d rule %s" % (sid, exp[1]))

    # every rule id the analyzer can emit is documented in docs/rules.md under its own anchor
    # (the daemon links diagnostics to docs/rules.md#<rule-id>), with a config switch that
    # config/default.yaml defines
    import re
    src = open(os.path.join(SRC, "core", "src", "heuristic", "heuristic.c"), encoding="utf-8").read()
    ids = re.findall(r'"([a-z][a-z-]*)"', src[src.index("rule_ids[] = {"):src.index("NULL,", src.index("rule_ids[] = {"))])
    check(len(ids) >= 14, "rule ids parsed from heuristic.c: %r" % ids)
    docs = open(os.path.join(SRC, "docs", "rules.md"), encoding="utf-8").read()
    cfg = open(os.path.join(SRC, "config", "default.yaml"), encoding="utf-8").read()
    for rid in ids:
        sec = re.search(r'<a id="%s"></a>\n## %s\n(.*?)(?=<a id=|\Z)' % (rid, rid), docs, re.S)
        check(sec is not None, "docs/rules.md has a section #%s" % rid)
        sw = re.search(r"heuristic\.([a-z_]+)\.enabled", sec.group(1)) if sec else None
        check(sw is not None, "docs/rules.md#%s names its switch" % rid)
        if sw:
            check(re.search(r"^  %s:\n    enabled: " % sw.group(1), cfg, re.M) is not None,
                  "config/default.yaml defines heuristic.%s.enabled" % sw.group(1))
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
