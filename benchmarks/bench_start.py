"""Start-up time of the commands a user types most, against baselines measured in the
same run.

    python benchmarks/bench_start.py [--repeat 7]

Each command runs in a fresh interpreter with bytecode caching on (compiled files go to a
temporary PYTHONPYCACHEPREFIX, warmed by one untimed run first, as an installed tracekit
would have them), wall time from process start to exit, median of --repeat:

  python -c pass          the interpreter alone
  import pandas           what every analysing command needs
  tracekit --help         limit 0.1 s (plus the interpreter's own start)
  tracekit summary SMALL  a few-KB sample trace, cached; limit 0.4 s (a second run prints
                          the summary kept by the first, without pandas)
  summary SMALL --by op   the same through the trace cache (pandas): what the kept summary saves
  summary SMALL, first    the first run on the file (empty cache): parses it, so it imports
                          pandas and can be no faster than ``import pandas`` (no limit)
  summary TRT PROFILE     a 5 KB TensorRT profile from the corpus with its layer info beside
                          it, cached: a format read with the files beside it; limit 0.4 s

and which heavy libraries ``tracekit summary SMALL`` imported (from ``-X importtime``).
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
ROOT = HERE.parent
SMALL = ROOT / "samples" / "cpu_only.pt.trace.json"
TRT_PROFILE = ROOT.parent / "shared" / "corpus" / "tensorrt" / (
    "NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__pytorch__resnet__A100__"
    "fp16__resnet.onnx.engine.profile.json")
LIMITS = {"tracekit --help": 0.1, "tracekit summary SMALL": 0.4, "summary TRT PROFILE": 0.4}
HEAVY = ("pandas", "pyarrow", "rich", "textual", "perfetto", "matplotlib", "distributed", "torch")


def wall(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=env)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tracekit-start-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(work / "pyc"), TRACEKIT_CACHE_DIR=str(work / "cache"))
    tk = [sys.executable, "-m", "tracekit.cli.main"]
    cmds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import pandas": [sys.executable, "-c", "import pandas"],
        "tracekit --help": [*tk, "--help"],
        "tracekit summary SMALL": [*tk, "summary", str(SMALL)],
        "summary SMALL --by op": [*tk, "summary", str(SMALL), "--by", "op"],
    }
    if TRT_PROFILE.is_file():
        cmds["summary TRT PROFILE"] = [*tk, "summary", str(TRT_PROFILE)]
    for cmd in cmds.values():
        wall(cmd, env)  # compile to bytecode, fill the trace cache
    times: dict[str, list[float]] = {k: [] for k in cmds}
    times["summary SMALL, first"] = []
    for i in range(a.repeat):
        for k, cmd in cmds.items():
            times[k].append(wall(cmd, env))
        first = dict(env, TRACEKIT_CACHE_DIR=str(work / f"empty-{i}"))
        times["summary SMALL, first"].append(wall(cmds["tracekit summary SMALL"], first))
    med = {k: statistics.median(v) for k, v in times.items()}
    imported = subprocess.run([sys.executable, "-X", "importtime", *tk[1:], "summary", str(SMALL)],
                              capture_output=True, text=True, cwd=ROOT, env=env).stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in imported.splitlines() if "|" in line}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {SMALL.name} "
          f"{SMALL.stat().st_size / 1024:.0f} KiB")
    for k, v in med.items():
        print(f"  {k:24s} median {v:6.3f} s  (min {min(times[k]):.3f})")
    print(f"  summary SMALL / python alone    {med['tracekit summary SMALL'] / med['python -c pass']:6.1f}x")
    print(f"  summary SMALL / --by op         {med['tracekit summary SMALL'] / med['summary SMALL --by op']:6.2f}x")
    print(f"  first run / import pandas       {med['summary SMALL, first'] / med['import pandas']:6.2f}x")
    print(f"  --help - python alone            {med['tracekit --help'] - med['python -c pass']:6.3f} s")
    print(f"  summary imported: {', '.join(h for h in HEAVY if h in names) or 'none of ' + ', '.join(HEAVY)}")
    ok = True
    for k, limit in LIMITS.items():
        if k not in med:
            continue
        flag = "ok" if med[k] <= limit else "OVER LIMIT"
        ok &= med[k] <= limit
        print(f"  {k:24s} {med[k]:6.3f} s   (limit {limit} s)  {flag}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
