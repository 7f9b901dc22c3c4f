#!/usr/bin/env python3
"""Every C source and header tracked by git is formatted with the checked-in .clang-format.
Exit 77 (skipped, said clearly) when clang-format or git is missing; 1 with the list otherwise."""
import os
import shutil
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
cf = shutil.which("clang-format")
if not cf or not shutil.which("git"):
    print("style: SKIPPED — clang-format or git not found")
    sys.exit(77)
files = subprocess.run(["git", "-C", root, "ls-files", "*.c", "*.h"], capture_output=True, text=True).stdout.split()
files = [f for f in files if not f.startswith("grammars/")]
if not files:
    print("style: SKIPPED — not a git checkout")
    sys.exit(77)
bad = []
for f in files:
    p = subprocess.run([cf, "--dry-run", "-Werror", os.path.join(root, f)], capture_output=True)
    if p.returncode != 0:
        bad.append(f)
if bad:
    print("style: not clang-formatted (run `clang-format -i` on them):")
    for f in bad:
        print("  " + f)
    sys.exit(1)
print(f"style: {len(files)} files formatted")
