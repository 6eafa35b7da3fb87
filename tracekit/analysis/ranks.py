"""Ranks side by side: per rank its step time, GPU busy and idle time and communication,
and which ranks lag (stragglers), from each rank's summary and its selected steps."""
from __future__ import annotations

import statistics
from collections import Counter

import msgspec

from tracekit.analysis.results import RankRow, RankTable, Summary
from tracekit.analysis.window import Selection

STRAGGLER = 0.05  # a mean step this much above the median marks a straggler


def rank_row(summary: Summary, window: Selection, position: int) -> RankRow:
    """The row of one rank; ``position`` stands in for a rank the trace does not name."""
    ranges = window.ranges
    steps = ranges[ranges["kind"] == "step"] if ranges is not None else None
    if window.steps and steps is not None:
        steps = steps[steps["step"].isin(window.steps)]
    n = 0 if steps is None else len(steps)
    gpu = summary.gpu if summary.time_basis == "device" else None
    return RankRow(
        rank=summary.rank if summary.rank is not None else position, named=summary.rank is not None,
        path=str(summary.path), steps=n,
        step_ns=int(steps["dur_ns"].mean()) if steps is not None and n else None,
        total_ns=summary.total_ns,
        busy_ns=getattr(gpu, "busy_ns", None), idle_ns=getattr(gpu, "idle_ns", None),
        communication_ns=summary.communication_ns,
        exposed_communication_ns=summary.exposed_communication_ns,
    )


def rank_table(rows: list[RankRow], threshold: float = STRAGGLER) -> RankTable:
    """The ranks with the median step and busy time, the slowest rank and the stragglers;
    ``repeated``: ranks that several files claim (traces of two runs in one folder, or a
    rank copied twice), which the combined summary counts once per file."""
    steps = [r.step_ns for r in rows if r.step_ns is not None]
    busy = [r.busy_ns for r in rows if r.busy_ns is not None]
    med_step = int(statistics.median(steps)) if steps else None
    med_busy = int(statistics.median(busy)) if busy else None
    # the longest mean step, else the most busy time
    metric = "step_ns" if steps else "busy_ns"
    timed = [i for i, r in enumerate(rows) if getattr(r, metric) is not None]
    slowest_row = max(timed, key=lambda i: getattr(rows[i], metric)) if timed else None
    rows = [msgspec.structs.replace(r, straggler=bool(med_step and r.step_ns is not None
                                                      and r.step_ns > med_step * (1 + threshold)))
            for r in rows]
    claims = Counter(r.rank for r in rows if r.named)  # a position is no claim
    return RankTable(rows=rows, median_step_ns=med_step, median_busy_ns=med_busy,
                     slowest=rows[slowest_row].rank if slowest_row is not None else None,
                     slowest_row=slowest_row, stragglers=[r.rank for r in rows if r.straggler],
                     threshold=threshold, repeated=[k for k, n in claims.items() if n > 1])
