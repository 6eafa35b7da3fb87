"""Which part of a trace a breakdown covers: ProfilerStep selection (DESIGN.md, "Steps").

Default: when a trace has several steps, all of them but the first (warm-up); with one
step, that step; with none, everything. ``"all"`` keeps every event, inside a step or not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracekit.model import Trace


class StepError(ValueError):
    """A step or range selection the trace cannot satisfy (user error)."""


@dataclass
class Window:
    ops: pd.DataFrame
    kernels: pd.DataFrame
    launches: pd.DataFrame
    steps: list[int] = field(default_factory=list)  # selected; [] = not step-based
    all_steps: list[int] = field(default_factory=list)
    dropped_steps: list[int] = field(default_factory=list)
    whole_trace: bool = True

    def bounds(self) -> tuple[int, int] | None:
        """(first start, last end) over the window's ops and GPU activities; None if empty."""
        frames = [f for f in (self.ops, self.kernels) if len(f)]
        if not frames:
            return None
        return (min(int(f["ts_ns"].min()) for f in frames),
                max(int((f["ts_ns"] + f["dur_ns"]).max()) for f in frames))

    def describe(self) -> str:
        if self.whole_trace:
            return "whole trace" + (f" ({len(self.all_steps)} steps)" if self.all_steps else "")
        text = "step " + _compact(self.steps) if len(self.steps) == 1 else "steps " + _compact(self.steps)
        if self.dropped_steps:
            text += f" (warm-up step {_compact(self.dropped_steps)} dropped; --step all keeps it)"
        return text


def steps_of(trace: Trace) -> list[int]:
    return list(trace.meta.get("steps") or [])


def select(trace: Trace, step=None) -> Window:
    """Restrict a trace to steps: None (default rule), "all", an int, "3-5", "3,4,7"."""
    all_steps = steps_of(trace)
    if step is None or (isinstance(step, str) and step.strip().lower() == "default"):
        if not all_steps:
            return _whole(trace, all_steps)
        chosen = all_steps[1:] if len(all_steps) > 1 else all_steps
        dropped = all_steps[:1] if len(all_steps) > 1 else []
    elif isinstance(step, str) and step.strip().lower() == "all":
        return _whole(trace, all_steps)
    else:
        chosen = parse_steps(step)
        missing = [s for s in chosen if s not in all_steps]
        if missing:
            have = _compact(all_steps) if all_steps else "none"
            raise StepError(f"step {_compact(missing)} is not in the trace (steps: {have})")
        dropped = []
    keep = np.asarray(chosen, dtype=np.int64)
    return Window(
        ops=trace.ops[trace.ops["step"].isin(keep)],
        kernels=trace.kernels[trace.kernels["step"].isin(keep)],
        launches=trace.launches[trace.launches["step"].isin(keep)],
        steps=list(chosen), all_steps=all_steps, dropped_steps=dropped, whole_trace=False,
    )


def _whole(trace: Trace, all_steps) -> Window:
    return Window(trace.ops, trace.kernels, trace.launches, steps=list(all_steps),
                  all_steps=list(all_steps), whole_trace=True)


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


def select_span(window: Window, lo: int, hi: int) -> Window:
    """``window`` narrowed to the rows that overlap [lo, hi) (absolute ns)."""
    return _narrowed(window, {name: overlapping(getattr(window, name), lo, hi)
                              for name in ("ops", "kernels", "launches")})


def select_range(trace: Trace, window: Window, range_id: int | None = None,
                 name: str | None = None) -> Window:
    """``window`` narrowed to what runs inside one range (``range_id``, a row id of
    ``trace.ranges``) or inside every range called ``name`` (see :func:`in_ranges`)."""
    r = trace.ranges
    if (range_id is None) == (name is None):
        raise ValueError("give one of range_id and name")
    hit = r[r["id"] == range_id] if name is None else r[r["name"].astype(str) == str(name)]
    if not len(hit):
        raise StepError(f"range {range_id if name is None else repr(name)} is not in the trace")
    frames = {t: getattr(window, t) for t in ("ops", "kernels", "launches")}
    return _narrowed(window, in_ranges(trace, hit, frames))


def _narrowed(window: Window, keep: dict[str, np.ndarray]) -> Window:
    return Window(ops=window.ops[keep["ops"]], kernels=window.kernels[keep["kernels"]],
                  launches=window.launches[keep["launches"]], steps=window.steps,
                  all_steps=window.all_steps, dropped_steps=[], whole_trace=False)


# --------------------------------------------------------------------------- what a window leaves out

def outside_window(trace: Trace, window: Window) -> dict:
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
    result = {"kernels": int(out.sum()), "ns": out_ns, "share": out_ns / all_ns if all_ns else 0.0,
              "no_launch_kernels": int(no_launch.sum()),
              **{f"{key}_ns": ns for key, ns in parts.items()}, "line": ""}
    if out_ns:
        why = {"no_launch": f"in {int(no_launch.sum()):,} activities launched before the profiler "
                            "started (or after it stopped: their launch is not in the file)",
               "warmup": "in the warm-up step", "between_steps": "launched outside every step",
               "other_steps": "in steps not selected", "other": "outside the selected span or range"}
        reasons = [f"{_ms(ns)} {why[key]}" for key, ns in parts.items() if ns]
        hint = "; --step all includes it" if not window.whole_trace and window.all_steps else ""
        result["line"] = (f"{_ms(out_ns)} of {_ms(all_ns)} GPU time ({out_ns / all_ns:.0%}) lies "
                          f"outside {window.describe().split(' (')[0]}: " + ", ".join(reasons) + hint)
    return result


def _ms(ns: int) -> str:
    return f"{ns / 1e6:,.1f} ms" if ns >= 100_000 else f"{ns / 1e3:,.1f} µs"
