#!/usr/bin/env python3
"""Archives are read in place: .tar, .tar.gz, .tar.zst and .zip, each created by this test at
run time (tarfile / zipfile; the `zstd` command for .tar.zst) from the hand-written fixtures in
tests/fixtures/discovery/. Checks discover, PATH#K and ARCHIVE!/MEMBER addressing, damaged and
hostile archives, and that nothing is extracted anywhere (cwd, HOME, TMPDIR, the archive's
folder).

Checks whose needs are missing (a loader, a tool) are skipped, each one named; when every
check is skipped the test exits 77 (ctest: skipped).
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, FIX, READY, SRC, case, eq, finish, has, skipped, start  # noqa: E402,F401




def run(*args, cwd=None, env=None, timeout=120):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([BIN, *args], capture_output=True, cwd=cwd, env=e, timeout=timeout)
    if p.returncode < 0 or p.returncode in (134, 139):
        raise AssertionError(f"codetracer {' '.join(args)} died: status {p.returncode}\n{p.stderr.decode(errors='replace')[-2000:]}")
    return p.returncode, p.stdout.decode("utf-8", errors="replace"), p.stderr.decode("utf-8", errors="replace")


# Members: job/task-a/task-a.traj.json (3 steps), job/task-b/task-b.traj.json (2 steps), a README.
MEMBERS = [("job/README.txt", os.path.join(FIX, "job", "README.txt")),
           ("job/task-a/task-a.traj.json", os.path.join(FIX, "job", "task-a", "task-a.traj.json")),
           ("job/task-b/task-b.traj.json", os.path.join(FIX, "job", "task-b", "task-b.traj.json"))]


def make_tar(path, mode):
    with tarfile.open(path, mode) as t:
        for name, src in MEMBERS:
            t.add(src, arcname=name)


def make_zip(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, src in MEMBERS:
            z.write(src, name)


def listing(d):
    out = []
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(root, n), d))
    return sorted(out)


def main():
    if not start("test_archives"):
        return 1
    if shutil.which("zstd"):
        READY.add("zstd")
    else:
        print("test_archives: the `zstd` command is missing: .tar.zst checks are SKIPPED")
    tmp = tempfile.mkdtemp(prefix="ct-archives-")
    try:
        body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish("test_archives")


def body(tmp):
    arch = os.path.join(tmp, "archives")
    os.makedirs(arch)
    kinds = {}
    kinds["tar"] = os.path.join(arch, "run.tar")
    make_tar(kinds["tar"], "w")
    kinds["tar.gz"] = os.path.join(arch, "run.tar.gz")
    make_tar(kinds["tar.gz"], "w:gz")
    kinds["zip"] = os.path.join(arch, "run.zip")
    make_zip(kinds["zip"])
    if "zstd" in READY:
        kinds["tar.zst"] = os.path.join(arch, "run.tar.zst")
        subprocess.run(["zstd", "-q", "-f", kinds["tar"], "-o", kinds["tar.zst"]], check=True)
    else:
        skipped.append(".tar.zst (the `zstd` command is not installed)")
    # A clean working directory, HOME and TMPDIR: nothing may appear in them.
    cwd = os.path.join(tmp, "cwd")
    home = os.path.join(tmp, "home")
    tdir = os.path.join(tmp, "tmpdir")
    for d in (cwd, home, tdir):
        os.makedirs(d)
    env = {"HOME": home, "TMPDIR": tdir}
    arch_before = listing(arch)

    for kind, path in sorted(kinds.items()):
        @case(f"{kind}: discover finds both trajectories inside, addressed ARCHIVE!/MEMBER", needs=["mini-swe-agent"])
        def _():
            rc, out, err = run("discover", "--json", path, cwd=cwd, env=env)
            eq(rc, 0, f"exit ({err})")
            rows = [json.loads(l) for l in out.splitlines()]
            eq([(r["id"], r["format"], r["step_count"]) for r in rows],
               [(path + "!/job/task-a/task-a.traj.json", "mini-swe-agent", 3),
                (path + "!/job/task-b/task-b.traj.json", "mini-swe-agent", 2)], "rows")

        @case(f"{kind}: inspect ARCHIVE#2 and ARCHIVE!/MEMBER", needs=["mini-swe-agent"])
        def _():
            rc, out, err = run("inspect", "--json", path + "#2", cwd=cwd, env=env)
            eq(rc, 0, f"exit #2 ({err})")
            o = json.loads(out)
            eq(o["step_count"], 2, "#2 is task-b")
            has(o["task"], "the tests fail", "#2 task")
            member = path + "!/job/task-a/task-a.traj.json"
            rc, out, err = run("inspect", "--json", "-s", "2", member, cwd=cwd, env=env)
            eq(rc, 0, f"exit member ({err})")
            o = json.loads(out)
            eq(o["id"], member, "id")
            eq([s["action"] for s in o["steps"]], ["sed -i 's/a - b/a + b/' calc.py"], "step 2 of task-a")
            rc, out, err = run("inspect", "--json", path + "!/job/task-b", cwd=cwd, env=env)
            eq(rc, 0, f"exit member dir ({err})")
            eq(json.loads(out)["step_count"], 2, "member dir task-b")
            rc, out, err = run("inspect", path + "!/job/nope.traj.json", cwd=cwd, env=env)
            eq(rc, 3, "exit for a missing member")
            has(err, "no such file or directory in the archive", "stderr")

    @case("nothing was extracted: cwd, HOME, TMPDIR and the archives' folder are unchanged")
    def _():
        eq(listing(cwd), [], "cwd")
        eq(listing(home), [], "HOME")
        eq(listing(tdir), [], "TMPDIR")
        eq(listing(arch), arch_before, "archive folder")

    # Damaged: a .tar.gz cut in half.
    cut = os.path.join(tmp, "cut.tar.gz")
    with open(kinds["tar.gz"], "rb") as f:
        data = f.read()
    with open(cut, "wb") as f:
        f.write(data[: len(data) // 2])

    @case("a truncated .tar.gz is a clear error, not a crash")
    def _():
        rc, out, err = run("discover", cut)
        eq(rc, 3, "exit")
        has(err, "cut.tar.gz", "stderr names the archive")
        has(err, "archive", "stderr says what is wrong")

    # Hostile member names: ../ and absolute paths must neither escape nor be written.
    evil = os.path.join(tmp, "evil.tar")
    with tarfile.open(evil, "w") as t:
        src = os.path.join(FIX, "job", "task-a", "task-a.traj.json")
        with open(src, "rb") as f:
            payload = f.read()
        for name in ("../escaped.traj.json", "/abs/escaped.traj.json", "ok/inside.traj.json"):
            ti = tarfile.TarInfo(name)
            ti.size = len(payload)
            t.addfile(ti, io.BytesIO(payload))
        link = tarfile.TarInfo("ok/link.traj.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        t.addfile(link)

    @case("members named ../x or /x are never written and never escape", needs=["mini-swe-agent"])
    def _():
        before = listing(tmp)
        rc, out, err = run("discover", "--json", evil, cwd=cwd, env=env)
        eq(rc, 0, f"exit ({err})")
        ids = sorted(json.loads(l)["id"] for l in out.splitlines())
        for i in ids:
            if ".." in i:
                raise AssertionError(f"a '..' member was used: {i}")
        has(" ".join(ids), evil + "!/ok/inside.traj.json", "the safe member is read")
        eq(listing(tmp), before, "no file appeared anywhere under the test dir")
        if os.path.exists(os.path.join(os.path.dirname(tmp), "escaped.traj.json")):
            raise AssertionError("escaped.traj.json was written outside")

    # Not an archive although named like one: handled as a plain (unrecognised) file.
    fake = os.path.join(tmp, "fake.tar.gz")
    with open(fake, "w") as f:
        f.write("this is not gzip\n")

    @case("a file named .tar.gz that is not an archive is reported, not a crash")
    def _():
        rc, out, err = run("discover", fake)
        eq(rc, 3, "exit")
        has(err, "fake.tar.gz", "stderr")


if __name__ == "__main__":
    sys.exit(main())
