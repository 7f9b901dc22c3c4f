#!/usr/bin/env python3
"""Discovery through the real binary: child preference, skip lists, depth limit, a real symlink
loop, content sniffing of bare files, OpenHands session layouts, bounded work, and that discovery
writes nothing.

Trees are built in a temporary directory from the hand-written fixtures in
tests/fixtures/discovery/. Expected roots are written by hand from the trees built here.
Checks whose needs are missing (a loader, a tool) are skipped, each one named; when every
check is skipped the test exits 77 (ctest: skipped).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, FIX, READY, SRC, case, eq, finish, has, skipped, start  # noqa: E402,F401

MINI_A = os.path.join(FIX, "job", "task-a", "task-a.traj.json")
MINI_B = os.path.join(FIX, "job", "task-b", "task-b.traj.json")
SWE = os.path.join(FIX, "swe", "demo__calc-1.traj")
OH = os.path.join(FIX, "openhands", "events.json")



def run(*args, cwd=None, timeout=120):
    p = subprocess.run([BIN, *args], capture_output=True, cwd=cwd, timeout=timeout)
    if p.returncode < 0 or p.returncode in (134, 139):
        raise AssertionError(f"codetracer {' '.join(args)} died: status {p.returncode}\n{p.stderr.decode(errors='replace')[-2000:]}")
    return p.returncode, p.stdout.decode("utf-8", errors="replace"), p.stderr.decode("utf-8", errors="replace")


def put(path, src=None, text=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if src:
        shutil.copyfile(src, path)
    else:
        with open(path, "w") as f:
            f.write(text)


def found(path, *extra):
    """discover --json → list of (id, format, step_count)."""
    rc, out, err = run("discover", "--json", path, *extra)
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    return rc, [(r["id"], r["format"], r.get("step_count")) for r in rows], err


def snapshot(root):
    snap = {}
    for d, dirs, files in os.walk(root, followlinks=False):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            snap[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return snap


def main():
    if not start("test_discover"):
        return 1
    tmp = tempfile.mkdtemp(prefix="ct-discover-")
    try:
        body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish("test_discover")


def body(tmp):
    # A job dir: two trials, plus copies hidden in dirs that must be skipped.
    job = os.path.join(tmp, "job")
    put(os.path.join(job, "2025-01-01__00-00-00", "task-a", "task-a.traj.json"), MINI_A)
    put(os.path.join(job, "2025-01-01__00-00-00", "task-b", "task-b.traj.json"), MINI_B)
    put(os.path.join(job, "2025-01-01__00-00-00", "preds.json"), text='{"demo__calc-1": {"model_patch": ""}}\n')
    for skip in (".git/objects", "node_modules/pkg", "__pycache__", ".venv/lib", ".cache/x"):
        put(os.path.join(job, skip, "copy.traj.json"), MINI_A)

    @case("a job dir yields each trial; VCS, node_modules and cache dirs are skipped", needs=["mini-swe-agent"])
    def _():
        rc, rows, err = found(job)
        eq(rc, 0, f"exit ({err})")
        eq(rows, [(os.path.join(job, "2025-01-01__00-00-00", "task-a", "task-a.traj.json"), "mini-swe-agent", 3),
                  (os.path.join(job, "2025-01-01__00-00-00", "task-b", "task-b.traj.json"), "mini-swe-agent", 2)], "roots")

    # A terminal-bench trial holding mini-SWE-agent's trajectory plus the harness's other files:
    # it is one trajectory, not split into agent-logs/, sessions/, ...
    trial = os.path.join(tmp, "tbrun", "calc-task", "calc-task.1-of-1.2025-01-01__00-00-00")
    put(os.path.join(trial, "agent-logs", "mini.traj.json"), MINI_A)
    put(os.path.join(trial, "results.json"), text=json.dumps({"id": "x", "trial_name": "calc-task.1-of-1", "task_id": "calc-task",
                                                              "instruction": "fix add()", "is_resolved": True, "failure_mode": "unset"}))
    put(os.path.join(trial, "commands.txt"), text="['asciinema rec --stdin /logs/agent.cast', 'Enter']\n")
    put(os.path.join(trial, "panes", "post-agent.txt"), text="$ \n")
    put(os.path.join(trial, "sessions", "agent.log"), text="version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 1234\n")
    trial2 = os.path.join(tmp, "tbrun", "other-task", "other-task.1-of-1.2025-01-01__00-00-00")
    put(os.path.join(trial2, "agent-logs", "mini.traj.json"), MINI_B)
    put(os.path.join(trial2, "results.json"), text=json.dumps({"task_id": "other-task", "is_resolved": False}))
    put(os.path.join(tmp, "tbrun", "results.json"), text=json.dumps({"results": [{"task_id": "calc-task", "is_resolved": True}], "accuracy": 0.5}))
    put(os.path.join(tmp, "tbrun", "run_metadata.json"), text=json.dumps({"run_id": "2025-01-01__00-00-00", "agent_name": "mini-swe-agent"}))

    @case("a run dir yields each trial, and a trial is not split into its sub-parts", needs=["mini-swe-agent"])
    def _():
        rc, rows, err = found(os.path.join(tmp, "tbrun"))
        eq(rc, 0, f"exit ({err})")
        eq(sorted(r[0] for r in rows), sorted([trial, trial2]), "roots are the two trial dirs")
        eq(sorted(r[2] for r in rows), [2, 3], "step counts")
        rc, rows, err = found(trial)
        eq([r[0] for r in rows], [trial], "the trial dir alone is one root")

    # OpenHands file store: the run is reported, never run/sessions (the reference tool's bug).
    ohrun = os.path.join(tmp, "ohrun")
    sid = "0123456789abcdef0123456789abcdef"
    with open(OH) as f:
        events = json.load(f)
    for ev in events:
        put(os.path.join(ohrun, "sessions", "sessions", sid, "events", f"{ev['id']}.json"), text=json.dumps(ev))
    put(os.path.join(ohrun, "sessions", "sessions", sid, "metadata.json"), text=json.dumps({"conversation_id": sid, "title": "calc", "llm_model": "demo/model-a"}))

    @case("an OpenHands sessions/sessions/<sid>/events layout is reported at the run, not run/sessions", needs=["openhands"])
    def _():
        rc, rows, err = found(ohrun)
        eq(rc, 0, f"exit ({err})")
        eq(len(rows), 1, f"one trajectory in {rows}")
        eq(rows[0][1], "openhands", "format")
        eq(rows[0][2], 3, "steps: run, edit, finish")
        if rows[0][0].rstrip("/").endswith("/sessions"):
            raise AssertionError(f"reported {rows[0][0]}")

    # Bare files of every kind side by side, sniffed by content (names say little).
    mixed = os.path.join(tmp, "mixed")
    put(os.path.join(mixed, "a.traj.json"), MINI_A)
    put(os.path.join(mixed, "run-output.json"), MINI_B)  # not *.traj.json: found by content
    put(os.path.join(mixed, "b.traj"), SWE)
    put(os.path.join(mixed, "export.json"), OH)
    put(os.path.join(mixed, "notes.json"), text='{"hello": "world"}\n')
    put(os.path.join(mixed, "notes.md"), text="# not a trajectory\n")

    @case("bare files are recognised by content", needs=["mini-swe-agent", "swe-agent", "openhands"])
    def _():
        rc, rows, err = found(mixed)
        eq(rc, 0, f"exit ({err})")
        eq(rows, [(os.path.join(mixed, "a.traj.json"), "mini-swe-agent", 3),
                  (os.path.join(mixed, "b.traj"), "swe-agent", 2),
                  (os.path.join(mixed, "export.json"), "openhands", 3),
                  (os.path.join(mixed, "run-output.json"), "mini-swe-agent", 2)], "roots")

    # Depth limit: 12 levels below the start (the default limit is 10).
    deep = os.path.join(tmp, "deep")
    put(os.path.join(deep, *[f"l{i}" for i in range(1, 13)], "x.traj.json"), MINI_A)

    @case("the depth limit is honoured and --max-depth raises it", needs=["mini-swe-agent"])
    def _():
        rc, rows, err = found(deep)
        eq(rc, 3, "exit: nothing within 10 levels")
        eq(rows, [], "roots")
        rc, rows, err = found(deep, "--max-depth", "12")
        eq(rc, 0, f"exit with --max-depth 12 ({err})")
        eq([r[2] for r in rows], [3], "found with --max-depth 12")
        rc, rows, err = found(os.path.join(deep, "l1", "l2"))
        eq([r[2] for r in rows], [3], "found from 10 levels above")
        rc, _, err = run("discover", deep, "--max-depth", "0")
        eq(rc, 2, "--max-depth 0 is a usage error")

    # A real symlink loop: loop/a/back -> .. and loop/a/self -> . ; one trajectory in loop/a.
    loop = os.path.join(tmp, "loop")
    put(os.path.join(loop, "a", "x.traj.json"), MINI_A)
    os.symlink("..", os.path.join(loop, "a", "back"))
    os.symlink(".", os.path.join(loop, "a", "self"))
    os.symlink(os.path.join(loop, "a"), os.path.join(loop, "alias"))

    @case("a symlink loop neither hangs nor duplicates", needs=["mini-swe-agent"])
    def _():
        t0 = time.monotonic()
        rc, rows, err = found(loop)
        dt = time.monotonic() - t0
        eq(rc, 0, f"exit ({err})")
        eq(len(rows), 1, f"exactly one root in {rows}")
        eq(rows[0][2], 3, "its steps")
        if dt > 30:
            raise AssertionError(f"took {dt:.1f}s")

    # Bounded work on a wide tree with nothing in it.
    wide = os.path.join(tmp, "wide")
    for i in range(300):
        d = os.path.join(wide, f"d{i:03d}")
        os.makedirs(d)
        for k in range(10):
            with open(os.path.join(d, f"f{k}.txt"), "w") as f:
                f.write("plain text, not a trajectory\n")

    @case("a wide tree of 3000 non-trajectory files is searched quickly and reported as unrecognised")
    def _():
        t0 = time.monotonic()
        rc, out, err = run("discover", wide)
        dt = time.monotonic() - t0
        eq(rc, 3, "exit")
        has(err, "not a trajectory I recognise (tried: ", "stderr")
        if dt > 60:
            raise AssertionError(f"took {dt:.1f}s")

    # The entry budget: a trajectory in the first folder, then 300 folders of noise.
    budget = os.path.join(tmp, "budget")
    put(os.path.join(budget, "a000", "x.traj.json"), MINI_A)
    for i in range(1, 300):
        os.makedirs(os.path.join(budget, f"d{i:03d}"))

    @case("--max-entries stops the walk with a warning, listing what was found so far", needs=["mini-swe-agent"])
    def _():
        rc, rows, err = found(budget)
        eq(rc, 0, f"exit without a limit ({err})")
        eq(len(rows), 1, "one root without a limit")
        rc, rows, err = found(budget, "--max-entries", "20")
        eq(rc, 6, "exit when the limit is reached")
        has(err, "stopped after examining 20 entries", "warning")
        eq([r[0] for r in rows], [os.path.join(budget, "a000", "x.traj.json")], "what was found before the limit")
        rc, _, err = run("discover", budget, "--max-entries", "0")
        eq(rc, 2, "--max-entries 0 is a usage error")

    @case("an empty directory is said to be empty")
    def _():
        e = os.path.join(tmp, "empty")
        os.makedirs(e)
        rc, out, err = run("discover", e)
        eq(rc, 3, "exit")
        has(err, "empty", "stderr")

    @case("discovery and loading write nothing into the searched tree", needs=["mini-swe-agent"])
    def _():
        before = snapshot(tmp)
        for p in (job, os.path.join(tmp, "tbrun"), mixed, loop):
            run("discover", p)
            run("inspect", "--json", p)
        after = snapshot(tmp)
        eq(sorted(set(after) - set(before)), [], "new files")
        changed = [p for p in before if before[p] != after.get(p)]
        eq(changed, [], "changed files")


if __name__ == "__main__":
    sys.exit(main())
