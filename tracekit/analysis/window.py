"""Which part of a trace an analysis, an export or a screen covers.

A :class:`Window` says what to keep: ProfilerSteps, ranges (by row id, so that one of
several ranges with the same name stays one), and a time span. :func:`select` applies it
to a trace and returns a :class:`Selection`, the rows of every table it keeps. The three
parts are filters that each give one mask per table; they intersect, and nothing selected
is ever clipped (an op or kernel that crosses an edge is kept whole).

Steps (DESIGN.md, "Steps"): ``None`` is the default rule -- when a trace has several
steps, all of them but the warm-up (the first, or as many as the collector that wrote the
trace says it ran as warm-up: :func:`warmup_steps`); with one step, that step; with none,
everything. ``"all"`` keeps every event, inside a step or not. Which default a command
uses is the command's choice: ``summary``, ``fallback`` and the TUI pass ``None``,
``export`` passes ``"all"``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from tracekit.analysis.results import Outside
from tracekit.model import Trace, TracekitError


class StepError(TracekitError, ValueError):
    """A step or range selection the trace cannot satisfy (user error; also a ValueError,
    as it was before the common root)."""


# --------------------------------------------------------------------------- what to keep

@dataclass(frozen=True)
class Window:
    """What part of a trace to look at: ``step`` (None: the default rule; "all"; an int;
    "3-5"; "3,4,7"), ``range_ids`` (row ids of ``trace.ranges``: what runs inside any of
    them, see :func:`in_ranges`), ``span`` (absolute ``(lo, hi)`` ns; ``hi`` None: to the
    end). Hashable and comparable, so screens can tell whether it changed."""

    step: object = None
    range_ids: tuple[int, ...] = ()
    span: tuple[int, int | None] | None = None

    @property
    def range_id(self) -> int | None:
        return self.range_ids[0] if self.range_ids else None

    def with_step(self, step) -> Window:
        return Window(step=step)

    def with_range(self, range_id: int, label: str | None = None) -> Window:
        """One range (the label is taken from the trace when described)."""
        return Window(step="all", range_ids=(int(range_id),))

    def with_span(self, span) -> Window:
        return replace(self, span=None if span is None else (int(span[0]), span[1]))


@dataclass
class Selection:
    """The rows of each table a :class:`Window` keeps (frames keep the trace's row labels)."""

    ops: pd.DataFrame
    kernels: pd.DataFrame
    launches: pd.DataFrame
    ranges: pd.DataFrame | None = None
    steps: list[int] = field(default_factory=list)  # selected; [] = not step-based
    all_steps: list[int] = field(default_factory=list)
    dropped_steps: list[int] = field(default_factory=list)
    whole_trace: bool = True
    trace: Trace | None = None
    window: Window = field(default_factory=Window)
    start_ns: int = 0  # trace start: the origin of relative times (--from/--to, the TUI clock)
    span_ns: tuple[int, int] | None = None  # absolute [lo, hi) when a span applies (hi: int64 max = open)
    range_names: list[str] = field(default_factory=list)  # the selected ranges' names

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"ops": self.ops, "kernels": self.kernels, "launches": self.launches,
                "ranges": self.ranges if self.ranges is not None else self.ops.iloc[:0]}

    @property
    def count(self) -> int:
        return sum(len(t) for t in self.tables().values())

    def bounds(self) -> tuple[int, int] | None:
        """(first start, last end) over the selection's ops and GPU activities; None if empty."""
        frames = [f for f in (self.ops, self.kernels) if len(f)]
        if not frames:
            return None
        return (min(int(f["ts_ns"].min()) for f in frames),
                max(int((f["ts_ns"] + f["dur_ns"]).max()) for f in frames))

    def describe(self) -> str:
        """One line: the steps (unless a range or span narrows "all" steps), the ranges, the span."""
        parts = []
        narrowed = bool(self.window.range_ids) or self.span_ns is not None
        if not (narrowed and _is_all(self.window.step)):
            parts.append(self.describe_steps())
        if self.window.range_ids:
            names = sorted(set(self.range_names))
            n = len(self.window.range_ids)
            if len(names) == 1:
                parts.append(f"range {names[0]}" + (f" ({n}x)" if n > 1 else ""))
            else:
                parts.append(f"{n} ranges")
        if self.span_ns is not None:
            lo, hi = self.span_ns
            end = "end" if hi >= _OPEN else _fmt(hi - self.start_ns)
            parts.append(f"from {_fmt(lo - self.start_ns)} to {end}")
        return ", ".join(parts)

    def describe_steps(self) -> str:
        if not self.all_steps or _is_all(self.window.step):
            n = len(self.all_steps)
            return "whole trace" + (f" ({n} step{'s' if n != 1 else ''})" if n else "")
        text = "step " + _compact(self.steps) if len(self.steps) == 1 else "steps " + _compact(self.steps)
        if self.dropped_steps:
            word = "step" if len(self.dropped_steps) == 1 else "steps"
            text += f" (warm-up {word} {_compact(self.dropped_steps)} dropped; --step all keeps it)"
        return text


