"""The study's tables of ``tracekit compare`` (:mod:`tracekit.analysis.compare_study`) on
the terminal: TensorRT vs its framework, CPU vs GPU non-GEMM share, quantization."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracekit.analysis.compare_results import Study
from tracekit.report.fmt import duration, pct
from tracekit.safe_text import clean


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title or None, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right", no_wrap=True)
    return table


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
        table = _table("", "group", clean(t.before, 24), clean(t.after, 24), "speedup")
        for g in t.groups:
            speedup = _x(g.speedup) if g.speedup is not None else ("new" if g.after_ns else "gone")
            table.add_row(Text(clean(g.group)), duration(g.before_ns), duration(g.after_ns), speedup)
        console.print(table)
        if t.note:
            console.print(Text(clean(t.note), style="dim"))
    if study.cpu_vs_gpu:
        table = _table("Non-GEMM share of compute, CPU vs GPU", "CPU side", "share", "GPU side", "share", "shift")
        for s in study.cpu_vs_gpu:
            shift = f"{s.shift_pt:+.1f}pt" if s.shift_pt is not None else "-"
            table.add_row(Text(clean(s.cpu, 30)), pct(s.non_gemm_share_cpu), Text(clean(s.gpu, 30)),
                          pct(s.non_gemm_share_gpu), shift)
        console.print(table)
    if study.quantized:
        table = _table("Quantization: Q/DQ time and op count", "quantized", "Q/DQ time", "share",
                       "Q/DQ ops", "ops", "vs base", "growth")
        for q in study.quantized:
            table.add_row(Text(clean(q.quantized, 30)), duration(q.qdq_ns), pct(q.qdq_share), str(q.qdq_ops),
                          str(q.ops_quantized), f"{q.ops_base} ({clean(q.base, 20)})", _x(q.op_growth))
        console.print(table)
        for q in study.quantized:
            if q.nodes_base and q.nodes_quantized:
                console.print(Text(f"{clean(q.quantized, 30)}: its layers hold {q.nodes_quantized} ONNX nodes, "
                                   f"{clean(q.base, 30)}'s {q.nodes_base} "
                                   f"({_x(q.nodes_quantized / q.nodes_base)})", style="dim"))
