#!/usr/bin/env python3
"""`codetracer eval` on the hand-computed fixture tests/fixtures/eval/.

The fixture (gold.jsonl + pred/<traj_id>/...):
  t1  agent A, model M1, step_count 10, bench numbering (default)
      gold (union over 2 stages): incorrect {3,4,7}, unuseful {1}
      pred codetracer_labels.json: incorrect {3,7,8}, unuseful {1,2}
  t2  agent A, model M2, steps_total 5, "numbering": "step_id" -> codetracer_analysis.json
      gold and pred both empty; pred/t2/steps.json has 4 steps (a numbering mismatch to report)
  t3  agent B, model M1, step_count 4, gold incorrect {2}, unuseful {6} (6 > 4: out of range)
      no prediction folder at all
  t4  agent B, model M2, no step count, gold incorrect {1}; pred incorrect ["1"] (a string id)

Expected figures, computed by hand:
  t1 incorrect: TP 2 (3,7), FP 1 (8), FN 1 (4) -> P = R = F1 = 2/3
  t1 unuseful:  TP 1 (1), FP 1 (2), FN 0      -> P 1/2, R 1, F1 = 2*.5*1/1.5 = 2/3
  t2 both empty -> P = R = F1 = 1 (empty-set convention), both classes
  t3 incorrect: TP 0, FP 0, FN 1 -> 0, 0, 0; unuseful: FN 1 (id 6) -> 0, 0, 0
  t4 incorrect: TP 1 -> 1, 1, 1; unuseful both empty -> 1
  overall incorrect macro: P = (2/3 + 1 + 0 + 1)/4 = 2/3; R = 2/3; F1 = 2/3
  overall incorrect micro: TP 3, FP 1, FN 2 -> P 3/4, R 3/5, F1 = 2*.75*.6/1.35 = 2/3
  overall unuseful macro: P = (.5+1+0+1)/4 = .625; R = (1+1+0+1)/4 = .75; F1 = (2/3+1+0+1)/4 = 2/3
  overall unuseful micro: TP 1, FP 1, FN 1 -> .5, .5, .5
  kappa over t1 (10) + t2 (5) + t3 (4) = 19 steps (t4 has no step count):
    [gold][pred] C/C 12, C/U 1 (t1 s2), C/I 1 (t1 s8), U/U 1 (t1 s1), I/I 2 (t1 s3,s7),
    I/C 2 (t1 s4, t3 s2)
    po = (12+1+2)/19 = 15/19; gold rows C 14, U 1, I 4; pred cols C 14, U 2, I 3
    pe = (14*14 + 1*2 + 4*3)/19^2 = 210/361; kappa = (285-210)/(361-210) = 75/151
  agent A (t1, t2): incorrect macro F1 (2/3 + 1)/2 = 5/6; micro TP 2 FP 1 FN 1 -> F1 2/3
    kappa over 15 steps: C/C 9, C/U 1, C/I 1, U/U 1, I/I 2, I/C 1; po = 12/15;
    rows C 11, U 1, I 3; cols C 10, U 2, I 3; pe = (110+2+9)/225 = 121/225;
    kappa = (180-121)/(225-121) = 59/104
  agent B (t3, t4): incorrect macro F1 (0 + 1)/2 = .5; micro TP 1 FP 0 FN 1 -> P 1, R .5, F1 2/3
    kappa over t3's 4 steps: C/C 3, I/C 1; po = 3/4; pe = (3*4)/16 = 3/4 -> kappa 0
  model M1 (t1, t3): incorrect macro F1 (2/3 + 0)/2 = 1/3
"""
import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("CT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", "build"), "bin", "codetracer")
FIX = os.path.join(SRC, "tests", "fixtures", "eval")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def close(a, b, what):
    check(a is not None and abs(a - b) < 1e-9, "%s = %r, expected %r" % (what, a, b))


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


