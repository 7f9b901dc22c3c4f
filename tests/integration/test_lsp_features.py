"""LSP daemon, features: diagnostics, hover, code actions, commands, symbols, code lenses,
configuration, progress, didChange storms and cancellation — on hand-written fixtures
(tests/fixtures/lsp/), with expectations derived from those fixtures by hand."""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from lspclient import Daemon, fixture, main, uri_of  # noqa: E402

CALC = fixture("calc.traj.json")
EVENTS = fixture("events.json")


def lines_of(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")


def u16(s):
    return len(s.encode("utf-16-le")) // 2


def object_range(path, line, enc="utf-16"):
    """The range of the JSON object written alone on `line` (0-based) of a fixture."""
    text = lines_of(path)[line]
    start = len(text) - len(text.lstrip(" "))
    obj = text.strip().rstrip(",")
    width = u16 if enc == "utf-16" else (lambda s: len(s.encode("utf-8")))
    return {"start": {"line": line, "character": width(text[:start])},
            "end": {"line": line, "character": width(text[:start]) + width(obj)}}


def step_range(path, first, last, enc="utf-16"):
    """A step's range (docs/protocol.md): its action object on line `first` through its
    observation object on line `last` when that follows it in the same list."""
    return {"start": object_range(path, first, enc)["start"], "end": object_range(path, last, enc)["end"]}


def by_step(diags):
    return {d["data"]["step_id"]: d for d in diags}


# calc.traj.json (mini-swe-agent-1): messages one per line. Line 11 (0-based) is step 3, the
# second identical `cat src/calc.py` (unuseful, repeat-command, evidence steps 2 and 3); line 13
# is step 4, an edit of src/util.py that the submitted patch does not contain (incorrect,
# outside-patch). Steps 1, 2, 5, 6 are correct.
def check_calc(diags, enc="utf-16", sev_inc=2, sev_unu=4, traj_id=os.path.abspath(CALC), related=True):
    assert len(diags) == 2, json.dumps(diags, indent=1)
    s = by_step(diags)
    d3, d4 = s[3], s[4]
    assert d3["range"] == step_range(CALC, 11, 12, enc), (d3["range"], step_range(CALC, 11, 12, enc))
    assert d4["range"] == step_range(CALC, 13, 14, enc)
    assert d3["severity"] == sev_unu and d3["tags"] == [1]
    assert d4["severity"] == sev_inc and "tags" not in d4
    for d in (d3, d4):
        assert d["source"] == "codetracer"
        assert d["data"]["traj_id"] == traj_id
    assert d3["code"] == "repeat-command" and d4["code"] == "outside-patch"
    assert d3["codeDescription"]["href"].endswith("rules.md#repeat-command")
    assert d3["data"]["label"] == "unuseful" and d4["data"]["label"] == "incorrect"
    assert d3["message"].startswith("Step 3 unuseful") and "step 2" in d3["message"]
    if related:
        rel = [r["location"]["range"]["start"]["line"] for r in d3["relatedInformation"]]
        assert rel == [9, 11], rel  # the evidence: steps 2 and 3
    else:
        assert "relatedInformation" not in d3


def test_diagnostics_utf16():
    d = Daemon()
    d.initialize()
    uri = d.open(CALC)
    p = d.wait_diagnostics(uri)
    assert p["version"] == 1
    check_calc(p["diagnostics"])
    assert d.stop() == 0


def test_diagnostics_utf8():
    d = Daemon()
    d.initialize({"general": {"positionEncodings": ["utf-8", "utf-16"]},
                  "textDocument": {"publishDiagnostics": {"relatedInformation": True}}})
    uri = d.open(CALC)
    diags = d.wait_diagnostics(uri)["diagnostics"]
    check_calc(diags, enc="utf-8")
    # the emoji on line 11 makes the two encodings differ: bytes were not mistaken for units
    assert object_range(CALC, 11, "utf-8") != object_range(CALC, 11, "utf-16")
    assert d.stop() == 0


def test_no_related_information_unless_supported():
    d = Daemon()
    d.initialize({})
    uri = d.open(CALC)
    diags = d.wait_diagnostics(uri)["diagnostics"]
    assert len(diags) == 2 and all("relatedInformation" not in x for x in diags)
    assert d.stop() == 0


# events.json (OpenHands event list): one event per line, event i on line i+1. Steps are the
# agent actions: ls (line 3), pytest (line 5, fails), the same pytest again (line 7, fails again:
# unuseful, retry-failure), finish (line 9). The observation of step 3 is on line 8.
def test_diagnostics_openhands_and_hover_on_observation():
    d = Daemon()
    d.initialize()
    uri = d.open(EVENTS)
    diags = d.wait_diagnostics(uri)["diagnostics"]
    assert len(diags) == 1, diags
    x = diags[0]
    assert x["data"] == {"traj_id": os.path.abspath(EVENTS), "step_id": 3, "label": "unuseful"}
    assert x["code"] == "retry-failure" and x["severity"] == 4 and x["tags"] == [1]
    assert x["range"] == step_range(EVENTS, 7, 8)
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 8, "character": 20}})
    md = h["result"]["contents"]["value"]
    assert h["result"]["contents"]["kind"] == "markdown"
    assert md.startswith("### Step 3 · bash") and "python -m pytest -q tests" in md and "**Exit code:** 1" in md
    assert d.stop() == 0


