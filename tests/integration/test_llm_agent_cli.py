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
from fake_llm_server import FakeLLMServer  # noqa: E402
from llm_fixture import BIN, CALC_LABELS, calc_script, calc_trajectory, check, failures, passed, report  # noqa: E402,F401

SECRET = "sk-h8-agent-SECRET-9911"


def main():
    if not os.path.exists(BIN):
        print(f"SKIP: no binary at {BIN}")
        return 77
    tmp = tempfile.mkdtemp(prefix="ct_agent_cli_")
    traj = os.path.join(tmp, "calc__calc-1.traj.json")
    with open(traj, "w") as f:
        json.dump(calc_trajectory(), f)
    work = os.path.join(tmp, "work")
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CODETRACER_") or k.startswith("OPENAI_"))}
    env.update(XDG_CONFIG_HOME=os.path.join(tmp, "xdg"), CODETRACER_API_KEY=SECRET, CODETRACER_MODEL="gpt-4.1-mini")
    with FakeLLMServer(calc_script()) as srv:
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
    return report()


if __name__ == "__main__":
    sys.exit(main())
