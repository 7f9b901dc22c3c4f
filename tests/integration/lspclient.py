"""A small LSP test client: real Content-Length framing over the daemon's stdin/stdout.

Used by tests/integration/test_lsp*.py (stdlib only). The reader thread checks that stdout holds
nothing but well-framed JSON-RPC messages; anything else fails the test that reads it.
"""
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def binary():
    b = os.environ.get("CT_BIN")
    if b and os.path.exists(b):
        return b
    build = os.environ.get("CT_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    return os.path.join(build, "bin", "codetracer")


def source_dir():
    return os.environ.get("CT_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def fixture(*parts):
    return os.path.join(source_dir(), "tests", "fixtures", "lsp", *parts)


def uri_of(path):
    from urllib.parse import quote
    return "file://" + quote(os.path.abspath(path))


def frame(obj):
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Daemon:
    def __init__(self, args=(), prefix=(), env=None):
        e = dict(os.environ)
        # hermetic: no feedback from the user's own memory database unless a test asks for it
        e["CODETRACER_DB"] = os.path.join(tempfile.gettempdir(), "ct-lsp-test-no-db-%d.db" % os.getpid())
        if env:
            e.update(env)
        self.proc = subprocess.Popen(list(prefix) + [binary(), "serve"] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.q = queue.Queue()
        self.stray = []  # bytes on stdout that were not a frame
        self.msgs = []
        self.next_id = 1
        self.auto = {}  # method of a server->client request -> result (or callable)
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def _read(self):
        f = self.proc.stdout
        while True:
            headers = b""
            while not headers.endswith(b"\r\n\r\n"):
                c = f.read(1)
                if not c:
                    self.q.put(None)
                    return
                headers += c
                if len(headers) > 8192:
                    self.stray.append(headers)
                    self.q.put(None)
                    return
            length = None
            for line in headers.decode("ascii", "replace").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
                elif line and not line.lower().startswith("content-type:"):
                    self.stray.append(line.encode())
            if length is None:
                self.stray.append(headers)
                self.q.put(None)
                return
            body = f.read(length)
            msg = json.loads(body.decode("utf-8"))
            assert msg.get("jsonrpc") == "2.0", msg
            if "method" in msg and "id" in msg and msg["method"] in self.auto:
                r = self.auto[msg["method"]]
                result = r(msg) if callable(r) else r
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            self.q.put(msg)

    # ---- sending ----
    def send_raw(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def send(self, obj):
        self.send_raw(frame(obj))

    def notify(self, method, params=None):
        m = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            m["params"] = params
        self.send(m)

    def request_async(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        m = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            m["params"] = params
        self.send(m)
        return rid

    def request(self, method, params=None, timeout=30):
        rid = self.request_async(method, params)
        return self.wait_response(rid, timeout)

    # ---- receiving ----
    def wait(self, pred, timeout=30, what="message"):
        for m in self.msgs:
            if pred(m):
                self.msgs.remove(m)
                return m
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                raise AssertionError("timed out waiting for %s; stderr:\n%s" % (what, self.stderr.decode(errors="replace")[-3000:]))
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise AssertionError("daemon closed stdout while waiting for %s (rc=%s); stderr:\n%s"
                                     % (what, self.proc.poll(), self.stderr.decode(errors="replace")[-3000:]))
            if pred(m):
                return m
            self.msgs.append(m)

    def wait_response(self, rid, timeout=30):
        return self.wait(lambda m: m.get("id") == rid and "method" not in m, timeout, "response %r" % rid)

    def wait_error_null_id(self, code, timeout=30):
        return self.wait(lambda m: "method" not in m and m.get("id") is None and m.get("error", {}).get("code") == code,
                         timeout, "error %d with id null" % code)

    def wait_diagnostics(self, uri, timeout=30, pred=None):
        def ok(m):
            return (m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                    and (pred is None or pred(m["params"])))
        return self.wait(ok, timeout, "diagnostics for %s" % uri)["params"]

    def drain(self, seconds):
        """Collect everything that arrives within `seconds`."""
        end = time.time() + seconds
        out = list(self.msgs)
        self.msgs = []
        while time.time() < end:
            try:
                m = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                continue
            if m is None:
                break
            out.append(m)
        return out

    # ---- lifecycle ----
    def initialize(self, capabilities=None, options=None, root_uri=None):
        caps = capabilities if capabilities is not None else {
            "general": {"positionEncodings": ["utf-16"]},
            "textDocument": {"publishDiagnostics": {"relatedInformation": True, "tagSupport": {"valueSet": [1, 2]}}},
        }
        p = {"processId": os.getpid(), "rootUri": root_uri, "capabilities": caps}
        if options is not None:
            p["initializationOptions"] = options
        r = self.request("initialize", p)
        assert "result" in r, r
        self.notify("initialized", {})
        return r["result"]

    def open(self, path, text=None, version=1, uri=None):
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        uri = uri or uri_of(path)
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "json", "version": version, "text": text}})
        return uri

    def stop(self, timeout=30):
        """shutdown + exit; returns the exit status."""
        r = self.request("shutdown", None)
        assert r.get("result", 1) is None, r
        self.notify("exit")
        return self.finish(timeout)

    def finish(self, timeout=30):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        rc = self.proc.wait(timeout)
        time.sleep(0.05)
        assert not self.stray, "non-protocol output on stdout: %r" % self.stray[:3]
        return rc


def main(tests):
    """Run test functions, print a summary, exit non-zero on failure."""
    if not os.path.exists(binary()):
        print("SKIP: %s not built" % binary())
        sys.exit(0)
    failed = 0
    for t in tests:
        t0 = time.time()
        try:
            t()
            print("ok   %s (%.2fs)" % (t.__name__, time.time() - t0))
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (t.__name__, e))
    print("%d/%d passed" % (len(tests) - failed, len(tests)))
    sys.exit(1 if failed else 0)


def have(tool):
    return shutil.which(tool) is not None
