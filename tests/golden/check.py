#!/usr/bin/env python3
"""Golden test runner: run `codetracer` with the arguments of an expectation file and compare.

An expectation file (`*.expect.json`, written by hand from the fixture, never from the output):
{
  "args": ["inspect", "--json", "{fixtures}/mini_swe/v1.traj.json"],   # {fixtures} = tests/fixtures
  "exit": 0,                                  # expected exit status (default 0)
  "lines": [ {...}, ... ],                    # stdout JSON lines, matched one by one (optional)
  "line_count": 2,                            # number of stdout lines (optional)
  "stderr_contains": ["..."],                 # substrings of stderr (optional)
  "stdout_contains": ["..."]                  # substrings of stdout (optional)
}
Matching of "lines": an expected object matches when each of its keys matches (extra keys in the
output are allowed); a list matches a list of the same length element by element; strings
"$contains:X", "$prefix:X", "$suffix:X" and "$any" (any non-null value) match loosely;
{"$len": N} matches a list or string of length N; everything else must be equal.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures")


def match(exp, act, where):
    if isinstance(exp, str) and exp.startswith("$"):
        if exp == "$any":
            return [] if act is not None else [f"{where}: expected a value, got null"]
        for op, fn in (("$contains:", lambda a, x: x in a), ("$prefix:", lambda a, x: a.startswith(x)),
                       ("$suffix:", lambda a, x: a.endswith(x))):
            if exp.startswith(op):
                x = exp[len(op):]
                if isinstance(act, str) and fn(act, x):
                    return []
                return [f"{where}: expected {op}{x!r}, got {str(act)[:200]!r}"]
    if isinstance(exp, dict) and set(exp) == {"$len"}:
        if isinstance(act, (list, str)) and len(act) == exp["$len"]:
            return []
        return [f"{where}: expected length {exp['$len']}, got {len(act) if isinstance(act, (list, str)) else act!r}"]
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return [f"{where}: expected an object, got {type(act).__name__}"]
        errs = []
        for k, v in exp.items():
            if k not in act:
                errs.append(f"{where}.{k}: missing")
            else:
                errs += match(v, act[k], f"{where}.{k}")
        return errs
    if isinstance(exp, list):
        if not isinstance(act, list):
            return [f"{where}: expected a list, got {type(act).__name__}"]
        if len(exp) != len(act):
            return [f"{where}: expected {len(exp)} items, got {len(act)}"]
        errs = []
        for i, (e, a) in enumerate(zip(exp, act)):
            errs += match(e, a, f"{where}[{i}]")
        return errs
    if exp != act:
        return [f"{where}: expected {exp!r}, got {str(act)[:200]!r}"]
    return []


def main():
    binary, exp_path = sys.argv[1], sys.argv[2]
    with open(exp_path, encoding="utf-8") as f:
        exp = json.load(f)
    args = [a.replace("{fixtures}", FIXTURES) for a in exp["args"]]
    env = dict(os.environ, NO_COLOR="1")
    p = subprocess.run([binary] + args, capture_output=True, env=env, timeout=300)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    errs = []
    if p.returncode != exp.get("exit", 0):
        errs.append(f"exit status {p.returncode}, expected {exp.get('exit', 0)}; stderr: {err[:500]}")
    lines = [l for l in out.splitlines() if l.strip()]
    if "line_count" in exp and len(lines) != exp["line_count"]:
        errs.append(f"{len(lines)} stdout lines, expected {exp['line_count']}")
    if "lines" in exp:
        try:
            parsed = [json.loads(l) for l in lines]
        except ValueError as e:
            errs.append(f"stdout is not JSON lines: {e}")
            parsed = None
        if parsed is not None:
            errs += match(exp["lines"], parsed, "lines")
    for s in exp.get("stderr_contains", []):
        if s not in err:
            errs.append(f"stderr lacks {s!r}; stderr: {err[:500]}")
    for s in exp.get("stdout_contains", []):
        if s not in out:
            errs.append(f"stdout lacks {s!r}")
    if errs:
        print(f"FAIL {os.path.basename(exp_path)}")
        for e in errs[:50]:
            print("  " + e)
        sys.exit(1)
    print(f"ok {os.path.basename(exp_path)}")


if __name__ == "__main__":
    main()
