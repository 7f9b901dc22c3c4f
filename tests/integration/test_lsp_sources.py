"""LSP daemon, issue 6: diagnostics on the source lines the agent edited (daemon/src/sources.c).

Drives the real daemon on tests/fixtures/spans: run_openhands.json edits ws/ under the container
root /testbed (mapped with the pathMappings setting). Expectations are derived by hand from the
fixture files:
- step 3 (incorrect, syntax-broken) replaced "class Acc:" by "def mul(a, b:\\n    return a * b\\n\\n\\nclass Acc:";
  today ws/app/calc.py has "def mul(a, b):" (fixed by step 5), so the text is found by the line-fuzzy
  match: from "    return a * b" (line 6, after its 4-space indent) to the end of "class Acc:" (line 9).
- step 8 (incorrect, reverted-edit) is `sed -i 's/Hello, /Hi, /' greet.js`: "Hi, " on line 2 of
  ws/app/greet.js, '  return "' is 10 characters before it; the placement trims the needle's
  trailing blanks (docs/source-spans.md §3), so the range is the 3 characters "Hi,".
- step 7 (correct) wrote '  return "Ça va, " + name + " ?";' = line 6 of greet.js (non-ASCII: 34 bytes,
  33 UTF-16 units); shown only with showAllEdits, as Information.
- step 12 (correct) edits /testbed/app/old_module.py, which no longer exists: nothing is published there.
In run_openhands.json each event is one line after the opening "[": event "id" N is on line N + 1
(step 3 is event 5, step 8 is event 15).

run_after_done.json (same layout): step 1 (event 1) fixes strutil.c, step 2 (event 3) is `finish`,
step 3 (event 4) then rewrites is_blank() — after the submission, so the heuristic labels it
unuseful [after-done]. Its new text is ws/lib/strutil.c lines 11-14 byte for byte: from
"static int is_blank" (line 11, column 0) to the closing "}" (line 14, 1 character).

Of run_openhands.json's edits, four files with a grammar are found (calc.py, greet.js, main.rs,
strutil.c; see docs/source-spans.md for the others): a refresh parses those it does not hold as
open documents."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lspclient import Daemon, main, source_dir, uri_of  # noqa: E402

SPANS = os.path.join(source_dir(), "tests", "fixtures", "spans")
TRAJ = os.path.join(SPANS, "run_openhands.json")
WS = os.path.join(SPANS, "ws")
AFTER = os.path.join(SPANS, "run_after_done.json")
CALC = os.path.join(WS, "app", "calc.py")
STRUTIL = os.path.join(WS, "lib", "strutil.c")
GREET = os.path.join(WS, "app", "greet.js")
GONE = os.path.join(WS, "app", "old_module.py")


def u16(s):
    return len(s.encode("utf-16-le")) // 2


def rng(l0, c0, l1, c1):
    return {"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}}


def traj_event_range(line):
    """The range of a step of the trajectory (docs/protocol.md): its OpenHands action event,
    written alone on `line`, through its observation event on the next line."""
    with open(TRAJ, encoding="utf-8") as f:
        lines = f.read().split("\n")
    text, obs = lines[line], lines[line + 1]
    start = len(text) - len(text.lstrip(" "))
    obs_start = len(obs) - len(obs.lstrip(" "))
    return rng(line, u16(text[:start]), line + 1, u16(obs[:obs_start]) + u16(obs.strip().rstrip(",")))


def start(options=None, caps=None):
    d = Daemon()
    opts = {"pathMappings": [{"from": "/testbed", "to": WS}]}
    opts.update(options or {})
    d.initialize(options=opts, root_uri=uri_of(WS), capabilities=caps)
    return d


def source_diags(d, path, pred=None):
    return d.wait_diagnostics(uri_of(path), pred=pred)["diagnostics"]


def log_lines(d):
    """The window/logMessage texts received so far (taken out of the queue of seen messages)."""
    logs = [m for m in d.msgs if m.get("method") == "window/logMessage"]
    for m in logs:
        d.msgs.remove(m)
    return [m["params"]["message"] for m in logs]


def insert(line, ch, text):
    return {"range": rng(line, ch, line, ch), "text": text}


def change(d, path, version, changes):
    d.notify("textDocument/didChange", {"textDocument": {"uri": uri_of(path), "version": version},
                                        "contentChanges": changes})


def test_incorrect_edits_on_source_files():
    d = start()
    turi = d.open(TRAJ)
    calc = source_diags(d, CALC)
    greet = source_diags(d, GREET)
    assert len(calc) == 1, json.dumps(calc, indent=1)
    c = calc[0]
    assert c["range"] == rng(6, 4, 9, 10), c["range"]
    assert c["severity"] == 2 and "tags" not in c
    assert c["source"] == "codetracer" and c["code"] == "syntax-broken"
    assert c["message"].startswith("Step 3 incorrect: ")
    assert c["data"] == {"traj_id": os.path.abspath(TRAJ), "step_id": 3, "label": "incorrect",
                         "source": "edit"}, c["data"]
    rel = c["relatedInformation"]
    assert len(rel) == 1 and rel[0]["location"] == {"uri": turi, "range": traj_event_range(6)}, rel
    assert len(greet) == 1, json.dumps(greet, indent=1)
    g = greet[0]
    assert g["range"] == rng(2, 10, 2, 13), g["range"]  # "Hi," (trailing blank trimmed)
    assert g["data"]["step_id"] == 8 and g["code"] == "reverted-edit" and g["severity"] == 2
    assert g["relatedInformation"][0]["location"]["range"] == traj_event_range(16)

    # hover on the edited lines: step, label, reason, replaced text, root cause, fuzzy placement
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri_of(CALC)},
                                         "position": {"line": 7, "character": 0}})["result"]
    md = h["contents"]["value"]
    assert "**Step 3**" in md and "incorrect" in md and "[syntax-broken]" in md, md
    assert "syntax error" in md and "```\nclass Acc:\n```" in md and "**Root cause:**" in md, md
    assert "moved on since the run" in md, md
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri_of(GREET)},
                                         "position": {"line": 2, "character": 11}})["result"]
    md = h["contents"]["value"]
    assert "**Step 8**" in md and "```\nHello, \n```" in md and "moved on" not in md, md
    # a line nobody edited (and no trajectory analysis of calc.py): no hover
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri_of(CALC)},
                                         "position": {"line": 1, "character": 0}})["result"]
    assert h is None, h

    # closing the trajectory clears the source files
    d.notify("textDocument/didClose", {"textDocument": {"uri": turi}})
    assert source_diags(d, CALC) == []
    assert source_diags(d, GREET) == []
    d.finish()


def test_show_all_edits_utf16_and_deleted_file():
    d = start({"showAllEdits": True})
    d.open(TRAJ)
    greet = source_diags(d, GREET)
    by = {x["data"]["step_id"]: x for x in greet}
    assert sorted(by) == [7, 8], sorted(by)
    line = '  return "Ça va, " + name + " ?";'
    assert u16(line) == 33 and len(line.encode()) == 34
    s7 = by[7]
    assert s7["range"] == rng(6, 0, 6, 33), s7["range"]
    assert s7["severity"] == 3 and s7["data"]["label"] == "correct" and "code" not in s7
    assert s7["message"] == "Step 7 edited this (str_replace)", s7["message"]
    msgs = d.drain(1.0)
    pubs = [m["params"]["uri"] for m in msgs if m.get("method") == "textDocument/publishDiagnostics"]
    assert uri_of(GONE) not in pubs, pubs
    # turning showAllEdits off applies at once: step 7 leaves greet.js, step 8 stays
    d.notify("workspace/didChangeConfiguration", {"settings": {"codetracer": {"showAllEdits": False}}})
    greet = source_diags(d, GREET)
    assert [x["data"]["step_id"] for x in greet] == [8], greet
    d.finish()


def test_utf8_encoding_and_clear():
    caps = {"general": {"positionEncodings": ["utf-8", "utf-16"]}}
    d = start({"showAllEdits": True}, caps=caps)
    d.open(TRAJ)
    greet = source_diags(d, GREET)
    s7 = [x for x in greet if x["data"]["step_id"] == 7][0]
    assert s7["range"] == rng(6, 0, 6, 34), s7["range"]  # byte columns
    assert "relatedInformation" not in s7  # the client did not ask for it
    r = d.request("workspace/executeCommand", {"command": "codetracer.clear", "arguments": []})
    assert "result" in r, r
    assert source_diags(d, GREET) == []
    d.finish()


def test_open_buffer_and_did_change():
    """An open source file is placed on its buffer text, and re-placed on each change."""
    d = start()
    d.open(TRAJ)
    assert len(source_diags(d, CALC)) == 1
    with open(CALC, encoding="utf-8") as f:
        txt = f.read()
    d.open(CALC, text="\n\n" + txt)  # two lines inserted at the top of the buffer only
    calc = source_diags(d, CALC)  # the first set after the open (never an empty one)
    assert calc and calc[0]["range"] == rng(8, 4, 11, 10), calc
    d.notify("textDocument/didChange", {"textDocument": {"uri": uri_of(CALC), "version": 2},
                                        "contentChanges": [{"text": txt}]})
    calc = source_diags(d, CALC, pred=lambda p: p.get("version") == 2)
    assert calc and calc[0]["range"] == rng(6, 4, 9, 10), calc
    shown = [m for m in d.drain(0.5) if m.get("method") == "window/showMessage"]
    assert not shown, shown  # a source file is not reported as a broken trajectory
    # the trajectory closes while the source file stays open: its set is cleared
    d.notify("textDocument/didClose", {"textDocument": {"uri": uri_of(TRAJ)}})
    assert source_diags(d, CALC) == []
    d.finish()


def test_tree_per_version_incremental_and_moved_on():
    """One tree per open source document: parsed at didOpen, re-parsed incrementally for each
    ranged change, used by placement instead of parsing again; diagnostics move with the text."""
    d = start()
    d.open(TRAJ)
    assert source_diags(d, CALC)[0]["range"] == rng(6, 4, 9, 10)
    placed = [x for x in log_lines(d) if x.startswith("edits of 1 trajectory placed")]
    assert placed and "0 open documents used as parsed, 4 files parsed" in placed[-1], placed
    with open(CALC, encoding="utf-8") as f:
        txt = f.read()
    calc_uri = uri_of(CALC)
    d.open(CALC, text=txt)  # version 1: one full parse
    assert source_diags(d, CALC)[0]["range"] == rng(6, 4, 9, 10)
    logs = log_lines(d)
    assert any("1 open document used as parsed, 3 files parsed" in x for x in logs), logs
    parses = [x for x in logs if x.startswith("parsed ")]
    assert len(parses) == 1 and parses[0].startswith("parsed %s (python, " % CALC), parses
    # version 3: two ranged changes in one notification, applied in order (the second inserts
    # above the first's lines); version 4: one more. Every original line moves down by 4.
    change(d, CALC, 3, [insert(0, 0, "\n\n"), insert(0, 0, "# note\n")])
    change(d, CALC, 4, [insert(1, 0, "x = 1\n")])
    calc = source_diags(d, CALC, pred=lambda p: p.get("version") == 4)
    assert len(calc) == 1 and calc[0]["range"] == rng(10, 4, 13, 10), calc
    assert calc[0]["data"]["step_id"] == 3 and calc[0]["severity"] == 2
    logs = log_lines(d)
    tree = "tree of %s version 4: 1 full parse, 3 incremental" % CALC
    assert tree in logs, logs
    assert any("1 open document used as parsed, 3 files parsed" in x for x in logs), logs
    # hover on the moved lines: step 3 (fuzzy, as on disk)
    h = d.request("textDocument/hover", {"textDocument": {"uri": calc_uri},
                                         "position": {"line": 11, "character": 0}})["result"]
    assert "**Step 3**" in h["contents"]["value"] and h["range"] == rng(10, 4, 13, 10), h
    # version 5: delete "def mul(a, b):" .. the blank lines before "class Acc:" (v4 lines 9-12):
    # step 3's text is gone (only "class Acc:" is left of its three lines): no diagnostic, and
    # the hover where it stood says it moved on
    d.notify("textDocument/didChange", {"textDocument": {"uri": calc_uri, "version": 5},
                                        "contentChanges": [{"range": rng(9, 0, 13, 0), "text": ""}]})
    assert source_diags(d, CALC, pred=lambda p: p.get("version") == 5) == []
    h = d.request("textDocument/hover", {"textDocument": {"uri": calc_uri},
                                         "position": {"line": 10, "character": 2}})["result"]
    md = h["contents"]["value"]
    assert "**Step 3**" in md and "incorrect" in md and "moved on" in md, md
    assert h["range"] == rng(10, 0, 10, 0), h
    b = d.request("workspace/executeCommand", {"command": "codetracer.blame",
                                               "arguments": [{"uri": calc_uri, "line": 10}]})["result"]
    assert b is None or b["step_id"] != 3, b  # blame names only text that is there
    # version 6: a full-text change parses again (the second full parse)
    change(d, CALC, 6, [{"text": txt}])
    calc = source_diags(d, CALC, pred=lambda p: p.get("version") == 6)
    assert len(calc) == 1 and calc[0]["range"] == rng(6, 4, 9, 10), calc
    logs = log_lines(d)
    assert "tree of %s version 6: 2 full parses, 4 incremental" % CALC in logs, logs
    assert not [x for x in logs if "differs from the document" in x], logs
    # the trajectory (JSON) never got a tree: only files a run edited do
    assert not [x for x in logs if x.startswith("parsed %s" % TRAJ)], logs
    d.finish()


def test_odd_changes_keep_the_tree_in_sync():
    """Changes past the end, reversed, past a line's end, with NUL, CRLF and non-ASCII text: the
    tree follows the same bytes as the document (no re-sync) and the ranges stay exact."""
    d = start()
    d.open(TRAJ)
    source_diags(d, CALC)
    with open(CALC, encoding="utf-8") as f:
        txt = f.read()
    d.open(CALC, text=txt)
    source_diags(d, CALC)
    change(d, CALC, 2, [
        {"range": rng(999, 0, 999, 5), "text": "\u0000tail\r\n"},  # clamped to the end
        {"range": rng(3, 0, 1, 0), "text": "#\n"},  # reversed: an insertion at line 3
        {"range": rng(0, 500, 0, 600), "text": "é"},  # past the end of line 0: at its end
    ])
    calc = source_diags(d, CALC, pred=lambda p: p.get("version") == 2)
    assert len(calc) == 1 and calc[0]["range"] == rng(7, 4, 10, 10), calc  # one line lower
    logs = log_lines(d)
    assert "tree of %s version 2: 1 full parse, 3 incremental" % CALC in logs, logs
    assert not [x for x in logs if "differs from the document" in x], logs
    d.finish()


def test_source_with_only_correct_edits_opens_quietly():
    """crlf/main.rs holds only correct edits (steps 9, 10; showAllEdits off), app/config.json
    only a moved-on one: opened, each gets an empty set from the placement and no "cannot
    analyze" pop-up."""
    d = start()
    d.open(TRAJ)
    source_diags(d, CALC)
    main_rs = os.path.join(WS, "crlf", "main.rs")
    with open(main_rs, encoding="utf-8", newline="") as f:
        d.open(main_rs, text=f.read())
    assert d.wait_diagnostics(uri_of(main_rs))["diagnostics"] == []
    # a JSON file the run wrote (step 14, moved on since) is parsed at its didOpen; the
    # trajectory, JSON too, never is
    config = os.path.join(WS, "app", "config.json")
    d.open(config)
    assert d.wait_diagnostics(uri_of(config))["diagnostics"] == []
    msgs = d.drain(1.0)
    shown = [m for m in msgs if m.get("method") == "window/showMessage"]
    assert not shown, shown
    logs = [m["params"]["message"] for m in msgs if m.get("method") == "window/logMessage"]
    parses = [x.split(" (")[0] for x in logs if x.startswith("parsed ")]
    assert parses == ["parsed " + main_rs, "parsed " + config], logs
    d.finish()


