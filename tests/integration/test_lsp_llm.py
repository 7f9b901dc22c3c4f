#!/usr/bin/env python3
"""The LLM agent inside the editor daemon, through the real codetracerd against the fake
OpenAI-compatible server (fake_llm_server.py, 127.0.0.1, scripted replies):

  (a) the "Diagnose with LLM" code actions appear only when an endpoint and a model are configured;
  (b) codetracer.analyze {analyzer: "llm"}: one $/progress report per turn with the step inspected,
      tokens and cost; the final publish replaces the heuristic diagnostics with exactly the
      scripted agent's labels, data.analyzer == "llm"; a bad analyzer is -32602;
  (c) cancellation mid-run (the fake server holds its 3rd reply; window/workDoneProgress/cancel,
      then $/cancelRequest): the answer and the publish are marked partial and keep the label
      written before the cancel; the daemon answers a hover afterwards;
  (d) hover and documentSymbol are answered quickly WHILE the fake server holds a reply;
  (e) the API key (a unique marker in the daemon's environment) is sent as the Authorization
      header and appears in no stdout message, stderr, logMessage or file.

Expected labels and figures are written by hand from llm_fixture.py's script: turn N inspects the
step its `cat steps/N.json` names, each reply reports 1000 prompt + 100 completion tokens, and
gpt-4.1-mini costs $0.40/$1.60 per 1M tokens, so each turn costs $0.00056."""
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm_server import FakeLLMServer, Reply  # noqa: E402
from llm_fixture import calc_script, calc_trajectory  # noqa: E402
from lspclient import Daemon, main, uri_of  # noqa: E402

SECRET = "sk-lsp-llm-MARKER-7731"
MODEL = "gpt-4.1-mini"
TMP = tempfile.mkdtemp(prefix="ct_lsp_llm_")
TRAJ = os.path.join(TMP, "calc__calc-1.traj.json")
with open(TRAJ, "w") as f:
    json.dump(calc_trajectory(), f, indent=1)
CAPS = {"general": {"positionEncodings": ["utf-16"]}, "window": {"workDoneProgress": True},
        "textDocument": {"publishDiagnostics": {"relatedInformation": True}}}
EVERY_MSG = []  # every message any daemon of this test sent, for the key check
DAEMONS = []


def env():
    e = {k: "" for k in os.environ if k.startswith("CODETRACER_") or k.startswith("OPENAI_")}
    e.update(XDG_CONFIG_HOME=os.path.join(TMP, "xdg"), HOME=TMP, TMPDIR=TMP, CODETRACER_API_KEY=SECRET,
             CODETRACER_DB=os.path.join(TMP, "memory.db"), XDG_RUNTIME_DIR=os.path.join(TMP, "run"))
    os.makedirs(e["XDG_RUNTIME_DIR"], exist_ok=True)
    return e


def start(options=None):
    d = Daemon(env=env())
    put = d.q.put
    d.q.put = lambda m: (EVERY_MSG.append(m), put(m))
    d.auto["window/workDoneProgress/create"] = None
    d.initialize(CAPS, options)
    DAEMONS.append(d)
    return d


def llm_options(base):
    return {"codetracer": {"llm": {"apiBase": base, "model": MODEL}}}


def labels_of(diags):
    return {x["data"]["step_id"]: x["data"]["label"] for x in diags}


def code_actions(d, uri):
    r = d.request("textDocument/codeAction", {"textDocument": {"uri": uri},
                                               "range": {"start": {"line": 0, "character": 0},
                                                         "end": {"line": 0, "character": 0}},
                                               "context": {"diagnostics": []}})
    return r["result"]


def progress_of(msgs, token):
    return [m["params"]["value"] for m in msgs if m.get("method") == "$/progress" and m["params"]["token"] == token]


