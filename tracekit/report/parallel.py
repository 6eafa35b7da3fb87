"""Run the report's independent pieces (one trace's summary, one figure) in forked worker
processes: they inherit the traces already loaded in memory, so nothing but an index goes
in and a result comes out. Serial where fork is not available, or for a single item."""
from __future__ import annotations

import multiprocessing
import os
from typing import Callable, Sequence

_task: Callable | None = None  # what the forked workers call; set before the pool starts


def _call(item):
    assert _task is not None
    return _task(item)


def workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_forked(task: Callable, items: Sequence, limit: int | None = None) -> list:
    """``[task(i) for i in items]``, in up to ``limit`` (default: the usable CPUs) forked
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
