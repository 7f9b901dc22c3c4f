"""LSP daemon and the memory database (docs/protocol.md "Memory", docs/memory.md): the analysis
cache shared with `codetracer analyze`, learning from analyses, feedback and memory notes in
hovers, a corrupted database, hovers and symbols on files analysed with codetracer.analyze,
diagnostics remembered for a reopened file, $/progress only after the client accepted the token, and nothing stale after didClose.

Every test points CODETRACER_DB at a temporary path. Expectations come from the hand-written
fixture tests/fixtures/lsp/calc.traj.json (see test_lsp_features.py: step 3 is unuseful by
repeat-command on line 11, step 4 incorrect by outside-patch on line 13)."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from lspclient import Daemon, binary, fixture, main, uri_of  # noqa: E402

CALC = fixture("calc.traj.json")


def by_step(diags):
    return {d["data"]["step_id"]: d for d in diags}


def copy_calc(tmp, name="calc.traj.json"):
    dst = os.path.join(tmp, name)
    shutil.copy(CALC, dst)
    return dst


def logs(d):
    return [m["params"]["message"] for m in d.msgs if m.get("method") == "window/logMessage"]


def wait_log(d, needle, timeout=20):
    return d.wait(lambda m: m.get("method") == "window/logMessage" and needle in m["params"]["message"],
                  timeout, "log containing %r" % needle)["params"]["message"]


def hover(d, uri, line, ch=8):
    r = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": ch}})
    assert "result" in r, r
    return r["result"]


def cli(*args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([binary()] + list(args), capture_output=True, text=True, env=e, timeout=60)


def big_traj(path, n_steps):
    """A mini-swe-agent-1 trajectory with n_steps steps, every fourth one a repeated command."""
    msgs = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "<pr_description>\nfix the adder\n</pr_description>"}]
    out = "x" * 900
    for i in range(n_steps):
        cmd = "cat src/file%d.py" % (i // 4 * 4 if i % 4 == 1 else i)
        msgs.append({"role": "assistant", "content": "THOUGHT: step %d.\n\n```bash\n%s\n```" % (i, cmd)})
        msgs.append({"role": "user", "content": "<returncode>0</returncode>\n<output>\n%s\n</output>" % out})
    doc = {"trajectory_format": "mini-swe-agent-1", "instance_id": "big-1",
           "info": {"exit_status": "Submitted", "submission": ""}, "messages": msgs}
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        f.write('  "trajectory_format": "mini-swe-agent-1",\n  "instance_id": "big-1",\n')
        f.write('  "info": %s,\n  "messages": [\n' % json.dumps(doc["info"]))
        f.write(",\n".join("    " + json.dumps(m) for m in msgs))
        f.write("\n  ]\n}\n")


def test_cache_shared_with_cli_and_memory_note_in_hover():
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "m.db")
        path = copy_calc(tmp)
        r = cli("analyze", path, "--json", "--db", db, "--output-dir", os.path.join(tmp, "out"))
        assert r.returncode == 0, r.stderr
        con = sqlite3.connect(db)
        rows = con.execute("SELECT rowid, result FROM analyses WHERE analyzer LIKE 'heuristic%'").fetchall()
        assert len(rows) == 1, rows
        # Mark the cached analysis so that serving it from the cache is visible: a memory note on
        # step 3's label (what an analyzer that consulted memory would write).
        res = json.loads(rows[0][1])
        labels = res["labels"] if "labels" in res else res["steps"]
        lab3 = [x for x in labels if x.get("step_id") == 3][0]
        lab3["memory_note"] = "seen before: re-reading a file unchanged wastes a step"
        con.execute("UPDATE analyses SET result=? WHERE rowid=?", (json.dumps(res), rows[0][0]))
        con.commit()
        con.close()
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        diags = d.wait_diagnostics(uri)["diagnostics"]
        assert sorted(by_step(diags)) == [3, 4]
        msg = wait_log(d, "from the cache")
        assert "1 trajectory (1 from the cache)" in msg, msg
        h = hover(d, uri, 11)["contents"]["value"]
        assert "**Informed by memory:** seen before: re-reading a file unchanged wastes a step" in h, h
        h4 = hover(d, uri, 13)["contents"]["value"]
        assert "Informed by memory" not in h4 and "From your feedback" not in h4
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_miss_stores_learns_and_next_session_hits():
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "m.db")
        path = copy_calc(tmp)
        # an existing, empty database (the daemon only uses one that exists)
        r = cli("memory", "stats", "--json", env={"CODETRACER_DB": db})
        assert r.returncode == 0 and os.path.exists(db), r.stderr
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        assert sorted(by_step(d.wait_diagnostics(uri)["diagnostics"])) == [3, 4]
        assert "(0 from the cache)" in wait_log(d, "from the cache")
        assert d.stop() == 0
        con = sqlite3.connect(db)
        assert con.execute("SELECT count(*) FROM analyses").fetchone()[0] == 1
        texts = [t for (t,) in con.execute("SELECT text FROM insights WHERE kind='failure_pattern'")]
        con.close()
        # ct_memory_learn_from_analysis: one pattern per rule that labelled steps
        assert any("repeat-command" in t for t in texts) and any("outside-patch" in t for t in texts), texts
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        assert sorted(by_step(d.wait_diagnostics(uri)["diagnostics"])) == [3, 4]
        assert "(1 from the cache)" in wait_log(d, "from the cache")
        # the CLI hits the entry the daemon stored
        r = cli("analyze", path, "--json", "--db", db, "--output-dir", os.path.join(tmp, "out"))
        assert r.returncode == 0 and json.loads(r.stdout.splitlines()[0])["cached"] is True, r.stdout[:300]
        # codetracer.analyze on a copy elsewhere: same content, same hash, served from the cache
        other = os.path.join(tmp, "elsewhere")
        os.makedirs(other)
        copy_calc(other)
        r = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [other]})["result"]
        assert r["trajectories"] == 1 and r["cached"] == 1 and r["incorrect"] == 1 and r["unuseful"] == 1, r
        # analysisCache false: analyzed again
        d.notify("workspace/didChangeConfiguration", {"settings": {"codetracer": {"analysisCache": False}}})
        d.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        uri = d.open(path, version=2)
        d.wait_diagnostics(uri, pred=lambda p: p.get("version") == 2)
        assert "(0 from the cache)" in wait_log(d, "from the cache")
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def publishes(d, uri, settle=1.5):
    """Every diagnostics set published for uri until the daemon has been quiet for `settle` s."""
    sets = [d.wait_diagnostics(uri)["diagnostics"]]
    while True:
        more = [m for m in d.drain(settle) if m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri]
        if not more:
            return sets
        sets += [m["params"]["diagnostics"] for m in more]


def test_remembered_diagnostics_on_reopen_then_corrected():
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "m.db")
        path = copy_calc(tmp)
        assert cli("memory", "stats", env={"CODETRACER_DB": db}).returncode == 0
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        first = d.wait_diagnostics(uri)["diagnostics"]
        assert sorted(by_step(first)) == [3, 4]
        assert d.stop() == 0
        memo = os.listdir(os.path.join(tmp, "lsp-diagnostics"))
        assert len(memo) == 1 and memo[0].endswith(".json"), memo
        # the user takes step 4's label back from the CLI between two sessions
        r = cli("feedback", path, "--step", "4", "--label", "correct", "--db", db)
        assert r.returncode == 0, r.stderr
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        # The remembered set is published at once unless the (tiny) analysis wins the race; either
        # way the last word is the analysis with the feedback, and nothing stale follows it.
        sets = publishes(d, uri)
        assert sets and sorted(by_step(sets[-1])) == [3], sets
        assert all(x == first for x in sets[:-1]), sets  # anything earlier is the remembered set
        assert d.stop() == 0
        # a third session remembers the corrected set
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        sets = publishes(d, uri)
        assert sets and all(sorted(by_step(x)) == [3] for x in sets), sets
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_no_database_created_unless_configured():
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "sub", "m.db")
        path = copy_calc(tmp)
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        d.wait_diagnostics(uri)
        assert not os.path.exists(db)
        assert d.stop() == 0
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize(options={"createMemoryDb": True})
        uri = d.open(path)
        d.wait_diagnostics(uri)
        assert d.stop() == 0
        con = sqlite3.connect(db)
        assert con.execute("SELECT count(*) FROM analyses").fetchone()[0] == 1
        con.close()
    finally:
        shutil.rmtree(tmp)


def test_corrupted_database_warns_once_and_works():
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "m.db")
        with open(db, "wb") as f:
            f.write(b"this is not a sqlite database\x00\xff" * 100)
        a = copy_calc(tmp, "a.traj.json")
        b = copy_calc(tmp, "b.traj.json")
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        ua = d.open(a)
        assert sorted(by_step(d.wait_diagnostics(ua)["diagnostics"])) == [3, 4]
        ub = d.open(b)
        assert sorted(by_step(d.wait_diagnostics(ub)["diagnostics"])) == [3, 4]
        msgs = d.drain(0.5)
        shown = [m["params"] for m in msgs if m.get("method") == "window/showMessage"]
        assert len(shown) == 1, shown
        assert shown[0]["type"] == 2 and "memory database" in shown[0]["message"], shown
        with open(db, "rb") as f:
            assert f.read(29) == b"this is not a sqlite database"  # left untouched
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_feedback_in_diagnostics_and_hover():
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "m.db")
        path = copy_calc(tmp)
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(path)
        d.wait_diagnostics(uri)
        r = d.request("workspace/executeCommand", {"command": "codetracer.feedback", "arguments": [
            {"traj_id": os.path.abspath(path), "step_id": 2, "label": "incorrect", "note": "read the wrong file"}]})
        assert r["result"]["label"] == "incorrect", r
        p = d.wait_diagnostics(uri, pred=lambda p: len(p["diagnostics"]) == 3)
        s2 = by_step(p["diagnostics"])[2]
        assert s2["code"] == "feedback" and s2["data"]["label"] == "incorrect"
        h = hover(d, uri, 9)["contents"]["value"]
        assert "(your feedback)" in h and "**From your feedback:**" in h and "read the wrong file" in h, h
        assert "From your feedback" not in hover(d, uri, 11)["contents"]["value"]
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_hover_and_symbols_on_analyzed_paths():
    tmp = tempfile.mkdtemp()
    try:
        run = os.path.join(tmp, "run")
        os.makedirs(run)
        path = copy_calc(run)
        uri = uri_of(path)
        d = Daemon(env={"CODETRACER_DB": os.path.join(tmp, "m.db")})
        d.initialize(options={"autoAnalyze": False})
        # before any analysis: nothing known about the file
        assert hover(d, uri, 11) is None
        r = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [run]})
        assert r["result"]["files"] == [uri], r
        h = hover(d, uri, 11)
        assert h["contents"]["value"].startswith("**Step 3") or "Step 3" in h["contents"]["value"].split("\n")[0], h
        assert "repeat-command" in h["contents"]["value"]
        # the step's assistant message (line 11) and its observation (line 12)
        assert h["range"]["start"]["line"] == 11 and h["range"]["end"]["line"] == 12
        assert hover(d, uri, 0, 0) is None  # outside every step
        syms = d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
        steps = [c for s in syms for c in s.get("children", [])]
        assert len(steps) == 6, json.dumps(syms)[:500]
        assert any("outside-patch" in c["detail"] for c in steps)
        ws = d.request("workspace/symbol", {"query": "src/util.py"})["result"]
        assert len(ws) == 1 and ws[0]["location"]["uri"] == uri and ws[0]["location"]["range"]["start"]["line"] == 13, ws
        ws = d.request("workspace/symbol", {"query": ""})["result"]
        assert sorted(s["location"]["range"]["start"]["line"] for s in ws) == [11, 13], ws
        # an opened document without its own analysis (autoAnalyze off) shows the path's
        d.open(path)
        assert "repeat-command" in hover(d, uri, 11)["contents"]["value"]
        # cleared: nothing any more
        d.request("workspace/executeCommand", {"command": "codetracer.clear", "arguments": []})
        assert hover(d, uri, 11) is None
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_progress_waits_for_create_reply():
    tmp = tempfile.mkdtemp()
    try:
        big = os.path.join(tmp, "big.traj.json")
        big_traj(big, 8000)
        d = Daemon(env={"CODETRACER_DB": os.path.join(tmp, "m.db")})
        d.initialize({"window": {"workDoneProgress": True}}, options={"progressMinBytes": 0})
        uri = d.open(big)
        create = d.wait(lambda m: m.get("method") == "window/workDoneProgress/create", 10, "create")
        tok = create["params"]["token"]
        # not answered yet: the token must not be used
        drained = d.drain(0.3)
        early = [m for m in drained if m.get("method") == "$/progress"]
        assert early == [], early
        done = [m for m in drained if m.get("method") == "textDocument/publishDiagnostics"]
        d.send({"jsonrpc": "2.0", "id": create["id"], "result": None})
        got = done[0] if done else d.wait(
            lambda m: m.get("method") in ("$/progress", "textDocument/publishDiagnostics"), 60, "progress")
        if got.get("method") == "$/progress":  # the analysis was still running when we answered
            assert got["params"]["token"] == tok and got["params"]["value"]["kind"] == "begin", got
            d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end", 60, "end")
        d.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        # refused: no progress at all on that token
        uri = d.open(big, version=2)
        create = d.wait(lambda m: m.get("method") == "window/workDoneProgress/create", 10, "create 2")
        d.send({"jsonrpc": "2.0", "id": create["id"], "error": {"code": -32603, "message": "no"}})
        d.wait_diagnostics(uri, 60, pred=lambda p: p.get("version") == 2)
        late = [m for m in d.drain(0.3) + d.msgs if m.get("method") == "$/progress"
                and m["params"]["token"] == create["params"]["token"]]
        assert late == [], late
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_nothing_stale_after_close():
    tmp = tempfile.mkdtemp()
    try:
        big = os.path.join(tmp, "big.traj.json")
        big_traj(big, 12000)  # ~14 MB: loading takes a while
        d = Daemon(env={"CODETRACER_DB": os.path.join(tmp, "m.db")})
        d.initialize()
        with open(big, encoding="utf-8") as f:
            text = f.read()
        uri = d.open(big, text=text, version=1)
        d.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        t0 = time.time()
        uri = d.open(big, text=text, version=2)
        p = d.wait_diagnostics(uri, 120, pred=lambda p: p.get("version") == 2)
        assert len(p["diagnostics"]) > 1000, len(p["diagnostics"])
        msgs = d.drain(max(1.0, time.time() - t0))
        pubs = [m["params"] for m in msgs + d.msgs if m.get("method") == "textDocument/publishDiagnostics"]
        # the version-1 analysis ended after the close: it published nothing
        assert not [q for q in pubs if q.get("version") == 1 and q["diagnostics"]], [q.get("version") for q in pubs]
        # closing during the second analysis: only the empty set comes after
        d.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                            "contentChanges": [{"text": text + " "}]})
        time.sleep(0.3)  # past the debounce: the version-3 analysis is running
        d.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        msgs = d.drain(max(2.0, 2 * (time.time() - t0)))
        pubs = [m["params"] for m in msgs if m.get("method") == "textDocument/publishDiagnostics"]
        assert pubs and all(q["diagnostics"] == [] for q in pubs), [(q.get("version"), len(q["diagnostics"])) for q in pubs]
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main([test_cache_shared_with_cli_and_memory_note_in_hover, test_miss_stores_learns_and_next_session_hits,
          test_remembered_diagnostics_on_reopen_then_corrected, test_no_database_created_unless_configured, test_corrupted_database_warns_once_and_works,
          test_feedback_in_diagnostics_and_hover, test_hover_and_symbols_on_analyzed_paths,
          test_progress_waits_for_create_reply, test_nothing_stale_after_close])