def test_action_only_when_configured():
    d = start()  # no endpoint, no model
    uri = d.open(TRAJ)
    d.wait_diagnostics(uri)
    titles = [a["title"] for a in code_actions(d, uri)]
    assert not any("LLM" in t for t in titles), titles
    r = d.request("workspace/executeCommand", {"command": "codetracer.analyze",
                                               "arguments": [{"uri": uri, "analyzer": "llm"}]})
    assert r["error"]["code"] == -32803 and "CODETRACER_API_BASE" in r["error"]["message"], r
    assert d.stop() == 0

    d = start(llm_options("http://127.0.0.1:9/v1"))
    uri = d.open(TRAJ)
    d.wait_diagnostics(uri)
    acts = {a["title"]: a for a in code_actions(d, uri)}
    assert "Diagnose with LLM" in acts and "Diagnose with LLM (hybrid)" in acts, list(acts)
    cmd = acts["Diagnose with LLM"]["command"]
    assert cmd["command"] == "codetracer.analyze", cmd
    assert cmd["arguments"] == [{"uri": uri, "analyzer": "llm"}], cmd
    assert acts["Diagnose with LLM (hybrid)"]["command"]["arguments"][0]["analyzer"] == "hybrid"
    bad = d.request("workspace/executeCommand", {"command": "codetracer.analyze",
                                                 "arguments": [{"uri": uri, "analyzer": "gpt"}]})
    assert bad["error"]["code"] == -32602, bad
    assert d.stop() == 0


def test_llm_analysis_replaces_heuristic():
    with FakeLLMServer(calc_script()) as srv:
        d = start(llm_options(srv.base_url))
        uri = d.open(TRAJ)
        heur = d.wait_diagnostics(uri)
        assert all(x["data"].get("analyzer") is None for x in heur["diagnostics"]), heur
        rid = d.request_async("workspace/executeCommand", {"command": "codetracer.analyze",
                                                           "arguments": [{"uri": uri, "analyzer": "llm"}]})
        r = d.wait_response(rid, timeout=120)
        res = r["result"]
        assert res["analyzer"] == "llm" and res["model"] == MODEL and res["partial"] is False, res
        assert sorted((x["step_id"], x["label"]) for x in res["labels"]) == [(2, "incorrect"), (3, "unuseful")], res
        assert abs(res["cost_usd"] - 5 * 0.00056) < 1e-9, res
        assert len(srv.requests) == 5, len(srv.requests)
        assert all(q["headers"].get("authorization") == "Bearer " + SECRET for q in srv.requests)
        msgs = d.drain(0.5)
        pubs = [m["params"] for m in msgs if m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri]
        assert len(pubs) == 1, pubs  # ONE publish replaces the heuristic set
        diags = pubs[0]["diagnostics"]
        assert labels_of(diags) == {2: "incorrect", 3: "unuseful"}, diags
        for x in diags:
            assert x["data"]["analyzer"] == "llm" and "partial" not in x["data"], x
            assert "[LLM: gpt-4.1-mini]" in x["message"], x
        begin = [m["params"] for m in msgs if m.get("method") == "$/progress"
                 and m["params"]["value"]["kind"] == "begin"]
        assert begin and begin[0]["value"]["cancellable"] is True, begin
        values = progress_of(msgs, begin[0]["token"])
        reports = [v["message"] for v in values if v["kind"] == "report" and v["message"].startswith("turn")]
        assert reports[:5] == ["turn 1 · inspecting step 2 · 1.1k tokens · $0.0006",
                               "turn 2 · inspecting step 3 · 2.2k tokens · $0.0011",
                               "turn 3 · inspecting step 1 · 3.3k tokens · $0.0017",
                               "turn 4 · inspecting step 1 · 4.4k tokens · $0.0022",
                               "turn 5 · inspecting step 1 · 5.5k tokens · $0.0028"], reports
        assert values[-1]["kind"] == "end" and values[-1]["message"].startswith("done"), values[-1]
        # hover now speaks of the LLM labels (the document's result was replaced)
        h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pubs[0]["diagnostics"][0]["range"]["start"]})
        assert "result" in h, h
    with FakeLLMServer(calc_script()) as srv:  # hybrid: the agent's verdicts on the steps it inspected
        d.notify("workspace/didChangeConfiguration", {"settings": llm_options(srv.base_url)})
        r = d.request("workspace/executeCommand", {"command": "codetracer.analyze",
                                                   "arguments": [{"uri": uri, "analyzer": "hybrid"}]}, timeout=120)
        assert r["result"]["analyzer"] == "hybrid" and len(srv.requests) == 5, (r, len(srv.requests))
        pub = d.wait_diagnostics(uri, pred=lambda p: any(x["data"].get("analyzer") == "hybrid" for x in p["diagnostics"]))
        got = labels_of(pub["diagnostics"])
        assert got.get(2) == "incorrect" and got.get(3) == "unuseful" and 1 not in got, got
        assert all(x["data"]["analyzer"] == "hybrid" and "[LLM hybrid: gpt-4.1-mini]" in x["message"]
                   for x in pub["diagnostics"]), pub
        assert d.stop() == 0


