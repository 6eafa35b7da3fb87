"""The study's tables of ``tracekit compare`` (:mod:`tracekit.analysis.compare_study`) on
the terminal: TensorRT vs its framework, CPU vs GPU non-GEMM share, quantization."""
from __future__ import annotations

from rich.console import Console
from rich.text import Text

from tracekit.analysis.compare_results import Study
from tracekit.report.compare_text import Col, build, choose
from tracekit.report.fmt import duration, pct
from tracekit.safe_text import clean


def _print(console: Console, title: str | None, columns: list[Col]) -> None:
    """A table whose numbers are never cut (names shrink; see compare_text.choose)."""
    columns, widths, at = choose([columns], console.width)
    console.print(build(columns, widths, title), width=at, crop=False)


def _x(value) -> str:
    return f"{value:.2f}×" if value is not None else "-"


def render(study: Study, console: Console) -> None:
    for t in study.tensorrt:
        head = (f"TensorRT {clean(t.after, 30)} vs {clean(t.before, 30)}: fusion rate {pct(t.fusion_rate)} "
                f"({t.non_gemm_fused} of {t.non_gemm_nodes} non-GEMM nodes fused) · non-GEMM "
                f"{duration(t.non_gemm_before_ns)} ({pct(t.non_gemm_share_before)}) -> "
                f"{duration(t.non_gemm_after_ns)} ({pct(t.non_gemm_share_after)}) · total speedup "
                f"{_x(t.total_speedup)}")
        console.print(Text(head, style="bold"))
        _print(console, None, [
            Col("group", [clean(g.group) for g in t.groups], shrink_to=8, soft=16),
            Col(clean(t.before, 24), [duration(g.before_ns) for g in t.groups], "right"),
            Col(clean(t.after, 24), [duration(g.after_ns) for g in t.groups], "right"),
            Col("speedup", [_x(g.speedup) if g.speedup is not None else ("new" if g.after_ns else "gone")
                            for g in t.groups], "right")])
        if t.note:
            console.print(Text(clean(t.note), style="dim"))
    if study.cpu_vs_gpu:
        shifts = study.cpu_vs_gpu
        _print(console, "Non-GEMM share of compute, CPU vs GPU", [
            Col("CPU side", [clean(s.cpu, 30) for s in shifts], shrink_to=8, soft=16),
            Col("share", [pct(s.non_gemm_share_cpu) for s in shifts], "right"),
            Col("GPU side", [clean(s.gpu, 30) for s in shifts], shrink_to=8, soft=16),
            Col("share", [pct(s.non_gemm_share_gpu) for s in shifts], "right"),
            Col("shift", [f"{s.shift_pt:+.1f}pt" if s.shift_pt is not None else "-" for s in shifts], "right")])
    if study.quantized:
        qs = study.quantized
        _print(console, "Quantization: Q/DQ time and op count", [
            Col("quantized", [clean(q.quantized, 30) for q in qs], shrink_to=8, soft=16),
            Col("Q/DQ time", [duration(q.qdq_ns) for q in qs], "right"),
            Col("share", [pct(q.qdq_share) for q in qs], "right"),
            Col("Q/DQ ops", [str(q.qdq_ops) for q in qs], "right"),
            Col("ops", [str(q.ops_quantized) for q in qs], "right"),
            Col("base", [clean(q.base, 30) for q in qs], shrink_to=8, soft=16),
            Col("base ops", [str(q.ops_base) for q in qs], "right"),
            Col("growth", [_x(q.op_growth) for q in qs], "right")])
        for q in study.quantized:
            if q.nodes_base and q.nodes_quantized:
                console.print(Text(f"{clean(q.quantized, 30)}: its layers hold {q.nodes_quantized} ONNX nodes, "
                                   f"{clean(q.base, 30)}'s {q.nodes_base} "
                                   f"({_x(q.nodes_quantized / q.nodes_base)})", style="dim"))