_OPEN = np.iinfo(np.int64).max
TABLE_NAMES = ("ops", "kernels", "launches", "ranges")


def steps_of(trace: Trace) -> list[int]:
    return list(trace.meta.steps)


def select(trace: Trace, window=None) -> Selection:
    """The rows of ``trace`` that ``window`` keeps. ``window``: a :class:`Window`, or a
    step selection alone (None: the default rule, "all", an int, "3-5", "3,4,7")."""
    if not isinstance(window, Window):
        window = Window(step=window)
    tables = {name: getattr(trace, name) for name in TABLE_NAMES}
    keep: dict[str, np.ndarray | None] = dict.fromkeys(TABLE_NAMES)

    def narrow(masks: dict[str, np.ndarray]) -> None:
        for name, mask in masks.items():
            keep[name] = mask if keep[name] is None else keep[name] & mask

    chosen, all_steps, dropped = _steps(trace, window.step)
    if chosen is not None:
        narrow(step_masks(tables, chosen))
    names: list[str] = []
    if window.range_ids:
        r = trace.ranges
        hit = r["id"].isin(list(window.range_ids)).to_numpy()
        missing = sorted(set(window.range_ids) - set(r.loc[hit, "id"].tolist()))
        if missing:
            raise StepError(f"range {_compact(missing)} is not in the trace")
        names = r.loc[hit, "name"].astype(str).tolist()
        narrow(in_ranges(trace, r[hit], tables))
    span = None
    if window.span is not None:
        lo, hi = window.span
        span = (int(lo), _OPEN if hi is None else int(hi))
        narrow({name: overlapping(frame, *span) for name, frame in tables.items()})
    frames = {name: _rows(frame, keep[name]) for name, frame in tables.items()}
    whole = chosen is None and not window.range_ids and span is None
    return Selection(**frames, steps=list(all_steps if chosen is None else chosen),
                     all_steps=all_steps, dropped_steps=dropped, whole_trace=whole,
                     trace=trace, window=window, start_ns=trace_start(trace), span_ns=span,
                     range_names=names)


def _rows(frame: pd.DataFrame, keep: np.ndarray | None) -> pd.DataFrame:
    return frame if keep is None or keep.all() else frame[keep]


def _steps(trace: Trace, step) -> tuple[list[int] | None, list[int], list[int]]:
    """(steps to keep, or None for no step filter; the trace's steps; warm-up dropped)."""
    all_steps = steps_of(trace)
    if step is None or (isinstance(step, str) and step.strip().lower() == "default"):
        if len(all_steps) < 1:
            return None, all_steps, []
        if len(all_steps) == 1:
            return list(all_steps), all_steps, []
        n = warmup_steps(trace, len(all_steps))
        return list(all_steps[n:]), all_steps, list(all_steps[:n])
    if _is_all(step):
        return None, all_steps, []
    chosen = parse_steps(step)
    missing = [s for s in chosen if s not in all_steps]
    if missing:
        have = _compact(all_steps) if all_steps else "none"
        raise StepError(f"step {_compact(missing)} is not in the trace (steps: {have})")
    return chosen, all_steps, []


def warmup_steps(trace: Trace, n_steps: int) -> int:
    """How many first steps the default rule drops: what the collector that wrote the
    trace ran as warm-up (``meta.extras["warmup_steps"]``, e.g. ONNX Runtime runs), else
    one; never every step."""
    n = trace.meta.extras.get("warmup_steps", 1)
    n = n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else 1
    return min(n, n_steps - 1)


def _is_all(step) -> bool:
    return isinstance(step, str) and step.strip().lower() == "all"


def step_masks(tables: dict[str, pd.DataFrame], steps) -> dict[str, np.ndarray]:
    """Rows whose ``step`` is one of ``steps`` (kernels belong to the step that launched them)."""
    keep = np.asarray(list(steps), dtype=np.int64)
    return {name: frame["step"].isin(keep).to_numpy() for name, frame in tables.items()}


def range_ids(trace: Trace, name: str) -> tuple[int, ...]:
    """The ids of every range called ``name`` (empty when there is none)."""
    r = trace.ranges
    return tuple(int(i) for i in r.loc[r["name"].astype(str) == str(name), "id"])


