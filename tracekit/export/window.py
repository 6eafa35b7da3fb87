"""Which part of a trace an export covers: ``--step``, ``--range NAME``, ``--from/--to``.

Every option narrows the selection; together they intersect. Nothing selected is ever
clipped: an op or kernel that crosses the window's edge is exported whole.

The selection itself is :func:`tracekit.analysis.window.select`, the one ``summary`` and
the TUI use; this module turns the command's options into its
:class:`~tracekit.analysis.window.Window`.

* ``step`` ("3", "2-4", "2,5", "all"; default: the whole trace): rows whose ``step``
  column is one of the steps, in all four tables (kernels belong to the step that
  launched them), as in ``summary``.
* ``range_name``: every range (annotation, NVTX, module, step, model_run, ...) with
  exactly that name: what runs inside them, as
  :func:`tracekit.analysis.window.in_ranges` defines it (the TUI uses the same rule): host
  rows that overlap one of them in time, and the GPU activities they launched (device
  rows without a launch, and any activity inside a GPU-side range: by time overlap).
* ``start``/``end``: a time window relative to the start of the trace (the earliest
  timestamp in any table): rows that overlap ``[start, end)`` are kept.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tracekit.analysis.window import Selection, Window, range_ids, trace_start
from tracekit.analysis.window import select as select_window
from tracekit.model import TraceError

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_TIME = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*(ns|us|µs|μs|ms|s)?\s*", re.IGNORECASE)


class ExportError(TraceError):
    """An export the user asked for cannot be made (bad output path, unknown range name,
    bad time). A :class:`TraceError`, so the CLI prints it as one line and exits 2."""

    def __init__(self, subject, problem: str):
        super().__init__(subject, problem)


def parse_time(text) -> int:
    """Nanoseconds from ``12345`` (ns), ``12.5ms``, ``800us``, ``1.5s``, ``30ns``."""
    if isinstance(text, (int, np.integer)):
        if text < 0:
            raise ExportError(f"time {text}", "times must not be negative")
        return int(text)
    if isinstance(text, float):
        text = repr(text)
    m = _TIME.fullmatch(str(text))
    if not m:
        raise ExportError(f"time {text!r}", "not a time: use nanoseconds or a number with a "
                                            "unit (ns, us, ms, s), e.g. 12.5ms")
    number = float(m.group(1) + (f"e{m.group(2)}" if m.group(2) else ""))
    unit = (m.group(3) or "ns").lower().replace("μ", "µ")
    return round(number * _UNITS[unit])


def window_of(trace, step=None, range_name=None, start=None, end=None) -> Window:
    """The :class:`~tracekit.analysis.window.Window` of the export options. Unlike
    ``summary``, ``step=None`` means the whole trace (an export shows the warm-up too);
    ``range_name`` becomes the ids of every range with that name."""
    ids: tuple[int, ...] = ()
    if range_name is not None:
        ids = range_ids(trace, range_name)
        if not ids:
            raise ExportError(f"--range {range_name!r}", "no range with this name in the trace "
                              + _some_names(trace.ranges))
    span = None
    if start is not None or end is not None:
        t0 = trace_start(trace)
        lo = t0 + (parse_time(start) if start is not None else 0)
        hi = t0 + parse_time(end) if end is not None else None
        if hi is not None and hi <= lo:
            raise ExportError(f"--from {start} --to {end}", "the window is empty (--to must be after --from)")
        span = (lo, hi)
    return Window(step="all" if step is None else step, range_ids=ids, span=span)


def select(trace, step=None, range_name=None, start=None, end=None, window: Window | None = None) -> Selection:
    """The rows an export covers: ``window`` when given (the TUI's, ranges by id), else
    the one the options describe (:func:`window_of`)."""
    if window is None:
        window = window_of(trace, step, range_name, start, end)
    return select_window(trace, window)


def _some_names(ranges: pd.DataFrame, limit: int = 8) -> str:
    from tracekit.safe_text import clean

    if len(ranges) == 0:
        return "(the trace has no ranges)"
    names = ranges["name"].astype(str).value_counts().index[:limit]
    return "(some names: " + ", ".join(clean(n, 60) for n in names) + ")"
