#!/usr/bin/env python3
"""The `codetracer` verbs discover / inspect / formats, --help, --version and exit codes.

Drives the real binary ($CT_BIN) on the hand-written fixtures in tests/fixtures/discovery/ and on
variants of them this test writes to a temporary directory. Every expected value below is written
from the fixture files, not from the program's output.

Checks whose needs are missing (a loader, a tool) are skipped, each one named; when every
check is skipped the test exits 77 (ctest: skipped).
"""
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, FIX, READY, SRC, case, eq, finish, has, skipped, start  # noqa: E402,F401

MINI_A = os.path.join(FIX, "job", "task-a", "task-a.traj.json")
LOADER_NAMES = ["codetracebench", "step-jsonl", "harbor-atif", "terminus", "mini-swe-agent", "openhands",
                "swe-agent", "claude-code", "codex", "one-shot", "mini-swe-agent-log", "terminal-bench-trial"]



def run(*args, env=None, cwd=None, timeout=120):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    p = subprocess.run([BIN, *args], capture_output=True, env=e, cwd=cwd, timeout=timeout)
    if p.returncode < 0 or p.returncode in (134, 139):
        raise AssertionError(f"codetracer {' '.join(args)} died: status {p.returncode}\n{p.stderr.decode(errors='replace')[-2000:]}")
    return p.returncode, p.stdout.decode("utf-8", errors="replace"), p.stderr.decode("utf-8", errors="replace")


def one_json(out):
    lines = [l for l in out.splitlines() if l.strip()]
    eq(len(lines), 1, "JSON line count")
    return json.loads(lines[0])