def cancel_script():
    """Inspect step 2, write its label, then a reply the server holds for 30 s."""
    labels = {"labels": [{"step_id": 2, "label": "incorrect", "reasoning": "edited the wrong file", "evidence": [1]}]}
    cmd = "printf '%s\\n' '" + json.dumps(labels) + "' > labels.json"
    return [Reply.completion("Look.\n```bash\ncat steps/2.json\n```", 1000, 100),
            Reply.completion("Write.\n```bash\n" + cmd + "\n```", 1000, 100),
            Reply.completion("Done.\n```bash\necho TRACER_FINAL_OUTPUT\n```", 1000, 100, delay=30)]


def run_until_held(d, srv, uri):
    rid = d.request_async("workspace/executeCommand", {"command": "codetracer.analyze",
                                                       "arguments": [{"uri": uri, "analyzer": "llm"}]})
    end = time.time() + 60
    while len(srv.requests) < 3 and time.time() < end:
        time.sleep(0.05)
    assert len(srv.requests) == 3, len(srv.requests)
    return rid


def check_partial(d, uri, rid, t_cancel):
    r = d.wait_response(rid, timeout=20)
    took = time.time() - t_cancel
    assert took < 5, took  # not the 30 s the server holds the reply
    print("cancel to partial answer: %.1f ms" % (took * 1000))
    res = r["result"]
    assert res["partial"] is True and res["stop_reason"] == "cancelled", res
    assert [(x["step_id"], x["label"]) for x in res["labels"]] == [(2, "incorrect")], res
    pub = d.wait_diagnostics(uri, pred=lambda p: any(x["data"].get("analyzer") == "llm" for x in p["diagnostics"]))
    assert labels_of(pub["diagnostics"]) == {2: "incorrect"}, pub
    x = pub["diagnostics"][0]
    assert x["data"]["partial"] is True and x["message"].endswith("(partial: cancelled)"), x
    h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": x["range"]["start"]}, timeout=5)
    assert "result" in h, h


def test_cancel_keeps_partial_labels_and_stays_responsive():
    with FakeLLMServer(cancel_script()) as srv:
        d = start(llm_options(srv.base_url))
        uri = d.open(TRAJ)
        heur = d.wait_diagnostics(uri)
        rid = run_until_held(d, srv, uri)
        # (d) the loop is free while a reply is held
        pos = heur["diagnostics"][0]["range"]["start"] if heur["diagnostics"] else {"line": 1, "character": 2}
        t0 = time.time()
        h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos}, timeout=5)
        s = d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}, timeout=5)
        held_ms = (time.time() - t0) * 1000
        assert "result" in h and "result" in s and held_ms < 1000, (h, s, held_ms)
        print("hover + documentSymbol while a reply is held: %.1f ms" % held_ms)
        begin = d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "begin")
        token = begin["params"]["token"]
        d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["token"] == token
               and m["params"]["value"].get("message", "").startswith("turn 2"))
        t_cancel = time.time()
        d.notify("window/workDoneProgress/cancel", {"token": token})
        check_partial(d, uri, rid, t_cancel)
        end = d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["token"] == token
                     and m["params"]["value"]["kind"] == "end")
        assert end["params"]["value"]["message"].startswith("partial: cancelled"), end

    # the same through $/cancelRequest on the analyze request
    with FakeLLMServer(cancel_script()) as srv:
        d2 = start(llm_options(srv.base_url))
        uri = d2.open(TRAJ)
        d2.wait_diagnostics(uri)
        rid = run_until_held(d2, srv, uri)
        time.sleep(0.2)
        t_cancel = time.time()
        d2.notify("$/cancelRequest", {"id": rid})
        check_partial(d2, uri, rid, t_cancel)
        assert d2.stop() == 0
    assert d.stop() == 0