def select_span(selection: Selection, lo: int, hi: int) -> Selection:
    """``selection`` narrowed to the rows that overlap [lo, hi) (absolute ns)."""
    win = selection.window
    if selection.trace is None:
        raise ValueError("a selection made by select() is needed (it knows its trace)")
    if win.span is not None:
        lo = max(lo, win.span[0])
        hi = hi if win.span[1] is None else min(hi, win.span[1])
    return select(selection.trace, replace(win, span=(lo, hi)))


def select_range(trace: Trace, selection: Selection, range_id: int | None = None,
                 name: str | None = None) -> Selection:
    """``selection`` narrowed to what runs inside one range (``range_id``, a row id of
    ``trace.ranges``) or inside every range called ``name`` (see :func:`in_ranges`)."""
    if (range_id is None) == (name is None):
        raise ValueError("give one of range_id and name")
    ids = range_ids(trace, name) if name is not None else (int(range_id or 0),)
    if not ids:
        raise StepError(f"range {name!r} is not in the trace")
    return select(trace, replace(selection.window, range_ids=ids))


def select_window(trace: Trace, step=None, range_name: str | None = None) -> Selection:
    """The window ``summary`` and ``compare`` read: ``step`` (None: every step but the
    warm-up), narrowed to the ranges called ``range_name`` when given; a step or range
    the trace lacks is an error naming its file."""
    try:
        window = select(trace, step)
        return window if range_name is None else select_range(trace, window, name=range_name)
    except StepError as exc:
        raise StepError(f"{trace.meta.path}: {exc}") from None


def parse_steps(spec) -> list[int]:
    if isinstance(spec, (int, np.integer)):
        return [int(spec)]
    if isinstance(spec, (list, tuple)):
        return [int(s) for s in spec]
    out: list[int] = []
    for part in str(spec).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise StepError(f"bad step range {part!r}")
            out.extend(range(lo, hi + 1))
        elif part.isdigit():
            out.append(int(part))
        else:
            raise StepError(f"bad step {part!r}: use a number, a range like 3-5, or 'all'")
    return out


def _compact(steps) -> str:
    steps = sorted(set(int(s) for s in steps))
    if not steps:
        return ""
    runs, start, prev = [], steps[0], steps[0]
    for s in steps[1:]:
        if s != prev + 1:
            runs.append((start, prev))
            start = s
        prev = s
    runs.append((start, prev))
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


# --------------------------------------------------------------------------- time and ranges

# Range kinds that lie on the GPU timeline (their kernels are the ones running under them).
GPU_RANGE_KINDS = ("gpu_annotation",)


def trace_start(trace: Trace) -> int:
    """The earliest timestamp in any table (0 for an empty trace): the origin of relative
    times (``--from/--to``, the TUI's clock)."""
    starts = [int(t["ts_ns"].min()) for t in trace.tables().values() if len(t)]
    return min(starts) if starts else 0


def overlapping(frame: pd.DataFrame, lo, hi) -> np.ndarray:
    """Rows of ``frame`` whose [ts, ts+dur) overlaps one of the intervals [lo, hi)
    (scalars or arrays; a zero-length row counts where lo <= ts < hi; negative
    durations count as zero)."""
    n = len(frame)
    lo = np.atleast_1d(np.asarray(lo, dtype=np.int64))
    hi = np.atleast_1d(np.asarray(hi, dtype=np.int64))
    if n == 0 or len(lo) == 0:
        return np.zeros(n, dtype=bool)
    s = frame["ts_ns"].to_numpy()
    e = s + np.maximum(frame["dur_ns"].to_numpy(), 0)
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)  # the furthest end among intervals starting <= x
    # intervals starting before the row's end (or at its instant, for zero-length rows)
    k = np.searchsorted(lo, np.where(e > s, e, s + 1), side="left") - 1
    return (k >= 0) & (reach[np.maximum(k, 0)] > s)