def test_unuseful_edit_is_a_hint():
    d = start()
    turi = d.open(AFTER)
    diags = source_diags(d, STRUTIL)
    assert len(diags) == 1, json.dumps(diags, indent=1)  # step 1 is correct: not shown
    x = diags[0]
    assert x["range"] == rng(11, 0, 14, 1), x["range"]
    assert x["severity"] == 4 and x["tags"] == [1], x
    assert x["code"] == "after-done" and x["message"].startswith("Step 3 unuseful: "), x
    assert x["data"] == {"traj_id": os.path.abspath(AFTER), "step_id": 3, "label": "unuseful",
                         "source": "edit"}, x["data"]
    assert x["relatedInformation"][0]["location"]["uri"] == turi
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri_of(STRUTIL)},
                                         "position": {"line": 12, "character": 0}})["result"]
    md = h["contents"]["value"]
    assert "**Step 3**" in md and "unuseful" in md and "[after-done]" in md, md
    assert "moved on" not in md and "```\nstatic int is_blank(const char *s)\n{\n    return s[0] == 0;\n}\n```" in md, md
    d.finish()


def test_newest_refresh_wins_and_exit_while_placing():
    """Refreshes asked for while one runs: only the newest is published; exit mid-placement."""
    d = start()
    d.open(TRAJ)
    assert len(source_diags(d, GREET)) == 1
    for i in range(6):  # ends with showAllEdits on: steps 7 and 8 on greet.js
        d.notify("workspace/didChangeConfiguration",
                 {"settings": {"codetracer": {"showAllEdits": i % 2 == 1}}})
    greet = source_diags(d, GREET, pred=lambda p: len(p["diagnostics"]) == 2)
    assert sorted(x["data"]["step_id"] for x in greet) == [7, 8], greet
    later = [m for m in d.drain(1.0) if m.get("method") == "textDocument/publishDiagnostics"
             and m["params"]["uri"] == uri_of(GREET)]
    assert all(len(m["params"]["diagnostics"]) == 2 for m in later), later
    # a refresh is asked for, then shutdown + exit at once: a clean exit either way
    d.notify("workspace/didChangeConfiguration", {"settings": {"codetracer": {"showAllEdits": False}}})
    assert d.stop() == 0
    err = d.stderr.decode(errors="replace")
    assert "AddressSanitizer" not in err and "runtime error" not in err, err[-2000:]


