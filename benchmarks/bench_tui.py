"""Time to the TUI's first screen from the cache, in a real terminal (tmux), on the large
tiled trace, as a ratio to the limit and to a baseline measured in the same run.

    python benchmarks/bench_tui.py [--copies 4] [--source TRACE] [--repeat 5]

The input is built as in bench_load.py (4 copies of the largest CUDA trace in the corpus,
~190 MB) and loaded once to fill a fresh cache (and the bytecode cache). Each repetition starts
``tracekit tui TRACE`` in a new detached tmux session (160x50) and polls the screen every
10 ms until the overview's body and its footer are both drawn; the clock runs from just
before tmux is started, so the terminal's start is counted too. Baseline: the same
session running ``python -c "import textual.app"`` to its exit marker (interpreter, the
TUI library and tmux). Limit: 1.0 s to the overview.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_load import DEFAULT_SOURCE, ROOT, build_input, child_env

LIMIT_S = 1.0
READY = ("GEMM vs non-GEMM", "1 Overview")


def first_screen(command: list[str], ready: tuple[str, ...], timeout: float = 60) -> float:
    """Seconds from starting ``command`` in tmux until every string of ``ready`` shows."""
    tmux = shutil.which("tmux")
    session = f"tk-bench-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in child_env().items() if not k.startswith("TMUX")}
    shell = f"cd {shlex.quote(str(ROOT))} && {shlex.join(command)}; sleep 30"
    t0 = time.perf_counter()
    subprocess.run([tmux, "-L", session, "new-session", "-d", "-s", session, "-x", "160", "-y", "50",
                    "bash", "--norc", "-c", shell], check=True, env=env)
    try:
        while time.perf_counter() - t0 < timeout:
            text = subprocess.run([tmux, "-L", session, "capture-pane", "-p", "-t", session],
                                  capture_output=True, text=True, check=False).stdout
            if all(r in text for r in ready):
                return time.perf_counter() - t0
            time.sleep(0.01)
        raise RuntimeError(f"not on screen after {timeout} s:\n{text}")
    finally:
        subprocess.run([tmux, "-L", session, "kill-server"], capture_output=True, check=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "tracekit-bench")
    a = ap.parse_args(argv)
    if shutil.which("tmux") is None:
        print("tmux is not installed", file=sys.stderr)
        return 2
    a.work.mkdir(parents=True, exist_ok=True)
    path = build_input(a.source, a.copies, a.work)
    cache_dir = Path(tempfile.mkdtemp(prefix="cache-", dir=a.work))
    subprocess.run([sys.executable, "-c", "import sys, tracekit; tracekit.load(sys.argv[1], cache_dir=sys.argv[2])",
                    str(path), str(cache_dir)], check=True, cwd=ROOT, capture_output=True)
    tui = [sys.executable, "-m", "tracekit.cli.main", "tui", str(path), "--cache-dir", str(cache_dir)]
    base = [sys.executable, "-c", "import textual.app; print('imported')"]
    first_screen(tui, READY)  # warm the page cache and bytecode
    times, bases = [], []
    for _ in range(a.repeat):
        bases.append(first_screen(base, ("imported",)))
        times.append(first_screen(tui, READY))
    med, med_base = statistics.median(times), statistics.median(bases)
    print(f"input: {path.name}  {path.stat().st_size / 2**20:,.0f} MiB (cached); "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  baseline (python + import textual.app, in tmux)  median {med_base:6.3f} s")
    print(f"  tracekit tui to the overview                       median {med:6.3f} s  "
          f"(min {min(times):.3f}, max {max(times):.3f})  {med / med_base:5.2f}x baseline")
    flag = "ok" if med <= LIMIT_S else "OVER LIMIT"
    print(f"  first screen {med:6.3f} s   (limit {LIMIT_S} s)  {flag}")
    return 0 if med <= LIMIT_S else 1


if __name__ == "__main__":
    sys.exit(main())
