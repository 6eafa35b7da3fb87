"""Run the report's independent pieces (one trace's summary, one figure) in forked worker
processes: they inherit the traces already loaded in memory, so nothing but an index goes
in and a result comes out. Serial where fork is not available, or for a single item."""
from __future__ import annotations

import multiprocessing
from typing import Callable, Sequence

from tracekit import cores

_task: Callable | None = None  # what the forked workers call; set before the pool starts


def _call(item):
    assert _task is not None
    return _task(item)


def workers() -> int:
    """Processes to use, as the decoder counts them (:func:`tracekit.cores.process_count`:
    ``$TRACEKIT_WORKERS``, else the idle cores; 1 in a daemonic process)."""
    return cores.process_count()


def map_forked(task: Callable, items: Sequence, limit: int | None = None) -> list:
    """``[task(i) for i in items]``, in up to ``limit`` (default: :func:`workers`) forked
    processes. Results come back by pickle; an exception in a worker is raised here."""
    global _task
    n = min(limit or workers(), len(items))
    if n < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [task(i) for i in items]
    _task = task
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            return pool.map(_call, items, chunksize=max(1, len(items) // (4 * n)))
    finally:
        _task = None
