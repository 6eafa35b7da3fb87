"""Runtime comparison per model: at each batch size, every runtime's time per group, from
:func:`tracekit.analysis.compare.compare` by group (each side's rows add up to its summary
total), with compare's reasons why the sides may not be comparable."""
from __future__ import annotations

from dataclasses import dataclass, field

from tracekit.report import dataset
from tracekit.report.dataset import Entry
from tracekit.report.parallel import map_forked

# compare's reasons that are no caveat here: the figure divides each side by its own step
# count, and rows matched by group do not depend on module paths
NO_CAVEAT = frozenset({"steps", "module_overlap"})


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
    order = dataset.runtimes(entries)
    models = [m for m in dataset.models(entries) if len({e.runtime for e in entries if e.model == m}) > 1]
    cells = [(m, p) for m in models for p in dict.fromkeys(e.point for e in entries if e.model == m)]
    # each (model, batch point) is compared on its own, in parallel
    points = map_forked(lambda c: _point(c[1], [e for e in entries if (e.model, e.point) == c], order), cells)
    out = []
    for model in models:
        mine = [p for c, p in zip(cells, points) if c[0] == model]
        groups = sorted({g for p in mine for s in p.sides for g in s.ms},
                        key=lambda g: (g not in gemm, -sum(s.ms.get(g, 0) for p in mine for s in p.sides)))
        out.append(ModelComparison(model, groups, mine))
    return out


def _point(point: str, entries: list[Entry], order: list[str]) -> Point:
    """The runtimes at one batch point side by side; a runtime alone is shown, not compared."""
    from tracekit.analysis.compare import compare

    entries = sorted(entries, key=lambda e: order.index(e.runtime))
    if len(entries) < 2:
        e = entries[0]
        ms = {g: e.per_step_ms(ns) for g, ns in e.summary.groups.items() if ns}
        return Point(point, [Side(e.runtime, e.path, e.summary.total_ns, e.summary.gemm_ns,
                                  e.summary.non_gemm_ns, ms, e.steps)], ["only one runtime"])
    # the entries' summaries are over the window compare uses (the default rule)
    result = compare([e.trace for e in entries], labels=[e.runtime for e in entries], by="group",
                     summaries=[e.summary for e in entries])
    sides = []
    for i, (e, side) in enumerate(zip(entries, result.sides)):
        steps = max(len(side.steps), 1)
        ms = {row.key: row.ns[i] / steps / 1e6 for row in result.rows if row.ns[i]}
        sides.append(Side(e.runtime, e.path, side.total_ns, side.gemm_ns, side.non_gemm_ns, ms, steps))
    verdict = result.comparable
    reasons = [r for r, code in zip(verdict.reasons, verdict.reason_codes) if code not in NO_CAVEAT]
    return Point(point, sides, reasons)