def test_clear_and_exit_while_held():
    """codetracer.clear cancels and publishes nothing; exit with a held reply ends promptly."""
    with FakeLLMServer(cancel_script()) as srv:
        d = start(llm_options(srv.base_url))
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri)
        rid = run_until_held(d, srv, uri)
        c = d.request("workspace/executeCommand", {"command": "codetracer.clear", "arguments": [uri]})
        assert c["result"]["cleared"] >= 2, c  # the document and its LLM analysis
        r = d.wait_response(rid, timeout=10)
        assert r["error"]["code"] == -32800, r
        msgs = d.drain(0.5)
        assert not any(m.get("method") == "textDocument/publishDiagnostics" and m["params"]["diagnostics"]
                       for m in msgs), msgs
    with FakeLLMServer(cancel_script()) as srv:
        d2 = start(llm_options(srv.base_url))
        uri = d2.open(TRAJ)
        d2.wait_diagnostics(uri)
        run_until_held(d2, srv, uri)
        t0 = time.time()
        assert d2.stop(timeout=10) == 0
        assert time.time() - t0 < 5, time.time() - t0
    assert d.stop() == 0


def test_max_concurrent():
    """llm.maxConcurrent 3, 5 analyses of 5 files queued against a server that holds every reply:
    exactly 3 requests are in flight at the server (the other 2 analyses wait), then, released,
    all 5 finish with the script's labels; ONE curl multi handle serves them all. A bad value is
    warned about and the default (4) applies; raising the setting starts the 5th at once."""
    gate = threading.Event()
    paths = []
    for i in range(5):
        t = calc_trajectory()
        t["instance_id"] = "calc__calc-mc%d" % i
        t["messages"][1]["content"] += "\nconcurrency run %d" % i
        paths.append(os.path.join(TMP, "mc%d.traj.json" % i))
        with open(paths[-1], "w") as f:
            json.dump(t, f)
    with FakeLLMServer(calc_script(), by_turn=True, gate=gate) as srv:
        opts = llm_options(srv.base_url)
        opts["codetracer"]["analysisCache"] = False
        opts["codetracer"]["llm"]["maxConcurrent"] = 3
        d = start(opts)
        rids = [d.request_async("workspace/executeCommand", {"command": "codetracer.analyze",
                                                             "arguments": [{"uri": uri_of(p), "analyzer": "llm"}]})
                for p in paths]
        end = time.time() + 60
        while len(srv.requests) < 3 and time.time() < end:
            time.sleep(0.05)
        time.sleep(0.5)  # time for a 4th request to arrive if the limit were not kept
        assert len(srv.requests) == 3 and srv.in_flight == 3, (len(srv.requests), srv.in_flight)
        gate.set()
        for rid in rids:
            r = d.wait_response(rid, timeout=120)
            res = r["result"]
            assert res["partial"] is False, res
            assert sorted((x["step_id"], x["label"]) for x in res["labels"]) == [(2, "incorrect"), (3, "unuseful")], res
        assert len(srv.requests) == 25 and srv.peak_in_flight == 3, (len(srv.requests), srv.peak_in_flight)
        assert d.stop() == 0
    assert d.stderr.count(b"curl multi handle created") == 1, d.stderr[-2000:]

    gate = threading.Event()
    with FakeLLMServer(calc_script(), by_turn=True, gate=gate) as srv:
        opts = llm_options(srv.base_url)
        opts["codetracer"]["analysisCache"] = False
        opts["codetracer"]["llm"]["maxConcurrent"] = 0
        d = start(opts)
        warn = d.wait(lambda m: m.get("method") == "window/logMessage"
                      and "llm.maxConcurrent must be an integer 1..64" in m["params"]["message"])
        assert warn["params"]["type"] == 2, warn
        rids = [d.request_async("workspace/executeCommand", {"command": "codetracer.analyze",
                                                             "arguments": [{"uri": uri_of(p), "analyzer": "llm"}]})
                for p in paths]
        end = time.time() + 60
        while len(srv.requests) < 4 and time.time() < end:
            time.sleep(0.05)
        time.sleep(0.5)
        assert len(srv.requests) == 4 and srv.in_flight == 4, (len(srv.requests), srv.in_flight)
        # raising the limit starts the waiting analysis at once (still held by the server)
        d.notify("workspace/didChangeConfiguration", {"settings": {"codetracer": {"llm": {"maxConcurrent": 5}}}})
        end = time.time() + 30
        while len(srv.requests) < 5 and time.time() < end:
            time.sleep(0.05)
        assert len(srv.requests) == 5 and srv.in_flight == 5, (len(srv.requests), srv.in_flight)
        gate.set()
        for rid in rids:
            assert d.wait_response(rid, timeout=120)["result"]["partial"] is False
        assert d.stop() == 0