def test_hover_card():
    d = Daemon()
    d.initialize()
    uri = d.open(CALC)
    d.wait_diagnostics(uri)
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 13, "character": 30}})
    md = h["result"]["contents"]["value"]
    assert md.startswith("### Step 4 · edit"), md
    for part in ("sed -i 's/return x/return -x/' src/util.py", "**Exit code:** 0", "incorrect", "`outside-patch`",
                 "**Reasoning:** Step 4 edits src/util.py", "**Root-cause chain:**", "**Critical decision:**",
                 "**Should have:**"):
        assert part in md, (part, md)
    assert h["result"]["range"] == step_range(CALC, 13, 14)
    # a correct step: its card says so, no root-cause chain
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 7, "character": 10}})
    md = h["result"]["contents"]["value"]
    assert md.startswith("### Step 1 · search") and "**Label:** correct" in md and "Root-cause" not in md
    # outside every step (the "info" line) and past the end of the file
    for pos in ({"line": 3, "character": 5}, {"line": 999, "character": 999}):
        assert d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos})["result"] is None
    # a document that is not open
    r = d.request("textDocument/hover", {"textDocument": {"uri": "file:///nope.json"}, "position": {"line": 0, "character": 0}})
    assert r["result"] is None
    assert d.stop() == 0


def test_code_action_inspect_and_show_document():
    tmp = tempfile.mkdtemp()
    try:
        d = Daemon(env={"XDG_RUNTIME_DIR": tmp})
        shown = []
        d.auto["window/showDocument"] = lambda m: (shown.append(m["params"]), {"success": True})[1]
        d.initialize({"window": {"showDocument": {"support": True}},
                      "textDocument": {"publishDiagnostics": {"relatedInformation": True}}})
        uri = d.open(CALC)
        diags = d.wait_diagnostics(uri)["diagnostics"]
        d4 = by_step(diags)[4]
        # the client sends the diagnostic back with a different range (Neovim 0.7.2 byte columns):
        # the action is found through `data`, not the range
        sent = dict(d4, range={"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}})
        r = d.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": sent["range"],
                                                  "context": {"diagnostics": [sent]}})
        acts = r["result"]
        titles = [a["title"] for a in acts]
        assert titles == ["Inspect step 4", "Step 4: the label is wrong (mark correct)",
                          "Step 4: confirm the label (incorrect)"], titles
        assert acts[0]["kind"] == "quickfix" and acts[0]["diagnostics"][0]["data"]["step_id"] == 4
        cmd = acts[0]["command"]
        assert cmd["command"] == "codetracer.inspect"
        # a range over steps 1..2 without diagnostics
        r = d.request("textDocument/codeAction", {"textDocument": {"uri": uri},
                                                  "range": {"start": {"line": 7, "character": 5}, "end": {"line": 9, "character": 5}},
                                                  "context": {"diagnostics": []}})
        titles = [a["title"] for a in r["result"]]
        # feedback actions only for the first step under the cursor, not for the whole range
        assert titles == ["Inspect step 1", "Step 1: mark incorrect", "Step 1: mark unuseful", "Inspect step 2"], titles
        # `only` that excludes quickfix
        r = d.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": sent["range"],
                                                  "context": {"diagnostics": [sent], "only": ["refactor"]}})
        assert r["result"] == []
        res = d.request("workspace/executeCommand", {"command": cmd["command"], "arguments": cmd["arguments"]})["result"]
        md = res["markdown"]
        assert md.startswith("# Step 4 of 6 · edit"), md[:200]
        assert "## Thought" in md and "Maybe the helper is the culprit." in md and "## Observation" in md
        assert res["uri"].startswith("file://" + tmp + "/codetracer/")
        path = res["uri"][len("file://"):]
        with open(path, encoding="utf-8") as f:
            assert f.read() == md
        d.wait(lambda m: m.get("method") == "window/showDocument", 10, "showDocument")
        assert shown and shown[0]["uri"] == res["uri"]
        bad = d.request("workspace/executeCommand", {"command": "codetracer.inspect", "arguments": [{"traj_id": "x", "step_id": 1}]})
        assert bad["error"]["code"] == -32602
        bad = d.request("workspace/executeCommand", {"command": "codetracer.nope", "arguments": []})
        assert bad["error"]["code"] == -32602
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_analyze_command_on_run_dir_and_clear():
    tmp = tempfile.mkdtemp()
    try:
        run = os.path.join(tmp, "run 1", "calc-1")  # a space: the URI must be percent-encoded
        os.makedirs(run)
        target = os.path.join(run, "calc-1.traj.json")
        shutil.copy(CALC, target)
        d = Daemon()
        d.initialize()
        res = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [os.path.join(tmp, "run 1")],
                                                     "workDoneToken": "tok-1"}, timeout=60)
        r = res["result"]
        turi = uri_of(target)
        assert "%20" in turi
        assert r["trajectories"] == 1 and r["steps"] == 6 and r["incorrect"] == 1 and r["unuseful"] == 1, r
        assert r["files"] == [turi], r
        diags = d.wait_diagnostics(turi)["diagnostics"]
        check_calc(diags, traj_id=target)
        kinds = [m["params"]["value"]["kind"] for m in d.drain(0.3)
                 if m.get("method") == "$/progress" and m["params"]["token"] == "tok-1"]
        assert kinds[0] == "begin" and kinds[-1] == "end", kinds
        # inside an archive there is no file to put diagnostics on: counted as unplaced
        import tarfile
        arch = os.path.join(tmp, "run.tar.gz")
        with tarfile.open(arch, "w:gz") as tf:
            tf.add(os.path.join(tmp, "run 1"), arcname="run1")
        r2 = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [arch]}, timeout=60)["result"]
        assert r2["trajectories"] == 1 and r2["files"] == [] and r2["unplaced"] == 2, r2
        # inspect works on trajectories analyzed this way too
        tid = diags[0]["data"]["traj_id"]
        ins = d.request("workspace/executeCommand", {"command": "codetracer.inspect", "arguments": [{"traj_id": tid, "step_id": 3}]})
        assert ins["result"]["markdown"].startswith("# Step 3 of 6")
        c = d.request("workspace/executeCommand", {"command": "codetracer.clear", "arguments": []})
        assert c["result"]["cleared"] >= 1
        assert d.wait_diagnostics(turi)["diagnostics"] == []
        # a path that does not exist: an error answer and a message the user sees
        e = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [os.path.join(tmp, "missing")]})
        assert e["error"]["code"] == -32803, e
        m = d.wait(lambda m: m.get("method") == "window/showMessage", 10, "showMessage")
        assert m["params"]["type"] == 1 and "missing" in m["params"]["message"]
        e = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": []})
        assert e["error"]["code"] == -32602
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_document_symbols_code_lens_workspace_symbol():
    d = Daemon()
    d.initialize()
    uri = d.open(CALC)
    d.wait_diagnostics(uri)
    syms = d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
    steps = [c for s in syms for c in s["children"]]
    assert [c["name"].split(" · ")[0] for c in steps] == ["Step %d" % i for i in range(1, 7)], steps
    assert all(s["kind"] == 3 and s["name"].startswith("Stage ") for s in syms)
    assert steps[2]["detail"] == "unuseful · repeat-command" and steps[3]["detail"] == "incorrect · outside-patch"
    assert steps[0]["detail"] == "correct"
    assert steps[3]["range"] == step_range(CALC, 13, 14)
    for s in syms:  # a stage's range spans its steps
        assert s["range"]["start"] == s["children"][0]["range"]["start"]
        assert s["range"]["end"] == s["children"][-1]["range"]["end"]
    lens = d.request("textDocument/codeLens", {"textDocument": {"uri": uri}})["result"]
    assert len(lens) == len(syms)
    for l, s in zip(lens, syms):
        assert l["range"]["start"]["line"] == s["range"]["start"]["line"]
        assert l["command"]["command"] == "codetracer.inspect"
        assert l["command"]["title"].startswith(s["name"].split(" · steps")[0])
    total = sum(int(l["command"]["title"].split(" · ")[-2].split()[0]) for l in lens)
    assert total == 1  # one incorrect step in all the stages
    ws = d.request("workspace/symbol", {"query": "UTIL.PY"})["result"]
    assert len(ws) == 1 and ws[0]["name"].startswith("Step 4") and ws[0]["location"]["uri"] == uri
    assert ws[0]["location"]["range"] == step_range(CALC, 13, 14)
    ws = d.request("workspace/symbol", {"query": ""})["result"]
    assert sorted(w["name"].split(" · ")[0] for w in ws) == ["Step 3", "Step 4"]
    assert d.request("workspace/symbol", {"query": "no such text anywhere"})["result"] == []
    assert d.stop() == 0


