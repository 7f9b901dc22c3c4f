"""LSP daemon, protocol level: framing, JSON-RPC errors, lifecycle and exit codes.

Every case drives the real `codetracer serve` over real pipes, and after each bad input checks
that the daemon still answers a normal request."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lspclient import Daemon, frame, main  # noqa: E402


def alive(d):
    """The daemon still answers: an unknown method gets -32601 for its own id."""
    r = d.request("codetracer/ping", {})
    assert r["error"]["code"] == -32601, r


def test_initialize_capabilities_and_clean_exit():
    d = Daemon()
    res = d.initialize()
    caps = res["capabilities"]
    assert caps["positionEncoding"] == "utf-16"
    assert caps["textDocumentSync"]["change"] == 1 and caps["textDocumentSync"]["openClose"] is True
    assert caps["hoverProvider"] is True and caps["documentSymbolProvider"] is True
    assert caps["workspaceSymbolProvider"] is True and "codeLensProvider" in caps
    cmds = caps["executeCommandProvider"]["commands"]
    assert set(cmds) == {"codetracer.analyze", "codetracer.inspect", "codetracer.clear", "codetracer.feedback",
                         "codetracer.blame"}, cmds
    assert caps["definitionProvider"] is True
    assert res["serverInfo"]["name"] == "codetracer"
    assert d.stop() == 0


def test_utf8_negotiated_when_offered():
    d = Daemon()
    res = d.initialize({"general": {"positionEncodings": ["utf-32", "utf-8", "utf-16"]}})
    assert res["capabilities"]["positionEncoding"] == "utf-8"
    assert d.stop() == 0


def test_exit_without_shutdown_is_1():
    d = Daemon()
    d.initialize()
    d.notify("exit")
    assert d.finish() == 1


def test_end_of_input_exits():
    d = Daemon()
    d.initialize()
    assert d.finish() == 1  # stdin closed, no shutdown
    d = Daemon()
    d.initialize()
    assert d.request("shutdown")["result"] is None
    assert d.finish() == 0  # shutdown, then the client went away


def test_requests_before_initialize():
    d = Daemon()
    r = d.request("textDocument/hover", {"textDocument": {"uri": "file:///x"}, "position": {"line": 0, "character": 0}})
    assert r["error"]["code"] == -32002, r
    d.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x", "version": 1, "text": "{}"}})
    d.initialize()
    # the didOpen before initialize was dropped: nothing was published for it
    assert not [m for m in d.drain(0.3) if m.get("method") == "textDocument/publishDiagnostics"]
    r = d.request("initialize", {"capabilities": {}})
    assert r["error"]["code"] == -32600, r
    assert d.stop() == 0


def test_unknown_method_and_notification():
    d = Daemon()
    d.initialize()
    r = d.request("textDocument/nosuchthing", {})
    assert r["error"]["code"] == -32601
    d.notify("$/nosuchnotification", {})
    d.notify("workspace/unknownNotification", {})
    alive(d)
    assert d.stop() == 0


def test_invalid_requests():
    d = Daemon()
    d.initialize()
    d.send({"jsonrpc": "1.0", "id": 77, "method": "shutdown"})
    r = d.wait_response(77)
    assert r["error"]["code"] == -32600, r
    d.send({"jsonrpc": "2.0", "id": 78, "method": 5})
    assert d.wait_response(78)["error"]["code"] == -32600
    d.send({"jsonrpc": "2.0", "id": 79, "method": "textDocument/hover", "params": 3})
    assert d.wait_response(79)["error"]["code"] in (-32600, -32602)
    d.send([{"jsonrpc": "2.0", "id": 80, "method": "shutdown"}])  # batch: not LSP
    d.wait_error_null_id(-32600)
    d.send({"jsonrpc": "2.0", "id": {"x": 1}, "method": "shutdown"})
    d.wait_error_null_id(-32600)
    r = d.request("textDocument/hover", {"textDocument": {}, "position": {}})
    assert r["error"]["code"] == -32602, r
    alive(d)
    assert d.stop() == 0


def test_parse_errors_keep_serving():
    d = Daemon()
    d.initialize()
    body = b'{"jsonrpc": "2.0", "id": 5, "method": '  # truncated JSON
    d.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    d.wait_error_null_id(-32700)
    alive(d)
    bad = b'{"jsonrpc": "2.0", "id": 6, "method": "x\xff\xfe"}'  # invalid UTF-8
    d.send_raw(b"Content-Length: %d\r\n\r\n" % len(bad) + bad)
    d.wait_error_null_id(-32700)
    alive(d)
    nul = b'{"jsonrpc": "2.0", "id": 7, "method": "a\\u0000b", "params": {"t": "x\\u0000y"}}'
    d.send_raw(b"Content-Length: %d\r\n\r\n" % len(nul) + nul)
    assert d.wait_response(7)["error"]["code"] == -32601
    alive(d)
    assert d.stop() == 0


def test_frame_without_header():
    d = Daemon()
    d.initialize()
    d.send_raw(b'{"jsonrpc": "2.0", "id": 9, "method": "shutdown"}\r\n')
    d.send_raw(frame({"jsonrpc": "2.0", "id": 10, "method": "codetracer/ping"}))
    d.wait_error_null_id(-32700)
    assert d.wait_response(10)["error"]["code"] == -32601
    # a header block that is not a header
    d.send_raw(b"Hello there\r\n\r\n")
    d.wait_error_null_id(-32700)
    d.send_raw(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}")
    d.wait_error_null_id(-32700)
    d.send_raw(b"Content-Length: abc\r\n\r\n")
    d.wait_error_null_id(-32700)
    alive(d)
    # Content-Type is accepted, header names are case-insensitive
    body = json.dumps({"jsonrpc": "2.0", "id": 11, "method": "codetracer/ping"}).encode()
    d.send_raw(b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(body) + body)
    assert d.wait_response(11)["error"]["code"] == -32601
    assert d.stop() == 0


def test_wrong_content_length():
    d = Daemon()
    d.initialize()
    body = json.dumps({"jsonrpc": "2.0", "id": 12, "method": "codetracer/ping"}).encode()
    d.send_raw(b"Content-Length: %d\r\n\r\n" % (len(body) - 5) + body)  # too short
    d.wait_error_null_id(-32700)
    alive(d)
    # too long: the next frame is swallowed as part of this body, then the daemon resyncs
    d.send_raw(b"Content-Length: %d\r\n\r\n" % (len(body) + 30) + body)
    d.send_raw(frame({"jsonrpc": "2.0", "id": 13, "method": "codetracer/ping"}))
    d.wait_error_null_id(-32700)
    alive(d)
    assert d.stop() == 0


def test_huge_content_length():
    d = Daemon(args=["--max-message-bytes", "100000"])
    d.initialize()
    d.send_raw(b"Content-Length: 99999999999999999999999\r\n\r\n")
    e = d.wait_error_null_id(-32700)
    assert "limit" in e["error"]["message"], e
    alive(d)
    # a body over the limit is skipped without being stored, and the next message is served
    big = b'{"jsonrpc":"2.0","method":"x","params":{"p":"' + b"a" * 300000 + b'"}}'
    d.send_raw(b"Content-Length: %d\r\n\r\n" % len(big))
    for i in range(0, len(big), 65536):
        d.send_raw(big[i:i + 65536])
    d.wait_error_null_id(-32700)
    alive(d)
    assert d.stop() == 0


def test_max_message_from_initialization_options():
    d = Daemon()
    d.initialize(options={"maxMessageBytes": 5000})
    d.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///tmp/x.json", "version": 1, "text": "x" * 10000}})
    d.wait_error_null_id(-32700)
    alive(d)
    assert d.stop() == 0


def test_client_disappears_mid_message():
    d = Daemon()
    d.initialize()
    body = frame({"jsonrpc": "2.0", "id": 40, "method": "codetracer/ping"})
    d.send_raw(body[: len(body) // 2])
    time.sleep(0.1)
    rc = d.finish(timeout=20)
    assert rc == 1, rc
    assert b"middle of a message" in d.stderr, d.stderr


def test_client_stops_reading():
    import subprocess
    from lspclient import binary
    # no reader thread here: the read end of our stdout pipe is closed before anything is sent
    p = subprocess.Popen([binary(), "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()
    try:
        p.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}))
        for i in range(20):
            p.stdin.write(frame({"jsonrpc": "2.0", "id": 2 + i, "method": "codetracer/ping"}))
        p.stdin.flush()
    except BrokenPipeError:
        pass
    rc = p.wait(timeout=30)
    err = p.stderr.read()
    p.stderr.close()
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    assert rc == 1, (rc, err)
    assert b"stopped reading" in err, err


def test_cancel_unknown_request_is_ignored():
    d = Daemon()
    d.initialize()
    d.notify("$/cancelRequest", {"id": 12345})
    d.notify("$/cancelRequest", {})
    alive(d)
    assert d.stop() == 0


def test_requests_after_shutdown():
    d = Daemon()
    d.initialize()
    assert d.request("shutdown")["result"] is None
    r = d.request("textDocument/hover", {"textDocument": {"uri": "file:///x"}, "position": {"line": 0, "character": 0}})
    assert r["error"]["code"] == -32600, r
    d.notify("exit")
    assert d.finish() == 0


def test_split_and_coalesced_frames():
    d = Daemon()
    d.initialize()
    data = b"".join(frame({"jsonrpc": "2.0", "id": 100 + i, "method": "codetracer/ping"}) for i in range(20))
    for i in range(0, len(data), 7):  # byte dribble
        d.send_raw(data[i:i + 7])
    for i in range(20):
        assert d.wait_response(100 + i)["error"]["code"] == -32601
    assert d.stop() == 0


def test_stdout_is_only_protocol_and_help():
    import subprocess
    from lspclient import binary
    out = subprocess.run([binary(), "serve", "--help"], capture_output=True, timeout=30)
    assert out.returncode == 0 and b"usage:" in out.stdout
    out = subprocess.run([binary(), "serve", "--bogus"], capture_output=True, timeout=30)
    assert out.returncode == 2 and out.stdout == b""
    d = Daemon()
    d.initialize()
    d.send_raw(b"garbage garbage garbage " * 10)
    d.send_raw(frame({"jsonrpc": "2.0", "id": 55, "method": "codetracer/ping"}))
    d.wait_response(55)
    assert d.stop() == 0  # finish() asserts no stray bytes on stdout


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
