#!/usr/bin/env python3
"""`codetracer batch` / `codetracer-batch` over manifests written here, on the calc fixture.

Checks: parallel run, one line per item off a TTY, exit 6 when an item fails, resume (skips
items whose outputs validate, redoes a corrupted one), shards (union = all items, disjoint),
per-item timeout on a really slow input (a generated 150k-step trajectory), gold labels in the
manifest never changing the outputs (byte-identical), and the codetracer-batch name.
"""
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

SRC = os.environ.get("CT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", "build"), "bin", "codetracer"))
BATCH = os.path.join(os.path.dirname(BIN), "codetracer-batch")
CALC = os.path.join(SRC, "tests", "fixtures", "eval", "runs", "calc", "calc.traj.json")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def batch(*args, exe=None):
    cmd = [exe] if exe else [BIN, "batch"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600)


def write_manifest(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def tree_files(root):
    out = {}
    for d, _, fs in os.walk(root):
        if "_logs" in d:
            continue
        for f in fs:
            out[os.path.relpath(os.path.join(d, f), root)] = os.path.join(d, f)
    return out


GOLD = {"incorrect_stages": [{"stage_id": 1, "incorrect_step_ids": [5], "unuseful_step_ids": [1, 2],
                              "reasoning": "gold says the fix is wrong"}],
        "incorrect_step_ids": [5], "unuseful_step_ids": [1, 2], "solved": False, "step_count": 7,
        "reasons": {"5": {"label": "incorrect", "reason": "gold"}}, "stages": [{"stage": 1, "start_step_id": 1, "end_step_id": 7}]}

with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    for k in range(4):
        os.makedirs(os.path.join(data, "r%d" % k))
        shutil.copy(CALC, os.path.join(data, "r%d" % k, "calc.traj.json"))
    with tarfile.open(os.path.join(data, "r4.tar.gz"), "w:gz") as t:
        t.add(CALC, arcname="r4/calc.traj.json")
    rows = [{"traj_id": "i0", "run_dir": "r0"},
            {"traj_id": "i1", "path": "r1/calc.traj.json"},
            {"traj_id": "i2", "run_dir": "r2", "source_file": "calc.traj.json"},
            {"traj_id": "i3", "artifact_path": os.path.join(data, "r3")},
            {"traj_id": "i4", "artifact_path": "r4.tar.gz"},
            {"traj_id": "i5", "run_dir": "does-not-exist"}]
    man = os.path.join(data, "m.jsonl")
    write_manifest(man, rows)
    out = os.path.join(tmp, "out")

    p = batch("--manifest", man, "--output", out, "--parallel", "2")
    check(p.returncode == 6, "one item fails -> exit 6 (got %d: %s)" % (p.returncode, p.stderr))
    for i in range(5):
        check(("[OK] i%d" % i) in p.stdout, "item i%d ok" % i)
        for f in ("codetracer_labels.json", "codetracer_analysis.json", "codetracer_rl_feedback.json", "steps.json",
                  "tree.md", "stage_ranges.json"):
            check(os.path.isfile(os.path.join(out, "i%d" % i, f)), "i%d/%s written" % (i, f))
        check(os.path.isfile(os.path.join(out, "_logs", "i%d.log" % i)), "i%d log" % i)
    check("[FAIL] i5" in p.stdout and "does not exist" in p.stdout, "missing input reported as FAIL")
    check("5 ok" in p.stdout and "1 failed" in p.stdout, "summary line: " + p.stdout.strip().splitlines()[-2])
    check("\r" not in p.stdout, "no progress bar off a TTY")
    first = json.load(open(os.path.join(out, "i0", "codetracer_labels.json")))
    check(json.load(open(os.path.join(out, "i4", "codetracer_labels.json"))) == first,
          "archive item gives the same labels as the run dir item")

    # Resume: everything valid is skipped; a corrupted output is redone.
    with open(os.path.join(out, "i2", "codetracer_rl_feedback.json"), "w") as f:
        f.write('[{"step_id": 1, "verdict": "maybe"}]')
    p = batch("--manifest", man, "--output", out, "--resume")
    for i in (0, 1, 3, 4):
        check("[SKIP] i%d" % i in p.stdout, "resume skips i%d" % i)
    check("[OK] i2" in p.stdout, "resume redoes the item whose output does not validate")
    check(json.load(open(os.path.join(out, "i2", "codetracer_rl_feedback.json")))[0].get("reward_signal") is not None,
          "i2 output repaired")

    # Shards: --shard K/3 for K = 0, 1, 2 cover every item exactly once.
    seen = []
    for k in range(3):
        p = batch("--manifest", man, "--output", out, "--shard", "%d/3" % k, "--dry-run")
        ids = [l.split()[1].rstrip(":") for l in p.stdout.splitlines() if l.startswith("[DRY]") or l.startswith("[FAIL]")]
        check(ids == ["i%d" % i for i in range(6) if i % 3 == k], "shard %d/3 items: %s" % (k, ids))
        seen += ids
    check(sorted(seen) == ["i%d" % i for i in range(6)] and len(seen) == len(set(seen)), "shards: union = all, disjoint")
    p = batch("--manifest", man, "--output", out, "--shard", "3/3")
    check(p.returncode == 2, "--shard 3/3 is a usage error")
    # A real sharded run writes only its items.
    sout = os.path.join(tmp, "sharded")
    batch("--manifest", man, "--output", sout, "--shard", "1/3")
    check(sorted(x for x in os.listdir(sout) if x != "_logs") == ["i1", "i4"], "shard 1/3 wrote i1 and i4 only")

    # Gold labels in the manifest never reach the analysis: byte-identical outputs.
    clean_rows = [r for r in rows[:5]]
    gold_rows = [dict(r, **GOLD) for r in rows[:5]]
    m1, m2 = os.path.join(data, "clean.jsonl"), os.path.join(data, "gold.jsonl")
    write_manifest(m1, clean_rows)
    write_manifest(m2, gold_rows)
    o1, o2 = os.path.join(tmp, "o_clean"), os.path.join(tmp, "o_gold")
    p1 = batch("--manifest", m1, "--output", o1, "--parallel", "2")
    p2 = batch("--manifest", m2, "--output", o2, "--parallel", "2")
    check(p1.returncode == 0 and p2.returncode == 0, "both gold/clean batches succeed")
    f1, f2 = tree_files(o1), tree_files(o2)
    check(sorted(f1) == sorted(f2) and len(f1) >= 5 * 7, "same output files with and without gold labels")
    for rel in f1:
        check(rel in f2 and filecmp.cmp(f1[rel], f2[rel], shallow=False), "byte-identical: " + rel)

    # Timeout: a generated 150k-step trajectory takes far longer than 0.3 s to load and analyse.
    big = os.path.join(data, "big")
    os.mkdir(big)
    msgs = [{"role": "system", "content": "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"}, {"role": "user", "content": "task"}]
    for k in range(150000):
        msgs.append({"role": "assistant", "content": "THOUGHT: look\n\n```bash\ncat file%d.txt\n```" % (k % 97)})
        msgs.append({"role": "user", "content": "<returncode>0</returncode>\n<output>\nline %d\n</output>" % k})
    with open(os.path.join(big, "big.traj.json"), "w") as f:
        json.dump({"info": {"exit_status": "Submitted"}, "messages": msgs, "trajectory_format": "mini-swe-agent-1"}, f)
    # --parallel 2 runs two items at the same time, --parallel 1 one after the other: the
    # "started"/"finished" wall-clock stamps in the logs overlap, or do not.
    mid = os.path.join(data, "mid")
    os.mkdir(mid)
    with open(os.path.join(mid, "mid.traj.json"), "w") as f:
        json.dump({"info": {"exit_status": "Submitted"}, "messages": msgs[:40002], "trajectory_format": "mini-swe-agent-1"}, f)
    pm = os.path.join(data, "p.jsonl")
    write_manifest(pm, [{"traj_id": "m1", "run_dir": "mid"}, {"traj_id": "m2", "run_dir": "mid"}])

    def spans(outdir):
        res = []
        for i in ("m1", "m2"):
            log = open(os.path.join(outdir, "_logs", i + ".log")).read().split()
            res.append((float(log[log.index("started") + 1]), float(log[log.index("finished") + 1])))
        return res

    p = batch("--manifest", pm, "--output", os.path.join(tmp, "par2"), "--parallel", "2")
    (s1, e1), (s2, e2) = spans(os.path.join(tmp, "par2"))
    check(p.returncode == 0 and max(s1, s2) < min(e1, e2), "--parallel 2: the two items overlap")
    p = batch("--manifest", pm, "--output", os.path.join(tmp, "par1"), "--parallel", "1")
    (s1, e1), (s2, e2) = spans(os.path.join(tmp, "par1"))
    check(p.returncode == 0 and e1 <= s2, "--parallel 1: the second item starts after the first finished")

    tm = os.path.join(data, "t.jsonl")
    write_manifest(tm, [{"traj_id": "big", "run_dir": "big"}, {"traj_id": "small", "run_dir": "r0"}])
    t0 = time.time()
    p = batch("--manifest", tm, "--output", os.path.join(tmp, "tout"), "--timeout", "0.3", "--parallel", "2")
    took = time.time() - t0
    check(p.returncode == 6, "timed-out item -> exit 6")
    check("[TIMEOUT] big" in p.stdout and "[OK] small" in p.stdout, "big killed, small ok: " + p.stdout)
    check("killed after" in open(os.path.join(tmp, "tout", "_logs", "big.log")).read(), "the log says it was killed")
    check(took < 30, "the batch did not wait for the slow item (%.1fs)" % took)

    # Bad manifests and options.
    bad = os.path.join(data, "bad.jsonl")
    with open(bad, "w") as f:
        f.write('{"traj_id": "a", "run_dir": "r0"}\n{"run_dir": "r1"}\n')
    p = batch("--manifest", bad, "--output", out)
    check(p.returncode == 3 and "traj_id" in p.stderr, "row without traj_id -> exit 3")
    p = batch("--manifest", man)
    check(p.returncode == 2, "missing --output -> usage error")
    p = batch("--manifest", man, "--output", out, "--parallel", "0")
    check(p.returncode == 2, "--parallel 0 -> usage error")

    # On a terminal: a progress bar redrawn with \r instead of one line per item.
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([BIN, "batch", "--manifest", m1, "--output", os.path.join(tmp, "tty")], stdout=slave,
                            stderr=subprocess.DEVNULL)
    os.close(slave)
    buf = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    proc.wait(timeout=120)
    os.close(master)
    text = buf.decode("utf-8", "replace")
    check(proc.returncode == 0 and "\r[" in text and "5/5" in text and "[OK]" not in text,
          "progress bar on a TTY: %r" % text[-300:])

    # --data-root and the codetracer-batch name.
    rel = os.path.join(tmp, "elsewhere.jsonl")
    write_manifest(rel, [{"traj_id": "x", "run_dir": "r0"}])
    p = batch("--manifest", rel, "--output", os.path.join(tmp, "dr"), "--data-root", data, exe=BATCH)
    check(p.returncode == 0 and "[OK] x" in p.stdout, "codetracer-batch with --data-root (%s)" % p.stdout)

if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