def sanitized_build():
    cache = os.path.join(os.environ.get("CT_BUILD_DIR", ""), "CMakeCache.txt")
    try:
        with open(cache) as f:
            return "CT_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        return False


def test_under_valgrind():
    """A finished LLM analysis, then exit while a reply is held: no memory error, no leak, and the
    threads, the curl multi handle and its polls are torn down (the daemon exits 0)."""
    if not shutil.which("valgrind"):
        print("SKIP: valgrind is not installed; the LLM session is not checked under it")
        return
    if sanitized_build():
        print("SKIP: ASan build (valgrind cannot run it); the plain build runs this test")
        return
    log = os.path.join(TMP, "vg.log")
    e = env()
    d = Daemon(prefix=["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                       "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
                       "--log-file=" + log], env=e)
    put = d.q.put
    d.q.put = lambda m: (EVERY_MSG.append(m), put(m))
    DAEMONS.append(d)
    d.auto["window/workDoneProgress/create"] = None
    with FakeLLMServer(calc_script() + cancel_script()[2:]) as srv:
        d.initialize(CAPS, llm_options(srv.base_url))
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri, timeout=120)
        r = d.request("workspace/executeCommand", {"command": "codetracer.analyze",
                                                   "arguments": [{"uri": uri, "analyzer": "llm"}]}, timeout=300)
        assert r["result"]["partial"] is False and len(r["result"]["labels"]) == 2, r
        d.request_async("workspace/executeCommand", {"command": "codetracer.analyze",
                                                     "arguments": [{"uri": uri, "analyzer": "hybrid"}]})
        end = time.time() + 120
        while len(srv.requests) < 6 and time.time() < end:
            time.sleep(0.1)
        assert len(srv.requests) == 6, len(srv.requests)  # the hybrid run's first reply is held
        rc = d.stop(timeout=120)
    with open(log) as f:
        report = f.read()
    assert rc == 0, (rc, report[-3000:])
    print("valgrind log: %d bytes, rc %d" % (len(report), rc))


def test_key_never_shown():
    """Runs last: everything the daemons of this test printed or wrote."""
    for d in DAEMONS:
        if d.proc.poll() is None:
            d.finish(10)
    msgs = [m for m in EVERY_MSG if m is not None]  # None: a daemon's end of output
    assert msgs and SECRET not in json.dumps(msgs)
    logs = [m for m in msgs if m.get("method") == "window/logMessage"]
    assert logs, "no logMessage seen"
    for d in DAEMONS:
        assert SECRET.encode() not in d.stderr
    for root, _, files in os.walk(TMP):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                assert SECRET.encode() not in f.read(), fn
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main([test_action_only_when_configured, test_llm_analysis_replaces_heuristic,
          test_cancel_keeps_partial_labels_and_stays_responsive, test_clear_and_exit_while_held,
          test_max_concurrent,
          test_under_valgrind, test_key_never_shown])