def in_ranges(trace: Trace, ranges: pd.DataFrame, frames: dict[str, pd.DataFrame],
              gpu_by_time: bool = True) -> dict[str, np.ndarray]:
    """What runs inside the rows of ``ranges``, as one boolean mask per frame of
    ``frames`` (keys "ops", "launches", "ranges", "kernels"; each a subset of the trace's
    table of that name). Host rows (ops, launches, ranges): those overlapping a range in
    time. GPU activities: for host ranges, those launched by a launch that overlaps one
    (activities without a known launch: by time overlap); for ranges on the GPU timeline
    (:data:`GPU_RANGE_KINDS`), those overlapping it in time. With ``gpu_by_time=False``
    every range is treated as a host range (what ``tracekit export --range`` has always
    done; it also takes the activities launched while a GPU annotation runs, which
    belong to later host work). Nothing is clipped."""
    lo = ranges["ts_ns"].to_numpy().astype(np.int64)
    hi = lo + np.maximum(ranges["dur_ns"].to_numpy(), 0)
    on_gpu = ranges["kind"].astype(str).isin(GPU_RANGE_KINDS).to_numpy() & gpu_by_time
    out = {}
    for name, frame in frames.items():
        if name != "kernels":
            out[name] = overlapping(frame, lo, hi)
            continue
        k = frame
        launch = k["launch"].to_numpy()
        ids = trace.launches["id"].to_numpy()
        pos = pd.Index(ids).get_indexer(launch) if len(ids) else np.full(len(k), -1)
        has = pos >= 0
        launched_inside = overlapping(trace.launches, lo[~on_gpu], hi[~on_gpu])
        by_launch = np.zeros(len(k), dtype=bool)
        by_launch[has] = launched_inside[pos[has]]
        keep = np.where(has, by_launch, overlapping(k, lo[~on_gpu], hi[~on_gpu]))
        out[name] = keep | overlapping(k, lo[on_gpu], hi[on_gpu])
    return out


# --------------------------------------------------------------------------- what a window leaves out

def outside_window(trace: Trace, window: Selection) -> Outside:
    """The GPU activities of the trace that the window leaves out, and why: ``kernels``
    and ``ns`` in all; of them ``no_launch_*`` (launch not in the file: the profiler
    started, or stopped, while the GPU was busy), and of the others ``warmup_ns`` (dropped
    warm-up steps), ``between_steps_ns`` (launched outside every step),
    ``other_steps_ns`` (steps not selected) and ``other_ns`` (left out by a time span or
    range); ``share`` of the trace's GPU time; ``line``: one sentence saying it ("" when
    nothing is left out)."""
    k = trace.kernels
    dur = k["dur_ns"].to_numpy()
    out = ~np.isin(k["id"].to_numpy(), window.kernels["id"].to_numpy())
    step = k["step"].to_numpy()
    no_launch = out & (k["launch"].to_numpy() < 0)
    warmup = out & ~no_launch & np.isin(step, np.asarray(window.dropped_steps, np.int64)) & (step >= 0)
    between = out & ~no_launch & (step < 0)
    other_steps = out & ~no_launch & (step >= 0) & ~warmup
    if window.steps:
        other_steps &= ~np.isin(step, np.asarray(window.steps, np.int64))
    all_ns, out_ns = int(dur.sum()), int(dur[out].sum())
    parts = {"no_launch": int(dur[no_launch].sum()), "warmup": int(dur[warmup].sum()),
             "between_steps": int(dur[between].sum()), "other_steps": int(dur[other_steps].sum())}
    parts["other"] = out_ns - sum(parts.values())
    line = ""
    if out_ns:
        n = int(no_launch.sum())
        why = {"no_launch": f"in {n:,} {'activity' if n == 1 else 'activities'} launched before the profiler "
                            "started (or after it stopped: their launch is not in the file)",
               "warmup": "in the warm-up step", "between_steps": "launched outside every step",
               "other_steps": "in steps not selected", "other": "outside the selected span or range"}
        reasons = [f"{_ms(ns)} {why[key]}" for key, ns in parts.items() if ns]
        hint = "; --step all includes it" if not window.whole_trace and window.all_steps else ""
        line = (f"{_ms(out_ns)} of {_ms(all_ns)} GPU time ({out_ns / all_ns:.0%}) lies "
                f"outside {window.describe().split(' (')[0]}: " + ", ".join(reasons) + hint)
    return Outside(kernels=int(out.sum()), ns=out_ns, share=out_ns / all_ns if all_ns else 0.0,
                   no_launch_kernels=int(no_launch.sum()),
                   **{f"{key}_ns": ns for key, ns in parts.items()}, line=line)


def _fmt(ns: int) -> str:
    """A relative time as the user would type it when it is round (12.5ms reads back as
    12500us), else to a few digits."""
    if ns and ns % 1_000_000_000 == 0:
        return f"{ns // 1_000_000_000}s"
    if ns % 1_000_000 == 0:
        return f"{ns // 1_000_000}ms"
    if ns % 1000 == 0:
        return f"{ns // 1000}us"
    if abs(ns) < 1_000_000:
        return f"{ns}ns" if abs(ns) < 1000 else f"{ns / 1e3:.1f}us"
    return f"{ns / 1e6:.3f}ms" if abs(ns) < 1_000_000_000 else f"{ns / 1e9:.3f}s"


def _ms(ns: int) -> str:
    return f"{ns / 1e6:,.1f} ms" if ns >= 100_000 else f"{ns / 1e3:,.1f} µs"