p = run("eval", "--manifest", os.path.join(FIX, "gold.jsonl"), "--pred", os.path.join(FIX, "pred"), "--json")
check(p.returncode == 0, "eval exits 0 (got %d: %s)" % (p.returncode, p.stderr))
lines = p.stdout.strip().splitlines()
check(len(lines) == 1, "--json prints one line")
rep = json.loads(lines[0])
per = {t["traj_id"]: t for t in rep["trajectories"]}

check(rep["n_trajectories"] == 4, "4 trajectories")
check(rep["n_missing_predictions"] == 1, "one missing prediction (t3)")
check(rep["numbering"] == "mixed", "t2 uses step numbering, the others bench")

t1 = per["t1"]
check(t1["pred_file"] == "codetracer_labels.json", "t1 scored from the tracebench file")
for k, v in (("tp", 2), ("fp", 1), ("fn", 1)):
    check(t1["incorrect"][k] == v, "t1 incorrect %s" % k)
close(t1["incorrect"]["p"], 2 / 3, "t1 incorrect P")
close(t1["incorrect"]["r"], 2 / 3, "t1 incorrect R")
close(t1["incorrect"]["f1"], 2 / 3, "t1 incorrect F1")
close(t1["unuseful"]["p"], 0.5, "t1 unuseful P")
close(t1["unuseful"]["r"], 1.0, "t1 unuseful R")
close(t1["unuseful"]["f1"], 2 / 3, "t1 unuseful F1")

t2 = per["t2"]
check(t2["pred_file"] == "codetracer_analysis.json", "t2 (step numbering) scored from the detailed file")
for cls in ("incorrect", "unuseful"):
    for m in ("p", "r", "f1"):
        close(t2[cls][m], 1.0, "t2 %s %s (both empty)" % (cls, m))

check(any("has 4 steps but the manifest says 5" in n for n in t2["notes"]),
      "t2: pred/t2/steps.json has 4 steps, the manifest 5: numbering mismatch reported")

t3 = per["t3"]
check(t3["missing_prediction"] is True, "t3 has no prediction")
check(t3["gold_out_of_range"] == [6], "t3 gold id 6 is beyond its 4 steps")
close(t3["incorrect"]["f1"], 0.0, "t3 incorrect F1")
close(t3["unuseful"]["r"], 0.0, "t3 unuseful R")

t4 = per["t4"]
check(t4["incorrect"]["tp"] == 1, "t4 string id \"1\" compared as the integer 1")
check(t4["step_count"] is None, "t4 has no step count")
check(any("kappa" in n for n in t4["notes"]), "t4 is reported as left out of kappa")

ov = rep["overall"]
check(ov["n"] == 4, "overall n")
close(ov["incorrect"]["macro"]["p"], 2 / 3, "overall incorrect macro P")
close(ov["incorrect"]["macro"]["r"], 2 / 3, "overall incorrect macro R")
close(ov["incorrect"]["macro"]["f1"], 2 / 3, "overall incorrect macro F1")
check((ov["incorrect"]["micro"]["tp"], ov["incorrect"]["micro"]["fp"], ov["incorrect"]["micro"]["fn"]) == (3, 1, 2),
      "overall incorrect micro counts")
close(ov["incorrect"]["micro"]["p"], 0.75, "overall incorrect micro P")
close(ov["incorrect"]["micro"]["r"], 0.6, "overall incorrect micro R")
close(ov["incorrect"]["micro"]["f1"], 2 / 3, "overall incorrect micro F1")
close(ov["unuseful"]["macro"]["p"], 0.625, "overall unuseful macro P")
close(ov["unuseful"]["macro"]["r"], 0.75, "overall unuseful macro R")
close(ov["unuseful"]["macro"]["f1"], 2 / 3, "overall unuseful macro F1")
close(ov["unuseful"]["micro"]["f1"], 0.5, "overall unuseful micro F1")
check(ov["kappa_steps"] == 19, "kappa over 19 steps")
close(ov["kappa"], 75 / 151, "overall kappa")

