#!/usr/bin/env python3
"""Stage segmentation vs CodeTraceBench's own stage ranges.

For each case of the corpus's codetracebench_step_id_maps (steps.json + stage_ranges.json), copy
steps.json ALONE into a temporary run dir (so the loader cannot see the dataset's ranges), run
`codetracer analyze --json` on it, and compare the stage boundaries (the first step of every
stage after the first) with the dataset's: precision, recall and F1, exact and within ±1 step.
A benchmark: it prints figures and never fails. The corpus may be absent: then it says so.

usage: stages.py [CODETRACER] [CORPUS_DIR]
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile


def prf(gold, pred, tol):
    tp_p = sum(1 for p in pred if any(abs(p - g) <= tol for g in gold))
    tp_g = sum(1 for g in gold if any(abs(p - g) <= tol for p in pred))
    prec = tp_p / len(pred) if pred else (1.0 if not gold else 0.0)
    rec = tp_g / len(gold) if gold else 1.0
    f = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = sys.argv[1] if len(sys.argv) > 1 else next(
        iter(sorted(glob.glob(os.path.join(root, "build*", "bin", "codetracer")))), None)
    corpus = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/corpus"
    cases = sorted(glob.glob(os.path.join(corpus, "codetracebench_step_id_maps", "**",
                                          "stage_ranges.json"), recursive=True))
    if not binary or not os.access(binary, os.X_OK) or not cases:
        print("SKIP: need a built codetracer and the corpus (codetracebench_step_id_maps)")
        return 0
    tot = {0: [0, 0, 0, 0], 1: [0, 0, 0, 0]}  # tol -> [tp_pred, n_pred, tp_gold, n_gold]
    print("%-40s %5s %11s %11s %9s %9s" % ("case", "steps", "gold stages", "our stages",
                                           "F1 exact", "F1 +-1"))
    for sr in cases:
        case_dir = os.path.dirname(sr)
        name = os.path.relpath(sr, os.path.join(corpus, "codetracebench_step_id_maps")).split(os.sep)[0]
        with tempfile.TemporaryDirectory() as tmp:
            run = os.path.join(tmp, "run")
            os.mkdir(run)
            shutil.copy(os.path.join(case_dir, "steps.json"), run)
            r = subprocess.run([binary, "analyze", run, "--json", "--output-dir",
                                os.path.join(tmp, "out")], capture_output=True, text=True, timeout=300)
        try:
            out = json.loads(r.stdout.splitlines()[0])
        except (IndexError, ValueError):
            print("%-40s analyze failed (exit %d): %s" % (name[:40], r.returncode, r.stderr.strip()[:80]))
            continue
        n = len(out.get("labels", []))
        ours = [s["start_step_id"] for s in out.get("stages", [])][1:]
        gold_ranges = json.load(open(sr))
        gold = [g["start_step_id"] for g in gold_ranges if 1 < g["start_step_id"] <= n]
        f0 = prf(gold, ours, 0)[2]
        f1 = prf(gold, ours, 1)[2]
        for tol in (0, 1):
            tot[tol][0] += sum(1 for p in ours if any(abs(p - g) <= tol for g in gold))
            tot[tol][1] += len(ours)
            tot[tol][2] += sum(1 for g in gold if any(abs(p - g) <= tol for p in ours))
            tot[tol][3] += len(gold)
        print("%-40s %5d %11d %11d %9.3f %9.3f" % (name[:40], n, len(gold) + 1, len(ours) + 1, f0, f1))
    for tol in (0, 1):
        tp_p, n_p, tp_g, n_g = tot[tol]
        p = tp_p / n_p if n_p else 0.0
        rr = tp_g / n_g if n_g else 0.0
        f = 2 * p * rr / (p + rr) if p + rr else 0.0
        print("OVERALL boundaries tol=%d: precision=%.3f recall=%.3f F1=%.3f" % (tol, p, rr, f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
