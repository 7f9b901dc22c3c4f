"""The memory database wired into `analyze`, `run` and `batch` (docs/memory.md, issue 4):
the analysis cache (hit, --no-cache, config change, content change), feedback overriding the
analyzer in --json and in the written profiles, rule patterns learnt once per trajectory, a
garbage or unwritable database that only warns, and a parallel batch whose workers all write.

Every command runs with CODETRACER_DB (or --db) and HOME inside a temporary folder: no test
touches the real ~/.local/share. Expectations are written by hand from
tests/fixtures/memory_wiring/calc-1.traj.json: 6 steps (1 `cat calc.py`, 2 the same `cat` again
with nothing changed in between, 3 grep, 4 sed edit, 5 pytest, 6 submit), agent mini-SWE-agent,
model test/wiring-model. Served-from-cache is proven without timing: a marker written into the
cached row shows up in the output, and --no-cache makes it disappear."""
import filecmp
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

BIN = os.environ.get("CT_BIN") or os.path.join(os.environ["CT_BUILD_DIR"], "bin", "codetracer")
SRC = os.environ.get("CT_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
CALC = os.path.abspath(os.path.join(SRC, "tests", "fixtures", "memory_wiring", "calc-1.traj.json"))
PROFILE_FILES = ["codetracer_labels.json", "codetracer_analysis.json", "codetracer_rl_feedback.json"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(args, env, expect=0, cwd=None):
    p = subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=120, cwd=cwd)
    check(p.returncode == expect,
          "%s -> exit %d, expected %d; stderr: %s" % (" ".join(args), p.returncode, expect, p.stderr))
    return p


def analyze_json(path, out, env, extra=()):
    """One `analyze --json -p all` line, or {} when it did not print one."""
    p = run(["analyze", path, "--json", "-p", "all", "--output-dir", out] + list(extra), env)
    lines = p.stdout.splitlines()
    check(len(lines) == 1, "one JSON line from analyze %s: %r" % (path, p.stdout[:300]))
    return (json.loads(lines[0]) if lines else {}), p


def label(line, step):
    labels = line.get("labels") or []
    return labels[step - 1] if len(labels) >= step else {}


def without(line, *keys):
    return {k: v for k, v in line.items() if k not in keys}


def same_tree(a, b):
    """Names of files that differ between two output folders (recursively), [] when identical."""
    diffs = []
    dc = filecmp.dircmp(a, b)
    diffs += dc.left_only + dc.right_only
    _, mism, errs = filecmp.cmpfiles(a, b, dc.common_files, shallow=False)
    diffs += mism + errs
    for sub in dc.common_dirs:
        diffs += [sub + "/" + d for d in same_tree(os.path.join(a, sub), os.path.join(b, sub))]
    return diffs


def stats(env, db=None):
    args = ["memory", "stats", "--json"] + (["--db", db] if db else [])
    p = run(args, env)
    try:
        return json.loads(p.stdout)
    except ValueError:
        check(False, "memory stats --json is JSON: %r" % p.stdout)
        return {}


def insights(env):
    p = run(["memory", "list", "--json"], env)
    try:
        v = json.loads(p.stdout)
    except ValueError:
        check(False, "memory list --json is JSON: %r" % p.stdout)
        return []
    return v if isinstance(v, list) else v.get("insights", [])


def variant(src, dst, task=None, obs5=None):
    """A copy of the fixture with another task text and/or another step 5 output."""
    with open(src) as f:
        doc = json.load(f)
    if task is not None:
        doc["messages"][1]["content"] = "<pr_description>\n%s\n</pr_description>" % task
    if obs5 is not None:
        # messages: 0 system, 1 task, then (assistant, user) per step: step 5's output is [11].
        doc["messages"][11]["content"] = "<returncode>0</returncode>\n<output>\n%s\n</output>" % obs5
    with open(dst, "w") as f:
        json.dump(doc, f, indent=1)
    return dst


def main():
    tmp = tempfile.mkdtemp(prefix="ct-memwire-")
    try:
        env = dict(os.environ)
        env.pop("XDG_DATA_HOME", None)
        env["HOME"] = os.path.join(tmp, "home")
        os.makedirs(env["HOME"])
        os.makedirs(os.path.join(tmp, "out"))
        db = os.path.join(tmp, "mem", "codetracer.db")
        env["CODETRACER_DB"] = db
        out = lambda name: os.path.join(tmp, "out", name)

        # --- first analysis: computed, cached, patterns learnt --------------------------------
        first, p = analyze_json(CALC, out("a"), env)
        check(first.get("cached") is False, "first analysis is not cached: %r" % first.get("cached"))
        check(os.path.exists(db), "the database is created at CODETRACER_DB")
        l2 = label(first, 2)
        check(l2.get("label") == "unuseful" and l2.get("rule") == "repeat-command",
              "step 2 (the same cat again) is unuseful by repeat-command: %r" % l2)
        check(all(l.get("from_feedback") is False for l in first.get("labels", [])),
              "no label comes from feedback yet")
        check(p.stderr == "", "no warning with a good database: %r" % p.stderr)
        st = stats(env)
        check(st.get("analyses") == 1 and st.get("trajectories") == 1,
              "one analysis and one trajectory stored: %r" % st)
        pats = [i for i in insights(env) if i.get("kind") == "failure_pattern"]
        rep = [i for i in pats if "rule 'repeat-command'" in i.get("text", "")]
        check(len(rep) == 1, "a failure_pattern for repeat-command was learnt: %r" % pats)
        check(rep and rep[0].get("agent") == "mini-SWE-agent" and rep[0].get("model") == "test/wiring-model",
              "the pattern is scoped to the trajectory's agent and model: %r" % rep)
        check(rep and rep[0].get("hits") == 1, "seen once so far: %r" % rep)
        # Every label the analyzer set through a rule became a pattern (and nothing else did).
        fired = {(l["label"], l["rule"]) for l in first.get("labels", []) if l.get("label") != "correct"}
        learnt = {i["text"] for i in pats}
        for lab, rule in fired:
            check("mini-SWE-agent: steps labelled %s by rule '%s'" % (lab, rule) in learnt,
                  "pattern for (%s, %s) learnt: %r" % (lab, rule, learnt))
        check(len(pats) == len(fired), "one pattern per (label, rule): %r vs %r" % (pats, fired))

        # --- second analysis: served from the cache, same output -------------------------------
        second, _ = analyze_json(CALC, out("b"), env)
        check(second.get("cached") is True, "second analysis is served from the cache: %r" % second.get("cached"))
        check(without(first, "cached", "output_dir") == without(second, "cached", "output_dir"),
              "--json is identical from the cache (but for cached/output_dir)")
        d = same_tree(out("a"), out("b"))
        check(d == [], "output files identical from the cache; differ: %r" % d)
        for f in PROFILE_FILES + ["steps.json", "tree.md", "stage_ranges.json", "task.md"]:
            check(os.path.exists(os.path.join(out("b"), "calc-1", f)), "%s written from the cache" % f)
        p = run(["analyze", CALC, "--output-dir", out("summary")], env)
        check("from the memory cache" in p.stdout, "the summary says the result came from the cache: " + p.stdout)
        st = stats(env)
        check(st.get("analyses") == 1, "a cache hit stores nothing new: %r" % st)
        rep = [i for i in insights(env) if "rule 'repeat-command'" in i.get("text", "")]
        check(rep and rep[0].get("hits") == 1, "a cache hit learns nothing again: %r" % rep)

        # --- prove the cache is read, and that --no-cache recomputes ---------------------------
        con = sqlite3.connect(db)
        rows = con.execute("SELECT rowid, result FROM analyses").fetchall()
        check(len(rows) == 1, "one cached row: %d" % len(rows))
        res = json.loads(rows[0][1])
        res["labels"][1]["reasoning"] = "MARKER-FROM-CACHE"
        con.execute("UPDATE analyses SET result=? WHERE rowid=?", (json.dumps(res), rows[0][0]))
        con.commit()
        con.close()
        hit, _ = analyze_json(CALC, out("c"), env)
        check(label(hit, 2).get("reasoning") == "MARKER-FROM-CACHE",
              "the output comes from the cached row: %r" % label(hit, 2))
        with open(os.path.join(out("c"), "calc-1", "codetracer_rl_feedback.json")) as f:
            check("MARKER-FROM-CACHE" in f.read(), "the profile files come from the cached row too")
        fresh, p = analyze_json(CALC, out("d"), env, ["--no-cache"])
        check(fresh.get("cached") is False, "--no-cache is not cached: %r" % fresh.get("cached"))
        check(label(fresh, 2).get("reasoning") == l2.get("reasoning"),
              "--no-cache recomputes (marker gone): %r" % label(fresh, 2))
        check(same_tree(out("a"), out("d")) == [], "--no-cache writes the same files as the first run")
        again, _ = analyze_json(CALC, out("e"), env)
        check(again.get("cached") is True and label(again, 2).get("reasoning") == l2.get("reasoning"),
              "the --no-cache result replaced the cached one: %r" % label(again, 2))
        check(stats(env).get("analyses") == 1, "--no-cache replaced, did not add, the cached row")
        # A cached row that went bad is a memory failure like any other: one warning, a fresh
        # analysis (same files), and the row is replaced.
        con = sqlite3.connect(db)
        con.execute("UPDATE analyses SET result='{not json'")
        con.commit()
        con.close()
        broken, p = analyze_json(CALC, out("d2"), env)
        check(broken.get("cached") is False, "a broken cached row is not served: %r" % broken.get("cached"))
        warn = [l for l in p.stderr.splitlines() if "warning" in l]
        check(len(warn) == 1 and "not valid JSON" in warn[0] and "goes on" in warn[0],
              "one warning for the broken row: %r" % p.stderr)
        check(same_tree(out("a"), out("d2")) == [], "a broken row gives the same files as the first run")
        mended, p = analyze_json(CALC, out("d3"), env)
        check(mended.get("cached") is True and p.stderr == "", "the broken row was replaced: %r" % p.stderr)
        rep = [i for i in insights(env) if "rule 'repeat-command'" in i.get("text", "")]
        check(rep and rep[0].get("hits") == 1, "--no-cache of a known result learns nothing again: %r" % rep)

        # --- key: profiles, config, content, path ---------------------------------------------
        det, _ = analyze_json(CALC, out("f"), env, ["-p", "detailed"])
        check(det.get("cached") is True,
              "the heuristic's analysis does not depend on the profiles: one entry: %r" % det.get("cached"))
        cfg = os.path.join(tmp, "cfg.yaml")
        with open(cfg, "w") as f:
            f.write("heuristic:\n  repeat:\n    min_repeats: 3\n")
        c1, _ = analyze_json(CALC, out("g"), env, ["-c", cfg])
        check(c1.get("cached") is False, "a changed heuristic setting misses the cache: %r" % c1.get("cached"))
        c2, _ = analyze_json(CALC, out("h"), env, ["-c", cfg])
        check(c2.get("cached") is True, "the same config again hits: %r" % c2.get("cached"))
        check(without(c1, "cached", "output_dir") == without(c2, "cached", "output_dir"),
              "same output with the config from the cache")
        moved = os.path.join(tmp, "elsewhere", "renamed.traj.json")
        os.makedirs(os.path.dirname(moved))
        shutil.copy(CALC, moved)
        mv, _ = analyze_json(moved, out("i"), env)
        check(mv.get("cached") is True, "the same content at another path hits (content hash): %r" % mv.get("cached"))
        check(mv.get("trajectory", {}).get("id") == moved, "but carries its own id: %r" % mv.get("trajectory"))
        changed = variant(CALC, os.path.join(tmp, "elsewhere", "changed.traj.json"), obs5="2 passed")
        ch, _ = analyze_json(changed, out("j"), env)
        check(ch.get("cached") is False, "changed content misses the cache: %r" % ch.get("cached"))
        rep = [i for i in insights(env) if "rule 'repeat-command'" in i.get("text", "")]
        check(rep and rep[0].get("hits") == 2,
              "a second trajectory with the same pattern merges into it (hits 2): %r" % rep)

        # --- feedback overrides the analyzer -----------------------------------------------------
        run(["feedback", CALC, "--step", "4", "--label", "incorrect", "--note", "should edit the test"], env)
        run(["feedback", CALC, "--step", "2", "--label", "correct"], env)
        fb, p = analyze_json(CALC, out("k"), env)
        check(fb.get("cached") is True, "feedback does not invalidate the cache: %r" % fb.get("cached"))
        s4, s2 = label(fb, 4), label(fb, 2)
        check(s4.get("label") == "incorrect" and s4.get("from_feedback") is True and s4.get("rule") == "feedback",
              "step 4 incorrect from feedback: %r" % s4)
        check("should edit the test" in (s4.get("reasoning") or ""), "the note is the reasoning: %r" % s4)
        check(s2.get("label") == "correct" and s2.get("from_feedback") is True, "step 2 correct from feedback: %r" % s2)
        others = [l for l in fb.get("labels", []) if l.get("step_id") not in (2, 4)]
        check(all(l.get("from_feedback") is False for l in others), "only steps 2 and 4 come from feedback")
        with open(os.path.join(out("k"), "calc-1", "codetracer_labels.json")) as f:
            tb = json.load(f)
        inc = sorted(i for st_ in tb for i in st_["incorrect_step_ids"])
        unu = sorted(i for st_ in tb for i in st_["unuseful_step_ids"])
        check(4 in inc and 2 not in unu, "tracebench profile carries the feedback: inc %r unu %r" % (inc, unu))
        with open(os.path.join(out("k"), "calc-1", "codetracer_rl_feedback.json")) as f:
            rl = {e["step_id"]: e for e in json.load(f)}
        check(rl.get(4, {}).get("verdict") == "incorrect" and rl[4].get("reward_signal", 0) < 0,
              "rl_feedback profile carries the feedback: %r" % rl.get(4))
        with open(os.path.join(out("k"), "calc-1", "codetracer_analysis.json")) as f:
            det_doc = json.load(f)
        det_inc = sorted(i for st_ in det_doc["stage_labels"] for i in st_["incorrect_step_ids"])
        check(4 in det_inc, "detailed profile carries the feedback: %r" % det_inc)
        # The files validate: batch --resume re-validates them and skips the item.
        man = os.path.join(tmp, "one.jsonl")
        with open(man, "w") as f:
            f.write(json.dumps({"traj_id": "calc-1", "path": CALC}) + "\n")
        p = run(["batch", "--manifest", man, "--output", out("k"), "--resume"], env)
        check("[SKIP] calc-1" in p.stdout, "profiles with feedback validate (resume skips them): " + p.stdout)
        p = run(["analyze", CALC, "--output-dir", out("k2")], env)
        check("2 labels set by your feedback" in p.stdout and "step 4    incorrect [feedback]" in p.stdout,
              "the summary shows the feedback: " + p.stdout)
        p = run(["run", CALC, "--output-dir", out("k3")], env)
        check("Step 4 [incorrect]: should edit the test" in p.stdout, "run reports the feedback: " + p.stdout)
        check("from the memory cache" in p.stdout, "run says it was served from the cache: " + p.stdout)
        nc, _ = analyze_json(CALC, out("k4"), env, ["--no-cache"])
        check(label(nc, 4).get("from_feedback") is True, "feedback applies to a fresh analysis too: %r" % label(nc, 4))
        run(["feedback", CALC, "--step", "4", "--clear"], env)
        run(["feedback", CALC, "--step", "2", "--clear"], env)
        back, _ = analyze_json(CALC, out("l"), env)
        check(label(back, 4) == label(first, 4) and label(back, 2) == label(first, 2),
              "clearing the feedback restores the analyzer's labels: %r" % label(back, 4))
        check(same_tree(out("a"), out("l")) == [], "and the same files as the first run")

        # --- run: cache and --no-cache -----------------------------------------------------------
        p = run(["run", changed, "--output-dir", out("m")], env)
        check("Step 3/4: analyze (heuristic, from the memory cache)" in p.stdout, "run hits the cache: " + p.stdout)
        p = run(["run", changed, "--output-dir", out("m"), "--no-cache"], env)
        check("Step 3/4: analyze (heuristic):" in p.stdout, "run --no-cache recomputes: " + p.stdout)

        # --- --db wins over CODETRACER_DB ----------------------------------------------------------
        other = os.path.join(tmp, "other", "x.db")
        o1, _ = analyze_json(CALC, out("n"), env, ["--db", other])
        check(o1.get("cached") is False and os.path.exists(other), "--db opens another database: %r" % o1.get("cached"))
        check(stats(env, other).get("analyses") == 1, "the analysis went into --db")

        # --- a database that cannot be used only warns ---------------------------------------------
        garbage = os.path.join(tmp, "garbage.db")
        with open(garbage, "wb") as f:
            f.write(b"this is not a database\n" * 50)
        with open(garbage, "rb") as f:
            before = f.read()
        bad_env = dict(env, CODETRACER_DB=garbage)
        g, p = analyze_json(CALC, out("o"), bad_env)
        check(g.get("cached") is False and label(g, 2).get("label") == "unuseful",
              "a garbage database still gives results: %r" % g.get("cached"))
        warn = [l for l in p.stderr.splitlines() if "warning" in l]
        check(len(warn) == 1 and "garbage.db" in warn[0], "one warning naming the database: %r" % p.stderr)
        with open(garbage, "rb") as f:
            check(f.read() == before, "the garbage database is left untouched")
        check(same_tree(out("a"), out("o")) == [], "same files without memory")
        under_file = os.path.join(CALC, "sub", "x.db")  # a path below a regular file
        u, p = analyze_json(CALC, out("p"), env, ["--db", under_file])
        check(label(u, 2).get("label") == "unuseful", "an unwritable location still gives results")
        check(len([l for l in p.stderr.splitlines() if "warning" in l]) == 1 and "x.db" in p.stderr,
              "one warning for the unwritable location: %r" % p.stderr)
        many = os.path.join(tmp, "many")
        os.makedirs(many)
        shutil.copy(CALC, os.path.join(many, "one.traj.json"))
        variant(CALC, os.path.join(many, "two.traj.json"), task="Another task.")
        p = run(["analyze", many, "--output-dir", out("q")], bad_env)
        check(p.stderr.count("warning") == 1, "one warning for two trajectories: %r" % p.stderr)
        check(p.stdout.count("unuseful [repeat-command]") + p.stdout.count("unuseful  [repeat-command]") == 2,
              "both analysed: " + p.stdout)
        p = run(["run", CALC, "--output-dir", out("r")], bad_env)
        check(p.stderr.count("warning") == 1 and "Step 4/4" in p.stdout, "run warns once and goes on: %r" % p.stderr)
        check(not os.path.exists(os.path.join(env["HOME"], ".local")), "nothing was written under HOME")

        # --- batch: parallel workers, cache, feedback ----------------------------------------------
        bdir = os.path.join(tmp, "batch")
        os.makedirs(bdir)
        bdb = os.path.join(tmp, "batch.db")
        benv = dict(env, CODETRACER_DB=bdb)
        rows = []
        for i in range(6):
            variant(CALC, os.path.join(bdir, "t%d.traj.json" % i), task="Task number %d." % i)
            rows.append({"traj_id": "t%d" % i, "path": "t%d.traj.json" % i})
        man = os.path.join(bdir, "m.jsonl")
        with open(man, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in rows))
        p = run(["batch", "--manifest", man, "--output", out("b1"), "--parallel", "3"], benv)
        check(p.stdout.count("[OK]") == 6 and "from cache" not in p.stdout, "6 items computed: " + p.stdout)
        st = stats(benv)
        check(st.get("analyses") == 6 and st.get("trajectories") == 6,
              "every worker's analysis was stored (no lost write): %r" % st)
        rep = [i for i in insights(benv) if "rule 'repeat-command'" in i.get("text", "")]
        check(rep and rep[0].get("hits") == 6,
              "6 concurrent merges into one pattern, none lost: %r" % rep)
        run(["feedback", os.path.join(bdir, "t3.traj.json"), "--step", "5", "--label", "unuseful"], benv)
        p = run(["batch", "--manifest", man, "--output", out("b2"), "--parallel", "3"], benv)
        check(p.stdout.count("): from cache") == 6 and "6 ok (6 from cache)" in p.stdout,
              "the second batch is served from the cache: " + p.stdout)
        d = same_tree(out("b1"), out("b2"))
        check(sorted(x for x in d if not x.startswith("_logs")) ==
              ["t3/codetracer_analysis.json", "t3/codetracer_labels.json", "t3/codetracer_rl_feedback.json"],
              "from the cache only t3's profiles differ (its feedback): %r" % d)
        with open(os.path.join(out("b2"), "t3", "codetracer_rl_feedback.json")) as f:
            rl = {e["step_id"]: e for e in json.load(f)}
        check(rl.get(5, {}).get("verdict") == "unuseful", "batch files carry the feedback: %r" % rl.get(5))
        with open(os.path.join(out("b2"), "_logs", "t3.log")) as f:
            log = f.read()
        check("ok (from cache)" in log and "1 label(s) set by user feedback" in log, "the item log says so: " + log)
        p = run(["batch", "--manifest", man, "--output", out("b3"), "--no-cache"], benv)
        check(p.stdout.count("[OK]") == 6 and "from cache" not in p.stdout, "batch --no-cache recomputes: " + p.stdout)
        d = [x for x in same_tree(out("b2"), out("b3")) if not x.startswith("_logs")]
        check(d == [], "and writes the same files (feedback included): %r" % d)
        p = run(["batch", "--manifest", man, "--output", out("b4"), "--parallel", "2"],
                dict(env, CODETRACER_DB=garbage))
        check(p.stdout.count("[OK]") == 6, "batch with a garbage database still analyses: " + p.stdout)
        check(p.stderr.count("warning") == 1 and "garbage.db" in p.stderr,
              "batch warns once on stderr: %r" % p.stderr)

        # --- documented in --help ------------------------------------------------------------------
        for verb in ("analyze", "run", "batch"):
            h = run([verb, "--help"], env).stdout
            check("--db FILE" in h and "--no-cache" in h and "CODETRACER_DB" in h, "%s --help documents memory" % verb)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
