#!/usr/bin/env python3
"""Agreement of the heuristic analyzer with the adjudicated dev labels (/work/shared/labels).

Runs `codetracer analyze --json` on each labelled trajectory of dev.jsonl and prints, per
trajectory and overall (all steps pooled), Cohen's kappa over the three classes
(correct/unuseful/incorrect) and the F1 of `incorrect`. A benchmark: it prints figures and
never fails on a low score. Steps are matched by step_id (dev.jsonl's numbering).

usage: dev_kappa.py [CODETRACER] [LABELS_DIR]   (defaults: build*/bin/codetracer, /work/shared/labels)
"""
import glob
import json
import os
import subprocess
import sys

CLASSES = ("correct", "unuseful", "incorrect")


def kappa(pairs):
    n = len(pairs)
    if n == 0:
        return float("nan")
    agree = sum(1 for a, b in pairs if a == b) / n
    pe = 0.0
    for c in CLASSES:
        pa = sum(1 for a, _ in pairs if a == c) / n
        pb = sum(1 for _, b in pairs if b == c) / n
        pe += pa * pb
    if pe >= 1.0:
        return 1.0 if agree == 1.0 else 0.0
    return (agree - pe) / (1 - pe)


def f1(pairs, cls="incorrect"):
    tp = sum(1 for g, p in pairs if g == cls and p == cls)
    fp = sum(1 for g, p in pairs if g != cls and p == cls)
    fn = sum(1 for g, p in pairs if g == cls and p != cls)
    if tp == 0:
        return 0.0 if (fp or fn) else float("nan")
    prec, rec = tp / (tp + fp), tp / (tp + fn)
    return 2 * prec * rec / (prec + rec)


def find_binary(root):
    for cand in sorted(glob.glob(os.path.join(root, "build*", "bin", "codetracer"))):
        if os.access(cand, os.X_OK):
            return cand
    return None


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = sys.argv[1] if len(sys.argv) > 1 else find_binary(root)
    labels_dir = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/labels"
    dev = os.path.join(labels_dir, "dev.jsonl")
    if not binary or not os.access(binary, os.X_OK) or not os.path.exists(dev):
        print("SKIP: need a built codetracer and %s" % dev)
        return 0
    pooled = []
    print("%-62s %5s %6s %6s %7s" % ("trajectory", "steps", "kappa", "F1inc", "gold/pred inc,unu"))
    for line in open(dev, encoding="utf-8"):
        d = json.loads(line)
        path = os.path.normpath(os.path.join(labels_dir, d["run_dir"], d["source_file"]))
        if d.get("record"):
            path += "#%d" % d["record"]
        n = d["steps_total"]
        gold = ["correct"] * n
        for s in d["unuseful_step_ids"]:
            gold[s - 1] = "unuseful"
        for s in d["incorrect_step_ids"]:
            gold[s - 1] = "incorrect"
        r = subprocess.run([binary, "analyze", path, "--json", "--output-dir", "/tmp/ct_dev_kappa"],
                           capture_output=True, text=True, timeout=300)
        pred = ["correct"] * n
        note = ""
        try:
            out = json.loads(r.stdout.strip().splitlines()[0])
            labels = out.get("labels") or out.get("steps") or []
            got = 0
            for lab in labels:
                sid = lab.get("step_id")
                if isinstance(sid, int) and 1 <= sid <= n:
                    pred[sid - 1] = lab.get("label", "correct")
                got += 1
            if got != n:
                note = " (analyzer has %d steps)" % got
        except (IndexError, ValueError) as e:
            note = " (no analysis: exit %d %s)" % (r.returncode, r.stderr.strip()[:80])
        pairs = list(zip(gold, pred))
        pooled += pairs
        gi = sum(g == "incorrect" for g in gold)
        gu = sum(g == "unuseful" for g in gold)
        pi = sum(p == "incorrect" for p in pred)
        pu = sum(p == "unuseful" for p in pred)
        print("%-62s %5d %6.3f %6.3f %d,%d/%d,%d%s" % (d["traj_id"][:62], n, kappa(pairs), f1(pairs),
                                                     gi, gu, pi, pu, note))
    print("OVERALL steps=%d kappa=%.3f incorrect_F1=%.3f" % (len(pooled), kappa(pooled), f1(pooled)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
