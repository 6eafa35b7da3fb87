"""How load time and memory grow with the trace: 1x, 2x, 4x, 8x tiles of one trace.

    python benchmarks/bench_growth.py [--source TRACE] [--tiles 1 2 4 8] [--repeat 2] [--workers 1]

Each tile count is built with ../shared/tools/tile_trace.py into a temporary folder and
loaded without cache in a fresh process (imports not timed), from the page cache, with
--workers decoding processes. Printed per size: events,
seconds, peak RSS, both per million events, and peak RSS / file size (limit 3.0); then
the slope of a least-squares line through (events, seconds) and (events, peak RSS), and
how far the largest size's time lies from that line (growth is linear when the time per
million events stays flat: limit 1.25x the smallest size's). The workers' peak RSS is
shown apart (pages shared with the parent until written, so adding it overstates).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_load import DEFAULT_SOURCE, build_input, child_env, page_in, run_script

RSS_LIMIT, PER_EVENT_LIMIT = 3.0, 1.25

CHILD = r"""
import json, resource, sys, time
import tracekit, tracekit.loading, parsers  # imports are not load time
parsers.all_parsers()
path = sys.argv[1]
mb = lambda who: resource.getrusage(who).ru_maxrss / 1024
before = mb(resource.RUSAGE_SELF)
t = time.perf_counter()
trace = tracekit.load(path, cache=False)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "peak_mb": mb(resource.RUSAGE_SELF), "before_mb": before,
                  "workers_peak_mb": mb(resource.RUSAGE_CHILDREN)}))
"""


def events_in(path: Path) -> int:
    """Counted in a child: Linux hands a process's peak RSS on to the children it forks,
    so parsing the file here would raise every later measurement's peak."""
    code = ("import orjson, sys; d = orjson.loads(open(sys.argv[1], 'rb').read()); "
            "print(len(d['traceEvents'] if isinstance(d, dict) else d))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--tiles", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1,
                    help="decoding processes (default 1: how the work itself grows)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "tracekit-bench")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    # bytecode cached as an installed tracekit has it; a fixed number of decoding processes
    # (left to the machine's idle cores, it would change with the load from run to run)
    env = child_env(PYTHONPYCACHEPREFIX=str(a.work / "pyc"), TRACEKIT_WORKERS=str(a.workers))
    rows = []
    for n in a.tiles:
        path = build_input(a.source, n, a.work)
        runs = []
        for _ in range(a.repeat):
            page_in(path)
            runs.append(run_script(CHILD, path, env=env))
        rows.append({"tiles": n, "events": events_in(path), "mb": path.stat().st_size / 2**20,
                     "seconds": statistics.median(r["seconds"] for r in runs),
                     "peak_mb": max(r["peak_mb"] for r in runs),
                     "load_mb": max(r["peak_mb"] - r["before_mb"] for r in runs),
                     "before_mb": max(r["before_mb"] for r in runs),
                     "workers_mb": max(r["workers_peak_mb"] for r in runs)})
    print(f"source: {a.source.name}; {a.workers} decoding process{'es' if a.workers != 1 else ''}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  {'tiles':>5} {'events':>10} {'file MiB':>9} {'s':>7} {'s/M ev':>7} {'peak MiB':>9} "
          f"{'MiB/M ev':>9} {'RSS/file':>8} {'load/file':>9} {'workers MiB':>11}")
    for r in rows:
        m = r["events"] / 1e6
        print(f"  {r['tiles']:5d} {r['events']:10,d} {r['mb']:9.0f} {r['seconds']:7.2f} "
              f"{r['seconds'] / m:7.2f} {r['peak_mb']:9.0f} {r['peak_mb'] / m:9.0f} "
              f"{r['peak_mb'] / r['mb']:8.2f} {r['load_mb'] / r['mb']:9.2f} {r['workers_mb']:11.0f}")
    ev = np.array([r["events"] for r in rows], float) / 1e6
    slope_s, icpt_s = np.polyfit(ev, [r["seconds"] for r in rows], 1)
    slope_mb, icpt_mb = np.polyfit(ev, [r["peak_mb"] for r in rows], 1)
    per_event = [r["seconds"] / (r["events"] / 1e6) for r in rows]
    growth = per_event[-1] / per_event[0]
    rss = max(r["peak_mb"] / r["mb"] for r in rows)
    load_rss = max(r["load_mb"] / r["mb"] for r in rows)
    print(f"  slope: {slope_s:.2f} s per million events (+{icpt_s:.2f} s fixed), "
          f"{slope_mb:.0f} MiB per million events (+{icpt_mb:.0f} MiB fixed)")
    ok = growth <= PER_EVENT_LIMIT and rss <= RSS_LIMIT and load_rss <= RSS_LIMIT
    print(f"  time per event, largest/smallest {growth:5.2f}   (limit {PER_EVENT_LIMIT})  "
          f"{'ok' if growth <= PER_EVENT_LIMIT else 'OVER LIMIT'}")
    print(f"  peak RSS/file size, worst       {rss:5.2f}   (limit {RSS_LIMIT})  "
          f"{'ok' if rss <= RSS_LIMIT else 'OVER LIMIT'}")
    print(f"  what the load adds to RSS/file   {load_rss:5.2f}   (limit {RSS_LIMIT})  "
          f"{'ok' if load_rss <= RSS_LIMIT else 'OVER LIMIT'}")
    before = max(r["before_mb"] for r in rows)
    held = [r["mb"] for r in rows if r["peak_mb"] / r["mb"] <= RSS_LIMIT]
    print(f"  resident before the first byte is read (interpreter, numpy, pandas, pyarrow): "
          f"{before:.0f} MiB; peak RSS/file <= {RSS_LIMIT} "
          + (f"from {min(held):.0f} MiB up" if held else "at no size"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
