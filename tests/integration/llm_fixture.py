"""Shared pieces of the LLM-agent tests: where the binary is, a check registry, message builders
for hand-written mini-SWE-agent trajectories, and the small `calc` run with the scripted agent
replies that inspect three steps, write labels and finish (used by test_llm_agent_cli.py and
test_analyze_llm.py)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm_server import Reply  # noqa: E402

SRC = os.environ.get("CT_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("CT_BIN") or os.path.join(os.environ.get("CT_BUILD_DIR", os.path.join(SRC, "build")), "bin", "codetracer"))
failures, passed = [], []


def check(name, cond, detail=""):
    (passed if cond else failures).append(name)
    if not cond:
        print(f"FAIL {name}: {str(detail)[:1500]}", file=sys.stderr)


def report():
    print(f"{len(passed)} passed, {len(failures)} failed")
    return 1 if failures else 0


def assistant(thought, cmd):
    return {"role": "assistant", "content": f"THOUGHT: {thought}\n\n```bash\n{cmd}\n```"}


def observation(rc, out):
    return {"role": "user", "content": f"<returncode>{rc}</returncode>\n<output>\n{out}</output>"}


def calc_trajectory():
    """4 steps: a search with two hits, an edit of the wrong file, a re-read, the submission."""
    return {
        "info": {"exit_status": "Submitted", "submission": "", "config": {"model": {"model_name": "openai/gpt-5"}}},
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. Reply with exactly ONE ```bash block."},
            {"role": "user", "content": "<pr_description>\nadd() in src/calc.py subtracts instead of adding.\n</pr_description>"},
            assistant("Find add.", "grep -rn 'def add' src"),
            observation(0, "src/calc.py:1:def add(a, b):\nsrc/wrong.py:3:def add(a, b):\n"),
            assistant("Fix it.", "sed -i 's/a - b/a + b/' src/wrong.py"),
            observation(0, ""),
            assistant("Check.", "cat src/wrong.py"),
            observation(0, "def add(a, b):\n    return a + b\n"),
            assistant("Submit.", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached"),
            {"role": "user", "content": ""},
        ],
        "trajectory_format": "mini-swe-agent-1",
        "instance_id": "calc__calc-1",
    }


CALC_LABELS = {"labels": [
    {"step_id": 2, "label": "incorrect", "reasoning": "edited src/wrong.py, the bug is in src/calc.py", "evidence": [1]},
    {"step_id": 3, "label": "unuseful", "reasoning": "re-read the wrong file"}],
    "root_cause_chain": ["picked the second grep hit"], "summary": "wrong file fixed"}


def calc_script():
    """The agent's replies: inspect steps 2, 3, 1, write CALC_LABELS, finish (1000+100 tokens each)."""
    labels_cmd = "printf '%s\\n' '" + json.dumps(CALC_LABELS) + "' > labels.json"
    return [Reply.completion("Look at the edit.\n```bash\ncat steps/2.json\n```", 1000, 100),
            Reply.completion("And the check.\n```bash\ncat steps/3.json\n```", 1000, 100),
            Reply.completion("And the search.\n```bash\ncat steps/1.json\n```", 1000, 100),
            Reply.completion("Write.\n```bash\n" + labels_cmd + "\n```", 1000, 100),
            Reply.completion("Done.\n```bash\necho TRACER_FINAL_OUTPUT\n```", 1000, 100)]
