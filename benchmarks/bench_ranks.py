"""Many ranks at once: the per-rank summaries of a job's folder, one rank after another
in one process (the baseline), on this machine's cores, and on a Dask LocalCluster, as
ratios to the baseline measured in the same run.

    python benchmarks/bench_ranks.py [--ranks 8] [--source TRACE] [--repeat 2] [--workers N]

The folder holds --ranks links to one corpus trace (default: the largest CUDA trace,
~45 MiB uncompressed, 216k events), named rank0.json.gz ...; every mode parses every rank
(no cache) and summarizes it, each in a fresh process (imports not timed):

  one process   tracekit.ranks.summarize_all(paths, job, workers=1)
  local N       the same with N worker processes (the command's default)
  dask N        the same on a LocalCluster of N single-threaded worker processes, started
                before the clock (its start is printed apart); the workers import tracekit
                in their first task
  dask N warm   the same once every worker has imported tracekit (a long-lived cluster)
  dask N warm, Dask's heap
                the same with the C heap left as Dask's nanny sets it (tracekit.heap off):
                what letting the heap keep freed memory during a task saves

A line says whether every mode gave the same combined total. No limit: the ratio says
what the cores bought (ideally 1/N).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_load import DEFAULT_SOURCE, child_env, run_script

CHILD = r"""
import json, sys, time
folder, mode, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
import tracekit, tracekit.loading, parsers
from tracekit import analysis, ranks
parsers.all_parsers()
paths = ranks.expand([folder])
job = ranks.Job(options={"cache": False})
start_s, cluster = 0.0, None
if mode.startswith("dask"):
    import distributed
    t = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    start_s = time.perf_counter() - t
    if mode.startswith("dask warm"):  # as a long-lived cluster is: tracekit imported on every worker
        with distributed.Client(cluster) as client:
            client.run(exec, "import tracekit.loading, tracekit.analysis, parsers.kineto")
            if mode == "dask warm plain":
                client.run(exec, "import contextlib, tracekit.heap; "
                                 "tracekit.heap.roomy = contextlib.nullcontext")
t = time.perf_counter()
results = ranks.summarize_all(paths, job, scheduler=cluster.scheduler_address if cluster else None,
                              workers=1 if mode == "one" else workers)
dt = time.perf_counter() - t
total = analysis.combine([s for r in results for s in r.summaries]).total_ns
if cluster is not None:
    cluster.close()
print(json.dumps({"seconds": dt, "start_s": start_s, "total_ns": int(total)}))
"""


def child(folder: Path, mode: str, workers: int) -> dict:
    return run_script(CHILD, folder, mode, workers, env=child_env())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--ranks", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    a = ap.parse_args(argv)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("Dask distributed is not installed: pip install 'tracekit[cluster]'", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="tracekit-ranks-"))
    suffix = ".json.gz" if a.source.name.endswith(".gz") else ".json"
    for i in range(a.ranks):
        (folder / f"rank{i}{suffix}").symlink_to(a.source.resolve())
    child(folder, "one", 1)  # bytecode, page cache
    runs: dict[str, list] = {}
    for _ in range(a.repeat):  # interleaved, so a change in machine load hits every mode
        for mode in ("one", "local", "dask", "dask warm", "dask warm plain"):
            runs.setdefault(mode, []).append(child(folder, mode, a.workers))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    print(f"{a.ranks} ranks of {a.source.name}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    names = {"one": "one process", "local": f"local {a.workers}", "dask": f"dask {a.workers}",
             "dask warm": f"dask {a.workers} warm", "dask warm plain": f"dask {a.workers} warm, Dask's heap"}
    for k, v in runs.items():
        extra = (f"   (cluster start {statistics.median(r['start_s'] for r in v):.2f} s, not counted)"
                 if k.startswith("dask") else "")
        print(f"  {names[k]:25s} median {med[k]:7.2f} s  {med[k] / med['one']:5.2f}x one process"
              f"   {med[k] / a.ranks:5.2f} s per rank{extra}")
    print(f"  tracekit.heap on Dask workers: {med['dask warm'] / med['dask warm plain']:.2f}x the time "
          "with the heap as Dask sets it")
    totals = {r["total_ns"] for v in runs.values() for r in v}
    print(f"  same combined total in every mode: {'yes' if len(totals) == 1 else 'NO ' + str(sorted(totals))}")
    return 0 if len(totals) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
