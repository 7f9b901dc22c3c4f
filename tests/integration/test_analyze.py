#!/usr/bin/env python3
"""`codetracer analyze` and `codetracer run` on the fixture tests/fixtures/eval/runs/calc/calc.traj.json.

The fixture is a 7-step mini-SWE-agent run written by hand: 1 ls, 2 cat calc.py, 3 cat calc.py
again (nothing changed in between: the same output, so it is *unuseful*), 4 a failing import,
5 the sed fix, 6 the tests, 7 submit. Checks: the three profile files are written, validate
(checked here independently of the C validator) and carry exactly the labels `--json` prints;
the output-location rules; errors for archives without --output-dir, llm analyzer, bad input.
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

SRC = os.environ.get("CT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", "build"), "bin", "codetracer"))
CALC = os.path.join(SRC, "tests", "fixtures", "eval", "runs", "calc", "calc.traj.json")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, cwd=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


DEVIATIONS = {"wrong_tool", "wrong_target", "redundant", "premature_conclusion", "missing_exploration", "none"}
SEVERITIES = {"critical", "moderate", "minor", "none"}


def check_stage_list(arr, ids, what):
    check(isinstance(arr, list), what + " is an array")
    seen = set()
    for e in arr:
        check(isinstance(e, dict) and set(e) >= {"stage_id", "incorrect_step_ids", "unuseful_step_ids", "reasoning"},
              what + " element keys")
        check(isinstance(e["stage_id"], int) and isinstance(e["reasoning"], str), what + " element types")
        for k in ("incorrect_step_ids", "unuseful_step_ids"):
            for i in e[k]:
                check(isinstance(i, int) and i in ids and i not in seen, "%s: step id %r valid and unique" % (what, i))
                seen.add(i)


def union(arr, key):
    return sorted(i for e in arr for i in e[key])


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "out")
    p = run("analyze", CALC, "-p", "all", "--output-dir", out, "--traj-id", "calc", "--json")
    check(p.returncode == 0, "analyze exits 0 (%d: %s)" % (p.returncode, p.stderr))
    lines = p.stdout.strip().splitlines()
    check(len(lines) == 1, "one JSON line for one trajectory")
    j = json.loads(lines[0])
    tr = j["trajectory"]
    check(tr["format"] == "mini-swe-agent" and tr["step_count"] == 7 and tr["model"] == "test-model",
          "trajectory block: format, 7 steps, model")
    check("subtracts" in (tr["task"] or ""), "trajectory block: task")
    check(set(j) >= {"labels", "root_cause_chain", "critical_decision_points", "correct_strategy", "summary"},
          "top-level keys of the --json line")
    labels = j["labels"]
    check([l["step_id"] for l in labels] == list(range(1, 8)), "one label per step, in order")
    for l in labels:
        check(set(l) >= {"step_id", "bench_step_id", "label", "rule", "reasoning", "evidence"}, "label keys")
    check(labels[2]["label"] == "unuseful" and labels[2]["reasoning"], "step 3 (the repeated cat) is unuseful, with a reason")
    check(labels[0]["label"] == "correct" and labels[4]["label"] == "correct", "steps 1 (ls) and 5 (the fix) are correct")

    inc = sorted(l["step_id"] for l in labels if l["label"] == "incorrect")
    unu = sorted(l["step_id"] for l in labels if l["label"] == "unuseful")
    d = os.path.join(out, "calc")
    for f in ("codetracer_labels.json", "codetracer_analysis.json", "codetracer_rl_feedback.json", "steps.json",
              "task.md", "stage_ranges.json", "tree.md"):
        check(os.path.isfile(os.path.join(d, f)), "wrote " + f)
    check(not [f for f in os.listdir(d) if ".tmp." in f], "no temporary files left")
    ids = set(range(1, 8))
    tb = json.load(open(os.path.join(d, "codetracer_labels.json")))
    check_stage_list(tb, ids, "tracebench")
    check(union(tb, "incorrect_step_ids") == inc and union(tb, "unuseful_step_ids") == unu,
          "tracebench labels == --json labels (bench ids equal step ids here)")
    det = json.load(open(os.path.join(d, "codetracer_analysis.json")))
    check(isinstance(det, dict) and set(det) >= {"root_cause_chain", "critical_decision_points", "correct_strategy",
                                                 "stage_labels", "summary"}, "detailed keys")
    check_stage_list(det["stage_labels"], ids, "detailed.stage_labels")
    check(union(det["stage_labels"], "incorrect_step_ids") == inc and union(det["stage_labels"], "unuseful_step_ids") == unu,
          "detailed labels == --json labels")
    check(det["summary"] == j["summary"] and det["root_cause_chain"] == j["root_cause_chain"], "detailed summary/root cause")
    rl = json.load(open(os.path.join(d, "codetracer_rl_feedback.json")))
    check([e["step_id"] for e in rl] == list(range(1, 8)), "rl_feedback: one element per step")
    for e, l in zip(rl, labels):
        check(e["verdict"] == l["label"], "rl verdict of step %d == label" % e["step_id"])
        check(e["deviation_type"] in DEVIATIONS and e["impact_severity"] in SEVERITIES, "rl enums")
        check(isinstance(e["reward_signal"], (int, float)) and -1 <= e["reward_signal"] <= 1, "rl reward range")
        check(e["verdict"] != "correct" or (e["reward_signal"] >= 0 and e["deviation_type"] == "none"),
              "rl correct steps: reward >= 0, deviation none")
        check(e["verdict"] == "correct" or e["reward_signal"] < 0, "rl labelled steps: negative reward")
    steps = json.load(open(os.path.join(d, "steps.json")))
    check(len(steps) == 7 and steps[1]["action"] == "cat calc.py" and "action_ref" in steps[0], "steps.json content")
    sr = json.load(open(os.path.join(d, "stage_ranges.json")))
    check(sr and sr[0]["start_step_id"] == 1 and sr[-1]["end_step_id"] == 7, "stage_ranges cover 1..7")
    check(open(os.path.join(d, "tree.md")).read().startswith("root\n"), "tree.md starts with root")
    check("subtracts" in open(os.path.join(d, "task.md")).read(), "task.md holds the task")

    # The text summary lists the labelled steps with their reasons.
    p = run("analyze", CALC, "--output-dir", out, "--traj-id", "calc2")
    check(p.returncode == 0 and "step 3" in p.stdout and "unuseful" in p.stdout and labels[2]["reasoning"] in p.stdout,
          "text summary lists step 3 with its reason")
    check(sorted(os.listdir(os.path.join(out, "calc2"))) ==
          ["codetracer_analysis.json", "stage_ranges.json", "steps.json", "task.md", "tree.md"],
          "default profile is detailed only")

    # Without --output-dir: only the profile goes into the run dir, unless cwd is the run dir.
    rd = os.path.join(tmp, "rundir")
    os.mkdir(rd)
    shutil.copy(CALC, rd)
    p = run("analyze", os.path.join(rd, "calc.traj.json"), "-p", "tracebench", cwd=tmp)
    check(p.returncode == 0, "analyze into the run dir")
    check(sorted(os.listdir(rd)) == ["calc.traj.json", "codetracer_labels.json"],
          "only the profile is written into a run dir the user is not in: %s" % sorted(os.listdir(rd)))
    p = run("analyze", "calc.traj.json", cwd=rd)
    check(p.returncode == 0 and os.path.isfile(os.path.join(rd, "steps.json")) and
          os.path.isfile(os.path.join(rd, "codetracer_analysis.json")), "artifacts written when run inside the run dir")

    # A folder PATH holding one trajectory (deeper down) is the run dir; --output-dir without
    # --traj-id names the folder after PATH.
    rd3 = os.path.join(tmp, "trial-7")
    os.makedirs(os.path.join(rd3, "agent-logs"))
    shutil.copy(CALC, os.path.join(rd3, "agent-logs", "calc.traj.json"))
    p = run("analyze", rd3, cwd=tmp)
    check(p.returncode == 0 and os.path.isfile(os.path.join(rd3, "codetracer_analysis.json")),
          "one trajectory in a named folder: the profile goes into that folder")
    p = run("analyze", rd3, "--output-dir", os.path.join(tmp, "named"))
    check(p.returncode == 0 and os.path.isfile(os.path.join(tmp, "named", "trial-7", "codetracer_analysis.json")),
          "default traj id = PATH's name")

    # Several trajectories under PATH: each analysed, each in its own folder.
    multi = os.path.join(tmp, "multi")
    for name in ("a", "b"):
        os.makedirs(os.path.join(multi, name))
        shutil.copy(CALC, os.path.join(multi, name, "calc.traj.json"))
    p = run("analyze", multi, "--output-dir", os.path.join(tmp, "mout"), "--json")
    js = [json.loads(x) for x in p.stdout.strip().splitlines()]
    check(p.returncode == 0 and len(js) == 2, "two trajectories -> two JSON lines")
    check(sorted(os.path.basename(x["output_dir"]) for x in js) == ["a_calc-1", "b_calc-2"],
          "two distinct output folders named after the paths below PATH: %s" % [x["output_dir"] for x in js])
    p = run("analyze", multi)
    check(p.returncode == 0 and os.path.isfile(os.path.join(multi, "a", "codetracer_analysis.json")) and
          os.path.isfile(os.path.join(multi, "b", "codetracer_analysis.json")), "each into its own run dir")

    # An archive needs --output-dir; with it, it works.
    arc = os.path.join(tmp, "run.tar.gz")
    with tarfile.open(arc, "w:gz") as t:
        t.add(CALC, arcname="calc/calc.traj.json")
    p = run("analyze", arc)
    check(p.returncode == 2 and "--output-dir" in p.stderr, "archive without --output-dir: clear usage error")
    p = run("analyze", arc, "--output-dir", os.path.join(tmp, "aout"), "--traj-id", "arc")
    check(p.returncode == 0 and os.path.isfile(os.path.join(tmp, "aout", "arc", "codetracer_analysis.json")),
          "archive with --output-dir")

    # A read-only run dir needs --output-dir (root can write anywhere: checked only for others).
    if os.geteuid() != 0:
        ro = os.path.join(tmp, "ro")
        os.mkdir(ro)
        shutil.copy(CALC, ro)
        os.chmod(ro, 0o555)
        p = run("analyze", os.path.join(ro, "calc.traj.json"))
        check(p.returncode == 2 and "not writable" in p.stderr and "--output-dir" in p.stderr,
              "read-only run dir: clear usage error")
        os.chmod(ro, 0o755)

    # --dry-run: artifacts only, no analysis.
    p = run("analyze", CALC, "--output-dir", os.path.join(tmp, "dry"), "--traj-id", "x", "--dry-run", "--json")
    dd = os.path.join(tmp, "dry", "x")
    check(p.returncode == 0 and json.loads(p.stdout)["dry_run"] is True, "dry run JSON line")
    check(os.path.isfile(os.path.join(dd, "steps.json")) and not os.path.exists(os.path.join(dd, "codetracer_analysis.json"))
          and not os.path.exists(os.path.join(dd, "tree.md")), "dry run writes steps.json, no profile, no tree")

    # Errors.
    # the LLM analyzers need an endpoint (their runs are tested in test_analyze_llm.py)
    noenv = {k: v for k, v in os.environ.items() if not k.startswith(("CODETRACER_API", "OPENAI_"))}
    noenv["XDG_CONFIG_HOME"] = os.path.join(tmp, "no-config")
    p = subprocess.run([BIN, "analyze", CALC, "--analyzer", "llm"], capture_output=True, text=True,
                       timeout=300, env=noenv)
    check(p.returncode == 2 and "needs an LLM endpoint" in p.stderr, "--analyzer llm without an endpoint")
    p = run("analyze", CALC, "--analyzer", "bogus")
    check(p.returncode == 2 and "unknown analyzer" in p.stderr, "unknown analyzer: usage error")
    p = run("analyze", CALC, "-p", "bogus", "--output-dir", out)
    check(p.returncode == 2, "unknown profile: usage error")
    p = run("analyze", CALC, "--traj-id", "../x", "--output-dir", out)
    check(p.returncode == 2, "--traj-id with a slash is refused")
    bad = os.path.join(tmp, "bad")
    os.mkdir(bad)
    with open(os.path.join(bad, "x.traj.json"), "w") as f:
        f.write(open(CALC).read()[:700])
    p = run("analyze", os.path.join(bad, "x.traj.json"), "--output-dir", os.path.join(tmp, "bout"))
    check(p.returncode in (0, 3) and "Traceback" not in p.stderr and p.returncode < 128,
          "truncated input: an error or a warning, never a crash (rc %d)" % p.returncode)
    p = run("analyze", os.path.join(tmp, "missing.json"))
    check(p.returncode == 3, "missing input -> exit 3")

    # run: Step 1/4 .. 4/4, and the labels are reported (the reference's bug).
    rd2 = os.path.join(tmp, "rundir2")
    os.mkdir(rd2)
    shutil.copy(CALC, rd2)
    p = run("run", os.path.join(rd2, "calc.traj.json"), "-o", os.path.join(tmp, "labels.json"), "-p", "tracebench")
    check(p.returncode == 0, "run exits 0 (%s)" % p.stderr)
    for k in range(1, 5):
        check("Step %d/4" % k in p.stdout, "run prints Step %d/4" % k)
    check("Step 3 [unuseful]" in p.stdout, "run reports the unuseful step 3")
    table = {l.split()[0]: l.split()[1] for l in p.stdout.splitlines()[-3:]}
    check(table == {"incorrect": str(len(inc)), "unuseful": str(len(unu)), "correct": str(7 - len(inc) - len(unu))},
          "run ends with the label table: %s" % table)
    check(json.load(open(os.path.join(tmp, "labels.json"))) == json.load(open(os.path.join(rd2, "codetracer_labels.json"))),
          "run -o writes the same tracebench file")
    p = run("run", CALC, "--replay")
    check(p.returncode == 2 and "not available yet" in p.stderr, "run --replay: not available yet")

    # codetracer-batch is the same program.
    bb = os.path.join(os.path.dirname(BIN), "codetracer-batch")
    p = subprocess.run([bb, "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "--manifest" in p.stdout, "codetracer-batch --help")

if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