def test_definition_and_blame():
    caps = {"general": {"positionEncodings": ["utf-16"]}, "window": {"showDocument": {"support": True}}}
    d = start(caps=caps)
    d.auto["window/showDocument"] = {"success": True}
    turi = d.open(TRAJ)
    source_diags(d, CALC)

    def definition(line):
        return d.request("textDocument/definition", {"textDocument": {"uri": turi},
                                                     "position": {"line": line, "character": 10}})["result"]
    # step 3 (event 5, line 6) wrote calc.py lines 6-9 (see the module docstring)
    assert definition(6) == [{"uri": uri_of(CALC), "range": rng(6, 4, 9, 10)}], definition(6)
    # step 1 (event 1, line 2) created calc.py: its 8 lines are found, in order, from line 0 to
    # "        self.total = 0" (line 11, 22 characters)
    assert definition(2) == [{"uri": uri_of(CALC), "range": rng(0, 0, 11, 22)}], definition(2)
    # step 12 (event 23) edited a file that no longer exists; the "[" line is no step
    assert definition(24) is None and definition(0) is None

    def blame(path, line):
        r = d.request("workspace/executeCommand", {"command": "codetracer.blame",
                                                   "arguments": [{"uri": uri_of(path), "line": line}]})
        return r["result"]
    b = blame(CALC, 7)  # inside step 3's range (6-9) and step 1's (0-11): step 3 wrote it last
    assert b["step_id"] == 3 and b["label"] == "incorrect" and b["rule"] == "syntax-broken", b
    assert b["traj_id"] == os.path.abspath(TRAJ)
    assert b["location"] == {"uri": turi, "range": traj_event_range(6)}, b
    shown = d.wait(lambda m: m.get("method") == "window/showDocument", what="showDocument")
    assert shown["params"]["uri"] == turi and shown["params"]["selection"] == traj_event_range(6)
    assert blame(CALC, 5)["step_id"] == 5  # "def mul(a, b):" fixed by step 5
    assert blame(CALC, 2)["step_id"] == 2  # "    return a + b"
    assert blame(CALC, 15)["step_id"] == 6 and blame(CALC, 15)["label"] == "correct"
    assert blame(GREET, 2)["step_id"] == 8
    assert blame(GREET, 0) is None  # nothing placed on greet.js line 0
    r = d.request("workspace/executeCommand", {"command": "codetracer.blame", "arguments": [{"uri": uri_of(CALC)}]})
    assert r["error"]["code"] == -32602, r
    d.finish()


