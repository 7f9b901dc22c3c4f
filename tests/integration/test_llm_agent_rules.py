#!/usr/bin/env python3
"""The diagnosis agent's second slice, end to end through `codetracer llm diagnose` and a
scripted fake LLM (tests/integration/fake_llm_server.py, request log):

* rules: a label citing a step the agent never opened is refused with a message back to the
  agent (one repair turn); fixed → accepted; not fixed → the valid part kept, partial
  (invalid_output);
* hybrid: the heuristic's findings are candidates in the prompt; the merge keeps the agent's
  verdict on inspected steps and the heuristic's elsewhere, and says which;
* compaction: a small window → a summary request; the next request carries the summary and the
  inspected set, not the old turns; the conversation is saved as codetracer_analysis.traj.json
  with tokens/cost (summary call included) next to the profile files;
* memory: prior knowledge in the system prompt; online extraction writes an insight back;
* errors through the agent: 500 twice then success, 429 + Retry-After, a garbage body, a
  timeout, the budget running out mid-run; the API key in no output, file or request body.

The trajectory is hand-written (mini-SWE-agent format): 6 steps; step 3 reruns the failing test
of step 2 unchanged (the heuristic's retry-failure rule flags it unuseful).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm_server import FakeLLMServer, Reply  # noqa: E402

SRC = os.environ.get("CT_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", os.path.join(SRC, "build")), "bin", "codetracer"))
SECRET = "sk-h13-agent-SECRET-4242"
failures, passed = [], []


def check(name, cond, detail=""):
    (passed if cond else failures).append(name)
    if not cond:
        print(f"FAIL {name}: {str(detail)[:1500]}", file=sys.stderr)


def trajectory():
    def a(thought, cmd):
        return {"role": "assistant", "content": f"THOUGHT: {thought}\n\n```bash\n{cmd}\n```"}

    def o(rc, out):
        return {"role": "user", "content": f"<returncode>{rc}</returncode>\n<output>\n{out}</output>"}

    fail = "F test_add\nAssertionError: 0 != 4\n1 failed\n"
    return {
        "info": {"exit_status": "Submitted", "submission": "", "config": {"model": {"model_name": "openai/gpt-5"}}},
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "<pr_description>\nadd() in src/calc.py subtracts.\n</pr_description>"},
            a("Read it.", "cat src/calc.py"), o(0, "def add(a, b):\n    return a - b\n"),
            a("Run tests.", "python -m pytest -q"), o(1, fail),
            a("Run again.", "python -m pytest -q"), o(1, fail),
            a("Fix.", "sed -i 's/a - b/a + b/' src/calc.py"), o(0, ""),
            a("Test.", "python -m pytest -q"), o(0, "1 passed\n"),
            a("Submit.", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached"),
            {"role": "user", "content": ""},
        ],
        "trajectory_format": "mini-swe-agent-1",
        "instance_id": "calc__calc-2",
    }


def turn(text, cmd, pt=1000, ct=100):
    return Reply.completion(f"{text}\n```bash\n{cmd}\n```", pt, ct)


def write_labels(obj):
    return turn("Write.", "printf '%s\\n' '" + json.dumps(obj) + "' > labels.json")


FINISH = turn("Done.", "echo TRACER_FINAL_OUTPUT")


class Run:
    def __init__(self, tmp, name, script, args=(), config="", llm=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.traj = os.path.join(tmp, "calc__calc-2.traj.json")
        cfg = os.path.join(self.dir, "config.yaml")
        with open(cfg, "w") as f:
            settings = {"retry_base_ms": 50, "retry_max_ms": 5000, "max_retries": 3}
            settings.update(llm or {})
            f.write("llm:\n" + "".join(f"  {k}: {v}\n" for k, v in settings.items()) + config)
        env = {k: v for k, v in os.environ.items() if not (k.startswith("CODETRACER_") or k.startswith("OPENAI_"))}
        env.update(XDG_CONFIG_HOME=os.path.join(tmp, "xdg"), CODETRACER_API_KEY=SECRET,
                   CODETRACER_MODEL="gpt-4.1-mini")
        self.work = os.path.join(self.dir, "work")
        with FakeLLMServer(script) as srv:
            env["CODETRACER_API_BASE"] = srv.base_url
            t0 = time.monotonic()
            p = subprocess.run([BIN, "llm", "diagnose", self.traj, "--work-dir", self.work, "-c", cfg, *args],
                               capture_output=True, env=env, timeout=180)
            self.elapsed = time.monotonic() - t0
            self.requests = list(srv.requests)
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")
        check(f"{name}: no crash", self.rc >= 0, (self.rc, self.err))
        check(f"{name}: key not printed", SECRET not in self.out and SECRET not in self.err)
        for r in self.requests:
            check(f"{name}: key not in a request body", SECRET not in r["body"].decode("utf-8", "replace"))

    def msgs(self, i):
        j = self.requests[i]["json"] if i < len(self.requests) else None
        return j.get("messages", []) if j else []

    def body(self, i):
        return self.requests[i]["body"].decode("utf-8", "replace") if i < len(self.requests) else ""


def test_repair(tmp):
    bad = {"labels": [{"step_id": 3, "label": "unuseful", "reasoning": "reran the failing test unchanged"},
                      {"step_id": 4, "label": "incorrect", "reasoning": "edited before reading the failure", "evidence": [2]}],
           "root_cause_chain": ["no look at the test output"], "summary": "one hasty edit"}
    good = {"labels": [bad["labels"][1]], "root_cause_chain": ["no look at the test output"], "summary": "one hasty edit"}
    inspect = [turn("Read.", "cat steps/1.json"), turn("Tests.", "cat steps/2.json"), turn("Edit.", "cat steps/4.json")]
    # fixed after the refusal
    r = Run(tmp, "repair-fixed", inspect + [write_labels(bad), FINISH, write_labels(good), FINISH])
    check("repair: exit 0", r.rc == 0, r.err)
    check("repair: 7 calls", len(r.requests) == 7, len(r.requests))
    refusal = r.msgs(5)[-1]["content"] if len(r.requests) > 5 else ""
    check("repair: refusal sent back", refusal.startswith("Output refused: labels.json has 1 problem"), refusal)
    check("repair: refusal names the step", "step 3: label dropped, steps/3.json was never opened" in refusal, refusal)
    check("repair: refusal lists the inspected", "opened so far: 1, 2, 4)" in refusal, refusal)
    check("repair: label kept", "step 4: incorrect: edited before reading the failure\n" in r.out, r.out)
    check("repair: not partial", "partial" not in r.out, r.out)
    # not fixed: finishing again is accepted, the valid part kept, marked partial
    r = Run(tmp, "repair-unfixed", inspect + [write_labels(bad), FINISH, FINISH])
    check("unfixed: exit 0", r.rc == 0, r.err)
    check("unfixed: 6 calls (one repair turn only)", len(r.requests) == 6, len(r.requests))
    check("unfixed: valid part kept", "step 4: incorrect: edited before reading the failure\n" in r.out, r.out)
    check("unfixed: uninspected label dropped", "step 3:" not in r.out, r.out)
    check("unfixed: partial", "partial: stopped by invalid_output\n" in r.out, r.out)
    # a schema problem (evidence not step ids, no reasoning) is refused the same way
    schema_bad = {"labels": [{"step_id": 4, "label": "incorrect", "evidence": ["two"]}]}
    r = Run(tmp, "repair-schema", inspect + [write_labels(schema_bad), FINISH, write_labels(good), FINISH])
    refusal = r.msgs(5)[-1]["content"] if len(r.requests) > 5 else ""
    check("schema: refused with 2 problems", refusal.startswith("Output refused: labels.json has 2 problems"), refusal)
    check("schema: reasoning named", "labels[0]: step 4 needs a non-empty \"reasoning\" string" in refusal, refusal)
    check("schema: evidence named", "labels[0].evidence[0]: not a step id (1..6)" in refusal, refusal)
    check("schema: fixed and accepted", r.rc == 0 and "partial" not in r.out and len(r.requests) == 7, (r.rc, r.out))


def test_hybrid(tmp):
    labels = {"labels": [{"step_id": 4, "label": "incorrect", "reasoning": "edited before reading the failure"}],
              "summary": "one hasty edit"}
    script = [turn("Read.", "cat steps/1.json"), turn("Tests.", "cat steps/2.json"), turn("Edit.", "cat steps/4.json"),
              write_labels(labels), FINISH]
    r = Run(tmp, "hybrid", script, ["--hybrid"])
    check("hybrid: exit 0", r.rc == 0, r.err)
    inst = r.msgs(0)[1]["content"] if len(r.msgs(0)) > 1 else ""
    check("hybrid: candidates in the prompt", "Candidate steps from the offline heuristic analyzer" in inst, inst[-800:])
    check("hybrid: step 3 is a candidate", "- step 3: unuseful (retry-failure): " in inst, inst[-800:])
    check("hybrid: heuristic kept where not inspected",
          "(heuristic rule retry-failure; not inspected by the agent)\n" in r.out and "step 3: unuseful: " in r.out, r.out)
    check("hybrid: agent verdict where inspected",
          "step 4: incorrect: edited before reading the failure (agent verdict; the heuristic had no finding here)\n" in r.out,
          r.out)
    check("hybrid: summary from the agent", "summary: one hasty edit\n" in r.out, r.out)
    # the agent inspects step 3 and does not label it: its verdict (correct) wins
    script = [turn("Read.", "cat steps/1.json"), turn("Retry.", "cat steps/3.json"), turn("Edit.", "cat steps/4.json"),
              write_labels({"labels": []}), FINISH]
    r = Run(tmp, "hybrid-reject", script, ["--hybrid", "--json"])
    try:
        j = json.loads(r.out)
    except ValueError:
        j = {}
    check("hybrid json: analyzer", j.get("analyzer") == "hybrid", r.out[:500])
    lab = {x.get("step_id"): x for x in j.get("labels", [])} if isinstance(j.get("labels"), list) else {}
    s3 = lab.get(3, {})
    check("hybrid json: rejected candidate is correct", s3.get("label") == "correct", s3)
    check("hybrid json: says it rejected the rule", "rejects heuristic rule retry-failure: unuseful" in (s3.get("reasoning") or ""), s3)


def test_compaction_and_traj(tmp):
    big = "head -c 6000 /dev/zero | tr '\\0' x"
    labels = {"labels": [{"step_id": 4, "label": "incorrect", "reasoning": "edited before reading the failure"}]}
    script = [turn("Read.", "cat steps/1.json; echo OLD-TURN-ONE; " + big),
              turn("Tests.", "cat steps/2.json; " + big),
              Reply.completion("SUMMARY-TEXT: step 1 shows the subtraction; step 2 the failing test.", 1000, 100),
              turn("Edit.", "cat steps/4.json"), write_labels(labels), FINISH]
    out_dir = os.path.join(tmp, "compaction", "out")
    r = Run(tmp, "compaction", script, ["--output-dir", out_dir], config="trace:\n  context_tokens: 3000\n")
    check("compaction: exit 0", r.rc == 0, r.err)
    check("compaction: 6 requests", len(r.requests) == 6, len(r.requests))
    sb = r.body(2)
    check("compaction: summary request", "You compress conversations" in sb and "OLD-TURN-ONE" in sb, sb[:300])
    nb = r.body(3)
    check("compaction: next request has the summary", "SUMMARY-TEXT: step 1 shows the subtraction" in nb, nb[:2000])
    check("compaction: next request has the inspected set", "steps inspected (steps/N.json opened): 1, 2" in nb, nb[:3000])
    check("compaction: old turn gone", "OLD-TURN-ONE" not in nb)
    m = r.msgs(3)
    check("compaction: system and task kept", len(m) > 2 and m[0]["role"] == "system" and "add() in src/calc.py subtracts" in m[1]["content"])
    check("compaction: label kept", "step 4: incorrect: edited before reading the failure\n" in r.out, r.out)
    # 6 calls × (1000·0.40 + 100·1.60)/1e6, the summary call included
    check("compaction: cost counts the summary", "cost: $0.003360 (6000 prompt, 600 completion tokens)\n" in r.out, r.out)
    tp = os.path.join(out_dir, "codetracer_analysis.traj.json")
    try:
        with open(tp) as f:
            tj = json.load(f)
    except (OSError, ValueError) as e:
        tj = {}
        check("traj: readable", False, e)
    check("traj: n_calls (loop calls)", tj.get("n_calls") == 5, tj.get("n_calls"))
    check("traj: tokens", tj.get("total_prompt_tokens") == 6000 and tj.get("total_completion_tokens") == 600,
          (tj.get("total_prompt_tokens"), tj.get("total_completion_tokens")))
    check("traj: cost", abs(tj.get("cost_usd", 0) - 0.00336) < 1e-9, tj.get("cost_usd"))
    check("traj: compact phase", tj.get("phases", {}).get("compact", {}).get("calls") == 1, tj.get("phases"))
    check("traj: cost summary", "$0.003360" in tj.get("cost_summary", ""), tj.get("cost_summary"))
    msgs = tj.get("messages", [])
    check("traj: conversation", len(msgs) > 3 and msgs[0]["role"] == "system"
          and any("SUMMARY-TEXT" in x.get("content", "") for x in msgs), len(msgs))
    check("traj: profiles next to it", os.path.exists(os.path.join(out_dir, "codetracer_analysis.json"))
          and os.path.exists(os.path.join(out_dir, "codetracer_labels.json")))


def test_compaction_fallback(tmp):
    # the summary call gets a garbage body → the sliding window note instead
    big = "head -c 6000 /dev/zero | tr '\\0' x"
    script = [turn("Read.", "cat steps/1.json; echo OLD-TURN-ONE; " + big), turn("Tests.", "cat steps/2.json; " + big),
              Reply(200, "<html>oops</html>", {"Content-Type": "text/html"}),
              turn("Edit.", "cat steps/4.json"), write_labels({"labels": []}), FINISH]
    r = Run(tmp, "fallback", script, config="trace:\n  context_tokens: 3000\n")
    check("fallback: exit 0", r.rc == 0, r.err)
    nb = r.body(3)
    check("fallback: window note", "earlier messages were dropped to fit the context window" in nb, nb[:2000])
    check("fallback: inspected set kept", "steps inspected (steps/N.json opened): 1, 2" in nb, nb[:3000])
    check("fallback: old turn gone", "OLD-TURN-ONE" not in nb)


def test_memory(tmp):
    db = os.path.join(tmp, "mem.db")
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(tmp, "xdg-data"))
    p = subprocess.run([BIN, "memory", "add", "When add() subtracts, check which calc file the agent edited",
                        "--kind", "strategy", "--agent", "mini-SWE-agent", "--db", db], capture_output=True, env=env)
    check("memory: seeded", p.returncode == 0, p.stderr)
    script = [turn("Read.", "cat steps/1.json"), turn("Tests.", "cat steps/2.json"),
              Reply.completion("- [pitfall] Reruns of an unchanged failing test add no evidence\nnot a bullet", 200, 20),
              turn("Edit.", "cat steps/4.json"), write_labels({"labels": []}), FINISH]
    r = Run(tmp, "memory", script, ["--memory", db],
            config="trace:\n  memory_every_steps: 2\n  memory_every_tokens: 0\n  memory_max_extractions: 1\n")
    check("memory: exit 0", r.rc == 0, r.err)
    check("memory: 6 requests", len(r.requests) == 6, len(r.requests))
    sys_msg = r.msgs(0)[0]["content"] if r.msgs(0) else ""
    check("memory: prior knowledge in the system prompt", "== Prior knowledge" in sys_msg
          and "check which calc file the agent edited" in sys_msg, sys_msg[-600:])
    check("memory: extraction request", "extract at most 3 reusable insights" in r.body(2), r.body(2)[:300])
    check("memory: extraction not in the conversation", "Reruns of an unchanged" not in r.body(3))
    p = subprocess.run([BIN, "memory", "list", "--kind", "pitfall", "--db", db], capture_output=True, env=env)
    out = p.stdout.decode()
    check("memory: insight written back", "Reruns of an unchanged failing test add no evidence" in out, out)
    check("memory: non-bullet ignored", "not a bullet" not in out, out)


def call(cid, name, args):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def test_tools(tmp):
    labels = {"labels": [{"step_id": 4, "label": "incorrect", "reasoning": "edited before reading the failure"}],
              "summary": "one hasty edit"}
    script = [Reply.completion("", 1000, 100, finish_reason="tool_calls", tool_calls=[
                  call("c1", "inspect_step", {"step_id": 1, "end_step_id": 2}),
                  call("c2", "search_steps", {"query": "PYTEST"})]),
              Reply.completion("", 1000, 100, finish_reason="tool_calls", tool_calls=[
                  call("c3", "finish", {})]),
              Reply.completion("", 1000, 100, finish_reason="tool_calls", tool_calls=[
                  call("c4", "inspect_step", {"step_id": 4}), call("c5", "show_index", {"start": 5, "end": 6})]),
              Reply.completion("", 1000, 100, finish_reason="tool_calls", tool_calls=[
                  call("c6", "write_labels", labels), call("c7", "finish", {})])]
    r = Run(tmp, "tools", script)
    check("tools: exit 0", r.rc == 0, r.err)
    check("tools: 4 requests", len(r.requests) == 4, len(r.requests))
    first = r.requests[0]["json"] or {}
    names = [t["function"]["name"] for t in first.get("tools", [])]
    check("tools: offered", names == ["inspect_step", "search_steps", "show_index", "write_labels", "finish"], names)
    m = r.msgs(1)
    tool_msgs = {x.get("tool_call_id"): x.get("content", "") for x in m if x.get("role") == "tool"}
    check("tools: assistant tool_calls kept", any(x.get("role") == "assistant" and x.get("tool_calls") for x in m))
    c1 = tool_msgs.get("c1", "")
    check("tools: inspect range", "== step 1 ==" in c1 and "== step 2 ==" in c1 and "== step 3 ==" not in c1
          and "return a - b" in c1, c1[:500])
    c2 = tool_msgs.get("c2", "").splitlines()
    check("tools: search (case-insensitive) finds steps 2, 3, 5",
          [x.split(".")[0] for x in c2] == ["2", "3", "5"], c2)
    c3 = {x.get("tool_call_id"): x.get("content", "") for x in r.msgs(2) if x.get("role") == "tool"}.get("c3", "")
    check("tools: early finish refused", c3.startswith("Not finished: inspect at least 3 distinct steps")
          and "you have inspected 2" in c3, c3)
    c5 = {x.get("tool_call_id"): x.get("content", "") for x in r.msgs(3) if x.get("role") == "tool"}.get("c5", "")
    check("tools: show_index range", c5.startswith("5. [") and "\n6. [" in c5 and "4. [" not in c5, c5)
    check("tools: label", "step 4: incorrect: edited before reading the failure\n" in r.out, r.out)
    check("tools: summary", "summary: one hasty edit\n" in r.out, r.out)
    # an endpoint without tool calling: 400 to the first request → bash mode for the rest
    normal = [turn("Read.", "cat steps/1.json"), turn("Tests.", "cat steps/2.json"), turn("Edit.", "cat steps/4.json"),
              write_labels(labels), FINISH]
    r = Run(tmp, "tools-fallback", [Reply.error(400, "tools are not supported by this model")] + normal)
    check("fallback400: exit 0", r.rc == 0, r.err)
    check("fallback400: warned", "refused the request with tools" in r.err, r.err)
    check("fallback400: 6 requests", len(r.requests) == 6, len(r.requests))
    check("fallback400: tools then none", "tools" in (r.requests[0]["json"] or {})
          and all("tools" not in (x["json"] or {}) for x in r.requests[1:]))
    check("fallback400: label", "step 4: incorrect: edited before reading the failure\n" in r.out, r.out)


def test_tools_compaction(tmp):
    # tool results are never separated from the assistant message that called them
    labels = {"labels": [{"step_id": 4, "label": "incorrect", "reasoning": "edited before reading the failure"}]}
    script = [Reply.completion("", 1000, 100, tool_calls=[call("t1", "inspect_step", {"step_id": 1, "end_step_id": 6})]),
              Reply.completion("", 1000, 100, tool_calls=[call("t2", "inspect_step", {"step_id": 1, "end_step_id": 6}),
                                                          call("t3", "search_steps", {"query": "pytest"})]),
              Reply.completion("SUMMARY-TOOLS: all six steps were read.", 1000, 100),
              Reply.completion("", 1000, 100, tool_calls=[call("t4", "write_labels", labels), call("t5", "finish", {})])]
    r = Run(tmp, "tools-compaction", script, config="trace:\n  context_tokens: 1500\n")
    check("tools compaction: exit 0", r.rc == 0, r.err)
    check("tools compaction: 4 requests", len(r.requests) == 4, len(r.requests))
    check("tools compaction: summary request lists the calls", "[tool call inspect_step" in r.body(2), r.body(2)[:500])
    m = r.msgs(3)
    check("tools compaction: summary in", any("SUMMARY-TOOLS" in (x.get("content") or "") for x in m))
    check("tools compaction: first turn gone", all(x.get("tool_call_id") != "t1" for x in m))
    called = set()
    orphans = []
    for x in m:
        for tc in x.get("tool_calls") or []:
            called.add(tc.get("id"))
        if x.get("role") == "tool" and x.get("tool_call_id") not in called:
            orphans.append(x.get("tool_call_id"))
    check("tools compaction: no orphan tool message", not orphans and {"t2", "t3"} <= called, (orphans, called))
    check("tools compaction: label", "step 4: incorrect: edited before reading the failure\n" in r.out, r.out)


def test_errors(tmp):
    labels = {"labels": [{"step_id": 4, "label": "incorrect", "reasoning": "edited before reading the failure"}]}
    normal = [turn("Read.", "cat steps/1.json"), turn("Tests.", "cat steps/2.json"), turn("Edit.", "cat steps/4.json"),
              write_labels(labels), FINISH]
    # 500 twice, then 429 with Retry-After before the second turn: all retried, run completes
    script = [Reply.error(500, "boom"), Reply.error(500, "boom again"), normal[0],
              Reply.error(429, "slow down", {"Retry-After": "1"})] + normal[1:]
    r = Run(tmp, "retries", script)
    check("retries: exit 0", r.rc == 0, r.err)
    check("retries: 8 requests", len(r.requests) == 8, len(r.requests))
    if len(r.requests) >= 5:
        gap = r.requests[4]["t"] - r.requests[3]["t"]
        check("retries: Retry-After honoured", 0.95 <= gap < 5, gap)
    check("retries: label", "step 4: incorrect: edited before reading the failure\n" in r.out, r.out)
    # a garbage body from the LLM: a clear error, exit 5
    r = Run(tmp, "garbage", [normal[0], Reply(200, "this is not json {", {"Content-Type": "application/json"})])
    check("garbage: exit 5", r.rc == 5, (r.rc, r.err))
    check("garbage: message", "codetracer:" in r.err and "Traceback" not in r.err, r.err)
    # the endpoint never answers in time (no retries): an error naming the timeout
    r = Run(tmp, "timeout", [Reply.completion("late", 1, 1, delay=4)], ["--timeout", "1"],
            llm={"max_retries": 0})
    check("timeout: exit 5", r.rc == 5, (r.rc, r.err))
    check("timeout: fast", r.elapsed < 4, r.elapsed)
    check("timeout: message", "time" in r.err.lower(), r.err)
    # the budget runs out mid-run: each call costs 5000·0.40 + 100·1.60 = $0.00216; with a
    # $0.005 cap and 1000 reserved completion tokens the third call cannot be covered
    expensive = [turn("Read.", "cat steps/1.json", 5000, 100), turn("Tests.", "cat steps/2.json", 5000, 100)] + normal[2:]
    r = Run(tmp, "budget", expensive, ["--cost-limit", "0.005"], llm={"max_tokens": 1000})
    check("budget: exit 0", r.rc == 0, r.err)
    check("budget: 2 calls only", len(r.requests) == 2, len(r.requests))
    check("budget: partial", "partial: stopped by budget_exhausted\n" in r.out, r.out)
    check("budget: cost", "cost: $0.004320 (10000 prompt, 200 completion tokens)\n" in r.out, r.out)
    # the wall clock: 0.7 s per command, 1 s for the whole run → stopped before the third call
    slow = [turn("Read.", "cat steps/1.json; sleep 0.7"), turn("Tests.", "cat steps/2.json; sleep 0.7")] + normal[2:]
    r = Run(tmp, "wallclock", slow, config="trace:\n  max_seconds: 1\n")
    check("wallclock: exit 0", r.rc == 0, r.err)
    check("wallclock: 2 calls", len(r.requests) == 2, len(r.requests))
    check("wallclock: partial", "partial: stopped by time_limit\n" in r.out, r.out)
    # a command longer than the whole run's limit is cut at the limit, not at trace.timeout
    r = Run(tmp, "wallclock-cmd", [turn("Wait.", "sleep 30")] + normal, config="trace:\n  max_seconds: 2\n  timeout: 60\n")
    check("wallclock-cmd: partial", "partial: stopped by time_limit\n" in r.out, r.out)
    check("wallclock-cmd: cut at the limit", r.elapsed < 10, r.elapsed)
    # replies without a bash block (or tool call), three in a row
    r = Run(tmp, "format", [Reply.completion("I think step 4 is wrong.", 10, 10)], config="trace:\n  max_format_errors: 3\n")
    check("format: exit 0", r.rc == 0, r.err)
    check("format: 3 calls", len(r.requests) == 3, len(r.requests))
    check("format: partial", "partial: stopped by format_errors\n" in r.out, r.out)
    check("format: asked again", "Format error: your reply must contain exactly one ```bash block" in r.body(1), r.body(1)[-400:])


def main():
    if not os.path.exists(BIN):
        print(f"SKIP: no binary at {BIN}")
        return 77
    tmp = tempfile.mkdtemp(prefix="ct_agent_rules_")
    with open(os.path.join(tmp, "calc__calc-2.traj.json"), "w") as f:
        json.dump(trajectory(), f)
    for t in (test_repair, test_hybrid, test_compaction_and_traj, test_compaction_fallback, test_memory, test_tools,
              test_tools_compaction,
              test_errors):
        t(tmp)
    for root, _, files in os.walk(tmp):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                if SECRET.encode() in f.read():
                    check(f"key not in {os.path.join(root, fn)}", False)
    print(f"{len(passed)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
