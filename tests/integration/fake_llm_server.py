#!/usr/bin/env python3
"""A fake OpenAI-compatible Chat Completions server for tests (stdlib only).

Listens on 127.0.0.1 on an ephemeral port, answers from a script of replies (one per request, the
last one repeats), and records every request (method, path, headers, body) so a test can prove
what was or was not sent. Bounded: request bodies over 4 MiB are refused, the server runs in a
daemon thread, and close() stops it.

    srv = FakeLLMServer([Reply(429, headers={"Retry-After": "1"}), Reply.completion("pong")])
    srv.base_url  # "http://127.0.0.1:PORT/v1"
    ...
    srv.requests  # [{"method", "path", "headers", "body", "json", "t"}]
    srv.close()

Options for many concurrent conversations (all off by default):
    by_turn=True   choose the reply by the request's turn index (the number of "assistant"
                   messages in its body) instead of the arrival order, so interleaved
                   conversations each get the script from its start;
    latency=0.02   every reply waits this many seconds (on top of Reply.delay);
    gate=threading.Event()  every reply waits until the event is set (hold them, then release).
    srv.in_flight / srv.peak_in_flight   requests received and not yet answered (now / at most).
"""
import http.server
import json
import threading
import time

MAX_BODY = 4 << 20


class Reply:
    def __init__(self, status=200, body=b"", headers=None, delay=0.0):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = dict(headers or {})
        self.delay = delay

    @staticmethod
    def completion(text, prompt_tokens=None, completion_tokens=None, model="fake-model",
                   tool_calls=None, finish_reason="stop", delay=0.0):
        msg = {"role": "assistant", "content": text}
        if tool_calls is not None:
            msg["tool_calls"] = tool_calls
        body = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "message": msg, "finish_reason": finish_reason}],
        }
        if prompt_tokens is not None:
            body["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"}, delay)

    @staticmethod
    def error(status, message, headers=None, delay=0.0):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return Reply(status, json.dumps({"error": {"message": message, "type": "fake"}}), h, delay)


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # listen backlog: many clients may connect at once


class FakeLLMServer:
    def __init__(self, script, by_turn=False, latency=0.0, gate=None):
        self.script = list(script)
        self.requests = []
        self.lock = threading.Lock()
        self.by_turn = by_turn
        self.latency = latency
        self.gate = gate
        self.in_flight = 0
        self.peak_in_flight = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # keep test output clean
                pass

            def do_GET(self):
                self._serve()

            def do_POST(self):
                self._serve()

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n > MAX_BODY:
                    self.send_response(413)
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    return
                raw = self.rfile.read(n) if n else b""
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                with outer.lock:
                    outer.requests.append({"method": self.command, "path": self.path,
                                           "headers": {k.lower(): v for k, v in self.headers.items()},
                                           "body": raw, "json": parsed, "t": time.monotonic()})
                    i = len(outer.requests) - 1
                    if outer.by_turn:
                        msgs = parsed.get("messages") if isinstance(parsed, dict) else None
                        i = sum(1 for m in msgs or [] if isinstance(m, dict) and m.get("role") == "assistant")
                    reply = outer.script[min(i, len(outer.script) - 1)]
                    outer.in_flight += 1
                    outer.peak_in_flight = max(outer.peak_in_flight, outer.in_flight)
                try:
                    self._answer(reply)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1
                self.close_connection = True

            def _answer(self, reply):
                if outer.gate is not None:
                    outer.gate.wait(120)
                if outer.latency:
                    time.sleep(outer.latency)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
