#!/usr/bin/env python3
"""Conformance suite: every case of the shared corpus of real trajectories either loads with its
steps or fails for its specific, expected reason.

usage: run.py CODETRACER_BINARY [CASE_SUBSTRING...]

The corpus is $CT_CORPUS, else ../shared/corpus relative to the repository root. When it is absent
the suite prints "conformance: SKIPPED — ../shared/corpus not found" and exits 77 (ctest: skipped).
Expectations are in expected.json next to this file, written by hand from independent facts
(corpus/SOURCES.md, counts taken from the raw files, labels/dev.jsonl step counts and step heads,
steps.json step ids). Prints a per-case table, what differs for each failing case, and a summary
line "N passed, M failed". Exit status 0 when every case passes, 1 otherwise.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 300


def run(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, timeout=TIMEOUT)
    crashed = p.returncode < 0 or p.returncode in (134, 139) or b"AddressSanitizer" in p.stderr or b"runtime error:" in p.stderr
    return p.returncode, p.stdout.decode("utf-8", errors="replace"), p.stderr.decode("utf-8", errors="replace"), crashed


def json_lines(text):
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except ValueError:
                rows.append({"_unparsable": line[:200]})
    return rows


class Case:
    def __init__(self, binary, corpus, dev, spec):
        self.binary, self.corpus, self.dev, self.spec = binary, corpus, dev, spec
        self.dir = os.path.join(corpus, spec["case"])
        self._discover = None
        self._inspect = {}

    def discover(self):
        if self._discover is None:
            rc, out, err, crashed = run(self.binary, "discover", "--json", self.dir)
            self._discover = (rc, json_lines(out), err, crashed)
        return self._discover

    def inspect(self, tid):
        if tid not in self._inspect:
            rc, out, err, crashed = run(self.binary, "inspect", "--json", tid)
            rows = json_lines(out)
            self._inspect[tid] = (rc, rows[0] if len(rows) == 1 else None, err, crashed)
        return self._inspect[tid]


def check_load(c, o):
    """Differences between what loaded and a 'load' outcome (empty list = match)."""
    rc, rows, err, crashed = c.discover()
    if crashed:
        return [f"codetracer crashed (exit {rc}): {err[-300:]}"]
    diffs = []
    trajs = [r for r in rows if "error" not in r and "_unparsable" not in r]
    errors = [r for r in rows if "error" in r]
    if rc not in (0,):
        diffs.append(f"exit status {rc} (expected 0){': ' + err.strip().splitlines()[-1][:300] if err.strip() else ''}")
    for e in errors:
        diffs.append(f"root failed: {e.get('id')}: {e['error'].get('message', '')[:300]}")
    if len(trajs) != o["count"]:
        diffs.append(f"{len(trajs)} trajectories found, expected {o['count']}: {[t.get('id') for t in trajs][:8]}")
    for exp in o["trajectories"]:
        match = [t for t in trajs if exp["id_has"] in (t.get("id") or "")]
        if not match:
            diffs.append(f"no trajectory whose id contains {exp['id_has']!r}")
            continue
        t = match[0]
        tag = exp["id_has"]
        if "format" in exp and t.get("format") not in exp["format"]:
            diffs.append(f"{tag}: format {t.get('format')!r}, expected one of {exp['format']}")
        if "steps" in exp and t.get("step_count") != exp["steps"]:
            diffs.append(f"{tag}: {t.get('step_count')} steps, expected {exp['steps']}")
        outcome = t.get("outcome") or {}
        if "solved" in exp and outcome.get("solved") != exp["solved"]:
            diffs.append(f"{tag}: solved {outcome.get('solved')!r}, expected {exp['solved']!r}")
        if "reward" in exp and outcome.get("reward") != exp["reward"]:
            diffs.append(f"{tag}: reward {outcome.get('reward')!r}, expected {exp['reward']!r}")
        if exp.get("warnings") and not t.get("warnings"):
            diffs.append(f"{tag}: no warning, expected one (damaged or killed run)")
        needs_steps = "dev" in exp or "step_ids" in exp or "bench_counted" in exp
        if not needs_steps:
            continue
        irc, full, ierr, icrashed = c.inspect(t["id"])
        if icrashed or full is None:
            diffs.append(f"{tag}: inspect --json failed (exit {irc}): {ierr.strip()[-300:]}")
            continue
        steps = full.get("steps") or []
        if "step_ids" in exp:
            ids = [s.get("step_id") for s in steps]
            bench = [s.get("bench_step_id") for s in steps]
            if ids != exp["step_ids"]:
                diffs.append(f"{tag}: step ids {ids[:10]}{'...' if len(ids) > 10 else ''}, expected steps.json ids 1..{len(exp['step_ids'])}")
            if bench != exp["step_ids"]:
                diffs.append(f"{tag}: bench_step_ids {bench[:10]}{'...' if len(bench) > 10 else ''}, expected steps.json ids 1..{len(exp['step_ids'])}")
        if "bench_counted" in exp:
            n = sum(1 for s in steps if s.get("bench_step_id"))
            if n != exp["bench_counted"]:
                diffs.append(f"{tag}: {n} steps carry a bench_step_id, expected {exp['bench_counted']} (CodeTraceBench counts only run actions)")
        if "dev" in exp and c.dev is not None:
            d = c.dev.get(exp["dev"])
            if d is None:
                diffs.append(f"{tag}: labels/dev.jsonl has no {exp['dev']} (or labels are absent)")
                continue
            if len(steps) != d["steps_total"]:
                diffs.append(f"{tag}: {len(steps)} steps, dev.jsonl steps_total {d['steps_total']}")
            bad = []
            for i, head in enumerate(d["step_heads"]):
                got = steps[i].get("action", "")[:80] if i < len(steps) else None
                if got != head:
                    bad.append((i + 1, head, got))
            if bad:
                k, want, got = bad[0]
                diffs.append(f"{tag}: {len(bad)} of {len(d['step_heads'])} step heads differ from dev.jsonl; "
                             f"first at step {k}: expected {want!r}, got {got!r}")
    return diffs


def check_empty(c, o):
    rc, rows, err, crashed = c.discover()
    if crashed:
        return [f"codetracer crashed (exit {rc}): {err[-300:]}"]
    kws = [k.lower() for k in o["keywords"]]
    texts = []
    trajs = [r for r in rows if "error" not in r and "_unparsable" not in r]
    for r in rows:
        if "error" in r:
            texts.append(r["error"].get("message", ""))
    if not rows:
        texts.append(err)
    diffs = []
    for t in trajs:
        if t.get("step_count"):
            diffs.append(f"{t.get('id')}: {t.get('step_count')} steps, expected none")
        texts.extend(t.get("warnings") or [])
        if "solved" in o and (t.get("outcome") or {}).get("solved") != o["solved"]:
            diffs.append(f"{t.get('id')}: solved {(t.get('outcome') or {}).get('solved')!r}, expected {o['solved']!r}")
    if not any(k in x.lower() for x in texts for k in kws):
        said = " | ".join(x.strip()[:200] for x in texts if x.strip()) or "(nothing)"
        diffs.append(f"no warning or error names the reason (any of {o['keywords']}); said: {said}")
    return diffs


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    only = sys.argv[2:]
    corpus = os.environ.get("CT_CORPUS") or os.path.join(os.path.dirname(ROOT), "shared", "corpus")
    if not os.path.isdir(corpus):
        print("conformance: SKIPPED — ../shared/corpus not found" + (f" (CT_CORPUS={corpus})" if os.environ.get("CT_CORPUS") else ""))
        return 77
    labels = os.path.join(os.path.dirname(corpus), "labels", "dev.jsonl")
    dev = {}
    if os.path.exists(labels):
        for line in open(labels, encoding="utf-8"):
            if line.strip():
                d = json.loads(line)
                dev[d["traj_id"]] = d
    else:
        dev = None
        print(f"conformance: note: {labels} not found; the dev.jsonl step-count and step-head checks are SKIPPED")
    with open(os.path.join(HERE, "expected.json"), encoding="utf-8") as f:
        spec = json.load(f)

    results = []
    for s in spec["cases"]:
        if only and not any(x in s["case"] for x in only):
            continue
        c = Case(binary, corpus, dev, s)
        if not os.path.isdir(c.dir):
            results.append((s["case"], False, "-", [f"case folder missing: {c.dir}"]))
            continue
        first = None
        ok = False
        how = ""
        for o in s["outcomes"]:
            try:
                diffs = check_load(c, o) if o["kind"] == "load" else check_empty(c, o)
            except subprocess.TimeoutExpired:
                diffs = [f"codetracer did not finish within {TIMEOUT}s"]
            if not diffs:
                ok, how = True, o["kind"]
                break
            if first is None:
                first = (o["kind"], diffs)
        results.append((s["case"], ok, how if ok else first[0], [] if ok else first[1]))

    # Discovery from the corpus root must find exactly what discovery from each case finds: no
    # case swallowed by a parent claim, none split, none found twice.
    if not only:
        union = set()
        for name, _, _, _ in results:
            rc, rows, err, crashed = Case(binary, corpus, dev, {"case": name}).discover()
            union |= {r.get("id") for r in rows}
        rc, rows, err, crashed = run(binary, "discover", "--json", corpus)
        rows = json_lines(rows) if isinstance(rows, str) else rows
        whole = [r.get("id") for r in rows]
        diffs = []
        if crashed:
            diffs.append(f"codetracer crashed (exit {rc}): {err[-300:]}")
        if len(whole) != len(set(whole)):
            diffs.append(f"{len(whole) - len(set(whole))} ids listed twice")
        if set(whole) - union:
            diffs.append(f"found only from the root: {sorted(set(whole) - union)[:5]}")
        if union - set(whole):
            diffs.append(f"missed from the root: {sorted(union - set(whole))[:5]}")
        results.append(("(whole corpus from its root)", not diffs, "same roots as the cases", diffs))

    width = max([len(r[0]) for r in results] + [10])
    print(f"{'case':<{width}}  result  expected")
    for name, ok, kind, _ in results:
        print(f"{name:<{width}}  {'PASS' if ok else 'FAIL':<6}  {kind}")
    failed = [r for r in results if not r[1]]
    if failed:
        print("\nwhat differs:")
        for name, _, kind, diffs in failed:
            print(f"- {name} (expected outcome: {kind})")
            for d in diffs:
                print(f"    {d}")
    print(f"\nconformance: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
