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
    """A step selection the trace cannot satisfy (user error)."""


@dataclass
class Window:
    ops: pd.DataFrame
    kernels: pd.DataFrame
    launches: pd.DataFrame
    steps: list[int] = field(default_factory=list)  # selected; [] = not step-based
    all_steps: list[int] = field(default_factory=list)
    dropped_steps: list[int] = field(default_factory=list)
    whole_trace: bool = True

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
