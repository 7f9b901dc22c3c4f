"""LSP daemon: each step's range in a JSON/JSONL trajectory, found with tree-sitter's JSON grammar
(daemon/src/jsonranges.c), used by diagnostics, relatedInformation, hover, documentSymbol,
codeLens and codeAction alike; and actions, lenses and symbols on the files of a run directory
analysed with codetracer.analyze. Fixtures: tests/fixtures/lsp_ranges/ (written by hand); the
expected lines and characters below are read off those files by hand."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from lspclient import Daemon, main, source_dir, uri_of  # noqa: E402

FIX = os.path.join(source_dir(), "tests", "fixtures", "lsp_ranges")
PRETTY = os.path.join(FIX, "pretty.traj.json")
EVENTS = os.path.join(FIX, "events_pretty.json")
JSONL = os.path.join(FIX, "output.jsonl")
CRLF = os.path.join(FIX, "crlf.traj.json")
RUN = os.path.join(FIX, "steps_run")


def rng(l1, c1, l2, c2):
    return {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}}


def by_step(diags):
    return {d["data"]["step_id"]: d for d in diags}


def hover(d, uri, line, ch):
    return d.request("textDocument/hover", {"textDocument": {"uri": uri},
                                            "position": {"line": line, "character": ch}})["result"]


def hover_step(d, uri, line, ch):
    """The step number a hover at (line, ch) shows, or None."""
    h = hover(d, uri, line, ch)
    if h is None:
        return None
    first = h["contents"]["value"].split("\n")[0]
    assert first.startswith("### Step "), first
    return int(first[len("### Step "):].split()[0])


def range_log(d):
    logs = [m["params"]["message"] for m in d.drain(0.3) if m.get("method") == "window/logMessage"
            and "step ranges:" in m["params"]["message"]]
    assert logs, "no step-ranges log line"
    return logs[-1]


# pretty.traj.json: mini-SWE-agent, one message per object over 4 lines, objects at column 4 of
# the "messages" list. Step k (1-based) is the assistant message starting on line 16 + 8(k-1)
# and the user message after it, whose "}," ends 7 lines further down, at character 5. Step 3
# (lines 32-39) repeats `cat src/calc.py` (unuseful, evidence steps 2 and 3); step 4 (lines
# 40-47) edits src/util.py, outside the submitted patch (incorrect).
def step_lines(k):
    first = 16 + 8 * (k - 1)
    return first, first + 7


def test_pretty_mini_swe_agent():
    d = Daemon()
    d.initialize()
    uri = d.open(PRETTY)
    diags = d.wait_diagnostics(uri)["diagnostics"]
    assert sorted(by_step(diags)) == [3, 4], diags
    s = by_step(diags)
    assert s[3]["range"] == rng(32, 4, 39, 5), s[3]["range"]
    assert s[4]["range"] == rng(40, 4, 47, 5), s[4]["range"]
    assert s[3]["code"] == "repeat-command" and s[4]["code"] == "outside-patch"
    # evidence links use the same ranges: step 2 is lines 24-31, step 3 lines 32-39
    rel = [r["location"]["range"] for r in s[3]["relatedInformation"]]
    assert rel == [rng(24, 4, 31, 5), rng(32, 4, 39, 5)], rel
    assert "6 from tree-sitter-json, 0 kept the loader's span" in range_log(d)
    # a hover anywhere in the step's two objects hits it: the opening brace, the assistant's
    # text, the closing brace of the assistant, the user's brace, the user's closing brace
    for line, ch in ((32, 4), (34, 20), (35, 4), (36, 4), (38, 30), (39, 4)):
        assert hover_step(d, uri, line, ch) == 3, (line, ch)
    h = hover(d, uri, 39, 4)
    assert h["range"] == rng(32, 4, 39, 5), h["range"]
    # the comma after the step, the indentation before the next one: no step; then step 4
    assert hover(d, uri, 39, 5) is None
    assert hover(d, uri, 40, 2) is None
    assert hover_step(d, uri, 40, 4) == 4
    # the system and task messages (lines 8-15) are no step
    assert hover(d, uri, 11, 4) is None and hover(d, uri, 14, 10) is None
    # the last step ends with the list: "}" on line 63, no comma
    assert hover_step(d, uri, 63, 4) == 6 and hover(d, uri, 63, 5) is None
    # documentSymbol: every step on its two objects
    syms = d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
    steps = [c for g in syms for c in g["children"]]
    want = [rng(step_lines(k)[0], 4, step_lines(k)[1], 5) for k in range(1, 7)]
    assert [c["range"] for c in steps] == want, [c["range"] for c in steps]
    # code lenses sit on the first line of the first step of their stage
    lens = d.request("textDocument/codeLens", {"textDocument": {"uri": uri}})["result"]
    assert lens and lens[0]["range"]["start"] == {"line": 16, "character": 0}, lens
    # codeAction with the cursor on step 3's closing brace
    acts = d.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": rng(39, 4, 39, 4),
                                                 "context": {"diagnostics": []}})["result"]
    assert acts[0]["title"] == "Inspect step 3", [a["title"] for a in acts]
    # workspace/symbol: the same range
    ws = d.request("workspace/symbol", {"query": "src/util.py"})["result"]
    assert len(ws) == 1 and ws[0]["location"]["range"] == rng(40, 4, 47, 5), ws
    assert d.stop() == 0


# events_pretty.json: an OpenHands event list, event i on lines 1+3i .. 3+3i ("{" and "}" at
# column 2). Steps: ls (events 1+2), pytest (3+4, fails), pytest again (5+6, fails again:
# unuseful, retry-failure), finish (7, no observation).
def test_openhands_array():
    d = Daemon()
    d.initialize()
    uri = d.open(EVENTS)
    diags = d.wait_diagnostics(uri)["diagnostics"]
    assert len(diags) == 1 and diags[0]["data"]["step_id"] == 3, diags
    assert diags[0]["code"] == "retry-failure"
    assert diags[0]["range"] == rng(16, 2, 21, 3), diags[0]["range"]
    assert hover_step(d, uri, 21, 2) == 3  # the observation's closing brace
    assert hover_step(d, uri, 15, 2) == 2  # step 2's observation's closing brace
    assert hover_step(d, uri, 22, 2) == 4  # the finish event alone
    assert hover(d, uri, 24, 3) is None  # after the finish event's closing brace
    assert hover(d, uri, 2, 10) is None  # the user's message (event 0) is no step
    assert d.stop() == 0


# output.jsonl: two OpenHands evaluation records, one per line (line 0 holds "—" and "é", one
# UTF-16 unit each, before its steps). Line 0: pytest fails twice (step
# 2 = events 3+4: unuseful, retry-failure). Line 1: `cat a.py` twice with the same output (step 2
# = events 3+4: unuseful, repeat-command).
def test_jsonl_two_trajectories():
    with open(JSONL, encoding="utf-8") as f:
        lines = f.read().split("\n")
    # step 2 of each line: from event 3's "{" to the "}" closing event 4
    a0, b0 = lines[0].index('{"id": 3'), lines[0].index('], "error"')
    a1, b1 = lines[1].index('{"id": 3'), lines[1].index(', {"id": 5')
    d = Daemon()
    d.initialize()
    uri = d.open(JSONL)
    diags = d.wait_diagnostics(uri)["diagnostics"]
    got = sorted((x["range"]["start"]["line"], x["code"], x["data"]["step_id"]) for x in diags)
    assert got == [(0, "retry-failure", 2), (1, "repeat-command", 2)], diags
    r = {x["range"]["start"]["line"]: x["range"] for x in diags}
    assert r[0] == rng(0, a0, 0, b0) and r[1] == rng(1, a1, 1, b1), r
    assert hover_step(d, uri, 0, b0 - 1) == 2 and hover(d, uri, 0, b0) is None
    assert hover_step(d, uri, 1, a1) == 2 and hover_step(d, uri, 1, b1 + 2) == 3  # the finish
    # several trajectories: one symbol each, holding their stages
    syms = d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
    assert [s["range"]["start"]["line"] for s in syms] == [0, 1], syms
    assert all(s["kind"] == 2 for s in syms)
    assert d.stop() == 0


# crlf.traj.json: CRLF line ends, one message per line. Step 2 (assistant on line 9, user on line
# 10) repeats `cat src/calc.py`; line 10 holds "ï" (2 bytes, 1 UTF-16 unit) and "🙂" (4 bytes,
# 2 UTF-16 units): the user object ends at UTF-16 character 128, UTF-8 byte 131.
def test_crlf_and_non_ascii():
    with open(CRLF, encoding="utf-8", newline="") as f:
        text = f.read()
    assert "\r\n" in text
    for enc, end in (("utf-16", 128), ("utf-8", 131)):
        d = Daemon()
        d.initialize({"general": {"positionEncodings": [enc]}})
        uri = d.open(CRLF, text=text)
        diags = d.wait_diagnostics(uri)["diagnostics"]
        assert len(diags) == 1 and diags[0]["data"]["step_id"] == 2, diags
        assert diags[0]["range"] == rng(9, 4, 10, end), (enc, diags[0]["range"])
        assert hover_step(d, uri, 10, end - 1) == 2  # the closing brace, after the emoji
        assert hover(d, uri, 10, end) is None  # the comma
        assert hover_step(d, uri, 11, 4) == 3
        assert d.stop() == 0


def test_path_result_uses_the_same_ranges():
    """codetracer.analyze on a directory holding pretty.traj.json: the diagnostics land on the
    file with the ranges an opened document gets, and so do hover, documentSymbol and
    workspace/symbol on it (the file is not opened)."""
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "pretty.traj.json")
        shutil.copy(PRETTY, path)
        uri = uri_of(path)
        d = Daemon()
        d.initialize()
        r = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [tmp]})["result"]
        assert r["files"] == [uri], r
        s = by_step(d.wait_diagnostics(uri)["diagnostics"])
        assert s[3]["range"] == rng(32, 4, 39, 5) and s[4]["range"] == rng(40, 4, 47, 5), s
        rel = [x["location"]["range"] for x in s[3]["relatedInformation"]]
        assert rel == [rng(24, 4, 31, 5), rng(32, 4, 39, 5)], rel
        assert hover_step(d, uri, 39, 4) == 3 and hover(d, uri, 39, 4)["range"] == rng(32, 4, 39, 5)
        assert hover(d, uri, 39, 5) is None
        syms = d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
        assert [c["range"] for g in syms for c in g["children"]][2] == rng(32, 4, 39, 5), syms
        ws = d.request("workspace/symbol", {"query": "src/util.py"})["result"]
        assert len(ws) == 1 and ws[0]["location"] == {"uri": uri, "range": rng(40, 4, 47, 5)}, ws
        assert d.stop() == 0
    finally:
        shutil.rmtree(tmp)


# steps_run/: a step-JSONL run directory, one step per file; step 3 (step_3.jsonl, an object
# over lines 0-4) repeats `cat calc.py` (unuseful). Each file alone is no trajectory.
def test_run_dir_files_have_actions_lenses_symbols():
    d = Daemon()
    d.initialize()
    u3, u1 = uri_of(os.path.join(RUN, "step_3.jsonl")), uri_of(os.path.join(RUN, "step_1.jsonl"))
    r = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [RUN]})["result"]
    assert r["files"] == [u3], r
    p = d.wait_diagnostics(u3)
    assert len(p["diagnostics"]) == 1 and p["diagnostics"][0]["range"] == rng(0, 0, 4, 1), p
    diag = p["diagnostics"][0]
    # the user opens the step's file: its own analysis fails (one step file is no trajectory),
    # which neither clears the run's diagnostics nor shows an error
    d.open(os.path.join(RUN, "step_3.jsonl"))
    d.wait(lambda m: m.get("method") == "window/logMessage" and "a file of an analysed run" in m["params"]["message"],
           what="the log line of the step file's own analysis")
    late = d.drain(0.5)
    assert not [m for m in late if m.get("method") == "textDocument/publishDiagnostics"], late
    assert not [m for m in late if m.get("method") == "window/showMessage"], late
    # hover, codeAction (cursor only, and with the diagnostic), codeLens, documentSymbol
    assert hover_step(d, u3, 4, 0) == 3
    acts = d.request("textDocument/codeAction", {"textDocument": {"uri": u3}, "range": rng(2, 5, 2, 5),
                                                 "context": {"diagnostics": []}})["result"]
    assert [a["title"] for a in acts] == ["Inspect step 3", "Step 3: the label is wrong (mark correct)",
                                          "Step 3: confirm the label (unuseful)"], acts
    assert acts[0]["command"]["arguments"][0]["uri"] == u3
    acts = d.request("textDocument/codeAction", {"textDocument": {"uri": u3}, "range": diag["range"],
                                                 "context": {"diagnostics": [diag]}})["result"]
    assert acts[0]["title"] == "Inspect step 3" and acts[0]["diagnostics"][0]["data"]["step_id"] == 3
    lens = d.request("textDocument/codeLens", {"textDocument": {"uri": u3}})["result"]
    assert len(lens) == 1 and lens[0]["range"]["start"] == {"line": 0, "character": 0}, lens
    assert lens[0]["command"]["arguments"][0]["step_id"] == 3 and "1 unuseful" in lens[0]["command"]["title"]
    syms = d.request("textDocument/documentSymbol", {"textDocument": {"uri": u3}})["result"]
    kids = [c for g in syms for c in g["children"]]
    assert len(kids) == 1 and kids[0]["name"].startswith("Step 3") and kids[0]["range"] == rng(0, 0, 4, 1), syms
    # a file of the run without a labelled step: actions for its step, still no error
    d.open(os.path.join(RUN, "step_1.jsonl"))
    acts = d.request("textDocument/codeAction", {"textDocument": {"uri": u1}, "range": rng(0, 3, 0, 3),
                                                 "context": {"diagnostics": []}})["result"]
    assert [a["title"] for a in acts] == ["Inspect step 1", "Step 1: mark incorrect", "Step 1: mark unuseful"], acts
    late = d.drain(0.5)
    assert not [m for m in late if m.get("method") == "window/showMessage"], late
    # cleared: the file has nothing any more
    d.request("workspace/executeCommand", {"command": "codetracer.clear", "arguments": []})
    assert d.request("textDocument/codeAction", {"textDocument": {"uri": u3}, "range": rng(2, 5, 2, 5),
                                                 "context": {"diagnostics": []}})["result"] == []
    assert d.request("textDocument/codeLens", {"textDocument": {"uri": u3}})["result"] == []
    assert d.stop() == 0


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
