#!/usr/bin/env python3
"""`codetracer analyze --json` served from the memory cache vs computed, end to end.

Runs the real binary on one trajectory (default: the largest corpus trajectory) with a fresh
database in a temporary folder: N times with --no-cache (load + hash + analysis + cache write +
files), N times from the cache (load + hash + cache read + files), and N times --dry-run (load
only, no database) as the baseline of the same run. Prints the median and minimum wall time of
each and the ratios. A benchmark: it prints figures and never fails. The corpus may be absent:
then it says so.

usage: analyze_cache.py [CODETRACER] [TRAJECTORY] [N]
"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.join(HERE, "..", "..", "build", "bin", "codetracer")
DEFAULT_TRAJ = "/work/shared/corpus/claude_code_tb/cc_coder_crack-7z-hash.hard_LARGE"


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(args, env):
    """(wall seconds, CPU seconds of the process, stdout). CPU time suffers less from a busy
    machine than wall time."""
    c0 = cpu_children()
    t0 = time.perf_counter()
    p = subprocess.run(args, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr[-500:]))
    return dt, cpu_children() - c0, p.stdout


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_BIN
    traj = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_TRAJ
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    if not os.path.exists(traj):
        print("skipped: %s is absent (the corpus is not on this machine)" % traj)
        return 0
    tmp = tempfile.mkdtemp(prefix="ct-bench-cache-")
    try:
        env = dict(os.environ, CODETRACER_DB=os.path.join(tmp, "bench.db"), HOME=tmp)
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        base = [binary, "analyze", traj, "--json", "--output-dir", out, "--traj-id", "t"]
        _, _, first = timed(base, env)  # creates the database and the cache entry
        line = json.loads(first.splitlines()[0])
        steps = line["trajectory"]["step_count"]
        names = ["dry-run (load only, baseline)", "uncached (--no-cache)", "cached"]
        runs = {k: [] for k in names}
        cpu = {k: [] for k in names}
        for _ in range(n):  # interleaved, so a load spike hits every variant alike
            for k, extra in zip(names, (["--dry-run"], ["--no-cache"], [])):
                dt, ct, o = timed(base + extra, env)
                if k == "cached" and not json.loads(o.splitlines()[0]).get("cached"):
                    raise SystemExit("expected a cache hit: the cache did not serve the analysis")
                runs[k].append(dt)
                cpu[k].append(ct)
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(traj) for f in fs) \
            if os.path.isdir(traj) else os.path.getsize(traj)
        print("analyze --json on %s (%.1f MB, %d steps), %d runs each" % (traj, size / 1e6, steps, n))
        for label, data in (("wall", runs), ("cpu (user+sys)", cpu)):
            med = {k: statistics.median(v) for k, v in data.items()}
            print(" %s:" % label)
            for k in names:
                print("  %-32s median %7.1f ms   min %7.1f ms" % (k, med[k] * 1e3, min(data[k]) * 1e3))
            b, u, c = med[names[0]], med[names[1]], med[names[2]]
            print("  cached / uncached                ratio %.2f" % (c / u))
            print("  uncached - baseline              %+.1f ms (hash, analysis, cache write, learning, files)"
                  % ((u - b) * 1e3))
            print("  cached - baseline                %+.1f ms (hash, cache read, feedback, files)"
                  % ((c - b) * 1e3))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