a = rep["by_agent"]["A"]
close(a["incorrect"]["macro"]["f1"], 5 / 6, "agent A incorrect macro F1")
close(a["incorrect"]["micro"]["f1"], 2 / 3, "agent A incorrect micro F1")
close(a["kappa"], 59 / 104, "agent A kappa")
b = rep["by_agent"]["B"]
close(b["incorrect"]["macro"]["f1"], 0.5, "agent B incorrect macro F1")
close(b["incorrect"]["micro"]["p"], 1.0, "agent B incorrect micro P")
close(b["incorrect"]["micro"]["r"], 0.5, "agent B incorrect micro R")
close(b["kappa"], 0.0, "agent B kappa (chance agreement only)")
close(rep["by_model"]["M1"]["incorrect"]["macro"]["f1"], 1 / 3, "model M1 incorrect macro F1")

# --numbering step for every row: t1 now prefers codetracer_analysis.json, falls back with a note.
p = run("eval", "--manifest", os.path.join(FIX, "gold.jsonl"), "--pred", os.path.join(FIX, "pred"), "--json",
        "--numbering", "step")
rep2 = json.loads(p.stdout)
t1s = {t["traj_id"]: t for t in rep2["trajectories"]}["t1"]
check(rep2["numbering"] == "step", "--numbering step applies to every row")
check(t1s["pred_file"] == "codetracer_labels.json" and any("numberings may differ" in n for n in t1s["notes"]),
      "fallback to the other numbering's file is reported")

# The text report names the groups and the missing prediction.
p = run("eval", "--manifest", os.path.join(FIX, "gold.jsonl"), "--pred", os.path.join(FIX, "pred"))
check(p.returncode == 0 and "overall" in p.stdout and "agent A" in p.stdout and "NO PREDICTION" in p.stdout,
      "text report")
check("0.497" in p.stdout, "text report shows kappa 75/151 = 0.497")

# Bad input: a clear error naming the line, exit 3; usage errors exit 2.
with tempfile.TemporaryDirectory() as d:
    bad = os.path.join(d, "bad.jsonl")
    with open(bad, "w") as f:
        f.write('{"traj_id": "a"}\n{"traj_id": "b", \n')
    p = run("eval", "--manifest", bad, "--pred", d)
    check(p.returncode == 3 and "bad.jsonl:2" in p.stderr, "truncated row -> exit 3 naming line 2 (%s)" % p.stderr.strip())
    with open(bad, "w") as f:
        f.write('{"traj_id": "a"}\n{"traj_id": "a"}\n')
    p = run("eval", "--manifest", bad, "--pred", d)
    check(p.returncode == 3 and "twice" in p.stderr, "duplicate traj_id rejected")
    with open(bad, "w") as f:
        f.write('{"traj_id": "../escape"}\n')
    p = run("eval", "--manifest", bad, "--pred", d)
    check(p.returncode == 3, "a traj_id with '/' is rejected")
    for junk in (b'{"traj_id": "a\xff"}\n', b'{"traj_id": "a\\u0000b"}\n', b'[1, 2]\n', b'{"traj_id": 7}\n'):
        with open(bad, "wb") as f:
            f.write(junk)
        p = run("eval", "--manifest", bad, "--pred", d)
        check(p.returncode == 3 and "bad.jsonl:1" in p.stderr, "bad row %r -> exit 3 naming line 1" % junk)
    with open(bad, "wb") as f:
        f.write(b'{"traj_id": "x", "incorrect_step_ids": [1, "zz", -4, 1e30]}\r\n')
    p = run("eval", "--manifest", bad, "--pred", d, "--json")
    check(p.returncode == 0 and "not integers" in p.stdout, "junk gold ids are ignored and reported (CRLF line)")
p = run("eval", "--manifest", os.path.join(FIX, "gold.jsonl"))
check(p.returncode == 2, "missing --pred is a usage error")
p = run("eval", "--manifest", os.path.join(FIX, "gold.jsonl"), "--pred", os.path.join(FIX, "nope"))
check(p.returncode == 3, "missing prediction folder -> exit 3")

if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
