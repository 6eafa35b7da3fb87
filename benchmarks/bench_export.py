"""Export speed on the large tiled benchmark trace, as a ratio to loading it (both
measured in the same process, the load without cache).

    python benchmarks/bench_export.py [--copies 4] [--source TRACE] [--repeat 3]

The input is built as in bench_load.py (../shared/tools/tile_trace.py: 4 copies of the
largest CUDA trace in the corpus, ~190 MB, ~490k slices). Each repetition runs in a fresh
process: imports first (not timed), then

  load      tracekit.load(path, cache=False): read, decode, attribute, classify
  perfetto  export to .pftrace (layout, lanes, flows, counters, protobuf)
  json      export to .json (Chrome Trace Event JSON)
  parquet   export of the kernels table to .parquet

and prints export/load for each format (limit 1.0 for the timelines: exporting costs no
more than loading), plus how much the export raised the peak RSS above the load's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_load import DEFAULT_SOURCE, build_input, run_script

LIMITS = {"perfetto/load time": 1.0, "json/load time": 1.0}

CHILD = r"""
import json, os, resource, sys, tempfile, time
path, out_dir = sys.argv[1], sys.argv[2]
import tracekit, tracekit.loading, parsers.kineto  # imports are not timed
import tracekit.export, tracekit.export.tracks, tracekit.export.perfetto, tracekit.export.chrome
import perfetto.trace_builder.proto_builder, pyarrow.compute, orjson
from tracekit.export import export

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

t = time.perf_counter()
trace = tracekit.load(path, cache=False)
out = {"load": time.perf_counter() - t, "peak_load_mb": peak()}
for name, target, kw in (("perfetto", "x.pftrace", {}), ("json", "x.json", {}),
                         ("parquet", "x.parquet", {"table": "kernels"})):
    target = os.path.join(out_dir, target)
    t = time.perf_counter()
    info = export(trace, target, **kw)
    out[name] = time.perf_counter() - t
    out[name + "_mb"] = os.path.getsize(target) / 2**20
    os.unlink(target)
    if name == "perfetto":
        out["slices"] = info["slices"]
        out["tracks"] = info["tracks"]
        out["flows"] = info["flows"]
out["peak_export_mb"] = peak()
print(json.dumps(out))
"""


def run_child(path: Path, out_dir: Path) -> dict:
    return run_script(CHILD, path, out_dir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "tracekit-bench")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    path = build_input(a.source, a.copies, a.work)
    out_dir = Path(tempfile.mkdtemp(prefix="export-", dir=a.work))
    runs = [run_child(path, out_dir) for _ in range(a.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in ("load", "perfetto", "json", "parquet")}
    first = runs[0]
    print(f"input: {path.name}  {path.stat().st_size / 2**20:,.0f} MiB, {first['slices']:,} slices, "
          f"{first['tracks']} tracks, {first['flows']:,} flows")
    for k in ("load", "perfetto", "json", "parquet"):
        size = f"   output {first[k + '_mb']:7.1f} MiB" if k != "load" else ""
        print(f"  {k:9s} median {med[k]:7.3f} s{size}")
    extra = max(r["peak_export_mb"] - r["peak_load_mb"] for r in runs)
    print(f"  peak RSS: load {max(r['peak_load_mb'] for r in runs):,.0f} MiB, "
          f"+{extra:,.0f} MiB during the exports")
    ok = True
    for fmt in ("perfetto", "json", "parquet"):
        name = f"{fmt}/load time"
        value = med[fmt] / med["load"]
        limit = LIMITS.get(name)
        if limit is None:
            print(f"  {name:20s} {value:6.2f}")
            continue
        flag = "ok" if value <= limit else "OVER LIMIT"
        ok &= value <= limit
        print(f"  {name:20s} {value:6.2f}   (limit {limit})  {flag}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