def test_feedback_overrides_and_persists():
    tmp = tempfile.mkdtemp()
    try:
        db = os.path.join(tmp, "mem", "codetracer.db")
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(CALC)
        diags = d.wait_diagnostics(uri)["diagnostics"]
        assert not os.path.exists(db)  # opening documents never creates the database
        d4 = by_step(diags)[4]
        acts = d.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": d4["range"],
                                                     "context": {"diagnostics": [d4]}})["result"]
        wrong = [a for a in acts if a["title"] == "Step 4: the label is wrong (mark correct)"][0]
        assert wrong["command"]["command"] == "codetracer.feedback"
        assert wrong["command"]["arguments"] == [{"traj_id": os.path.abspath(CALC), "step_id": 4, "label": "correct"}]
        r = d.request("workspace/executeCommand", wrong["command"])["result"]
        assert r["step_id"] == 4 and r["label"] == "correct" and r["db"] == db and len(r["traj_hash"]) == 64
        # the document is analyzed again with the feedback applied: step 4 has no diagnostic now
        p = d.wait_diagnostics(uri, pred=lambda p: len(p["diagnostics"]) == 1)
        assert p["diagnostics"][0]["data"]["step_id"] == 3
        # mark a correct step unuseful: it gets a diagnostic whose rule is "feedback"
        acts = d.request("textDocument/codeAction", {"textDocument": {"uri": uri},
                                                     "range": {"start": {"line": 7, "character": 6}, "end": {"line": 7, "character": 6}},
                                                     "context": {"diagnostics": []}})["result"]
        mark = [a for a in acts if a["title"] == "Step 1: mark unuseful"][0]
        d.request("workspace/executeCommand", mark["command"])
        p = d.wait_diagnostics(uri, pred=lambda p: len(p["diagnostics"]) == 2)
        s1 = by_step(p["diagnostics"])[1]
        assert s1["code"] == "feedback" and s1["data"]["label"] == "unuseful" and s1["tags"] == [1]
        bad = d.request("workspace/executeCommand", {"command": "codetracer.feedback",
                                                     "arguments": [{"traj_id": os.path.abspath(CALC), "step_id": 1, "label": "meh"}]})
        assert bad["error"]["code"] == -32602
        assert d.stop() == 0
        # another session with the same database sees the feedback at once
        d = Daemon(env={"CODETRACER_DB": db})
        d.initialize()
        uri = d.open(CALC)
        p = d.wait_diagnostics(uri)
        assert sorted(x["data"]["step_id"] for x in p["diagnostics"]) == [1, 3]
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


