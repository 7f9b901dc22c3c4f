#!/usr/bin/env python3
"""After the whole suite: the shared corpus must be exactly what MANIFEST.json lists, byte for
byte (git blob hashes) and with no extra files. Proves that no test and no default of ours wrote
into the trajectories it read. Exit 0 = unchanged or no corpus (said so), 1 = changed."""
import hashlib
import json
import os
import sys

root = os.environ.get("CT_CORPUS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "corpus")
root = os.path.normpath(root)
manifest = os.path.join(root, "MANIFEST.json")
if not os.path.isfile(manifest):
    print(f"corpus check: SKIPPED — {root} not found")
    sys.exit(0)
with open(manifest, encoding="utf-8") as f:
    entries = json.load(f)
known = {e["dest"]: e["blob"] for e in entries}
problems = []
for rel, blob in known.items():
    p = os.path.join(root, rel)
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError:
        problems.append(f"missing: {rel}")
        continue
    if hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() != blob:
        problems.append(f"changed: {rel}")
for dirpath, _, files in os.walk(root):
    for name in files:
        rel = os.path.relpath(os.path.join(dirpath, name), root)
        if rel not in known and rel not in ("MANIFEST.json", "SOURCES.md"):
            problems.append(f"added: {rel}")
if problems:
    print("corpus check: FAILED — the test suite modified the shared corpus:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"corpus check: {len(known)} files unchanged")
