"""The study's tables over a comparison, where they apply:

- a TensorRT side against a PyTorch or ONNX Runtime side (the first such side is the
  "before"): the engine's fusion rate (:func:`~tracekit.analysis.fusion.fusion_report`),
  non-GEMM time before and after, and the speedup per group;
- a CPU-only side against a GPU side (device time or TensorRT layers): the non-GEMM share
  of compute on each and its shift;
- a quantized side (Q/DQ time, or TensorRT layers mostly in INT8) against one without Q/DQ:
  the Q/DQ time and the growth of the op count.
"""
from __future__ import annotations

from msgspec import UNSET, UnsetType

from tracekit.analysis.compare import BASIS_FAMILY, run_facts
from tracekit.analysis.compare_results import (
    Comparison,
    GroupSpeedup,
    QuantizedTable,
    ShareShift,
    Side,
    Study,
    TensorRTTable,
)
from tracekit.analysis.fusion import fusion_report
from tracekit.model import Trace

QDQ = "QDQ"
GPU_BASES = ("device", "trt_layer")
HOST_BASES = ("cpu_self", "ort_node")


def study(traces: list[Trace], comparison: Comparison) -> Study | UnsetType:
    """The tables that apply to these sides; UNSET when none does."""
    sides = comparison.sides
    out = Study(tensorrt=tensorrt_tables(traces, sides), cpu_vs_gpu=share_shifts(sides),
                quantized=quantized_tables(traces, sides))
    return out if (out.tensorrt or out.cpu_vs_gpu or out.quantized) else UNSET


def tensorrt_tables(traces: list[Trace], sides: list[Side]) -> list[TensorRTTable]:
    before = next((i for i, s in enumerate(sides) if s.source in ("kineto", "ort")), None)
    if before is None:
        return []
    b = sides[before]
    out = []
    for trace, s in zip(traces, sides):
        if s.source != "trt":
            continue
        fusion = fusion_report(trace)
        # a TensorRT profile is one inference (layer averages); the other side's window may
        # hold several steps: both are compared per step, or the speedup counts steps
        nb, ns = len(b.steps) or 1, len(s.steps) or 1
        groups = []
        for g in dict.fromkeys([*b.groups, *s.groups]):
            pair = _per(nb, b.groups.get(g, 0)), _per(ns, s.groups.get(g, 0))
            groups.append(GroupSpeedup(group=g, before_ns=pair[0], after_ns=pair[1], speedup=_ratio(*pair)))
        notes = [f"per step: {b.label}'s {nb} steps averaged"] if nb > 1 else []
        if BASIS_FAMILY.get(b.time_basis) != BASIS_FAMILY.get(s.time_basis):
            notes.append(f"{b.label} is {BASIS_FAMILY.get(b.time_basis, b.time_basis)}, {s.label} "
                         f"{BASIS_FAMILY.get(s.time_basis, s.time_basis)}: speedups compare different clocks")
        note = "; ".join(notes)
        out.append(TensorRTTable(
            before=b.label, after=s.label, fusion_rate=fusion.fusion_rate,
            non_gemm_nodes=int(fusion.nodes.get("non_gemm", 0)),
            non_gemm_fused=int(fusion.nodes.get("non_gemm_fused", 0)),
            non_gemm_before_ns=_per(nb, b.non_gemm_ns), non_gemm_after_ns=_per(ns, s.non_gemm_ns),
            non_gemm_share_before=_share(b.non_gemm_ns, b.compute_ns),
            non_gemm_share_after=_share(s.non_gemm_ns, s.compute_ns),
            total_speedup=(_per(nb, b.total_ns) / _per(ns, s.total_ns)) if _per(ns, s.total_ns) else None,
            groups=groups, note=note))
    return out


def _per(steps: int, ns: int) -> int:
    """Time per step of a window of ``steps`` steps."""
    return round(ns / steps)


def share_shifts(sides: list[Side]) -> list[ShareShift]:
    cpu = [s for s in sides if s.time_basis in HOST_BASES]
    gpu = [s for s in sides if s.time_basis in GPU_BASES]
    out = []
    for c in cpu[:1]:
        for g in gpu:
            a, b = _share(c.non_gemm_ns, c.compute_ns), _share(g.non_gemm_ns, g.compute_ns)
            out.append(ShareShift(cpu=c.label, gpu=g.label, non_gemm_share_cpu=a, non_gemm_share_gpu=b,
                                  shift_pt=(b - a) * 100 if a is not None and b is not None else None))
    return out


def quantized_tables(traces: list[Trace], sides: list[Side]) -> list[QuantizedTable]:
    quantized = [_is_quantized(t, s) for t, s in zip(traces, sides)]
    plain = [s for s, q in zip(sides, quantized) if not q]
    out: list[QuantizedTable] = []
    for s, q in zip(sides, quantized):
        if not q or not plain:
            continue
        # the base: an unquantized side from the same tool if there is one
        base = next((p for p in plain if p.source == s.source), plain[0])
        qdq = s.groups.get(QDQ, 0)
        table = QuantizedTable(base=base.label, quantized=s.label, qdq_ns=qdq,
                               qdq_share=_share(qdq, s.total_ns), qdq_ops=s.group_counts.get(QDQ, 0),
                               ops_base=base.ops, ops_quantized=s.ops,
                               op_growth=(s.ops / base.ops) if base.ops else None)
        if s.source == base.source == "trt":  # layers hide the Q/DQ nodes fused into them
            i, j = sides.index(base), sides.index(s)
            table.nodes_base = int(fusion_report(traces[i]).nodes.get("total", 0))
            table.nodes_quantized = int(fusion_report(traces[j]).nodes.get("total", 0))
        out.append(table)
    return out


def _is_quantized(trace: Trace, side: Side) -> bool:
    return side.groups.get(QDQ, 0) > 0 or side.group_counts.get(QDQ, 0) > 0 or \
        str(run_facts(trace).get("precision", "")).upper() == "INT8"


def _ratio(before: int, after: int) -> float | None:
    """before / after; None where a side has no time (the group is new or gone)."""
    return before / after if before and after else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
