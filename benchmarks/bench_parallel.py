"""Load and summarize a with_stack trace on one core and on every core, as ratios to
``orjson.loads`` of the same bytes measured in the same run.

    python benchmarks/bench_parallel.py [--copies 4] [--source TRACE] [--repeat 3] [--workers N]

The input tiles a corpus trace recorded with ``with_stack`` (most of its events are
``python_function``; default: 4 copies of the vLLM graph-capture trace, ~120 MB, ~525k
events) with ../shared/tools/tile_trace.py into a temporary folder. Each measurement runs
in a fresh process, started right after the file is read into the page cache:

  baseline   orjson.loads of the uncompressed bytes (imports and file read not timed)
  load W     tracekit.load(path, cache=False) with TRACEKIT_WORKERS=W (imports not timed)
  summary W  `tracekit summary --no-cache PATH` wall time from process start, W workers

for W = 1 and N (the cores this process may use). Limits, N workers: load/baseline 1.0,
summary/baseline 1.5. CPU seconds (this process and its workers) are shown beside the wall
time: on a machine whose cores are busy the wall-time ratios say little. Peak RSS is this process's; the workers' own peak is shown apart
(their pages are shared with the parent until written, so the sum overstates).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_load import ROOT, SHARED, build_input, child_env, page_in, run_script

DEFAULT_SOURCE = SHARED / "corpus" / "kineto" / (
    "AMD-AGI__TraceLens__tests__traces__inference__vllm_decode_full__capture_traces__"
    "graph_capture_rank_0.1773709742341309550.pt.trace.json.gz")
LIMITS = {"load N/baseline": 1.0, "summary N/baseline": 1.5}

CHILD = r"""
import json, resource, sys, time
path, mode = sys.argv[1], sys.argv[2]
def cpu():
    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
if mode == "baseline":
    import orjson
    data = open(path, "rb").read()
    c = cpu(); t = time.perf_counter(); doc = orjson.loads(data); dt = time.perf_counter() - t
    n = len(doc["traceEvents"] if isinstance(doc, dict) else doc)
else:
    import tracekit, tracekit.loading, parsers  # imports are not load time
    parsers.all_parsers()
    c = cpu(); t = time.perf_counter()
    trace = tracekit.load(path, cache=False)
    dt = time.perf_counter() - t
    n = len(trace.ops) + len(trace.kernels)
mb = lambda who: resource.getrusage(who).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "cpu": cpu() - c, "peak_mb": mb(resource.RUSAGE_SELF),
                  "workers_peak_mb": mb(resource.RUSAGE_CHILDREN), "n": n}))
"""


def bench_env(workers: int) -> dict:
    """Bytecode cached as an installed tracekit has it (not recompiled in every child)."""
    return child_env(TRACEKIT_WORKERS=str(workers))


def child(path: Path, mode: str, workers: int = 1) -> dict:
    env = bench_env(workers)
    page_in(path)
    return run_script(CHILD, path, mode, env=env)


def summary_wall(path: Path, workers: int) -> float:
    env = bench_env(workers)
    page_in(path)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tracekit.cli.main", "summary", "--no-cache", str(path)],
                   check=True, capture_output=True, cwd=ROOT, env=env)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "tracekit-bench")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    path = build_input(a.source, a.copies, a.work)
    size_mb = path.stat().st_size / 2**20
    counts = sorted({1, a.workers})
    summary_wall(path, 1)  # compile the bytecode once, untimed
    runs: dict[str, list] = {"baseline": []}
    for _ in range(a.repeat):  # interleaved, so a change in machine load hits every mode
        runs["baseline"].append(child(path, "baseline"))
        for w in counts:
            runs.setdefault(f"load {w}", []).append(child(path, "load", w))
            runs.setdefault(f"summary {w}", []).append({"seconds": summary_wall(path, w)})
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    print(f"input: {path.name}  {size_mb:,.0f} MiB, {runs['baseline'][0]['n']:,} events; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for k, v in runs.items():
        extra = ""
        if "peak_mb" in v[0]:
            extra = (f"   CPU {statistics.median(r['cpu'] for r in v):6.2f} s"
                     f"   peak RSS {max(r['peak_mb'] for r in v):6.0f} MiB"
                     f" (workers {max(r['workers_peak_mb'] for r in v):5.0f} MiB)")
        print(f"  {k:10s} median {med[k]:7.3f} s  {med[k] / med['baseline']:5.2f}x baseline{extra}")
    ok = True
    for w in counts:
        print(f"  load {w}/load 1 {med[f'load {w}'] / med['load 1']:5.2f}")
    ratios = {"load N/baseline": med[f"load {a.workers}"] / med["baseline"],
              "summary N/baseline": med[f"summary {a.workers}"] / med["baseline"]}
    for name, value in ratios.items():
        flag = "ok" if value <= LIMITS[name] else "OVER LIMIT"
        ok &= value <= LIMITS[name]
        print(f"  {name.replace('N', str(a.workers)):22s} {value:6.2f}   (limit {LIMITS[name]})  {flag}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
