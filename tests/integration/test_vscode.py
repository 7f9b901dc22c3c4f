"""VS Code extension (clients/vscode) without VS Code: compile it with tsc, run its node tests
(unit tests of every module that does not import `vscode`, and test/daemon.test.js, which
drives the built daemon through vscode-jsonrpc with the extension's own request builders), and
package it as a .vsix with @vscode/vsce, checking what the package holds.

Needs node and clients/vscode/node_modules (scripts/test.sh runs `npm ci` there); exits 77
(skip) loudly without them.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CT_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
EXT = os.path.join(SRC, "clients", "vscode")


def binary():
    b = os.environ.get("CT_BIN")
    if b and os.path.exists(b):
        return b
    return os.path.join(os.environ.get("CT_BUILD_DIR", os.path.join(SRC, "build")), "bin", "codetracer")


def run(cmd, env=None, timeout=300):
    p = subprocess.run(cmd, cwd=EXT, env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def main():
    if not shutil.which("node"):
        print("SKIP: node is not installed (scripts/setup.sh installs nodejs/npm)", file=sys.stderr)
        sys.exit(77)
    tools = os.path.join(EXT, "node_modules", ".bin")
    if not os.path.exists(os.path.join(tools, "tsc")) or not os.path.exists(os.path.join(tools, "vsce")):
        print("SKIP: clients/vscode/node_modules is missing: run scripts/test.sh or "
              "`npm ci` in clients/vscode", file=sys.stderr)
        sys.exit(77)
    if not os.path.exists(binary()):
        print("FAIL: %s is not built" % binary(), file=sys.stderr)
        sys.exit(1)
    failed = []

    # 1. tsc (strict) compiles src/ into out/
    rc, out = run([os.path.join(tools, "tsc"), "-p", "."])
    if rc != 0:
        print(out)
        failed.append("tsc")
    else:
        print("ok   tsc")

    # 2. node --test: unit tests + the real daemon through vscode-jsonrpc
    env = dict(os.environ, CT_BIN=binary(), CT_SOURCE_DIR=SRC)
    tests = sorted(os.path.join("test", f) for f in os.listdir(os.path.join(EXT, "test")) if f.endswith(".test.js"))
    rc, out = run(["node", "--test"] + tests, env=env)
    m_pass = re.search(r"^# pass (\d+)$", out, re.M)
    m_fail = re.search(r"^# fail (\d+)$", out, re.M)
    m_skip = re.search(r"^# skipped (\d+)$", out, re.M)
    n_pass = int(m_pass.group(1)) if m_pass else 0
    if rc != 0 or not m_fail or int(m_fail.group(1)) != 0 or n_pass < 10 or (m_skip and int(m_skip.group(1))):
        print(out)
        failed.append("node --test")
    else:
        print("ok   node --test (%d passed: %s)" % (n_pass, ", ".join(os.path.basename(t) for t in tests)))

    # 3. vsce package -> a .vsix with the compiled extension and its runtime dependencies only
    tmp = tempfile.mkdtemp(prefix="ct-vsix-")
    vsix = os.path.join(tmp, "codetracer.vsix")
    rc, out = run([os.path.join(tools, "vsce"), "package", "--skip-license", "--allow-missing-repository",
                   "--out", vsix])
    if rc != 0 or not os.path.exists(vsix):
        print(out)
        failed.append("vsce package")
    else:
        with zipfile.ZipFile(vsix) as z:
            names = set(z.namelist())
            pkg = json.loads(z.read("extension/package.json"))
        problems = []
        for need in ("extension/package.json", "extension/out/extension.js", "extension/out/requests.js",
                     "extension/node_modules/vscode-languageclient/package.json", "extension.vsixmanifest"):
            if need not in names:
                problems.append("missing " + need)
        for n in names:
            if n.startswith(("extension/src/", "extension/test/")) or "/node_modules/typescript/" in n \
                    or "/node_modules/@vscode/vsce/" in n:
                problems.append("should not be packaged: " + n)
        cmds = {c["command"] for c in pkg["contributes"]["commands"]}
        for c in ("codetracer.ui.analyze", "codetracer.ui.inspect", "codetracer.ui.gotoStep",
                  "codetracer.ui.markLabel", "codetracer.ui.restart"):
            if c not in cmds:
                problems.append("command not contributed: " + c)
        props = pkg["contributes"]["configuration"]["properties"]
        for k in ("codetracer.daemon.path", "codetracer.analyzer", "codetracer.severity.incorrect",
                  "codetracer.severity.unuseful", "codetracer.pathMappings"):
            if k not in props:
                problems.append("setting missing: " + k)
        if any("key" in k.lower() or "secret" in k.lower() or "token" in k.lower() for k in props):
            problems.append("a secret-looking setting is contributed: %s" % sorted(props))
        if problems:
            print("\n".join(problems))
            failed.append("vsix contents")
        else:
            print("ok   vsce package (%d files, %d bytes)" % (len(names), os.path.getsize(vsix)))
    shutil.rmtree(tmp, ignore_errors=True)

    print("FAILED: " + ", ".join(failed) if failed else "all passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
