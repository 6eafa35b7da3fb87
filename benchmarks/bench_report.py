"""Report speed: how long ``tracekit report`` takes beyond loading its traces, over about 50
cached real traces, as a ratio to the load time measured in the same run.

    python benchmarks/bench_report.py [--count 50] [--repeat 3] [--sweep DIR]

Inputs: Kineto traces of the corpus (../shared/corpus/kineto), smallest first, plus the
traces of a ``tracekit collect sweep`` folder when --sweep is given, ``--count`` in all.
Summaries and figures run in forked processes, one per idle core (--workers 1: serial).
Each measurement runs in a fresh process, after the cache was filled once:
  load    tracekit.load of every input, from the cache
  report  summaries, comparisons, figures, HTML page and CSV files of the loaded traces
and prints report/load, the seconds the report takes beyond loading (limit: 5 s, "a
few seconds") and the CPU seconds it used (the load of a shared machine stretches wall time). Module imports (pandas, matplotlib) happen before the clock starts.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import ROOT, run_script

KINETO = ROOT.parent / "shared" / "corpus" / "kineto"
LIMIT_S = 5.0

CHILD = r"""
import json, resource, sys, time, tempfile
import tracekit, tracekit.loading, parsers.kineto, parsers.onnxruntime  # imports are not load time
from tracekit.report import csv_report, dataset, html_report, inputs, svg
from tracekit.report.comparison import model_comparisons
import tracekit.report.parallel as parallel
svg.pyplot()
paths, cache_dir, workers = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if workers:
    parallel.workers = lambda: workers
t0 = time.perf_counter()
found = inputs.find_inputs(paths)
traces, labels = [], []
for item in found:
    try:
        loaded = tracekit.load_all([item.path], cache_dir=cache_dir)
    except tracekit.TracekitError:  # what the report would skip with a warning
        continue
    for trace in loaded:
        traces.append(trace)
        labels.append(inputs.labels_of(trace, item.labels))
t1 = time.perf_counter()
cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
entries = dataset.build(traces, labels)
comparisons = model_comparisons(entries)
t2 = time.perf_counter()
page = html_report.render(entries, comparisons)
out = tempfile.mkdtemp()
open(out + "/report.html", "w").write(page)
csv_report.write(out, entries, comparisons)
t3 = time.perf_counter()
after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu_s = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(cpu, after))
print(json.dumps({"load": t1 - t0, "analysis": t2 - t1, "figures": t3 - t2, "traces": len(traces), "cpu": cpu_s,
                  "html_kib": len(page) / 1024}))
"""


def run_child(paths: list[str], cache_dir: str, workers: int) -> dict:
    return run_script(CHILD, json.dumps(paths), cache_dir, workers)


def inputs(count: int, sweep: Path | None) -> list[str]:
    paths = [str(sweep)] if sweep else []
    n = len(json.loads((sweep / "index.json").read_text())["traces"]) if sweep else 0
    if KINETO.is_dir():
        corpus = sorted((p for p in KINETO.iterdir() if p.name.endswith((".json", ".json.gz"))),
                        key=lambda p: p.stat().st_size)
        paths += [str(p) for p in corpus[: max(count - n, 0)]]
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sweep", type=Path, help="a tracekit collect sweep folder to include")
    ap.add_argument("--workers", type=int, default=0,
                    help="processes for summaries and figures (default: idle cores, as tracekit counts them; 1: serial)")
    a = ap.parse_args(argv)
    paths = inputs(a.count, a.sweep)
    if not paths:
        print(f"no inputs: neither {KINETO} nor --sweep", file=sys.stderr)
        return 2
    cache_dir = tempfile.mkdtemp(prefix="tracekit-bench-report-")
    first = run_child(paths, cache_dir, a.workers)  # fills the cache (and drops traces that fail to load)
    runs = [run_child(paths, cache_dir, a.workers) for _ in range(a.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in ("load", "analysis", "figures", "cpu")}
    report = med["analysis"] + med["figures"]
    print(f"inputs: {runs[0]['traces']} traces (first, uncached load {first['load']:.2f} s); "
          f"page {runs[0]['html_kib']:,.0f} KiB; workers {a.workers or 'idle cores'}")
    print(f"  load (cached)   median {med['load']:7.3f} s")
    print(f"  report          median {report:7.3f} s  (summaries and comparisons {med['analysis']:.3f} s, "
          f"figures, page and CSV {med['figures']:.3f} s)")
    print(f"  report CPU time {med['cpu']:7.3f} s  (all processes; on a busy machine wall time is longer)")
    print(f"  report/load     {report / med['load']:6.2f}")
    ok = report <= LIMIT_S
    print(f"  beyond loading  {report:6.2f} s   (limit {LIMIT_S} s)  {'ok' if ok else 'OVER LIMIT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
