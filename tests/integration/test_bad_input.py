#!/usr/bin/env python3
"""Bad input never wins: the real binary on damaged files this test writes to a temp dir.

Each case is a variant of the hand-written fixtures in tests/fixtures/discovery/ (mini-SWE-agent
v1 `*.traj.json`, SWE-agent `.traj`, OpenHands event list): truncated JSON, a file of no known
format, embedded \\u0000, invalid UTF-8 bytes, CRLF line ends, a 100 MB observation, an empty
file, an empty dir, an unreadable file, a Git LFS pointer, killed runs, absurd nesting, binary
garbage. Expected: a clear error (exit 3, naming the file and, for JSON, the byte offset) or a
load as far as the data goes with a warning; never a crash, an abort or a hang.

Checks whose needs are missing (a loader, a tool) are skipped, each one named; when every
check is skipped the test exits 77 (ctest: skipped).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, FIX, READY, SRC, case, eq, finish, has, skipped, start  # noqa: E402,F401

MINI_A = os.path.join(FIX, "job", "task-a", "task-a.traj.json")
SWE = os.path.join(FIX, "swe", "demo__calc-1.traj")
OH = os.path.join(FIX, "openhands", "events.json")



def run(*args, timeout=300):
    p = subprocess.run([BIN, *args], capture_output=True, timeout=timeout)
    if p.returncode < 0 or p.returncode in (134, 139):
        raise AssertionError(f"codetracer {' '.join(args)} died: status {p.returncode}\n{p.stderr.decode(errors='replace')[-3000:]}")
    if b"AddressSanitizer" in p.stderr or b"runtime error:" in p.stderr:
        raise AssertionError(f"sanitizer report:\n{p.stderr.decode(errors='replace')[-3000:]}")
    return p.returncode, p.stdout, p.stderr.decode("utf-8", errors="replace")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def load_json(stdout):
    lines = [l for l in stdout.decode("utf-8").splitlines() if l.strip()]
    eq(len(lines), 1, "JSON lines")
    return json.loads(lines[0])


def main():
    if not start("test_bad_input"):
        return 1
    tmp = tempfile.mkdtemp(prefix="ct-bad-")
    try:
        body(tmp)
    finally:
        for root, dirs, files in os.walk(tmp):
            for n in dirs + files:
                try:
                    os.chmod(os.path.join(root, n), 0o755)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
    return finish("test_bad_input")


def body(tmp):
    with open(MINI_A, "rb") as f:
        mini = f.read()
    mini_obj = json.loads(mini)

    # -- truncated JSON: the file cut inside the messages list (a run killed mid-write) -------
    cut_at = mini.index(b'"role": "assistant", "content": "THOUGHT: Fix')  # inside message 5
    trunc = write(os.path.join(tmp, "truncated", "run.traj.json"), mini[:cut_at])

    @case("truncated JSON: an error naming the file and the byte offset", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("inspect", trunc)
        eq(rc, 3, f"exit ({err})")
        has(err, trunc, "names the file")
        has(err, "(byte ", "gives the byte offset")
        has(err.lower(), "truncated", "says it is truncated")
        rc, out, err = run("discover", trunc)
        eq(rc, 3, "discover exit")
        has(out.decode() + err, trunc, "discover names the file")
        has(out.decode() + err, "(byte ", "discover gives the byte offset")

    # -- no known format ----------------------------------------------------------------------
    unknown = write(os.path.join(tmp, "unknown", "data.json"), json.dumps({"rows": [1, 2, 3], "name": "not a trajectory"}))
    text = write(os.path.join(tmp, "unknown", "notes.txt"), "just some notes\n")

    @case("a file of no known format: 'not a trajectory I recognise' with what was tried")
    def _():
        for verb, p in (("inspect", unknown), ("inspect", text), ("discover", unknown)):
            rc, out, err = run(verb, p)
            eq(rc, 3, "exit")
            has(err, p, "names the file")
            has(err, "not a trajectory I recognise (tried: ", "message")
            has(err, "mini-swe-agent", "lists the formats tried")
            has(err, "openhands", "lists the formats tried")

    # -- embedded \u0000 in an observation and a thought ---------------------------------------
    nul = json.loads(mini)
    nul["messages"][3]["content"] = "<returncode>0</returncode>\n<output>\nbefore\u0000after\n</output>"
    nul["messages"][2]["content"] = "THOUGHT: odd\u0000byte.\n\n```bash\nls -la\n```"
    nul_p = write(os.path.join(tmp, "nul", "run.traj.json"), json.dumps(nul))

    @case("embedded \\u0000: loads, and no NUL byte reaches the output", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("inspect", "--json", nul_p)
        eq(rc, 0, f"exit ({err})")
        o = load_json(out)
        eq(o["step_count"], 3, "steps")
        obs = o["steps"][0]["observation"]
        has(obs, "before", "observation kept")
        has(obs, "after", "observation kept after the NUL")
        if "\u0000" in obs:
            raise AssertionError("NUL passed through into the observation")
        rc, out, err = run("inspect", nul_p)
        eq(rc, 0, "text exit")
        if b"\x00" in out:
            raise AssertionError("NUL byte in text output")

    # -- invalid UTF-8 bytes inside strings ----------------------------------------------------
    bad_utf8 = mini.replace(b"total 8", b"total \xff\xfe\xc3 8")
    utf_p = write(os.path.join(tmp, "utf8", "run.traj.json"), bad_utf8)

    swe_bad = write(os.path.join(tmp, "utf8", "run.traj"), open(SWE, "rb").read().replace(b"2 lines total", b"2 lines \xe2\x82 total"))

    @case("invalid UTF-8 bytes: loaded with the bytes replaced and a warning", needs=["mini-swe-agent", "swe-agent"])
    def _():
        rc, out, err = run("inspect", "--json", utf_p)
        eq(rc, 0, f"exit ({err})")
        o = load_json(out)  # decoding as UTF-8 must work
        eq(o["step_count"], 3, "steps")
        has(o["steps"][0]["observation"], "total ??? 8", "the three bad bytes became '?'")
        has(" ".join(o["warnings"]), "3 bytes that are not valid UTF-8", "warning")
        has(" ".join(o["warnings"]), utf_p, "the warning names the file")
        rc, out, err = run("discover", "--json", utf_p)
        eq(rc, 0, f"discover exit ({err})")
        has(" ".join(load_json(out)["warnings"]), "not valid UTF-8", "discover shows the warning")
        rc, out, err = run("inspect", "--json", swe_bad)
        eq(rc, 0, f"swe exit ({err})")
        o = load_json(out)
        eq([s["action"] for s in o["steps"]], ["open calc.py", "submit"], "swe actions")
        has(o["steps"][0]["observation"], "2 lines ?? total", "the two bad bytes became '?'")

    rawnul = write(os.path.join(tmp, "rawnul", "run.traj.json"), mini.replace(b"ls -la", b"ls \x00-la"))

    @case("a raw NUL byte (not JSON): an error naming the file and the byte offset", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("inspect", rawnul)
        eq(rc, 3, f"exit ({err})")
        has(err, rawnul, "names the file")
        has(err, "(byte ", "gives the byte offset")

    # -- CRLF ----------------------------------------------------------------------------------
    crlf_p = write(os.path.join(tmp, "crlf", "run.traj.json"), mini.replace(b"\n", b"\r\n"))
    swe_crlf = write(os.path.join(tmp, "crlf", "run.traj"), open(SWE, "rb").read().replace(b"\n", b"\r\n"))

    @case("CRLF line ends: same steps as LF", needs=["mini-swe-agent", "swe-agent"])
    def _():
        rc, out, err = run("inspect", "--json", crlf_p)
        eq(rc, 0, f"exit ({err})")
        o = load_json(out)
        eq([s["action"] for s in o["steps"]], ["ls -la", "sed -i 's/a - b/a + b/' calc.py",
                                                "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached"], "actions")
        rc, out, err = run("inspect", "--json", swe_crlf)
        eq(rc, 0, f"swe exit ({err})")
        eq([s["action"] for s in load_json(out)["steps"]], ["open calc.py", "submit"], "swe actions")

    # -- a 100 MB observation ------------------------------------------------------------------
    huge_p = os.path.join(tmp, "huge", "run.traj.json")
    big = json.loads(mini)
    line = "0123456789abcdef" * 6 + "\n"  # 97 bytes
    big["messages"][3]["content"] = "<returncode>0</returncode>\n<output>\n" + line * (100 * 1024 * 1024 // len(line)) + "</output>"
    write(huge_p, json.dumps(big))
    del big

    @case("a 100 MB observation: loads, and the screen output stays short", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("discover", "--json", huge_p)
        eq(rc, 0, f"exit ({err})")
        eq(load_json(out)["step_count"], 3, "steps")
        rc, out, err = run("inspect", huge_p, "-s", "1")
        eq(rc, 0, f"inspect exit ({err})")
        if len(out) > 20000:
            raise AssertionError(f"inspect printed {len(out)} bytes for a shortened step")
        has(out.decode(), "more lines", "says the observation was cut")

    # -- empty file, empty dir -----------------------------------------------------------------
    empty_f = write(os.path.join(tmp, "emptyfile", "run.traj.json"), b"")
    empty_d = os.path.join(tmp, "emptydir")
    os.makedirs(empty_d)

    @case("an empty file and an empty directory: clear errors")
    def _():
        rc, out, err = run("inspect", empty_f)
        eq(rc, 3, "exit for an empty file")
        has(err, empty_f, "names the file")
        rc, out, err = run("inspect", empty_d)
        eq(rc, 3, "exit for an empty dir")
        has(err, "empty", "says it is empty")

    # -- unreadable file -----------------------------------------------------------------------
    unread = write(os.path.join(tmp, "unreadable", "run.traj.json"), mini)
    os.chmod(unread, 0)

    if os.geteuid() == 0:
        skipped.append("an unreadable file (running as root: permissions do not apply)")
    else:
        @case("an unreadable file: an I/O error naming it")
        def _():
            rc, out, err = run("inspect", unread)
            eq(rc, 3, "exit")
            has(err, "run.traj.json", "names the file")
            has(err.lower(), "permission denied", "says why")

    # -- Git LFS pointer -----------------------------------------------------------------------
    lfs = write(os.path.join(tmp, "lfs", "run.traj.json"),
                "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 123456\n")

    @case("a Git LFS pointer: said to be one")
    def _():
        for verb in ("inspect", "discover"):
            rc, out, err = run(verb, lfs)
            eq(rc, 3, f"{verb} exit")
            has(err, lfs, f"{verb} names the file")
            has(err, "Git LFS pointer", f"{verb} message")

    # -- killed runs ---------------------------------------------------------------------------
    killed = json.loads(mini)
    killed["messages"] = killed["messages"][:5]  # the last action has no observation
    killed["info"]["exit_status"] = "Timeout"
    killed["info"]["submission"] = ""
    killed_p = write(os.path.join(tmp, "killed", "run.traj.json"), json.dumps(killed))
    with open(OH) as f:
        ev = json.load(f)
    oh_killed = [e for e in ev if e["id"] <= 4]  # the edit action (id 4) never got its observation
    oh_killed_p = write(os.path.join(tmp, "killed", "events.json"), json.dumps(oh_killed))

    @case("a killed mini-SWE-agent run: loaded as far as it goes, with a warning", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("inspect", "--json", killed_p)
        eq(rc, 0, f"exit ({err})")
        o = load_json(out)
        eq(o["step_count"], 2, "steps")
        eq(o["steps"][1]["observation"], None, "the last step has no observation")
        if not o["warnings"]:
            raise AssertionError("no warning for a run that stopped before its last result")

    @case("a killed OpenHands run: loaded as far as it goes", needs=["openhands"])
    def _():
        rc, out, err = run("inspect", "--json", oh_killed_p)
        eq(rc, 0, f"exit ({err})")
        o = load_json(out)
        eq(o["step_count"], 2, "steps: the run and the edit")
        eq(o["steps"][1]["observation"], None, "the edit has no observation")

    # -- absurd nesting, binary garbage ---------------------------------------------------------
    nest = write(os.path.join(tmp, "nest", "run.traj.json"),
                 '{"trajectory_format": "mini-swe-agent-1", "messages": ' + "[" * 200000 + "]" * 200000 + "}")
    garbage = write(os.path.join(tmp, "garbage", "run.traj"), bytes((i * 7919 + 13) % 256 for i in range(65536)))

    @case("200000 nested arrays and binary garbage: errors, not crashes")
    def _():
        for p in (nest, garbage):
            rc, out, err = run("inspect", p)
            eq(rc, 3, f"exit for {p}")
            has(err, p, "names the file")

    @case("a directory of all of the above: the good ones load, the bad ones are listed", needs=["mini-swe-agent"])
    def _():
        rc, out, err = run("discover", os.path.join(tmp))
        if rc not in (0, 6):
            raise AssertionError(f"exit {rc}: {err}")
        text = out.decode()
        has(text, "trajectories found", "summary")
        has(text, "root", "failed roots are counted")


if __name__ == "__main__":
    sys.exit(main())