def pty_run(args, env):
    """Run with stdout on a pseudo-terminal; returns (status, output)."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(env)
    p = subprocess.Popen([BIN, *args], stdout=slave, stderr=subprocess.DEVNULL, env=e)
    os.close(slave)
    chunks = []
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=30), b"".join(chunks).decode("utf-8", errors="replace")


def main():
    if not start("test_cli"):
        return 1
    tmp = tempfile.mkdtemp(prefix="ct-cli-")
    try:
        body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish("test_cli")


def body(tmp):
    @case("--version prints the project version")
    def _():
        rc, out, _ = run("--version")
        eq(rc, 0, "exit")
        eq(out.strip(), "codetracer 0.1.0", "stdout")

    @case("--help lists the verbs and exit codes; no arguments is a usage error")
    def _():
        rc, out, _ = run("--help")
        eq(rc, 0, "exit")
        for v in ("discover", "inspect", "formats", "exit status"):
            has(out, v, "--help")
        rc, out, err = run()
        eq(rc, 2, "exit without arguments")
        has(err, "usage: codetracer", "stderr without arguments")
        rc, _, err = run("frobnicate")
        eq(rc, 2, "exit for an unknown verb")
        has(err, "unknown command 'frobnicate'", "stderr")

    @case("every verb has a truthful --help")
    def _():
        for verb, opts in (("discover", ["--json", "--max-depth", "--max-entries", "exit status"]),
                           ("inspect", ["-s", "--from", "--to", "--json", "--full", "--format", "NO_COLOR", "PATH#K", "exit status"]),
                           ("formats", ["--json"])):
            rc, out, _ = run(verb, "--help")
            eq(rc, 0, f"{verb} --help exit")
            has(out, f"usage: codetracer {verb}", f"{verb} --help")
            for o in opts:
                has(out, o, f"{verb} --help")
            rc, _, err = run(verb, "--no-such-option")
            eq(rc, 2, f"{verb} with an unknown option")
            has(err, "unknown option", f"{verb} stderr")

    @case("formats lists every loader, as text and as JSON")
    def _():
        rc, out, _ = run("formats")
        eq(rc, 0, "exit")
        for n in LOADER_NAMES:
            has(out, n, "formats")
        rc, out, _ = run("formats", "--json")
        eq(rc, 0, "exit --json")
        rows = [json.loads(l) for l in out.splitlines()]
        eq(sorted(r["name"] for r in rows), sorted(LOADER_NAMES), "names")
        for r in rows:
            eq(sorted(r), ["agent", "detection", "name", "summary"], f"keys of {r['name']}")

    @case("a missing path is an input error naming it")
    def _():
        rc, _, err = run("inspect", os.path.join(tmp, "nope.traj.json"))
        eq(rc, 3, "exit")
        has(err, "nope.traj.json", "stderr")
        has(err, "no such file", "stderr")
        rc, _, err = run("discover", os.path.join(tmp, "nope"))
        eq(rc, 3, "discover exit")

    @case("inspect: usage errors for bad selections")
    def _():
        for args, msg in ((["-s", "0"], "step number >= 1"), (["-s", "abc"], "step number >= 1"), (["-s"], "step number"),
                          (["--from", "3", "--to", "2"], "--from 3 is after --to 2"),
                          (["-s", "1", "--from", "1"], "either -s N or --from/--to")):
            rc, _, err = run("inspect", MINI_A, *args)
            eq(rc, 2, f"exit for {args}")
            has(err, msg, f"stderr for {args}")
        rc, _, err = run("inspect", MINI_A, MINI_A)
        eq(rc, 2, "two paths")
        rc, _, err = run("inspect", "--format", "no-such-format", MINI_A)
        eq(rc, 2, "unknown --format")
        has(err, "unknown format 'no-such-format'", "stderr")

    @case("inspect: readable steps of a mini-SWE-agent trajectory", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("inspect", MINI_A)
        eq(rc, 0, "exit")
        has(out, MINI_A, "header names the trajectory")
        has(out, "mini-swe-agent", "header format")
        has(out, "3 steps", "header step count")
        has(out, "add() subtracts instead of adding", "task line")
        for k, action in ((1, "ls -la"), (2, "sed -i 's/a - b/a + b/' calc.py"), (3, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")):
            has(out, f"[{k}]", "step id")
            has(out, action, "action")
        has(out, "exit 0", "exit code shown")
        has(out, "Let me see which files are here.", "thought shown")
        has(out, "calc.py", "observation shown")
        if "\x1b[" in out:
            raise AssertionError("colour escape codes in output to a pipe")

    @case("inspect --json: one object with the model's fields", needs=["mini-swe-agent"])
    def _():
        rc, out, _ = run("inspect", "--json", MINI_A)
        eq(rc, 0, "exit")
        o = one_json(out)
        eq(o["format"], "mini-swe-agent", "format")
        eq(o["step_count"], 3, "step_count")
        eq([s["step_id"] for s in o["steps"]], [1, 2, 3], "step ids")
        has(o["steps"][0]["action"], "ls -la", "step 1 action")
        eq(o["steps"][0]["exit_code"], 0, "step 1 exit code")
        has(o["steps"][0]["observation"], "calc.py", "step 1 observation")
        has(o["task"], "add() subtracts instead of adding", "task")
        has(o["final_patch"] or "", "+    return a + b", "final patch")
        for key in ("id", "path", "agent", "model", "outcome", "metadata", "warnings"):
            if key not in o:
                raise AssertionError(f"missing key {key}")

    @case("inspect -s / --from / --to select steps", needs=["mini-swe-agent"])
    def _():
        for args, ids in ((["-s", "2"], [2]), (["--step", "3"], [3]), (["--from", "2", "--to", "3"], [2, 3]),
                          (["--from", "2"], [2, 3]), (["--to", "1"], [1]), (["--from", "1", "--to", "99"], [1, 2, 3])):
            rc, out, _ = run("inspect", "--json", MINI_A, *args)
            eq(rc, 0, f"exit for {args}")
            o = one_json(out)
            eq([s["step_id"] for s in o["steps"]], ids, f"steps for {args}")
            eq(o["step_count"], 3, "step_count stays the total")
        rc, out, _ = run("inspect", MINI_A, "-s", "2")
        eq(rc, 0, "text -s 2")
        has(out, "[2]", "text -s 2")
        if "[1]" in out or "[3]" in out:
            raise AssertionError(f"-s 2 printed other steps: {out!r}")

    @case("inspect: a step out of range is an error with the range", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("inspect", MINI_A, "-s", "9")
        eq(rc, 3, "exit")
        has(err, "step 9 not found (range 1-3)", "stderr")
        rc, out, err = run("inspect", MINI_A, "--from", "4")
        eq(rc, 3, "exit --from 4")
        has(err, "step 4 not found (range 1-3)", "stderr")

    empty = os.path.join(tmp, "empty-run.traj.json")
    with open(MINI_A) as f:
        d = json.load(f)
    d["messages"] = d["messages"][:2]
    d["info"]["exit_status"] = "LimitsExceeded"
    with open(empty, "w") as f:
        json.dump(d, f)

    @case("inspect: a trajectory with no steps prints a clear line", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("inspect", empty)
        eq(rc, 0, "exit")
        has(out, "0 steps", "header")
        has(out, "no steps", "explanation line")
        rc, out, err = run("inspect", empty, "-s", "1")
        eq(rc, 3, "exit -s 1")
        has(err, "step 1 not found (the trajectory has no steps)", "stderr")
        rc, out, _ = run("inspect", "--json", empty)
        eq(rc, 0, "exit --json")
        o = one_json(out)
        eq(o["step_count"], 0, "step_count")
        eq(o["steps"], [], "steps")

    long_obs = os.path.join(tmp, "long.traj.json")
    with open(MINI_A) as f:
        d = json.load(f)
    d["messages"][3]["content"] = "<returncode>0</returncode>\n<output>\n" + "".join(f"row {i:03d}\n" for i in range(1, 51)) + "</output>"
    with open(long_obs, "w") as f:
        json.dump(d, f)

    @case("inspect: long observations are shortened on screen, whole with --full and in JSON", needs=["mini-swe-agent"])
    def _():
        rc, out, _ = run("inspect", long_obs, "-s", "1")
        eq(rc, 0, "exit")
        has(out, "row 001", "head of the observation")
        has(out, "more lines", "the cut is said")
        if "row 040" in out:
            raise AssertionError("observation not shortened")
        rc, out, _ = run("inspect", long_obs, "-s", "1", "--full")
        has(out, "row 040", "--full")
        has(out, "row 050", "--full")
        rc, out, _ = run("inspect", "--json", long_obs, "-s", "1")
        has(one_json(out)["steps"][0]["observation"], "row 050", "JSON keeps everything")

    wide = os.path.join(tmp, "wide-chars.traj.json")
    with open(MINI_A) as f:
        d = json.load(f)
    d["messages"][3]["content"] = "\u00e9" * 400  # 800 bytes of two-byte characters, one line
    with open(wide, "w") as f:
        json.dump(d, f)

    @case("inspect: shortening never cuts a UTF-8 character in half", needs=["mini-swe-agent"])
    def _():
        p = subprocess.run([BIN, "inspect", wide, "-s", "1"], capture_output=True, timeout=60)
        eq(p.returncode, 0, "exit")
        try:
            text = p.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError(f"output is not valid UTF-8: {e}")
        has(text, "\u00e9\u00e9", "observation shown")
        has(text, "more bytes", "the cut is said")

    @case("inspect: colour only on a terminal, and never with NO_COLOR", needs=["mini-swe-agent"])
    def _():
        rc, out = pty_run(["inspect", MINI_A], {})
        eq(rc, 0, "exit on a tty")
        has(out, "\x1b[", "colour on a tty")
        rc, out = pty_run(["inspect", MINI_A], {"NO_COLOR": "1"})
        eq(rc, 0, "exit with NO_COLOR")
        if "\x1b[" in out:
            raise AssertionError("colour despite NO_COLOR")
        has(out, "ls -la", "output with NO_COLOR")

    job = os.path.join(FIX, "job")

    @case("discover: a job dir lists each trajectory with format and step count", needs=["mini-swe-agent"])
    def _():
        rc, out, _ = run("discover", job)
        eq(rc, 0, "exit")
        lines = out.splitlines()
        eq(len(lines), 3, f"lines in {out!r}")
        eq(lines[0].split("\t")[:3], [os.path.join(job, "task-a", "task-a.traj.json"), "mini-swe-agent", "3 steps"], "row 1")
        eq(lines[1].split("\t")[:3], [os.path.join(job, "task-b", "task-b.traj.json"), "mini-swe-agent", "2 steps"], "row 2")
        eq(lines[2], "2 trajectories found", "summary")
        rc, out, _ = run("discover", "--json", job)
        eq(rc, 0, "exit --json")
        rows = [json.loads(l) for l in out.splitlines()]
        eq([r["step_count"] for r in rows], [3, 2], "step counts")
        eq([r["format"] for r in rows], ["mini-swe-agent"] * 2, "formats")
        for r in rows:
            if "steps" in r or not isinstance(r["warnings"], list):
                raise AssertionError(f"discover row shape: {sorted(r)}")

    @case("PATH#K picks the K-th trajectory; out of range is an error", needs=["mini-swe-agent"])
    def _():
        rc, out, _ = run("inspect", "--json", job + "#2")
        eq(rc, 0, "exit #2")
        o = one_json(out)
        eq(o["step_count"], 2, "#2 is task-b (2 steps)")
        has(o["task"], "the tests fail", "#2 task")
        rc, out, _ = run("inspect", "--json", job + "#1")
        eq(one_json(out)["step_count"], 3, "#1 is task-a")
        rc, _, err = run("inspect", job + "#3")
        eq(rc, 3, "exit #3")
        has(err, "#3 selects nothing: 2 trajectories here", "stderr #3")
        rc, _, err = run("inspect", job + "#0")
        eq(rc, 3, "exit #0")
        has(err, "selects nothing", "stderr #0")

    @case("--format forces a loader", needs=["mini-swe-agent", "swe-agent"])
    def _():
        rc, out, _ = run("inspect", "--json", "--format", "mini-swe-agent", MINI_A)
        eq(rc, 0, "forced right loader")
        eq(one_json(out)["format"], "mini-swe-agent", "format")
        rc, _, err = run("inspect", "--format", "swe-agent", MINI_A)
        if rc == 0:
            raise AssertionError("the SWE-agent loader accepted a mini-SWE-agent file")
        eq(rc, 3, "forced wrong loader")


if __name__ == "__main__":
    sys.exit(main())
