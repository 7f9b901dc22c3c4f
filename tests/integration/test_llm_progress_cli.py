#!/usr/bin/env python3
"""Live progress of `codetracer analyze --analyzer llm` against the fake OpenAI-compatible server:
with stderr not a terminal, one line per turn ("agent turn N · step K · T tok · $C"); with
stderr a terminal (a pty), one status line rewritten in place ("\\r\\033[K" before each) and
cleared before any other line. Figures by hand from llm_fixture.calc_script: each turn is 1000
prompt + 100 completion tokens of gpt-4.1-mini ($0.40/$1.60 per 1M: $0.00056 a turn); turns 1-3
inspect steps 2, 3, 1."""
import os
import pty
import select
import subprocess
import sys
import tempfile
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_llm_server import FakeLLMServer  # noqa: E402
from llm_fixture import BIN, calc_script, calc_trajectory, check, report  # noqa: E402

EXPECTED = ["turn 1 · step 2 · 1.1k tok · $0.0006",
            "turn 2 · step 3 · 2.2k tok · $0.0011",
            "turn 3 · step 1 · 3.3k tok · $0.0017",
            "turn 4 · step 1 · 4.4k tok · $0.0022",
            "turn 5 · step 1 · 5.5k tok · $0.0028"]


def main():
    if not os.path.exists(BIN):
        print(f"SKIP: no binary at {BIN}")
        return 77
    tmp = tempfile.mkdtemp(prefix="ct_llm_progress_")
    traj = os.path.join(tmp, "calc__calc-1.traj.json")
    with open(traj, "w") as f:
        json.dump(calc_trajectory(), f)
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CODETRACER_") or k.startswith("OPENAI_"))}
    env.update(XDG_CONFIG_HOME=os.path.join(tmp, "xdg"), HOME=tmp, CODETRACER_API_KEY="sk-progress",
               CODETRACER_MODEL="gpt-4.1-mini", CODETRACER_DB=os.path.join(tmp, "memory.db"), NO_COLOR="")
    with FakeLLMServer(calc_script()) as srv:
        env["CODETRACER_API_BASE"] = srv.base_url
        p = subprocess.run([BIN, "analyze", traj, "--analyzer", "llm", "--output-dir", os.path.join(tmp, "a"),
                            "--json"], capture_output=True, env=env, timeout=180)
        err = p.stderr.decode("utf-8", "replace")
        check("pipe: exit 0", p.returncode == 0, err)
        lines = [l for l in err.splitlines() if l.startswith("agent turn ")]
        check("pipe: one line per turn", lines == ["agent " + e for e in EXPECTED], lines)
        check("pipe: no terminal escapes", "\033[K" not in err, err)

    with FakeLLMServer(calc_script()) as srv:
        env["CODETRACER_API_BASE"] = srv.base_url
        env["CODETRACER_DB"] = os.path.join(tmp, "memory2.db")  # not served from the cache
        master, slave = pty.openpty()
        proc = subprocess.Popen([BIN, "analyze", traj, "--analyzer", "llm", "--output-dir", os.path.join(tmp, "b"),
                                 "--json"], stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        buf = b""
        while True:
            r, _, _ = select.select([master], [], [], 60)
            if not r:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        proc.stdout.read()
        rc = proc.wait(60)
        os.close(master)
        tty = buf.decode("utf-8", "replace")
        check("tty: exit 0", rc == 0, tty)
        for e in EXPECTED:
            check(f"tty: status line '{e}' rewritten in place", "\r\033[K" + e in tty, tty[-2000:])
        check("tty: no per-turn lines", "agent turn " not in tty, tty[-2000:])
        # the status line is cleared before the next command line is printed
        check("tty: cleared before other lines", "$0.0006\r\033[Kagent step 2: $ cat steps/3.json" in tty, tty[:3000])
    return report()


if __name__ == "__main__":
    sys.exit(main())
