#!/usr/bin/env python3
"""`codetracer analyze --analyzer llm|hybrid` end to end against the fake OpenAI-compatible
server (tests/integration/fake_llm_server.py, 127.0.0.1, scripted replies): the agent inspects
three steps, writes its labels and finishes; analyze writes the validated profile files and the
saved conversation; a second run is served from the analysis cache without a single request;
hybrid hands the heuristic's findings to the agent; no endpoint is a usage error; the API key is
in no output, no request body and no file.

Expected labels are the scripted agent's (LABELS below), written by hand."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm_server import FakeLLMServer  # noqa: E402
from llm_fixture import BIN, CALC_LABELS, calc_script, calc_trajectory, check, failures, passed, report  # noqa: E402,F401

SECRET = "sk-analyze-llm-SECRET-4242"


def run(args, env):
    p = subprocess.run([BIN] + args, capture_output=True, env=env, timeout=180)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def labels_of(out):
    line = [l for l in out.splitlines() if l.startswith("{")]
    if not line:
        return None, {}
    d = json.loads(line[0])
    return d, {l["step_id"]: l["label"] for l in d["labels"]}


def main():
    if not os.path.exists(BIN):
        print(f"SKIP: no binary at {BIN}")
        return 77
    tmp = tempfile.mkdtemp(prefix="ct_analyze_llm_")
    traj = os.path.join(tmp, "calc__calc-1.traj.json")
    with open(traj, "w") as f:
        json.dump(calc_trajectory(), f)
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CODETRACER_") or k.startswith("OPENAI_"))}
    env.update(XDG_CONFIG_HOME=os.path.join(tmp, "xdg"), HOME=tmp, CODETRACER_API_KEY=SECRET,
               CODETRACER_MODEL="gpt-4.1-mini", CODETRACER_DB=os.path.join(tmp, "memory.db"))

    # no endpoint: a usage error that says what to set, before anything is loaded or sent
    rc, out, err = run(["analyze", traj, "--analyzer", "llm", "--output-dir", os.path.join(tmp, "none")], env)
    check("no endpoint: exit 2", rc == 2, (rc, err))
    check("no endpoint: says what to set", "CODETRACER_API_BASE" in err, err)

    outdir = os.path.join(tmp, "out")
    with FakeLLMServer(calc_script()) as srv:
        env["CODETRACER_API_BASE"] = srv.base_url
        rc, out, err = run(["analyze", traj, "--analyzer", "llm", "--output-dir", outdir, "--traj-id", "calc",
                            "-p", "all", "--json"], env)
        check("llm: exit 0", rc == 0, (rc, err))
        check("llm: 5 requests", len(srv.requests) == 5, len(srv.requests))
        d, lab = labels_of(out)
        check("llm: labels from the agent", lab == {1: "correct", 2: "incorrect", 3: "unuseful", 4: "correct"}, lab)
        check("llm: analyzer named", d is not None and d.get("analyzer") == "llm", out[:300])
        check("llm: cost of 5 calls", d is not None and abs(d.get("cost_usd", 0) - 0.0028) < 1e-9, out[:300])
        check("llm: progress on stderr", "agent step 1: $ cat steps/2.json" in err, err)
        work = os.path.join(outdir, "calc")
        with open(os.path.join(work, "codetracer_analysis.json")) as f:
            det = json.load(f)
        inc = sorted({i for s in det["stage_labels"] for i in s["incorrect_step_ids"]})
        unu = sorted({i for s in det["stage_labels"] for i in s["unuseful_step_ids"]})
        check("profile detailed: incorrect [2]", inc == [2], det)
        check("profile detailed: unuseful [3]", unu == [3], det)
        check("profile detailed: root cause", det["root_cause_chain"] == ["picked the second grep hit"], det)
        for name in ("codetracer_labels.json", "codetracer_rl_feedback.json", "codetracer_analysis.traj.json"):
            check(f"wrote {name}", os.path.isfile(os.path.join(work, name)), os.listdir(work))

        # the same input again: served from the cache, nothing sent
        rc, out2, err2 = run(["analyze", traj, "--analyzer", "llm", "--output-dir", os.path.join(tmp, "out2"),
                              "--traj-id", "calc", "--json"], env)
        check("cached: exit 0", rc == 0, (rc, err2))
        check("cached: no request", len(srv.requests) == 5, len(srv.requests))
        d2, lab2 = labels_of(out2)
        check("cached: flagged", d2 is not None and d2.get("cached") is True, out2[:300])
        check("cached: same labels", lab2 == lab, lab2)
        for r in srv.requests:
            check("key not in a request body", SECRET not in r["body"].decode("utf-8", "replace"))

    # hybrid: the heuristic's findings reach the agent as candidates
    with FakeLLMServer(calc_script()) as srv:
        env["CODETRACER_API_BASE"] = srv.base_url
        rc, out3, err3 = run(["analyze", traj, "--analyzer", "hybrid", "--output-dir", os.path.join(tmp, "out3"),
                              "--traj-id", "calc", "--json"], env)
        check("hybrid: exit 0", rc == 0, (rc, err3))
        first = srv.requests[0]["json"]["messages"] if srv.requests else []
        text = "\n".join(m.get("content") or "" for m in first)
        check("hybrid: candidates in the prompt", "Candidate steps from the offline heuristic analyzer" in text, text[:2000])
        d3, lab3 = labels_of(out3)
        check("hybrid: analyzer named", d3 is not None and d3.get("analyzer") == "hybrid", out3[:300])
        check("hybrid: agent's verdicts on inspected steps", lab3.get(2) == "incorrect" and lab3.get(3) == "unuseful", lab3)

    for o in (out, err, out2, err2, out3, err3):
        check("key not printed", SECRET not in o)
    for root, _, files in os.walk(tmp):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                check(f"key not in {fn}", SECRET.encode() not in f.read())
    return report()


if __name__ == "__main__":
    sys.exit(main())
