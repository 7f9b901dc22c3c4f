"""LSP daemon: one full editor session under valgrind, which must report no errors and no
definite or indirect leaks (--error-exitcode). Skipped, saying why, when valgrind is missing or
the build under test is instrumented by ASan (the two cannot be combined)."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from lspclient import Daemon, fixture, main, have, uri_of  # noqa: E402


def sanitized_build():
    cache = os.path.join(os.environ.get("CT_BUILD_DIR", ""), "CMakeCache.txt")
    try:
        with open(cache) as f:
            return "CT_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        return False


def test_full_session_under_valgrind():
    if not have("valgrind"):
        print("SKIP: valgrind is not installed (scripts/test.sh installs it); session not checked")
        return
    if sanitized_build():
        print("SKIP: this build uses ASan, which valgrind cannot run; the plain build runs this test")
        return
    tmp = tempfile.mkdtemp()
    try:
        log = os.path.join(tmp, "vg.log")
        db = os.path.join(tmp, "memory.db")
        d = Daemon(prefix=["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                           "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
                           "--log-file=" + log], env={"XDG_RUNTIME_DIR": tmp, "CODETRACER_DB": db})
        d.auto["window/workDoneProgress/create"] = None
        d.initialize({"general": {"positionEncodings": ["utf-8"]}, "window": {"workDoneProgress": True},
                      "textDocument": {"publishDiagnostics": {"relatedInformation": True}}},
                     options={"progressMinBytes": 0, "debounceMs": 20})
        calc = fixture("calc.traj.json")
        uri = d.open(calc)
        diags = d.wait_diagnostics(uri, timeout=120)["diagnostics"]
        assert len(diags) == 2
        uri2 = d.open(fixture("events.json"))
        assert len(d.wait_diagnostics(uri2, timeout=120)["diagnostics"]) == 1
        h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 13, "character": 20}}, timeout=60)
        assert "Step 4" in h["result"]["contents"]["value"]
        acts = d.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": diags[0]["range"],
                                                     "context": {"diagnostics": diags}}, timeout=60)["result"]
        assert acts
        ins = d.request("workspace/executeCommand", acts[0]["command"], timeout=60)
        assert "markdown" in ins["result"]
        fb = [a for a in acts if a["command"]["command"] == "codetracer.feedback"][0]
        assert d.request("workspace/executeCommand", fb["command"], timeout=60)["result"]["db"] == db
        assert d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}, timeout=60)["result"]
        assert d.request("textDocument/codeLens", {"textDocument": {"uri": uri}}, timeout=60)["result"]
        assert d.request("workspace/symbol", {"query": "cat"}, timeout=60)["result"]
        text = open(calc, encoding="utf-8").read()
        for v in range(2, 12):
            d.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": v},
                                                "contentChanges": [{"text": text if v == 11 else text[:500]}]})
        d.wait_diagnostics(uri, timeout=120, pred=lambda p: p.get("version") == 11)
        d.send_raw(b"Content-Length: 5\r\n\r\n{bad}")
        d.send_raw(b"no header at all\r\n\r\n")
        r = d.request("workspace/executeCommand", {"command": "codetracer.analyze", "arguments": [fixture()]}, timeout=120)
        assert r["result"]["trajectories"] == 2, r
        # hovers and symbols on the analyzed folder's files (issue 5)
        d.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 13, "character": 20}}, timeout=60)
        assert "Step 4" in h["result"]["contents"]["value"], h
        assert d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}, timeout=60)["result"]
        assert d.request("workspace/symbol", {"query": ""}, timeout=60)["result"]
        # reopened: remembered diagnostics first (the database exists since the feedback)
        uri = d.open(calc, version=20)
        d.wait_diagnostics(uri, timeout=120, pred=lambda p: p.get("version") == 20)
        d.request("workspace/executeCommand", {"command": "codetracer.clear", "arguments": []}, timeout=60)
        d.notify("textDocument/didClose", {"textDocument": {"uri": uri2}})
        rc = d.stop(timeout=120)
        report = open(log).read()
        assert rc == 0, "exit %d; valgrind says:\n%s" % (rc, report[-4000:])
        assert "Invalid" not in report and "uninitialised" not in report, report[-4000:]
    finally:
        shutil.rmtree(tmp)


def test_sources_session_under_valgrind():
    """Issue 6: edits placed on the source files, hover, definition, blame, a source buffer
    opened and changed, the trajectory closed — no errors, no leaks."""
    if not have("valgrind"):
        print("SKIP: valgrind is not installed (scripts/test.sh installs it); session not checked")
        return
    if sanitized_build():
        print("SKIP: this build uses ASan, which valgrind cannot run; the plain build runs this test")
        return
    spans = os.path.join(os.path.dirname(fixture()), "spans")
    ws = os.path.join(spans, "ws")
    calc = os.path.join(ws, "app", "calc.py")
    tmp = tempfile.mkdtemp()
    try:
        log = os.path.join(tmp, "vg.log")
        d = Daemon(prefix=["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                           "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
                           "--log-file=" + log], env={"XDG_RUNTIME_DIR": tmp})
        d.auto["window/showDocument"] = {"success": True}
        d.initialize({"general": {"positionEncodings": ["utf-16"]}, "window": {"showDocument": {"support": True}},
                      "textDocument": {"publishDiagnostics": {"relatedInformation": True}}},
                     options={"debounceMs": 20, "showAllEdits": True,
                              "pathMappings": [{"from": "/testbed", "to": ws}]},
                     root_uri=uri_of(ws))
        turi = d.open(os.path.join(spans, "run_openhands.json"))
        curi = uri_of(calc)
        assert d.wait_diagnostics(curi, timeout=120)["diagnostics"]
        h = d.request("textDocument/hover", {"textDocument": {"uri": curi}, "position": {"line": 7, "character": 0}}, timeout=60)
        assert "Step 3" in h["result"]["contents"]["value"], h
        assert d.request("textDocument/definition", {"textDocument": {"uri": turi},
                                                     "position": {"line": 6, "character": 10}}, timeout=60)["result"]
        b = d.request("workspace/executeCommand", {"command": "codetracer.blame",
                                                   "arguments": [{"uri": curi, "line": 7}]}, timeout=60)
        assert b["result"]["step_id"] == 3, b
        text = open(calc, encoding="utf-8").read()
        d.open(calc, text="\n" + text)
        d.notify("textDocument/didChange", {"textDocument": {"uri": curi, "version": 2},
                                            "contentChanges": [{"text": text}]})
        d.wait_diagnostics(curi, timeout=120, pred=lambda p: p.get("version") == 2 and p["diagnostics"])
        d.notify("workspace/didChangeConfiguration", {"settings": {"codetracer": {"showAllEdits": False}}})
        d.notify("textDocument/didClose", {"textDocument": {"uri": turi}})
        d.wait_diagnostics(curi, timeout=120, pred=lambda p: not p["diagnostics"])
        rc = d.stop(timeout=120)
        report = open(log).read()
        assert rc == 0, "exit %d; valgrind says:\n%s" % (rc, report[-4000:])
        assert "Invalid" not in report and "uninitialised" not in report, report[-4000:]
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main([test_full_session_under_valgrind, test_sources_session_under_valgrind])