def test_configuration_sources():
    # initializationOptions
    d = Daemon()
    d.initialize(options={"severity": {"incorrect": "error", "unuseful": "information"}})
    uri = d.open(CALC)
    check_calc(d.wait_diagnostics(uri)["diagnostics"], sev_inc=1, sev_unu=3)
    # didChangeConfiguration, then re-analysis through the command
    d.notify("workspace/didChangeConfiguration", {"settings": {"codetracer": {"severity": {"incorrect": "hint"}}}})
    r = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [uri]})
    assert r["result"]["incorrect"] == 1
    check_calc(d.wait_diagnostics(uri)["diagnostics"], sev_inc=4, sev_unu=3)
    assert d.stop() == 0
    # workspace/configuration, pulled because the client advertises it
    d = Daemon()
    d.auto["workspace/configuration"] = [{"severity": {"incorrect": "error"}, "autoAnalyze": False}]
    d.initialize({"workspace": {"configuration": True}})
    d.wait(lambda m: m.get("method") == "workspace/configuration", 10, "workspace/configuration")
    time.sleep(0.2)
    uri = d.open(CALC)
    assert not [m for m in d.drain(0.6) if m.get("method") == "textDocument/publishDiagnostics"]  # autoAnalyze off
    d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [uri]})
    check_calc(d.wait_diagnostics(uri)["diagnostics"], sev_inc=1, related=False)
    assert d.stop() == 0


