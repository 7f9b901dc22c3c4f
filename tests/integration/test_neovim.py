"""Neovim client (clients/neovim) in a real headless Neovim against the real daemon.

Each scenario is one `nvim --headless -u NONE` session running test_neovim_session.lua with the
plugin (a copy, so `:helptags` does not write into the source tree) on 'runtimepath' and `cmd`
pointing at the built binary. The Lua side records what the editor shows and writes JSON; the
expectations below are written by hand from tests/fixtures/clients/greet.traj.json:

  greet.traj.json is a mini-swe-agent-1 trajectory, one message per line. Steps are the
  assistant messages: step 1 `ls app` (line 8, 1-based), step 2 `cat app/greet.py` (line 10),
  step 3 the same `cat` again with nothing changed in between (line 12: unuseful,
  repeat-command, evidence step 2; its thought holds "café" and an em dash, so its byte and
  UTF-16 columns differ), step 4 `sed` on app/names.py which the submitted patch (app/greet.py
  only) does not contain (line 14: incorrect, outside-patch), step 5 `python3 app/greet.py )`
  rejected by the shell with a syntax error (line 16: unuseful, failed-action), step 6 the fix (line 18), step 7 the submit (line 20).
  Severities: incorrect -> Warning by default (the main scenario sets severity.incorrect =
  "error" -> vim.diagnostic.severity.ERROR = 1), unuseful -> Hint (4) with the Unnecessary tag.

Needs `nvim` (scripts/setup.sh installs Debian's neovim 0.7.2); exits 77 (skip) loudly without it.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CT_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
FIXTURE = os.path.join(SRC, "tests", "fixtures", "clients", "greet.traj.json")
DRIVER = os.path.join(HERE, "test_neovim_session.lua")

# 0-based line of each labelled step's object in the fixture, by hand (see the docstring)
STEP_LINE = {1: 7, 2: 9, 3: 11, 4: 13, 5: 15, 6: 17, 7: 19}
ERROR, WARN, INFO, HINT = 1, 2, 3, 4
LOG_ERROR = 4  # vim.log.levels.ERROR


def binary():
    b = os.environ.get("CT_BIN")
    if b and os.path.exists(b):
        return b
    build = os.environ.get("CT_BUILD_DIR", os.path.join(SRC, "build"))
    return os.path.join(build, "bin", "codetracer")


def object_bytes(path, line):
    """Byte columns [start, end) of the JSON object written alone on `line` (0-based)."""
    with open(path, "rb") as f:
        text = f.read().split(b"\n")[line]
    start = len(text) - len(text.lstrip(b" "))
    return start, start + len(text.strip().rstrip(b","))


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ct-nvim-")
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(os.path.join(self.work, "run"))
        shutil.copy(FIXTURE, self.work)
        shutil.copy(FIXTURE, os.path.join(self.work, "run"))
        with open(FIXTURE, "rb") as f:
            head = f.read().split(b"\n")
        # a killed run: the file stops in the middle of step 2's message string
        with open(os.path.join(self.work, "truncated.traj.json"), "wb") as f:
            f.write(b"\n".join(head[:9]) + b"\n" + head[9][:40])
        self.plugin = os.path.join(self.tmp, "plugin")
        shutil.copytree(os.path.join(SRC, "clients", "neovim"), self.plugin)
        self.home = os.path.join(self.tmp, "home")
        for d in ("config", "data", "state", "cache", "run"):
            os.makedirs(os.path.join(self.home, d), mode=0o700)

    def run(self, scenario, data_home="data", clean=False):
        out = os.path.join(self.tmp, scenario + ".json")
        os.makedirs(os.path.join(self.home, data_home), mode=0o700, exist_ok=True)
        env = dict(os.environ)
        # the memory database (feedback) lives under this test's XDG_DATA_HOME, never a shared one
        env.pop("CODETRACER_DB", None)
        env.update({
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "XDG_DATA_HOME": os.path.join(self.home, data_home),
            "XDG_STATE_HOME": os.path.join(self.home, "state"),
            "XDG_CACHE_HOME": os.path.join(self.home, "cache"),
            "XDG_RUNTIME_DIR": os.path.join(self.home, "run"),
            "NVIM_LOG_FILE": os.path.join(self.home, "nvim.log"),
            "CT_NVIM_WORK": self.work,
            "CT_NVIM_OUT": out,
            "CT_NVIM_SCENARIO": scenario,
            "CT_BIN": binary(),
        })
        # -u NONE loads no plugin at all; --clean loads plugin/ files (ours included)
        cmd = ["nvim", "--headless"] + (["--clean"] if clean else ["-u", "NONE"]) + ["-i", "NONE", "-n",
               "--cmd", "set rtp^=" + self.plugin,
               "-c", "helptags " + os.path.join(self.plugin, "doc"),
               "-c", "luafile " + DRIVER]
        p = subprocess.run(cmd, cwd=self.work, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
        assert os.path.exists(out), "%s: no result (exit %d)\n%s\n%s" % (
            scenario, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
        with open(out, encoding="utf-8") as f:
            r = json.load(f)
        assert p.returncode == 0 and "error" not in r, "%s failed (exit %d) after %s: %s\nnotes: %s" % (
            scenario, p.returncode, r.get("steps"), r.get("error"), r.get("notes"))
        return r

    def sanitizer_reports(self):
        """The daemon's stderr lands in Neovim's LSP log; ASan/UBSan reports must not."""
        bad = []
        for root, _, files in os.walk(self.home):
            for n in files:
                if n.endswith(".log"):
                    with open(os.path.join(root, n), encoding="utf-8", errors="replace") as f:
                        text = f.read()
                    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                        if marker in text:
                            bad.append("%s: %s" % (n, marker))
        return bad


def check_diag(d, step, label, code, severity, path, fixture_copy):
    # a step's range: its assistant message through the user message answering it (next line)
    line = STEP_LINE[step]
    start, end = object_bytes(fixture_copy, line)[0], object_bytes(fixture_copy, line + 1)[1]
    assert (d["lnum"], d["col"], d["end_lnum"], d["end_col"]) == (line, start, line + 1, end), (step, d)
    assert d["severity"] == severity, (step, d["severity"])
    assert d["message"].startswith("Step %d %s: " % (step, label)), d["message"]
    assert d["source"] == "codetracer" and d["code"] == code, d
    assert d["data"] == {"traj_id": path, "step_id": step, "label": label}, d["data"]
    if label == "unuseful":
        assert d["tags"] == [1], d
    else:
        assert not d.get("tags"), d


def test_main(env):
    r = env.run("main")
    fx = os.path.join(env.work, "greet.traj.json")
    assert r["attached"] is True and r["encoding"] == "utf-16", (r["attached"], r["encoding"])

    # diagnostics: ranges (byte columns, converted from UTF-16 by Neovim), severities, messages
    d = r["diagnostics"]
    assert [x["lnum"] for x in d] == [11, 13, 15], d
    check_diag(d[0], 3, "unuseful", "repeat-command", HINT, fx, fx)
    check_diag(d[1], 4, "incorrect", "outside-patch", ERROR, fx, fx)
    check_diag(d[2], 5, "unuseful", "failed-action", HINT, fx, fx)
    # step 3 ends with its user message (line 12), whose "café —" makes bytes and UTF-16 differ
    s3, e3 = object_bytes(fx, 12)
    with open(fx, encoding="utf-8") as f:
        l12 = f.read().split("\n")[12]
    assert len(l12.encode("utf-8")) > len(l12) and d[0]["end_col"] == e3  # in bytes
    assert "step 2" in d[0]["message"] and d[0]["related"] >= 1, d[0]
    assert "app/names.py" in d[1]["message"], d[1]["message"]
    assert r["status"] == "codetracer: 1 incorrect · 2 unuseful", r["status"]

    # the plugin's own highlight of unuseful steps (0.7.2 does not render the tag)
    assert r["hl_link"] == "Comment", r["hl_link"]
    marks = sorted((m["row"], m["col"], m["end_row"], m["end_col"], m["hl"]) for m in r["extmarks"])
    want = []
    for step in (3, 5):
        a, b = object_bytes(fx, STEP_LINE[step])[0], object_bytes(fx, STEP_LINE[step] + 1)[1]
        want.append((STEP_LINE[step], a, STEP_LINE[step] + 1, b, "CodeTracerUnuseful"))
    assert marks == want, (marks, want)

    # code lenses: one per stage, the first on step 1's line, every one on a step's line; the
    # stage counts add up to the trajectory's 1 incorrect and 2 unuseful steps
    lenses = r["lenses"]
    assert lenses and min(x["line"] for x in lenses) == STEP_LINE[1], lenses
    assert all(x["line"] in STEP_LINE.values() for x in lenses), lenses
    inc = unu = 0
    for x in lenses:
        assert x["title"].startswith("Stage "), x
        import re
        m = re.search(r"(\d+) incorrect · (\d+) unuseful", x["title"])
        assert m, x["title"]
        inc += int(m.group(1))
        unu += int(m.group(2))
    assert (inc, unu) == (1, 2), lenses

    # running the first lens (vim.lsp.codelens.run) shows the step its command names: the first
    # stage starts at step 1 and its lens names its first labelled step (3, when the stage
    # reaches it) or else its first step
    assert r["lens_step"] in (1, 2, 3), r["lens_step"]
    assert r["lens_inspect"].startswith("# Step %d " % r["lens_step"]), r["lens_inspect"][:200]

    # hover on step 3, and nothing outside every step
    h = r["hover"]
    for s in ("Step 3", "cat app/greet.py", "unuseful", "repeat-command"):
        assert s in h, (s, h)
    assert r["hover_outside"] == "null", r["hover_outside"]

    # code actions on step 4: "Inspect step 4" offered first; running it shows the step
    assert r["actions"] and r["actions"][0] == "Inspect step 4", r["actions"]
    for s in ("Step 4", "sed -i 's/Bob/Rob/' app/names.py"):
        assert s in r["inspect_action"], (s, r["inspect_action"])
    assert r["inspect_window"] is True and r["focus_kept"] is True

    # :CodeTracerInspect (cursor on step 3) and :CodeTracerInspect 5
    assert "Step 3" in r["inspect_cursor"] and "cat app/greet.py" in r["inspect_cursor"]
    assert "python3 app/greet.py )" in r["inspect_5"] and "syntax error" in r["inspect_5"], r["inspect_5"]

    # :CodeTracerStep 6 -> step 6's line (1-based 18); :CodeTracerStep 99 -> a message
    assert r["goto_6"][0] == STEP_LINE[6] + 1, r["goto_6"]
    assert any("no step 99" in n["msg"] for n in r["notes"]), r["notes"]

    # :CodeTracerAnalyze on a run dir holding a copy of the fixture
    other = os.path.join(env.work, "run", "greet.traj.json")
    a = r["analysis"]
    assert (a["trajectories"], a["steps"], a["incorrect"], a["unuseful"]) == (1, 7, 1, 2), a
    assert a["files"] == ["file://" + other], a["files"]
    assert r["analyze_note"] and "1 trajectory, 7 steps, 1 incorrect, 2 unuseful" in r["analyze_note"], \
        r["analyze_note"]
    od = r["other_diagnostics"]
    check_diag(od[0], 3, "unuseful", "repeat-command", HINT, other, other)
    check_diag(od[1], 4, "incorrect", "outside-patch", ERROR, other, other)
    check_diag(od[2], 5, "unuseful", "failed-action", HINT, other, other)
    q = sorted(x["lnum"] for x in r["qflist"] if x["file"] == other)
    assert q == [12, 14, 16], r["qflist"]

    # progress ($/progress with progressMinBytes = 0): begin ... end for the opened file, and more
    # for the analyze command
    kinds = [p["kind"] for p in r["progress"]]
    begins = [p for p in r["progress"] if p["kind"] == "begin"]
    assert begins and begins[0]["title"].startswith("codetracer: analyzing") and \
        "greet.traj.json" in begins[0]["title"], r["progress"]
    assert "end" in kinds, kinds
    assert len(r["progress"]) > r["progress_before_analyze"] > 0, r["progress"]

    # editing the buffer (step 5 and its observation deleted): only steps 3 and 4 stay labelled
    c = r["changed"]
    check_diag(c[0], 3, "unuseful", "repeat-command", HINT, fx, fx)
    check_diag(c[1], 4, "incorrect", "outside-patch", ERROR, fx, fx)
    assert r["status_changed"] == "codetracer: 1 incorrect · 1 unuseful", r["status_changed"]

    # :help
    assert r["help"].get("file") == "codetracer.txt" and "*codetracer*" in r["help"]["line"], r["help"]
    assert all(r["help_tags"].values()), r["help_tags"]

    # shutdown + exit -> exit status 0 and no "unexpected exit" message
    assert r["exit"] == {"code": 0, "signal": 0, "client_id": r["exit"]["client_id"]}, r["exit"]
    assert not [n for n in r["notes"] if n["level"] == LOG_ERROR], r["notes"]


def test_missing(env):
    r = env.run("missing")
    errs = [n for n in r["notes"] if "was not found" in n["msg"]]
    assert len(errs) == 1, r["notes"]  # two trajectory files opened, one message
    assert errs[0]["level"] == LOG_ERROR and os.path.join(env.work, "no/such/codetracer") in errs[0]["msg"]
    assert "setup{ cmd" in errs[0]["msg"], errs[0]["msg"]
    assert r.get("client") is None and r["status"] == "codetracer: daemon not running", r


def test_nostart(env):
    r = env.run("nostart")
    n = [x for x in r["notes"] if "failed to start" in x["msg"]]
    assert len(n) == 1 and "exit code 2" in n[0]["msg"] and n[0]["level"] == LOG_ERROR, r["notes"]
    assert r["exit"]["code"] == 2, r["exit"]
    assert r["status"] == "codetracer: daemon not running", r["status"]


def test_crash(env):
    r = env.run("crash")
    n = [x for x in r["notes"] if "exited unexpectedly" in x["msg"]]
    assert len(n) == 1 and "signal 9" in n[0]["msg"] and ":CodeTracerRestart" in n[0]["msg"], r["notes"]
    assert r["status_crashed"] == "codetracer: daemon not running", r["status_crashed"]
    assert [x["lnum"] for x in r["restarted"]] == [11, 13, 15], r["restarted"]
    assert r["status_restarted"] == "codetracer: 1 incorrect · 2 unuseful", r["status_restarted"]
    assert r["exit"]["code"] == 0, r["exit"]


def test_bad_input(env):
    r = env.run("bad")
    path = os.path.join(env.work, "truncated.traj.json")
    n = [x for x in r["notes"] if "cannot analyze" in x["msg"]]
    assert len(n) == 1 and path in n[0]["msg"] and "(byte " in n[0]["msg"], r["notes"]
    assert n[0]["level"] == LOG_ERROR
    assert r["diagnostics"] == [], r["diagnostics"]
    assert r["status"] == "codetracer: cannot analyze (see :messages)", r["status"]
    assert r["exit"]["code"] == 0, r["exit"]


def test_feedback(env):
    # :CodeTracerMark correct on step 4 -> codetracer.feedback stores it in the memory database
    # (XDG_DATA_HOME of the test) and the daemon re-analyzes: step 4 is no longer labelled
    r = env.run("feedback", data_home="feedback-data")  # its own database: no other test sees it
    assert "step 4 marked correct" in r["feedback_note"], r["feedback_note"]
    assert os.path.join(env.home, "feedback-data") in r["feedback_note"], r["feedback_note"]
    fx = os.path.join(env.work, "greet.traj.json")
    check_diag(r["after"][0], 3, "unuseful", "repeat-command", HINT, fx, fx)
    check_diag(r["after"][1], 5, "unuseful", "failed-action", HINT, fx, fx)
    assert r["status"] == "codetracer: 0 incorrect · 2 unuseful", r["status"]
    assert r["exit"]["code"] == 0, r["exit"]


def greet_llm_script():
    """The scripted LLM agent for greet.traj.json: inspect steps 4, 5 and 1, label 4 incorrect
    and 5 unuseful, finish (1000 + 100 tokens a reply)."""
    sys.path.insert(0, HERE)
    from fake_llm_server import Reply
    labels = {"labels": [{"step_id": 4, "label": "incorrect", "reasoning": "edited app/names.py, not app/greet.py"},
                         {"step_id": 5, "label": "unuseful", "reasoning": "a shell syntax error"}]}
    write = "printf '%s\\n' '" + json.dumps(labels) + "' > labels.json"
    return [Reply.completion("Look.\n```bash\ncat steps/4.json\n```", 1000, 100),
            Reply.completion("And.\n```bash\ncat steps/5.json\n```", 1000, 100),
            Reply.completion("And.\n```bash\ncat steps/1.json\n```", 1000, 100),
            Reply.completion("Write.\n```bash\n" + write + "\n```", 1000, 100),
            Reply.completion("Done.\n```bash\necho TRACER_FINAL_OUTPUT\n```", 1000, 100)]


def test_diagnose(env):
    # :CodeTracerDiagnose runs codetracer.analyze {analyzer: "llm"} on the buffer; the agent's
    # labels (steps 4 and 5, by hand from the script above) replace the heuristic's
    sys.path.insert(0, HERE)
    from fake_llm_server import FakeLLMServer
    with FakeLLMServer(greet_llm_script()) as srv:
        os.environ["CT_NVIM_LLM_BASE"] = srv.base_url
        os.environ["CODETRACER_API_KEY"] = "sk-nvim-test"
        try:
            r = env.run("diagnose", data_home="diagnose-data")
        finally:
            os.environ.pop("CT_NVIM_LLM_BASE", None)
            os.environ.pop("CODETRACER_API_KEY", None)
        assert len(srv.requests) == 5, len(srv.requests)
    assert r["command"] is True and r["complete"] == ["llm", "hybrid"], (r["command"], r["complete"])
    assert r["usage_note"] == "codetracer: usage: :CodeTracerDiagnose [llm|hybrid]", r["notes"]
    d = r["diagnosis"]
    assert (d["analyzer"], d["model"], d["partial"], d["incorrect"], d["unuseful"]) == \
        ("llm", "gpt-4.1-mini", False, 1, 1), d
    assert r["diagnose_note"] and "1 incorrect, 1 unuseful" in r["diagnose_note"] and \
        "$0.0028" in r["diagnose_note"], r["notes"]  # 5 x (1000 x 0.40 + 100 x 1.60) / 1e6
    a = r["after"]
    fx = os.path.join(env.work, "greet.traj.json")
    assert [(x["lnum"], x["data"]["step_id"], x["data"]["label"], x["data"]["analyzer"]) for x in a] == \
        [(STEP_LINE[4], 4, "incorrect", "llm"), (STEP_LINE[5], 5, "unuseful", "llm")], a
    assert all(x["message"].endswith("[LLM: gpt-4.1-mini]") and x["data"]["traj_id"] == fx for x in a), a
    assert r["help_diagnose"] is True
    assert r["exit"]["code"] == 0, r["exit"]


def test_plugin_file(env):
    r = env.run("plugin", clean=True)
    assert r["command_before_setup"] is True
    if not r["default_on_path"]:  # default cmd = codetracer on PATH
        assert r["default_note"] and "`codetracer` was not found" in r["default_note"], r["notes"]
    assert "Step 4" in r["float"] and "app/names.py" in r["float"], r["float"]
    assert r["cleared_note"] == "codetracer: cleared 1", r["cleared_note"]
    assert "OK: daemon: %s serve" % binary() in r["health"], r["health"]
    assert "OK: client" in r["health"] and "utf-16" in r["health"], r["health"]
    assert r["exit"]["code"] == 0, r["exit"]


def main():
    if not shutil.which("nvim"):
        print("SKIP: nvim is not installed (scripts/setup.sh installs Debian's neovim)", file=sys.stderr)
        sys.exit(77)
    if not os.path.exists(binary()):
        print("FAIL: %s is not built" % binary(), file=sys.stderr)
        sys.exit(1)
    ver = subprocess.run(["nvim", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print("using", ver)
    env = Env()
    failed = 0
    tests = [test_main, test_missing, test_nostart, test_crash, test_bad_input, test_feedback,
             test_diagnose, test_plugin_file]
    for t in tests:
        try:
            t(env)
            print("ok   %s" % t.__name__)
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (t.__name__, e))
    bad = env.sanitizer_reports()
    if bad:
        failed += 1
        print("FAIL sanitizer reports in the daemon's stderr: %s (logs under %s)" % (bad, env.home))
    print("%d/%d passed" % (len(tests) - failed, len(tests)))
    if not failed:
        shutil.rmtree(env.tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
