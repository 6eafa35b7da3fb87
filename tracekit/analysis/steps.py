"""Time per step, and the one step that is not like the others.

A summary averages over its steps; one noisy run (an ONNX Runtime run that took 9.4 ms
against 1.3 ms for the others) then dominates every figure. :func:`outlier_line` says so
in one line, so that the reader can leave it out with ``--step``.
"""
from __future__ import annotations

import numpy as np

from tracekit.analysis.breakdown import time_basis
from tracekit.analysis.window import Selection, _compact
from tracekit.model import Trace

OUTLIER_RATIO = 2.0  # a step this many times the median of the others (or 1/this) stands out


def step_totals(trace: Trace, window: Selection) -> dict[int, int]:
    """Time per step of the window on the trace's time basis (activities or op self
    time), in step order; events outside every step are left out."""
    device = time_basis(trace) == "device"
    frame = window.kernels if device else window.ops
    ns = frame["dur_ns" if device else "self_ns"].to_numpy()
    step = frame["step"].to_numpy()
    totals = {int(s): 0 for s in window.steps} if window.steps else {}
    for s in np.unique(step[step >= 0]):
        totals[int(s)] = int(ns[step == s].sum())
    return dict(sorted(totals.items()))


def outlier(totals: dict[int, int]) -> tuple[int, int, float] | None:
    """(step, its time, its ratio to the median of the other steps) for the step furthest
    from the others, when it is more than OUTLIER_RATIO times (or less than 1/OUTLIER_RATIO)
    their median; None with fewer than two steps or none that stands out."""
    if len(totals) < 2:
        return None
    best = None
    for step, ns in totals.items():
        others = [v for s, v in totals.items() if s != step]
        median = float(np.median(others))
        if median <= 0 or ns <= 0:
            continue
        ratio = ns / median
        far = max(ratio, 1 / ratio)
        if far >= OUTLIER_RATIO and (best is None or far > best[3]):
            best = (step, ns, ratio, far)
    return best[:3] if best else None


def _fmt(ns: float) -> str:
    return f"{ns / 1e6:,.2f} ms" if ns >= 100_000 else f"{ns / 1e3:,.1f} µs"


def outlier_line(totals: dict[int, int], fmt=_fmt) -> str:
    """One line about the outlier step ("" when none): how far it is from the others."""
    found = outlier(totals)
    if found is None:
        return ""
    step, ns, ratio = found
    median = float(np.median([v for s, v in totals.items() if s != step]))
    keep = _compact([s for s in totals if s != step])
    how = f"{ratio:.1f}× the median" if ratio > 1 else f"{1 / ratio:.1f}× less than the median"
    return (f"step {step} is an outlier: {fmt(ns)}, {how} of the other steps ({fmt(median)}); "
            f"it weighs on every figure here (--step {keep} leaves it out)")
