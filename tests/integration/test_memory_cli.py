"""The `feedback` and `memory` verbs on real files: feedback by content hash, export in the
CodeTraceBench manifest shape, insight curation, default database location, refusal of garbage
and newer databases, and four concurrent writer processes that must not lose an update.

Expected values are written by hand from tests/fixtures/memory/ (pager-1: 5 steps, pager-2: 3)."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading

BIN = os.environ.get("CT_BIN") or os.path.join(os.environ["CT_BUILD_DIR"], "bin", "codetracer")
SRC = os.environ.get("CT_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
FIX = os.path.join(SRC, "tests", "fixtures", "memory")
PAGER1 = os.path.join(FIX, "run", "a", "pager-1.traj.json")
RUN = os.path.join(FIX, "run")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(args, env, expect=0):
    p = subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=60)
    check(p.returncode == expect,
          "%s -> exit %d, expected %d; stderr: %s" % (" ".join(args), p.returncode, expect, p.stderr))
    return p


def main():
    tmp = tempfile.mkdtemp(prefix="ct-memcli-")
    try:
        env = dict(os.environ)
        db = os.path.join(tmp, "mem", "codetracer.db")
        env["CODETRACER_DB"] = db

        # --- feedback ---------------------------------------------------------------
        p = run(["feedback", PAGER1, "--step", "2", "--label", "unuseful", "--note", "same ls as step 1"], env)
        check("step 2 marked unuseful" in p.stdout, "feedback confirms: " + p.stdout)
        check(os.path.exists(db), "CODETRACER_DB is where the database goes")
        p = run(["feedback", PAGER1, "--step", "9", "--label", "correct"], env, expect=2)
        check("has 5 steps" in p.stderr, "step out of range named: " + p.stderr)
        p = run(["feedback", PAGER1, "--step", "1", "--label", "wrong"], env, expect=2)
        check("correct, incorrect or unuseful" in p.stderr, "bad label explained: " + p.stderr)
        p = run(["feedback", RUN, "--step", "1", "--label", "correct"], env, expect=2)
        check("holds 2 trajectories" in p.stderr and "#K" in p.stderr, "PATH#K hint: " + p.stderr)
        p = run(["feedback", RUN + "#2", "--step", "2", "--label", "incorrect", "--json"], env)
        fb = json.loads(p.stdout)
        check(fb["step_id"] == 2 and fb["label"] == "incorrect" and len(fb["traj_hash"]) == 64,
              "feedback --json: %r" % fb)
        check(fb["traj_id"].endswith("pager-2.traj.json"), "PATH#2 is pager-2: %r" % fb["traj_id"])

        # The same content elsewhere is the same trajectory: the verdict replaces the old one.
        copy = os.path.join(tmp, "renamed.traj.json")
        shutil.copy(PAGER1, copy)
        run(["feedback", copy, "--step", "2", "--label", "incorrect"], env)
        run(["feedback", copy, "--step", "4", "--label", "correct"], env)

        # --- export -------------------------------------------------------------------
        p = run(["memory", "export"], env)
        rows = [json.loads(line) for line in p.stdout.splitlines()]
        check(len(rows) == 2, "two trajectories exported, got %d" % len(rows))
        by_steps = {r["step_count"]: r for r in rows}
        r1 = by_steps.get(5, {})
        check(r1.get("incorrect_step_ids") == [2], "pager-1 incorrect [2]: %r" % r1)
        check(r1.get("unuseful_step_ids") == [], "pager-1 unuseful []: %r" % r1)
        check(r1.get("confirmed_correct_step_ids") == [4], "pager-1 confirmed [4]")
        check(r1.get("agent") == "mini-SWE-agent" and r1.get("model") == "test/model-1", "agent/model")
        check(r1.get("incorrect_stages") == [{"stage_id": 1, "incorrect_step_ids": [2],
                                              "unuseful_step_ids": [], "reasoning": "user feedback"}],
              "incorrect_stages: %r" % r1.get("incorrect_stages"))
        check(r1.get("reasons", {}).get("2", {}).get("label") == "incorrect", "reasons[2]")
        r2 = by_steps.get(3, {})
        check(r2.get("incorrect_step_ids") == [2] and r2.get("numbering") == "step_id", "pager-2 row: %r" % r2)
        out = os.path.join(tmp, "gold.jsonl")
        p = run(["memory", "export", "-o", out], env)
        check(open(out).read().count("\n") == 2, "export -o writes the rows")
        run(["memory", "export", "-o", os.path.join(tmp, "no", "such", "dir", "x.jsonl")], env, expect=4)

        # --- insights -----------------------------------------------------------------
        p = run(["memory", "add", "Agent reruns the failing test without editing code.", "--kind",
                 "failure_pattern", "--agent", "mini-SWE-agent", "--json"], env)
        a = json.loads(p.stdout)
        check(a["merged"] is False, "first add is new")
        p = run(["memory", "add", "agent RERUNS the failing test, without editing code", "--kind",
                 "failure_pattern", "--agent", "mini-SWE-agent", "--json"], env)
        check(json.loads(p.stdout) == {"id": a["id"], "merged": True}, "near-duplicate merged: " + p.stdout)
        run(["memory", "add", "Read the traceback before grepping.", "--kind", "strategy", "--json"], env)
        run(["memory", "add", "x", "--kind", "nonsense"], env, expect=2)
        p = run(["memory", "search", "why rerun failing test", "--agent", "mini-SWE-agent", "--json"], env)
        res = json.loads(p.stdout)
        check(len(res) >= 1 and res[0]["id"] == a["id"] and res[0]["use_count"] == 1,
              "search ranks the rerun entry first: %r" % res)
        p = run(["memory", "search", "rerun failing test", "--agent", "OpenHands", "--json"], env)
        check(json.loads(p.stdout) == [], "agent scope filters: " + p.stdout)
        p = run(["memory", "list", "--kind", "strategy", "--json"], env)
        lst = json.loads(p.stdout)
        check(len(lst) == 1 and lst[0]["agent"] == "", "list --kind strategy: %r" % lst)
        p = run(["memory", "show", str(a["id"]), "--json"], env)
        check(json.loads(p.stdout)["hits"] == 2, "show hits 2")
        p = run(["memory", "stats", "--json"], env)
        st = json.loads(p.stdout)
        check(st["schema_version"] == 2 and st["feedback"] == 3 and st["trajectories"] == 2 and
              st["insights"] == 2 and st["insights_by_kind"]["strategy"] == 1, "stats: %r" % st)
        run(["memory", "forget", str(a["id"])], env)
        run(["memory", "forget", str(a["id"])], env, expect=3)
        run(["memory", "show", "abc"], env, expect=2)
        p = run(["memory", "forget", "--feedback", fb["traj_hash"], "--json"], env)
        check(json.loads(p.stdout) == {"removed": 1}, "forget --feedback: " + p.stdout)
        run(["memory", "frobnicate"], env, expect=2)

        # --- location and bad databases --------------------------------------------------
        env2 = dict(os.environ)
        env2.pop("CODETRACER_DB", None)
        env2["XDG_DATA_HOME"] = os.path.join(tmp, "xdg")
        run(["memory", "stats"], env2)
        check(os.path.exists(os.path.join(tmp, "xdg", "codetracer", "codetracer.db")), "XDG default path")
        other = os.path.join(tmp, "other.db")
        run(["memory", "stats", "--db", other], env)
        check(os.path.exists(other), "--db wins over CODETRACER_DB")
        garbage = os.path.join(tmp, "garbage.db")
        with open(garbage, "wb") as f:
            f.write(bytes((i * 37) & 0xFF for i in range(8192)))
        p = run(["memory", "list", "--db", garbage], env, expect=5)
        check("not a usable SQLite database" in p.stderr, "garbage db message: " + p.stderr)
        p = run(["feedback", PAGER1, "--step", "1", "--label", "correct", "--db", garbage], env, expect=4)
        check("not a usable SQLite database" in p.stderr, "feedback on garbage db: " + p.stderr)
        newer = os.path.join(tmp, "newer.db")
        c = sqlite3.connect(newer)
        c.execute("PRAGMA application_id=1129599555")
        c.execute("PRAGMA user_version=7")
        c.execute("CREATE TABLE t(x)")
        c.commit()
        c.close()
        p = run(["memory", "stats", "--db", newer], env, expect=5)
        check("schema version 7, newer than this codetracer understands" in p.stderr, "newer: " + p.stderr)
        check(open(garbage, "rb").read() == bytes((i * 37) & 0xFF for i in range(8192)), "garbage untouched")

        # --- four writer processes at once ----------------------------------------------
        conc = os.path.join(tmp, "conc.db")
        errors = []
        per_writer = 12

        def writer(w):
            for i in range(per_writer):
                for args in (["memory", "add", "Agent forgets to run the tests after editing.",
                              "--kind", "pitfall", "--source", "w%d" % w],
                             ["memory", "add", "writer %d entry %d about subject%d%d" % (w, i, w, i),
                              "--kind", "strategy"]):
                    p = subprocess.run([BIN] + args + ["--db", conc], capture_output=True, text=True,
                                       timeout=60)
                    if p.returncode != 0:
                        errors.append(p.stderr)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(errors == [], "concurrent writers all succeeded: %r" % errors[:3])
        p = run(["memory", "list", "--kind", "pitfall", "--json", "--db", conc], env)
        pit = json.loads(p.stdout)
        check(len(pit) == 1 and pit[0]["hits"] == 4 * per_writer, "no lost merge: %r" % pit)
        p = run(["memory", "stats", "--json", "--db", conc], env)
        check(json.loads(p.stdout)["insights_by_kind"]["strategy"] == 4 * per_writer, "no lost insert")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("memory CLI: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
