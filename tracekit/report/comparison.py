"""Runtime comparison per model: at each batch size, every runtime's time per group.

Built from the per-trace Summaries (each side's groups add up to its summary total).
``tracekit.analysis.compare`` matches traces row by row; when its API settles, only
:func:`model_comparisons` needs to read its ``Comparison.sides`` / ``rows`` instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tracekit.report import dataset
from tracekit.report.dataset import Entry


@dataclass
class Side:
    runtime: str
    path: str
    total_ns: int
    gemm_ns: int
    non_gemm_ns: int
    ms: dict[str, float]  # per group, per step
    steps: int


@dataclass
class Point:
    point: str  # "b4 s128"
    sides: list[Side]
    reasons: list[str] = field(default_factory=list)  # why the sides may not compare


@dataclass
class ModelComparison:
    model: str
    groups: list[str]  # GEMM-based first, then non-GEMM, largest first
    points: list[Point]


def model_comparisons(entries: list[Entry]) -> list[ModelComparison]:
    """One comparison per model that ran under more than one runtime."""
    gemm = dataset.gemm_group_names(entries)
    out = []
    for model in dataset.models(entries):
        mine = [e for e in entries if e.model == model]
        if len({e.runtime for e in mine}) < 2:
            continue
        points = []
        for point in dict.fromkeys(e.point for e in mine):
            here = [e for e in mine if e.point == point]
            sides = [Side(e.runtime, e.path, e.summary.total_ns, e.summary.gemm_ns, e.summary.non_gemm_ns,
                          {g: e.per_step_ms(ns) for g, ns in e.summary.groups.items() if ns}, e.steps)
                     for e in sorted(here, key=lambda e: dataset.runtimes(entries).index(e.runtime))]
            points.append(Point(point, sides, _reasons(here)))
        groups = sorted({g for p in points for s in p.sides for g in s.ms},
                        key=lambda g: (g not in gemm, -sum(s.ms.get(g, 0) for p in points for s in p.sides)))
        out.append(ModelComparison(model, groups, points))
    return out


def _reasons(entries: list[Entry]) -> list[str]:
    """What differs between the sides besides the runtime (the time each one measures)."""
    reasons = []
    bases = {e.summary.time_basis for e in entries}
    if len(bases) > 1:
        reasons.append(f"different time bases ({', '.join(sorted(bases))}): each side times "
                       "what its profiler records")
    dtypes = {e.dtype for e in entries if e.dtype}
    if len(dtypes) > 1:
        reasons.append(f"different dtypes ({', '.join(sorted(dtypes))})")
    devices = {e.device for e in entries if e.device}
    if len(devices) > 1:
        reasons.append(f"different devices ({', '.join(sorted(devices))})")
    return reasons
