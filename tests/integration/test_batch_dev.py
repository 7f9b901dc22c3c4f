#!/usr/bin/env python3
"""batch + eval on the shared annotated dev set (/work/shared/labels/dev.jsonl, real corpus runs).

Checks on real data what test_batch.py checks on fixtures: every item analysed, outputs
byte-identical whether the manifest carries the gold labels or not, and eval scoring every item
(no missing prediction, step counts lining up with the manifest's). Prints the figures.
Skips (loudly, exit 0) when the dev set or the corpus is absent.
"""
import filecmp
import json
import os
import subprocess
import sys
import tempfile

BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", "build"), "bin", "codetracer"))
LABELS = os.environ.get("CT_LABELS", "/work/shared/labels")
DEV = os.path.join(LABELS, "dev.jsonl")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


if not os.path.isfile(DEV) or not os.path.isdir(os.path.join(LABELS, "..", "corpus")):
    print("SKIP: no dev set at %s (or no corpus next to it); nothing checked" % DEV, file=sys.stderr)
    sys.exit(0)

rows = [json.loads(l) for l in open(DEV) if l.strip()]
LABEL_KEYS = {"incorrect_step_ids", "unuseful_step_ids", "incorrect_stages", "reasons", "step_heads", "solved"}
with tempfile.TemporaryDirectory() as tmp:
    stripped = os.path.join(tmp, "stripped.jsonl")
    with open(stripped, "w") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if k not in LABEL_KEYS}) + "\n")
    o1, o2 = os.path.join(tmp, "gold"), os.path.join(tmp, "stripped")
    p1 = subprocess.run([BIN, "batch", "--manifest", DEV, "--output", o1, "--parallel", "2", "--timeout", "300"],
                        capture_output=True, text=True, timeout=900)
    p2 = subprocess.run([BIN, "batch", "--manifest", stripped, "--output", o2, "--parallel", "2", "--timeout", "300",
                         "--data-root", LABELS], capture_output=True, text=True, timeout=900)
    check(p1.returncode == 0 and p2.returncode == 0, "both batches succeed:\n%s\n%s" % (p1.stdout, p2.stdout))
    check(p1.stdout.count("[OK]") == len(rows), "every dev item analysed")
    for r in rows:
        d1, d2 = os.path.join(o1, r["traj_id"]), os.path.join(o2, r["traj_id"])
        names = sorted(os.listdir(d1)) if os.path.isdir(d1) else []
        check(names and names == sorted(os.listdir(d2)), "%s: same files" % r["traj_id"])
        for n in names:
            check(filecmp.cmp(os.path.join(d1, n), os.path.join(d2, n), shallow=False),
                  "%s/%s identical with and without gold labels" % (r["traj_id"], n))

    p = subprocess.run([BIN, "eval", "--manifest", DEV, "--pred", o1, "--json"], capture_output=True, text=True,
                       timeout=300)
    check(p.returncode == 0, "eval exits 0")
    rep = json.loads(p.stdout)
    check(rep["n_trajectories"] == len(rows) and rep["n_missing_predictions"] == 0, "every item has a prediction")
    check(rep["numbering"] == "step", "the dev set is scored by step_id (its rows say so)")
    for t in rep["trajectories"]:
        check(t["pred_file"] == "codetracer_analysis.json", "%s scored from the step-numbered file" % t["traj_id"])
        check(not t["gold_out_of_range"], "%s: gold ids within the step count" % t["traj_id"])
        for n in t["notes"]:
            print("note: %s: %s" % (t["traj_id"], n))
            check("numberings may not line up" not in n, "%s: analysed step count == steps_total" % t["traj_id"])
    ov = rep["overall"]
    check(isinstance(ov["kappa"], float) and ov["kappa_steps"] == sum(r["steps_total"] for r in rows),
          "kappa over every dev step")
    print("dev set, heuristic analyzer: incorrect micro P/R/F1 %.3f/%.3f/%.3f, unuseful micro %.3f/%.3f/%.3f, "
          "kappa %.3f over %d steps" % (ov["incorrect"]["micro"]["p"], ov["incorrect"]["micro"]["r"],
                                        ov["incorrect"]["micro"]["f1"], ov["unuseful"]["micro"]["p"],
                                        ov["unuseful"]["micro"]["r"], ov["unuseful"]["micro"]["f1"], ov["kappa"],
                                        ov["kappa_steps"]))

if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