def test_progress_of_an_analysis_that_ends_before_the_create_answer():
    """The client answers window/workDoneProgress/create only after the analysis published: the
    whole progress (begin, not cancellable, then end "done") follows the answer on that token."""
    d = Daemon()
    d.initialize({"window": {"workDoneProgress": True}}, options={"progressMinBytes": 0})
    uri = d.open(CALC)
    create = d.wait(lambda m: m.get("method") == "window/workDoneProgress/create", 10, "progress create")
    token = create["params"]["token"]
    d.wait_diagnostics(uri)
    assert not [m for m in d.drain(0.3) + d.msgs if m.get("method") == "$/progress"], "progress before the answer"
    d.send({"jsonrpc": "2.0", "id": create["id"], "result": None})
    begin = d.wait(lambda m: m.get("method") == "$/progress", 10, "begin")
    assert begin["params"]["token"] == token and begin["params"]["value"]["kind"] == "begin", begin
    assert begin["params"]["value"]["cancellable"] is False, begin
    end = d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end", 10, "end")
    assert end["params"]["token"] == token and end["params"]["value"]["message"] == "done", end
    assert d.stop() == 0


def test_progress_for_large_documents():
    d = Daemon()
    d.auto["window/workDoneProgress/create"] = None
    d.initialize({"window": {"workDoneProgress": True}}, options={"progressMinBytes": 0})
    uri = d.open(CALC)
    create = d.wait(lambda m: m.get("method") == "window/workDoneProgress/create", 10, "progress create")
    token = create["params"]["token"]
    begin = d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "begin", 10, "begin")
    assert begin["params"]["token"] == token and "calc.traj.json" in begin["params"]["value"]["title"]
    d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end", 10, "end")
    d.wait_diagnostics(uri)
    # no progress below the threshold (default 1 MiB) for a small file
    d2 = Daemon()
    d2.initialize({"window": {"workDoneProgress": True}})
    uri = d2.open(CALC)
    d2.wait_diagnostics(uri)
    assert not [m for m in d2.drain(0.3) if m.get("method") == "window/workDoneProgress/create"]
    assert d.stop() == 0 and d2.stop() == 0


def test_close_and_shutdown_publish_empty():
    d = Daemon()
    d.initialize()
    uri = d.open(CALC)
    assert len(d.wait_diagnostics(uri)["diagnostics"]) == 2
    d.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert d.wait_diagnostics(uri)["diagnostics"] == []
    uri2 = d.open(EVENTS)
    assert len(d.wait_diagnostics(uri2)["diagnostics"]) == 1
    assert d.request("shutdown")["result"] is None
    assert d.wait_diagnostics(uri2)["diagnostics"] == []
    d.notify("exit")
    assert d.finish() == 0


def test_unparsable_document_shows_message():
    text = open(CALC, encoding="utf-8").read()
    d = Daemon()
    d.initialize()
    uri = d.open(CALC, text=text[:700])  # truncated JSON
    m = d.wait(lambda m: m.get("method") == "window/showMessage", 10, "showMessage")
    msg = m["params"]["message"]
    assert m["params"]["type"] == 1 and "calc.traj.json" in msg and "truncated" in msg, msg
    assert d.wait_diagnostics(uri)["diagnostics"] == []
    # a raw NUL byte is not JSON: reported with its position
    uri3 = d.open("/tmp/ct-rawnul.traj.json", text=text.replace("ls src", "ls \u0000src"))
    m = d.wait(lambda m: m.get("method") == "window/showMessage", 10, "showMessage")
    assert "ct-rawnul.traj.json:8" in m["params"]["message"], m
    assert d.wait_diagnostics(uri3)["diagnostics"] == []
    # an escaped \u0000 and CRLF line ends do not break anything
    uri2 = d.open("/tmp/ct-nul.traj.json", text=text.replace("\n", "\r\n").replace("ls src", "ls \\u0000src"))
    diags = d.wait_diagnostics(uri2)["diagnostics"]
    assert sorted(x["data"]["step_id"] for x in diags) == [3, 4]
    assert by_step(diags)[3]["range"]["start"] == {"line": 11, "character": 4}
    assert d.request("textDocument/hover", {"textDocument": {"uri": uri2}, "position": {"line": 7, "character": 9}})["result"]
    assert d.stop() == 0


