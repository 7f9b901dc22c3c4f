#!/usr/bin/env python3
"""A password in the LLM endpoint URL (https://user:secret@host/v1) is never printed:
`codetracer llm config` shows the URL with "***@", and `codetracer llm check` against a refused
port names the endpoint the same way in its error. Nothing is sent anywhere (127.0.0.1:9)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm_fixture import BIN, check, report  # noqa: E402

PASSWORD = "pw-USERINFO-SECRET-5150"


def run(args, env):
    p = subprocess.run([BIN] + args, capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    if not os.path.exists(BIN):
        print(f"SKIP: no binary at {BIN}")
        return 77
    tmp = tempfile.mkdtemp(prefix="ct_userinfo_")
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CODETRACER_") or k.startswith("OPENAI_"))}
    env.update(XDG_CONFIG_HOME=os.path.join(tmp, "xdg"), HOME=tmp, CODETRACER_MODEL="gpt-4.1-mini",
               CODETRACER_API_BASE=f"http://alice:{PASSWORD}@127.0.0.1:9/v1")
    rc, out, err = run(["llm", "config"], env)
    check("config: exit 0", rc == 0, (rc, err))
    check("config: endpoint shown without its password", '"api_base": "http://***@127.0.0.1:9/v1"' in out, out)
    cfg = os.path.join(tmp, "no-retries.yaml")  # a refused connection is retried otherwise
    with open(cfg, "w") as f:
        f.write("llm:\n  max_retries: 0\n")
    rc, out2, err2 = run(["llm", "check", "--timeout", "5", "--config", cfg], env)
    check("check: fails (nothing listens on port 9)", rc != 0, (rc, out2, err2))
    check("check: the error names the endpoint without its password",
          "http://***@127.0.0.1:9/v1/chat/completions" in err2, err2)
    rc, out3, err3 = run(["llm", "check", "--config", cfg, "--api-base", f"https://bob:{PASSWORD}@127.0.0.1:9/v1"], env)
    check("check --api-base: fails", rc != 0, (rc, err3))
    check("check --api-base: redacted", "https://***@127.0.0.1:9/v1" in err3, err3)
    for name, text in (("config", out + err), ("check", out2 + err2), ("check --api-base", out3 + err3)):
        check(f"{name}: password not printed", PASSWORD not in text, text)
        check(f"{name}: user not printed", "alice:" not in text and "bob:" not in text, text)
    return report()


if __name__ == "__main__":
    sys.exit(main())
