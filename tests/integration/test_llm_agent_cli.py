#!/usr/bin/env python3
"""`codetracer llm diagnose` end to end: a hand-written mini-SWE-agent trajectory, a scripted
fake LLM (tests/integration/fake_llm_server.py) that inspects two steps, writes labels.json and
finishes; the real binary runs each command in the sandbox inside the work dir.

Checks the printed labels and cost (computed by hand from the scripted usage and the gpt-4.1-mini
price), that each observation went back to the LLM, the work dir files, and that the API key is
in no output and no file of the work dir.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm_server import FakeLLMServer, Reply  # noqa: E402

SRC = os.environ.get("CT_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", os.path.join(SRC, "build")), "bin", "codetracer"))
SECRET = "sk-h8-agent-SECRET-9911"
failures, passed = [], []


def check(name, cond, detail=""):
    (passed if cond else failures).append(name)
    if not cond:
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def trajectory():
    def a(thought, cmd):
        return {"role": "assistant", "content": f"THOUGHT: {thought}\n\n```bash\n{cmd}\n```"}

    def o(rc, out):
        return {"role": "user", "content": f"<returncode>{rc}</returncode>\n<output>\n{out}</output>"}

    return {
        "info": {"exit_status": "Submitted", "submission": "", "config": {"model": {"model_name": "openai/gpt-5"}}},
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Reply with exactly ONE ```bash block."},
            {"role": "user", "content": "<pr_description>\nadd() in src/calc.py subtracts instead of adding.\n</pr_description>"},
            a("Find add.", "grep -rn 'def add' src"),
            o(0, "src/calc.py:1:def add(a, b):\nsrc/wrong.py:3:def add(a, b):\n"),
            a("Fix it.", "sed -i 's/a - b/a + b/' src/wrong.py"),
            o(0, ""),
            a("Check.", "cat src/wrong.py"),
            o(0, "def add(a, b):\n    return a + b\n"),
            a("Submit.", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached"),
            {"role": "user", "content": ""},
        ],
        "trajectory_format": "mini-swe-agent-1",
        "instance_id": "calc__calc-1",
    }


LABELS = {"labels": [
    {"step_id": 2, "label": "incorrect", "reasoning": "edited src/wrong.py, the bug is in src/calc.py", "evidence": [1]},
    {"step_id": 3, "label": "unuseful", "reasoning": "re-read the wrong file"}],
    "root_cause_chain": ["picked the second grep hit"], "summary": "wrong file fixed"}


def main():
    if not os.path.exists(BIN):
        print(f"SKIP: no binary at {BIN}")
        return 77
    tmp = tempfile.mkdtemp(prefix="ct_agent_cli_")
    traj = os.path.join(tmp, "calc__calc-1.traj.json")
    with open(traj, "w") as f:
        json.dump(trajectory(), f)
    work = os.path.join(tmp, "work")
    labels_cmd = "printf '%s\\n' '" + json.dumps(LABELS) + "' > labels.json"
    script = [Reply.completion("Look at the edit.\n```bash\ncat steps/2.json\n```", 1000, 100),
              Reply.completion("And the check.\n```bash\ncat steps/3.json\n```", 1000, 100),
              Reply.completion("And the search.\n```bash\ncat steps/1.json\n```", 1000, 100),
              Reply.completion("Write.\n```bash\n" + labels_cmd + "\n```", 1000, 100),
              Reply.completion("Done.\n```bash\necho TRACER_FINAL_OUTPUT\n```", 1000, 100)]
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CODETRACER_") or k.startswith("OPENAI_"))}
    env.update(XDG_CONFIG_HOME=os.path.join(tmp, "xdg"), CODETRACER_API_KEY=SECRET, CODETRACER_MODEL="gpt-4.1-mini")
    with FakeLLMServer(script) as srv:
        env["CODETRACER_API_BASE"] = srv.base_url
        p = subprocess.run([BIN, "llm", "diagnose", traj, "--work-dir", work], capture_output=True, env=env, timeout=120)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        if p.returncode < 0:
            print(f"codetracer died: {p.returncode}\n{err}", file=sys.stderr)
            return 1
        check("exit 0", p.returncode == 0, (p.returncode, err))
        # 3 distinct steps inspected, so the first TRACER_FINAL_OUTPUT is accepted
        check("5 LLM calls", len(srv.requests) == 5, len(srv.requests))
        check("label step 2", "step 2: incorrect: edited src/wrong.py, the bug is in src/calc.py\n" in out, out)
        check("label step 3", "step 3: unuseful: re-read the wrong file\n" in out, out)
        check("no other labels", out.count("step ") == 2, out)
        check("root cause", "root cause 1: picked the second grep hit\n" in out, out)
        # 5 × (1000·0.40 + 100·1.60)/1e6 = 5 × 0.00056
        check("cost", "cost: $0.002800 (5000 prompt, 500 completion tokens)\n" in out, out)
        check("progress on stderr", "agent step 1: $ cat steps/2.json" in err, err)
        first = srv.requests[0]["json"] if srv.requests else {}
        msgs = first.get("messages", [])
        check("prompt: system + instance", len(msgs) == 2 and msgs[0]["role"] == "system", msgs)
        inst = msgs[1]["content"] if len(msgs) > 1 else ""
        check("prompt: task", "subtracts instead of adding" in inst, inst[:500])
        check("prompt: index line", "sed -i 's/a - b/a + b/' src/wrong.py" in inst, inst[:2000])
        second = srv.requests[1]["json"]["messages"] if len(srv.requests) > 1 else []
        obs = second[-1]["content"] if second else ""
        check("observation: step 2 json", obs.startswith("<returncode>0</returncode>\n<output>\n")
              and "src/wrong.py" in obs, obs[:300])
        check("work dir files", all(os.path.exists(os.path.join(work, f)) for f in
                                    ["task.md", "index.md", "labels.json", "steps/1.json", "steps/4.json"]))
        for r in srv.requests:
            check("key only in the auth header", SECRET not in r["body"].decode("utf-8", "replace"))
    check("key not printed", SECRET not in out and SECRET not in err)
    for root, _, files in os.walk(tmp):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                check(f"key not in {fn}", SECRET.encode() not in f.read())
    print(f"{len(passed)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
