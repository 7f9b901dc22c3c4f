#!/usr/bin/env python3
"""LLM analyses in the editor daemon use the analysis cache, the memory database and the user's
feedback like `codetracer analyze --analyzer llm` does; a cancel kills a command the agent is
running. Through the real codetracerd (and the real CLI) against the fake OpenAI-compatible server
(fake_llm_server.py, scripted replies, every request recorded):

  (a) a second codetracer.analyze {analyzer: "llm"} of the same document is served from the cache:
      the fake server gets 0 new requests, the published diagnostics are the same, the answer says
      cached: 1 and the progress ends "from the analysis cache"; feedback given afterwards
      (codetracer.feedback) is shown at once on the LLM labels (re-served from the cache, no
      request, never replaced by the heuristic's labels) and overrides them on the next analysis;
  (b) the CLI filled the cache first: the daemon serves it with 0 requests; and the other way
      round, the CLI's --json says "cached": true after the daemon's analysis, with 0 requests;
  (c) a partial (cancelled) result is never cached: the next analysis asks the LLM again;
  (d) memory: an insight in the database is in the agent's system prompt (prior knowledge), and
      online extraction (trace.memory_every_steps: 2 through llm.config) writes the agent's
      insight back to the database;
  (e) cancel while the agent's command (`sleep 30`) runs: the partial answer comes at once, not
      after the command's 60 s limit.

Labels are written by hand from llm_fixture.py's script (steps 2 incorrect, 3 unuseful)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm_server import FakeLLMServer, Reply  # noqa: E402
from llm_fixture import BIN, CALC_LABELS, calc_script, calc_trajectory  # noqa: E402
from lspclient import Daemon, main  # noqa: E402

MODEL = "gpt-4.1-mini"
TMP = tempfile.mkdtemp(prefix="ct_lsp_llm_cache_")
TRAJ = os.path.join(TMP, "calc__calc-1.traj.json")
with open(TRAJ, "w") as f:
    json.dump(calc_trajectory(), f, indent=1)
CAPS = {"general": {"positionEncodings": ["utf-16"]}, "window": {"workDoneProgress": True}}
DAEMONS = []


def env(db):
    e = {k: "" for k in os.environ if k.startswith("CODETRACER_") or k.startswith("OPENAI_")}
    e.update(XDG_CONFIG_HOME=os.path.join(TMP, "xdg"), XDG_DATA_HOME=os.path.join(TMP, "data"), HOME=TMP,
             TMPDIR=TMP, CODETRACER_API_KEY="sk-cache-test", CODETRACER_DB=db,
             XDG_RUNTIME_DIR=os.path.join(TMP, "run"))
    os.makedirs(e["XDG_RUNTIME_DIR"], exist_ok=True)
    return e


def start(db, base, create=True, config=None):
    d = Daemon(env=env(db))
    d.auto["window/workDoneProgress/create"] = None
    llm = {"apiBase": base, "model": MODEL}
    if config:
        llm["config"] = config
    d.initialize(CAPS, {"codetracer": {"createMemoryDb": create, "llm": llm}})
    DAEMONS.append(d)
    return d


def cli(db, *args):
    p = subprocess.run([BIN] + list(args), env=dict(os.environ, **env(db)), capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def analyze(d, uri, analyzer="llm", timeout=120):
    r = d.request("workspace/executeCommand", {"command": "codetracer.analyze",
                                               "arguments": [{"uri": uri, "analyzer": analyzer}]}, timeout=timeout)
    assert "result" in r, r
    return r["result"]


def llm_publish(d, uri):
    return d.wait_diagnostics(uri, pred=lambda p: any(x["data"].get("analyzer") == "llm" for x in p["diagnostics"]))


def labels_of(diags):
    return {x["data"]["step_id"]: x["data"]["label"] for x in diags}


def pairs(res):
    return sorted((x["step_id"], x["label"]) for x in res["labels"])


def end_messages(msgs):
    return [m["params"]["value"]["message"] for m in msgs
            if m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end"
            and str(m["params"]["token"]).startswith("codetracer-llm")]


def test_second_analysis_from_cache_and_feedback():
    db = os.path.join(TMP, "a.db")
    with FakeLLMServer(calc_script()) as srv:
        d = start(db, srv.base_url)
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri)
        first = analyze(d, uri)
        assert pairs(first) == [(2, "incorrect"), (3, "unuseful")] and first["cached"] == 0, first
        assert len(srv.requests) == 5, len(srv.requests)
        pub1 = llm_publish(d, uri)
        d.drain(0.3)
        second = analyze(d, uri)
        assert len(srv.requests) == 5, "served from the cache: no new request, got %d" % len(srv.requests)
        assert second["cached"] == 1 and pairs(second) == pairs(first) and second["partial"] is False, second
        msgs = d.drain(0.5)
        pubs = [m["params"] for m in msgs if m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri]
        assert len(pubs) == 1 and pubs[0]["diagnostics"] == pub1["diagnostics"], (pubs, pub1)
        ends = end_messages(msgs)
        assert ends and "from the analysis cache" in ends[-1], ends
        # feedback: step 1 is wrong as well; the cached LLM analysis shows it from then on
        fb = d.request("workspace/executeCommand", {"command": "codetracer.feedback", "arguments": [
            {"traj_id": first["labels"][0]["traj_id"], "step_id": 1, "label": "incorrect"}]})
        assert "result" in fb, fb
        # the daemon shows it at once, from the cached LLM analysis (never the heuristic's labels,
        # never a new LLM call)
        msgs = d.drain(1.5)
        pubs = [m["params"]["diagnostics"] for m in msgs if m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri]
        assert pubs, "no publish after the feedback"
        assert all(x["data"].get("analyzer") == "llm" for p in pubs for x in p), pubs
        assert labels_of(pubs[-1]) == {1: "incorrect", 2: "incorrect", 3: "unuseful"}, pubs[-1]
        assert len(srv.requests) == 5, len(srv.requests)
        third = analyze(d, uri)
        assert len(srv.requests) == 5, len(srv.requests)
        assert pairs(third) == [(1, "incorrect"), (2, "incorrect"), (3, "unuseful")], third
        assert labels_of(llm_publish(d, uri)["diagnostics"]) == {1: "incorrect", 2: "incorrect", 3: "unuseful"}
        assert d.stop() == 0


def test_cli_and_daemon_share_the_cache():
    db = os.path.join(TMP, "b.db")
    with FakeLLMServer(calc_script()) as srv:
        rc, out, err = cli(db, "analyze", TRAJ, "--analyzer", "llm", "--api-base", srv.base_url, "--model", MODEL,
                           "--output-dir", os.path.join(TMP, "out-cli"), "--json")
        assert rc == 0, (rc, out, err)
        line = json.loads(out.strip().splitlines()[-1])
        assert line.get("cached") is False, line
        assert len(srv.requests) == 5, len(srv.requests)
        d = start(db, srv.base_url, create=False)  # the CLI created the database
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri)
        res = analyze(d, uri)
        assert len(srv.requests) == 5, "the CLI's analysis was not served: %d requests" % len(srv.requests)
        assert res["cached"] == 1 and pairs(res) == [(2, "incorrect"), (3, "unuseful")], res
        assert d.stop() == 0
    # the other way round: the daemon's hybrid analysis, then the CLI's
    with FakeLLMServer(calc_script()) as srv:
        d = start(db, srv.base_url, create=False)
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri)
        res = analyze(d, uri, "hybrid")
        assert res["cached"] == 0 and len(srv.requests) == 5, (res, len(srv.requests))
        assert d.stop() == 0
        rc, out, err = cli(db, "analyze", TRAJ, "--analyzer", "hybrid", "--api-base", srv.base_url, "--model", MODEL,
                           "--output-dir", os.path.join(TMP, "out-cli2"), "--json")
        assert rc == 0, (rc, out, err)
        line = json.loads(out.strip().splitlines()[-1])
        assert line.get("cached") is True, line
        assert len(srv.requests) == 5, len(srv.requests)


def labels_cmd(labels):
    return "printf '%s\\n' '" + json.dumps(labels) + "' > labels.json"


def sleeping_script():
    """Inspect step 2, write its label, then a command that sleeps 30 s."""
    labels = {"labels": [{"step_id": 2, "label": "incorrect", "reasoning": "edited the wrong file", "evidence": [1]}]}
    return [Reply.completion("Look.\n```bash\ncat steps/2.json\n```", 1000, 100),
            Reply.completion("Write.\n```bash\n" + labels_cmd(labels) + "\n```", 1000, 100),
            Reply.completion("Wait.\n```bash\nsleep 30\n```", 1000, 100)]


def test_cancel_kills_the_running_command_and_partial_is_not_cached():
    db = os.path.join(TMP, "c.db")
    with FakeLLMServer(sleeping_script()) as srv:
        d = start(db, srv.base_url)
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri)
        rid = d.request_async("workspace/executeCommand", {"command": "codetracer.analyze",
                                                           "arguments": [{"uri": uri, "analyzer": "llm"}]})
        end = time.time() + 60
        while len(srv.requests) < 3 and time.time() < end:
            time.sleep(0.05)
        assert len(srv.requests) == 3, len(srv.requests)
        time.sleep(0.5)  # the reply is in: `sleep 30` runs now
        t0 = time.time()
        d.notify("$/cancelRequest", {"id": rid})
        r = d.wait_response(rid, timeout=20)
        took = time.time() - t0
        print("cancel while the agent's command sleeps to partial answer: %.0f ms" % (took * 1000))
        assert took < 2, took  # not the 30 s sleep, not the 60 s command limit
        res = r["result"]
        assert res["partial"] is True and res["stop_reason"] == "cancelled", res
        assert pairs(res) == [(2, "incorrect")] and res["cached"] == 0, res
        assert len(srv.requests) == 3, len(srv.requests)
    # the partial result was not cached: the next analysis runs the agent again
    with FakeLLMServer(calc_script()) as srv:
        d.notify("workspace/didChangeConfiguration", {"settings": {"codetracer": {"llm": {"apiBase": srv.base_url}}}})
        res = analyze(d, uri)
        assert res["cached"] == 0 and res["partial"] is False and len(srv.requests) == 5, (res, len(srv.requests))
        assert pairs(res) == [(2, "incorrect"), (3, "unuseful")], res
        assert d.stop() == 0


def test_memory_prior_knowledge_and_online_extraction():
    db = os.path.join(TMP, "d.db")
    # shares words with the task ("add", "calc"): retrieval is bm25 over the task text
    prior = "When add in calc is wrong, check which grep hit defines it before editing (prior-knowledge marker 4417)"
    rc, out, err = cli(db, "memory", "add", prior, "--kind", "pitfall")
    assert rc == 0, (rc, out, err)
    cfg = os.path.join(TMP, "extract.yaml")
    with open(cfg, "w") as f:
        f.write("trace:\n  memory_every_steps: 2\n  memory_every_tokens: 0\n  memory_max_extractions: 1\n")
    learnt = "The agent edits the second grep hit without reading the first (online marker 9021)"
    script = calc_script()
    script.insert(2, Reply.completion("- [failure_pattern] " + learnt, 200, 30))  # after turn 2
    with FakeLLMServer(script) as srv:
        d = start(db, srv.base_url, create=False, config=cfg)
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri)
        res = analyze(d, uri)
        assert pairs(res) == [(2, "incorrect"), (3, "unuseful")], res
        assert len(srv.requests) == 6, len(srv.requests)  # 5 turns + 1 extraction
        system = srv.requests[0]["json"]["messages"][0]["content"]
        assert "prior-knowledge marker 4417" in system, system[-2000:]
        extraction = srv.requests[2]["json"]["messages"][-1]["content"]
        assert "reusable insights" in extraction, extraction[-500:]
        assert d.stop() == 0
    rc, out, err = cli(db, "memory", "list", "--json")
    assert rc == 0 and "online marker 9021" in out, (rc, out, err)


def test_progress_of_an_llm_analysis_that_ends_before_the_create_answer():
    """window/workDoneProgress/create answered only after the LLM analysis was answered: its whole
    progress (begin, cancellable, then end "done ...") follows the answer on that token."""
    db = os.path.join(TMP, "late.db")
    with FakeLLMServer(calc_script()) as srv:
        d = start(db, srv.base_url)
        del d.auto["window/workDoneProgress/create"]
        uri = d.open(TRAJ)
        d.wait_diagnostics(uri)
        rid = d.request_async("workspace/executeCommand", {"command": "codetracer.analyze",
                                                           "arguments": [{"uri": uri, "analyzer": "llm"}]})
        create = d.wait(lambda m: m.get("method") == "window/workDoneProgress/create"
                        and str(m["params"]["token"]).startswith("codetracer-llm"), 10, "create")
        res = d.wait_response(rid, 120)
        assert pairs(res["result"]) == [(2, "incorrect"), (3, "unuseful")], res
        token = create["params"]["token"]
        assert not [m for m in d.msgs if m.get("method") == "$/progress" and m["params"]["token"] == token]
        d.send({"jsonrpc": "2.0", "id": create["id"], "result": None})
        begin = d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["token"] == token, 10, "begin")
        assert begin["params"]["value"]["kind"] == "begin" and begin["params"]["value"]["cancellable"] is True, begin
        end = d.wait(lambda m: m.get("method") == "$/progress" and m["params"]["token"] == token
                     and m["params"]["value"]["kind"] == "end", 10, "end")
        assert end["params"]["value"]["message"].startswith("done"), end
        assert d.stop() == 0


def test_zz_cleanup():
    for d in DAEMONS:
        if d.proc.poll() is None:
            d.finish(10)
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    assert CALC_LABELS["labels"][0]["step_id"] == 2
    main([test_second_analysis_from_cache_and_feedback, test_cli_and_daemon_share_the_cache,
          test_cancel_kills_the_running_command_and_partial_is_not_cached,
          test_memory_prior_knowledge_and_online_extraction,
          test_progress_of_an_llm_analysis_that_ends_before_the_create_answer, test_zz_cleanup])
