"""LSP daemon on real trajectories: every file of the shared corpus (/work/shared/corpus, or
$CT_CORPUS) is opened as a document in one session. Each open must end with exactly one
publishDiagnostics for that document (empty when the file alone is not a trajectory), every
diagnostic must sit inside the document and carry its data, a hover on every diagnostic must
answer, and the session must end with exit status 0. Skips loudly when the corpus is absent."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lspclient import Daemon, main, uri_of  # noqa: E402

CORPUS = os.environ.get("CT_CORPUS", "/work/shared/corpus")
EXTS = (".json", ".jsonl", ".cast", ".log", ".traj", ".txt")


def test_every_corpus_file_as_a_document():
    if not os.path.isdir(CORPUS):
        print("SKIP: no corpus at %s (set CT_CORPUS); real trajectories not exercised" % CORPUS)
        return
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(CORPUS) for f in fs
                   if f.endswith(EXTS) and os.path.getsize(os.path.join(r, f)) <= 8 << 20)
    d = Daemon()
    d.initialize({"general": {"positionEncodings": ["utf-16"]}})
    with_diags = 0
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8", errors="replace")  # what an editor would show
        uri = d.open(path, text=text)
        p = d.wait_diagnostics(uri, timeout=120)
        lines = text.split("\n")
        for x in p["diagnostics"]:
            r = x["range"]
            assert 0 <= r["start"]["line"] <= r["end"]["line"] < len(lines) + 1, (path, r)
            assert x["source"] == "codetracer" and x["data"]["step_id"] >= 1, x
            assert x["data"]["label"] in ("incorrect", "unuseful")
        if p["diagnostics"]:
            with_diags += 1
            for x in p["diagnostics"][:20]:
                h = d.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": x["range"]["start"]})
                assert h["result"] and h["result"]["contents"]["value"].startswith("### Step"), (path, x, h)
        assert "result" in d.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        d.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        assert d.wait_diagnostics(uri, timeout=60)["diagnostics"] == []
    print("%d corpus files opened, %d with diagnostics" % (len(files), with_diags))
    assert d.stop(timeout=120) == 0


if __name__ == "__main__":
    main([test_every_corpus_file_as_a_document])