def test_document_over_size_limit():
    d = Daemon()
    d.initialize(options={"maxDocumentBytes": 100})
    uri = d.open(CALC)
    m = d.wait(lambda m: m.get("method") == "window/showMessage", 10, "showMessage")
    assert "maxDocumentBytes" in m["params"]["message"]
    assert d.wait_diagnostics(uri)["diagnostics"] == []
    assert d.stop() == 0


def test_200_rapid_changes():
    full = open(CALC, encoding="utf-8").read()
    lines = full.split("\n")
    # without the second `cat` (lines 11-12): no repeat, only the incorrect edit remains
    other = "\n".join(lines[:11] + lines[13:])
    d = Daemon()
    d.initialize(options={"debounceMs": 50})
    uri = d.open(CALC, text=other)
    assert len(d.wait_diagnostics(uri)["diagnostics"]) == 1
    for v in range(2, 202):
        text = full if v == 201 else (other if v % 2 else full[: 100 + v])
        d.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": v},
                                            "contentChanges": [{"text": text}]})
    p = d.wait_diagnostics(uri, timeout=60, pred=lambda p: p.get("version") == 201)
    check_calc(p["diagnostics"])
    rest = d.drain(1.0)
    pubs = [m for m in rest if m.get("method") == "textDocument/publishDiagnostics"]
    assert not pubs, pubs  # nothing after the latest version: no backlog
    assert not [m for m in rest if m.get("method") == "window/showMessage"]  # truncated versions never analyzed
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 13, "character": 30}})
    assert h["result"]["contents"]["value"].startswith("### Step 4")
    assert d.stop() == 0


def test_incremental_change():
    full = open(CALC, encoding="utf-8").read()
    d = Daemon()
    d.initialize(options={"debounceMs": 0})
    uri = d.open(CALC, text=full)
    assert len(d.wait_diagnostics(uri)["diagnostics"]) == 2
    # delete lines 11-12 (step 3 and its output) with a ranged change
    d.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
        {"range": {"start": {"line": 11, "character": 0}, "end": {"line": 13, "character": 0}}, "text": ""}]})
    p = d.wait_diagnostics(uri, pred=lambda p: p.get("version") == 2)
    assert [x["data"]["step_id"] for x in p["diagnostics"]] == [3]  # the edit is step 3 now
    assert p["diagnostics"][0]["range"]["start"]["line"] == 11
    assert d.stop() == 0


def big_trajectory(path, n):
    """A mini-swe-agent-1 run of n steps (half of them repeats), written by this test."""
    msgs = [{"role": "system", "content": "Run `echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT` when done."},
            {"role": "user", "content": "<pr_description>fix it</pr_description>"}]
    for i in range(n):
        cmd = "cat file_%d.py" % (i // 2)
        msgs.append({"role": "assistant", "content": "THOUGHT: look at file %d\n\n```bash\n%s\n```" % (i, cmd)})
        msgs.append({"role": "user", "content": "<returncode>0</returncode>\n<output>\n%s\n</output>" % ("x = 1\n" * 20)})
    with open(path, "w") as f:
        json.dump({"trajectory_format": "mini-swe-agent-1", "instance_id": "big", "info": {"exit_status": "Submitted", "submission": ""},
                   "messages": msgs}, f, indent=1)


def test_cancel_running_analysis():
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "big.traj.json")
        big_trajectory(path, 40000)
        d = Daemon()
        d.initialize()
        rid = d.request_async("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [path]})
        d.notify("$/cancelRequest", {"id": rid})
        r = d.wait_response(rid, timeout=60)
        assert r.get("error", {}).get("code") == -32800, r
        # the cancelled analysis publishes nothing for that file, and the daemon still answers
        assert d.request("codetracer/ping")["error"]["code"] == -32601
        late = [m for m in d.drain(3.0) if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["diagnostics"]]
        assert not late, late[:1]
        # a document analysis cancelled by codetracer.clear ends with empty diagnostics
        uri = d.open(path)
        c = d.request("workspace/executeCommand", {"command": "codetracer.clear", "arguments": [uri]})
        assert c["result"]["cleared"] == 1
        p = d.wait_diagnostics(uri, timeout=60)
        assert p["diagnostics"] == []
        assert not [m for m in d.drain(3.0) if m.get("method") == "textDocument/publishDiagnostics"]
        assert d.stop(timeout=120) == 0
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
