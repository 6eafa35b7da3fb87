"""Which part of a trace an export covers: ``--step``, ``--range NAME``, ``--from/--to``.

Every option narrows the selection; together they intersect. Nothing selected is ever
clipped: an op or kernel that crosses the window's edge is exported whole.

* ``step`` ("3", "2-4", "2,5", "all"): rows whose ``step`` column is one of the steps, in
  all four tables (kernels belong to the step that launched them), as in ``summary``.
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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracekit.analysis.window import (
    StepError,
    in_ranges,
    overlapping,
    parse_steps,
    steps_of,
    trace_start,
)
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


@dataclass
class Selection:
    """The rows of each table an export covers (frames keep the trace's row labels)."""

    trace: object
    ops: pd.DataFrame
    kernels: pd.DataFrame
    launches: pd.DataFrame
    ranges: pd.DataFrame
    start_ns: int  # trace start (the origin of --from/--to and of JSON timestamps)
    window: tuple[int, int] | None = None  # absolute [lo, hi) when a time window applies
    parts: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"ops": self.ops, "kernels": self.kernels, "launches": self.launches,
                "ranges": self.ranges}

    def describe(self) -> str:
        return ", ".join(self.parts) if self.parts else "whole trace"

    @property
    def count(self) -> int:
        return sum(len(t) for t in self.tables().values())


def select(trace, step=None, range_name=None, start=None, end=None) -> Selection:
    t0 = trace_start(trace)
    keep = {name: np.ones(len(frame), dtype=bool) for name, frame in trace.tables().items()}
    parts: list[str] = []
    window = None

    if step is not None and str(step).strip().lower() != "all":
        all_steps = steps_of(trace)
        chosen = parse_steps(step)
        missing = [s for s in chosen if s not in all_steps]
        if missing:
            have = ",".join(map(str, all_steps)) if all_steps else "none"
            raise StepError(f"step {','.join(map(str, missing))} is not in the trace (steps: {have})")
        for name, frame in trace.tables().items():
            keep[name] &= frame["step"].isin(chosen).to_numpy()
        parts.append(f"step {step}")

    if range_name is not None:
        ranges = trace.ranges
        hit = (ranges["name"].astype(str) == str(range_name)).to_numpy()
        if not hit.any():
            raise ExportError(f"--range {range_name!r}", "no range with this name in the trace "
                              + _some_names(ranges))
        for name, sel in in_ranges(trace, ranges[hit], trace.tables()).items():
            keep[name] &= sel
        parts.append(f"range {range_name!r} ({int(hit.sum())}x)")

    if start is not None or end is not None:
        lo = t0 + (parse_time(start) if start is not None else 0)
        hi = t0 + parse_time(end) if end is not None else np.iinfo(np.int64).max
        if hi <= lo:
            raise ExportError(f"--from {start} --to {end}", "the window is empty (--to must be after --from)")
        for name, frame in trace.tables().items():
            keep[name] &= overlapping(frame, lo, hi)
        window = (lo, hi)
        parts.append(f"from {_fmt(lo - t0)} to {_fmt(hi - t0) if end is not None else 'end'}")

    frames = {name: (frame if keep[name].all() else frame[keep[name]])
              for name, frame in trace.tables().items()}
    return Selection(trace, frames["ops"], frames["kernels"], frames["launches"], frames["ranges"],
                     start_ns=t0, window=window, parts=parts)


def _some_names(ranges: pd.DataFrame, limit: int = 8) -> str:
    from tracekit.safe_text import clean

    if len(ranges) == 0:
        return "(the trace has no ranges)"
    names = ranges["name"].astype(str).value_counts().index[:limit]
    return "(some names: " + ", ".join(clean(n, 60) for n in names) + ")"


def _fmt(ns: int) -> str:
    if ns and ns % 1_000_000_000 == 0:
        return f"{ns // 1_000_000_000}s"
    if ns % 1_000_000 == 0:
        return f"{ns // 1_000_000}ms"
    if ns % 1000 == 0:
        return f"{ns // 1000}us"
    return f"{ns}ns"