def test_analyzed_path_and_no_workspace():
    # codetracer.analyze of the path (not open): the same placement, without relatedInformation
    d = start()
    r = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [TRAJ]})
    assert r["result"]["incorrect"] == 2, r
    calc = source_diags(d, CALC)
    assert len(calc) == 1 and calc[0]["range"] == rng(6, 4, 9, 10), calc
    assert calc[0]["data"]["step_id"] == 3 and "relatedInformation" not in calc[0]
    d.finish()
    # no workspace folder: nothing lands on source files
    d = Daemon()
    d.initialize(options={"pathMappings": [{"from": "/testbed", "to": WS}]})
    turi = d.open(TRAJ)
    assert len(d.wait_diagnostics(turi)["diagnostics"]) == 2
    pubs = [m["params"]["uri"] for m in d.drain(1.0) if m.get("method") == "textDocument/publishDiagnostics"]
    assert pubs == [], pubs
    d.finish()


if __name__ == "__main__":
    main([test_incorrect_edits_on_source_files, test_show_all_edits_utf16_and_deleted_file,
          test_utf8_encoding_and_clear, test_open_buffer_and_did_change,
          test_tree_per_version_incremental_and_moved_on, test_odd_changes_keep_the_tree_in_sync,
          test_source_with_only_correct_edits_opens_quietly, test_unuseful_edit_is_a_hint,
          test_newest_refresh_wins_and_exit_while_placing,
          test_definition_and_blame, test_analyzed_path_and_no_workspace])
