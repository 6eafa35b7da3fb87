"""Load speed and memory on a large, realistic Kineto trace, as ratios to a baseline
measured in the same run (absolute times on shared machines mean little).

    python benchmarks/bench_load.py [--copies 4] [--source TRACE] [--repeat 3]

Builds the input by tiling a real corpus trace in time with ../shared/tools/tile_trace.py
(default: 4 copies of the largest CUDA trace in the corpus, ~190 MB, ~860k events), then
measures, each in a fresh process started right after the file is read into the page
cache:
  baseline  orjson.loads of the uncompressed bytes
  first     tracekit.load without cache: read, decode, attribute, classify
  cached    tracekit.load again, from the cache
and prints  first/baseline (limit 1.5), peak RSS/file size (limit 3.0),
cached/first (limit 0.10). Module imports (~0.35 s: pandas, pyarrow) happen before the
clock starts in every mode.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_SOURCE = SHARED / "corpus" / "kineto" / (
    "facebookresearch__HolisticTraceAnalysis__tests__data__df_index_resolver__df_index_resolver.json.gz")
LIMITS = {"first/baseline time": 1.5, "peak RSS/file size": 3.0, "cached/first time": 0.10}

CHILD = r"""
import gc, json, resource, sys, time
path, mode, cache_dir = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "baseline":
    import orjson
    data = open(path, "rb").read()
    t = time.perf_counter(); doc = orjson.loads(data); dt = time.perf_counter() - t
    n = len(doc["traceEvents"] if isinstance(doc, dict) else doc)
else:
    import tracekit, tracekit.loading, parsers.kineto  # imports are not load time
    t = time.perf_counter()
    trace = tracekit.load(path, cache=(mode == "cached"), cache_dir=cache_dir)
    dt = time.perf_counter() - t
    n = len(trace.kernels)
print(json.dumps({"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "n": n}))
"""


def page_in(path: Path) -> None:
    """Read the file once into the page cache, through one small buffer: this machine's
    memory manager evicts idle file pages within seconds, and the baseline's read is not
    timed, so every timed run should start from cached pages."""
    buf = bytearray(1 << 20)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def child_env(**extra: str) -> dict:
    """A timed child's environment: bytecode cached as an installed tracekit has it (not
    recompiled in every child), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "tracekit-bench" / "pyc")
    env.update(extra)
    return env


def run_script(script: str, *args, env: dict | None = None) -> dict:
    """Run ``script`` in a fresh interpreter at the repository root; its last line of
    output is its result, as JSON."""
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], check=True,
                         capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_child(path, mode, cache_dir) -> dict:
    page_in(path)
    return run_script(CHILD, path, mode, cache_dir)


def build_input(source: Path, copies: int, folder: Path) -> Path:
    out = folder / f"tiled-{source.name.split('.')[0][-40:]}-x{copies}.json"
    if not out.exists():
        print(f"building {out.name} from {copies} copies of {source.name} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(SHARED / "tools" / "tile_trace.py"), str(source),
                        str(out), "--copies", str(copies)], check=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "tracekit-bench")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    path = build_input(a.source, a.copies, a.work)
    size_mb = path.stat().st_size / 2**20
    cache_dir = Path(tempfile.mkdtemp(prefix="cache-", dir=a.work))
    results = {"baseline": [], "first": [], "cached": []}
    for _ in range(a.repeat):
        results["baseline"].append(run_child(path, "baseline", cache_dir))
        results["first"].append(run_child(path, "first", cache_dir))
        run_child(path, "cached", cache_dir)  # make sure the cache is written
        results["cached"].append(run_child(path, "cached", cache_dir))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
    peak = max(r["peak_mb"] for r in results["first"])
    ratios = {
        "first/baseline time": med["first"] / med["baseline"],
        "peak RSS/file size": peak / size_mb,
        "cached/first time": med["cached"] / med["first"],
    }
    print(f"input: {path.name}  {size_mb:,.0f} MiB, {results['first'][0]['n']:,} GPU activities")
    for k in ("baseline", "first", "cached"):
        print(f"  {k:9s} median {med[k]:7.3f} s   peak RSS {max(r['peak_mb'] for r in results[k]):7.0f} MiB")
    ok = True
    for name, value in ratios.items():
        limit = LIMITS[name]
        flag = "ok" if value <= limit else "OVER LIMIT"
        ok &= value <= limit
        print(f"  {name:22s} {value:6.2f}   (limit {limit})  {flag}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
