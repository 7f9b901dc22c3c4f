#!/usr/bin/env python3
"""The LLM client end to end: `codetracer llm check` against a fake OpenAI-compatible server
(tests/integration/fake_llm_server.py) started here on 127.0.0.1.

Covers: a normal completion with usage → cost from the price table; 429 + Retry-After honoured;
500 twice then success; a server slower than the client's timeout → retried then an error;
garbage / truncated / HTML / choice-less bodies → errors without retry; 502 HTML pages retried;
401 → no retry; a budget too small → no request at all (the server's log is empty); an unknown
model → counted, warned once; Azure-style deployments (api-key header + api-version query);
configuration precedence (defaults < user file < --config < environment < flags) seen through
`codetracer llm config`; and the API key never appearing in any output.
Every expected figure is computed by hand from the scripted replies and config/prices.yaml.
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
SECRET = "sk-h8-SECRET-must-not-leak-4242"

failures, passed = [], []
all_output = []
TMP = tempfile.mkdtemp(prefix="ct_llm_test_")
XDG = os.path.join(TMP, "xdg")
os.makedirs(XDG)
FAST = os.path.join(TMP, "fast.yaml")
with open(FAST, "w") as f:
    f.write("llm:\n  retry_base_ms: 50\n  retry_max_ms: 5000\n  max_retries: 2\n  timeout: 10\n")


def base_env(**extra):
    e = {k: v for k, v in os.environ.items()
         if not (k.startswith("CODETRACER_") or k.startswith("OPENAI_"))}
    e["XDG_CONFIG_HOME"] = XDG
    e.update(extra)
    return e


def run(args, env, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([BIN, *args], capture_output=True, env=env, timeout=timeout)
    dt = time.monotonic() - t0
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    all_output.append(out + err)
    if p.returncode < 0 or p.returncode in (134, 139):
        raise AssertionError(f"codetracer {' '.join(args)} died: {p.returncode}\n{err[-2000:]}")
    return p.returncode, out, err, dt


def check(name, cond, detail=""):
    (passed if cond else failures).append(name)
    if not cond:
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def server_env(srv, model="gpt-4.1-mini"):
    return base_env(CODETRACER_API_BASE=srv.base_url, CODETRACER_API_KEY=SECRET, CODETRACER_MODEL=model)


def test_normal():
    with FakeLLMServer([Reply.completion("pong", 1000, 500)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST], server_env(srv))
        check("normal: exit 0", rc == 0, err)
        # gpt-4.1-mini: $0.40 / $1.60 per 1M → 1000·0.40/1e6 + 500·1.60/1e6 = 0.0012
        check("normal: cost", "cost: $0.001200\n" in out, out)
        check("normal: tokens", "tokens: 1000 prompt, 500 completion\n" in out, out)
        check("normal: reply", "reply: pong\n" in out, out)
        check("normal: model", "model: gpt-4.1-mini (answered by fake-model)\n" in out, out)
        check("normal: one request", len(srv.requests) == 1, len(srv.requests))
        r = srv.requests[0]
        check("normal: path", r["method"] == "POST" and r["path"] == "/v1/chat/completions", r["path"])
        check("normal: bearer", r["headers"].get("authorization") == "Bearer " + SECRET)
        body = r["json"] or {}
        check("normal: body model", body.get("model") == "gpt-4.1-mini", body)
        check("normal: body messages", body.get("messages", [{}])[0].get("role") == "user", body)
        check("normal: max_tokens", body.get("max_tokens") == 16, body)
    with FakeLLMServer([Reply.completion("pong", 2000, 10)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST, "--json"], server_env(srv, "claude-sonnet-4-5"))
        j = json.loads(out) if rc == 0 else {}
        # claude-sonnet-4*: $3 / $15 → 2000·3/1e6 + 10·15/1e6 = 0.00615
        check("json: cost", abs(j.get("cost_usd", -1) - 0.00615) < 1e-9, out)
        check("json: fields", j.get("prompt_tokens") == 2000 and j.get("completion_tokens") == 10
              and j.get("attempts") == 1 and j.get("priced") is True and j.get("reply") == "pong", out)


def test_429_retry_after():
    with FakeLLMServer([Reply.error(429, "slow down", {"Retry-After": "1"}), Reply.completion("pong", 10, 1)]) as srv:
        rc, out, err, dt = run(["llm", "check", "-c", FAST], server_env(srv))
        check("429: exit 0", rc == 0, err)
        check("429: two requests", len(srv.requests) == 2, len(srv.requests))
        if len(srv.requests) == 2:
            gap = srv.requests[1]["t"] - srv.requests[0]["t"]
            # the backoff alone would be <= 50 ms; Retry-After says 1 s
            check("429: waited Retry-After", 0.95 <= gap < 5, gap)
        check("429: attempts shown", "(2 attempts)" in out, out)


def test_500_twice():
    with FakeLLMServer([Reply.error(500, "boom"), Reply.error(503, "busy"), Reply.completion("pong", 10, 1)]) as srv:
        rc, out, err, dt = run(["llm", "check", "-c", FAST], server_env(srv))
        check("5xx: exit 0", rc == 0, err)
        check("5xx: three requests", len(srv.requests) == 3, len(srv.requests))
        check("5xx: attempts", "(3 attempts)" in out, out)
        check("5xx: quick backoff", dt < 5, dt)
    with FakeLLMServer([Reply(502, "<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"})]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST], server_env(srv))
        check("502 html: fails", rc == 5, (rc, err))
        check("502 html: retried to the limit", len(srv.requests) == 3, len(srv.requests))
        check("502 html: message", "HTTP 502" in err and "gave up after 3 attempts" in err, err)


def test_long_retry_after_and_big_body():
    # Retry-After longer than llm.retry_max_ms (5 s in fast.yaml): stop now, say why
    with FakeLLMServer([Reply.error(429, "quota", {"Retry-After": "120"}), Reply.completion("pong", 1, 1)]) as srv:
        rc, out, err, dt = run(["llm", "check", "-c", FAST], server_env(srv))
        check("long Retry-After: fails fast", rc == 5 and dt < 5 and len(srv.requests) == 1, (rc, dt, err))
        check("long Retry-After: message", "retry after 120 s" in err, err)
    # Retry-After as an HTTP date in the past → retry at once (backoff only)
    with FakeLLMServer([Reply.error(503, "busy", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
                        Reply.completion("pong", 1, 1)]) as srv:
        rc, out, err, dt = run(["llm", "check", "-c", FAST], server_env(srv))
        check("date Retry-After: ok", rc == 0 and len(srv.requests) == 2 and dt < 5, (rc, dt, err))
    big = os.path.join(TMP, "small_resp.yaml")
    with open(big, "w") as f:
        f.write("llm:\n  max_response_bytes: 2048\n  retry_base_ms: 50\n")
    with FakeLLMServer([Reply.completion("x" * 10000, 1, 1)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", big], server_env(srv))
        check("huge body: refused", rc == 5 and "max_response_bytes" in err and len(srv.requests) == 1, (rc, err))


def test_timeout():
    with FakeLLMServer([Reply.completion("late", 10, 1, delay=5)]) as srv:
        rc, out, err, dt = run(["llm", "check", "-c", FAST, "--timeout", "0.5"], server_env(srv))
        check("timeout: fails", rc == 5, (rc, err))
        check("timeout: retried", len(srv.requests) == 3, len(srv.requests))
        check("timeout: message", "timed out" in err, err)
        # 3 attempts × 0.5 s + backoff; waiting for the server would take 3 × 5 s
        check("timeout: bounded", dt < 8, dt)


def test_bad_bodies():
    cases = [
        ("garbage", Reply(200, "this is not json{", {"Content-Type": "application/json"}), "not valid JSON"),
        ("truncated", Reply(200, '{"choices": [{"message": {"content": "po', {"Content-Type": "application/json"}), "not valid JSON"),
        ("html", Reply(200, "<!DOCTYPE html><html><body>login</body></html>", {"Content-Type": "text/html"}), "HTML page"),
        ("no choices", Reply(200, '{"object": "chat.completion", "choices": []}'), "no choices"),
        ("not object", Reply(200, '[1, 2, 3]'), "not an object"),
        ("empty", Reply(200, ""), "empty body"),
        ("nul and bad utf8", Reply(200, b'{"choices": [{"message": {"content": "a\\u0000b\xff"}}]}'), "not valid JSON"),
    ]
    for name, reply, want in cases:
        with FakeLLMServer([reply, Reply.completion("pong", 1, 1)]) as srv:
            rc, out, err, _ = run(["llm", "check", "-c", FAST], server_env(srv))
            check(f"bad body {name}: fails", rc == 5, (rc, out, err))
            check(f"bad body {name}: message", want in err, err)
            check(f"bad body {name}: not retried", len(srv.requests) == 1, len(srv.requests))
    # a \u0000 inside valid JSON is kept as data, not a truncation
    with FakeLLMServer([Reply(200, '{"choices": [{"message": {"content": "po\\u0000ng"}}], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}')]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST, "--json"], server_env(srv))
        j = json.loads(out) if rc == 0 else {}
        check("nul in content: ok", rc == 0 and j.get("reply") == "po\ufffdng", (out, err))


def test_401():
    with FakeLLMServer([Reply.error(401, f"Incorrect API key provided: {SECRET}"), Reply.completion("pong", 1, 1)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST], server_env(srv))
        check("401: fails", rc == 5, rc)
        check("401: no retry", len(srv.requests) == 1, len(srv.requests))
        check("401: message", "HTTP 401" in err and "credentials" in err, err)
        check("401: echoed key scrubbed", SECRET not in err and "<redacted>" in err, err)
    with FakeLLMServer([Reply.error(403, "forbidden"), Reply.completion("pong", 1, 1)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST], server_env(srv))
        check("403: no retry", rc == 5 and len(srv.requests) == 1, (rc, len(srv.requests)))
    with FakeLLMServer([Reply.error(400, "bad request: unknown parameter"), Reply.completion("pong", 1, 1)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST], server_env(srv))
        check("400: no retry, message", rc == 5 and len(srv.requests) == 1 and "unknown parameter" in err, err)


def test_budget():
    with FakeLLMServer([Reply.completion("pong", 1, 1)]) as srv:
        # 16 completion tokens of gpt-4.1-mini alone cost 16·1.60/1e6 = $0.0000256 > $0.00001
        rc, out, err, _ = run(["llm", "check", "-c", FAST, "--cost-limit", "0.00001"], server_env(srv))
        check("budget: fails", rc == 5, rc)
        check("budget: no request made", len(srv.requests) == 0, len(srv.requests))
        check("budget: message", "budget" in err and "no request was made" in err, err)
        rc, out, err, _ = run(["llm", "check", "-c", FAST, "--cost-limit", "0.01"], server_env(srv))
        check("budget: enough budget goes through", rc == 0 and len(srv.requests) == 1, (rc, err))


def test_unknown_model():
    with FakeLLMServer([Reply.completion("pong", 7, 3)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", FAST], server_env(srv, "my-local-llama"))
        check("unknown model: ok", rc == 0, err)
        check("unknown model: warned once", err.count("no price for model 'my-local-llama'") == 1, err)
        check("unknown model: tokens counted", "tokens: 7 prompt, 3 completion" in out, out)
        check("unknown model: cost unknown", "cost: unknown" in out, out)


def test_azure():
    cfg = os.path.join(TMP, "azure.yaml")
    with open(cfg, "w") as f:
        f.write('llm:\n  api_version: "2024-10-21"\n  azure_deployment: "dep-one"\n  retry_base_ms: 50\n')
    with FakeLLMServer([Reply.completion("pong", 1, 1)]) as srv:
        rc, out, err, _ = run(["llm", "check", "-c", cfg], server_env(srv))
        check("azure: ok", rc == 0, err)
        r = srv.requests[0] if srv.requests else {"path": "", "headers": {}}
        check("azure: path", r["path"] == "/v1/openai/deployments/dep-one/chat/completions?api-version=2024-10-21", r["path"])
        check("azure: api-key header", r["headers"].get("api-key") == SECRET)
        check("azure: no bearer", "authorization" not in r["headers"])


def config_of(args, env):
    rc, out, err, _ = run(["llm", "config", *args], env)
    return json.loads(out) if rc == 0 else {"error": err}


def test_precedence():
    userdir = os.path.join(XDG, "codetracer")
    os.makedirs(userdir, exist_ok=True)
    user = os.path.join(userdir, "config.yaml")
    with open(user, "w") as f:
        f.write("llm:\n  model_name: from-user\n  api_base: http://user.example/v1\n  timeout: 7\n")
    explicit = os.path.join(TMP, "explicit.yaml")
    with open(explicit, "w") as f:
        f.write("llm:\n  model_name: from-file\n  api_key: key-from-file-xyz\n")
    try:
        c = config_of([], base_env())
        check("prec: user file", c["llm"]["model_name"] == "from-user" and c["llm"]["timeout"] == 7, c)
        c = config_of(["-c", explicit], base_env())
        check("prec: --config over user", c["llm"]["model_name"] == "from-file" and c["llm"]["timeout"] == 7
              and c["llm"]["api_base"] == "http://user.example/v1", c)
        check("prec: key from file redacted", c["llm"]["api_key"] == "<redacted>", c)
        c = config_of(["-c", explicit], base_env(OPENAI_MODEL="from-openai"))
        check("prec: OPENAI_MODEL over file", c["llm"]["model_name"] == "from-openai", c)
        c = config_of(["-c", explicit], base_env(OPENAI_MODEL="from-openai", CODETRACER_MODEL="from-ct"))
        check("prec: CODETRACER_MODEL over OPENAI_MODEL", c["llm"]["model_name"] == "from-ct", c)
        c = config_of(["-c", explicit, "--model", "from-flag"], base_env(CODETRACER_MODEL="from-ct"))
        check("prec: flag over env", c["llm"]["model_name"] == "from-flag", c)
        c = config_of([], base_env(OPENAI_BASE_URL="http://a.example/v1", OPENAI_API_BASE="http://b.example/v1"))
        check("prec: OPENAI_BASE_URL before OPENAI_API_BASE", c["llm"]["api_base"] == "http://a.example/v1", c)
        c = config_of([], base_env(OPENAI_API_BASE="http://b.example/v1"))
        check("prec: OPENAI_API_BASE", c["llm"]["api_base"] == "http://b.example/v1", c)
        c = config_of(["--api-base", "http://flag.example/v1", "--cost-limit", "0.5"],
                      base_env(CODETRACER_API_BASE="http://ct.example/v1", CODETRACER_API_KEY=SECRET))
        check("prec: --api-base over env", c["llm"]["api_base"] == "http://flag.example/v1", c)
        check("prec: --cost-limit", c["trace"]["cost_limit"] == 0.5, c)
        check("prec: env key redacted", c["llm"]["api_key"] == "<redacted>", c)
    finally:
        os.unlink(user)
    c = config_of([], base_env())
    check("defaults: no built-in endpoint", c["llm"]["api_base"] == "" and c["llm"]["model_name"] == "", c)
    check("defaults: budget 3.0", c["trace"]["cost_limit"] == 3.0, c)
    bad = os.path.join(TMP, "bad.yaml")
    with open(bad, "w") as f:
        f.write("llm:\n  model_name: [unclosed\n")
    rc, out, err, _ = run(["llm", "config", "-c", bad], base_env())
    check("bad config file: exit 3 with file name", rc == 3 and "bad.yaml" in err, (rc, err))


def test_usage_errors():
    rc, out, err, _ = run(["llm", "check"], base_env(CODETRACER_API_KEY=SECRET))
    check("no endpoint: exit 2", rc == 2, rc)
    check("no endpoint: says how", "CODETRACER_API_BASE" in err, err)
    rc, out, err, _ = run(["llm", "check", "--api-base", "http://127.0.0.1:9/v1"], base_env())
    check("no model: exit 2", rc == 2 and "CODETRACER_MODEL" in err, (rc, err))
    rc, out, err, _ = run(["llm", "check", "--api-key", SECRET], base_env())
    check("--api-key refused", rc == 2 and "no --api-key" in err, (rc, err))
    rc, out, err, _ = run(["llm", "price", "gpt-4o-2024-08-06"], base_env())
    check("price: dated gpt-4o", rc == 0 and "$2.50 input, $10.00 output" in out, out)
    rc, out, err, _ = run(["llm", "check", "--api-base", "http://127.0.0.1:1/v1", "--model", "gpt-4o", "-c", FAST],
                          base_env())
    check("connection refused: retried then error", rc == 5 and "gave up after 3 attempts" in err, (rc, err))


def main():
    if not os.path.exists(BIN):
        print(f"SKIP: no binary at {BIN}")
        return 77
    for t in [test_normal, test_429_retry_after, test_500_twice, test_long_retry_after_and_big_body, test_timeout, test_bad_bodies, test_401,
              test_budget, test_unknown_model, test_azure, test_precedence, test_usage_errors]:
        try:
            t()
        except Exception as e:  # a crash in one scenario must not hide the others
            check(t.__name__, False, repr(e))
    # the key never appears in anything codetracer printed, nor in files it left behind
    check("secret never printed", not any(SECRET in o for o in all_output))
    for root, _, files in os.walk(TMP):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                check(f"secret not in {fn}", SECRET.encode() not in f.read())
    print(f"{len(passed)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
