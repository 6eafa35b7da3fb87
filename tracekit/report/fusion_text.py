"""Human output of ``tracekit fusion``: what TensorRT fused, reformat layers, precision,
removed nodes."""
from __future__ import annotations

import os
import re

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracekit.analysis.results import FusionReport, Region, Removed
from tracekit.report.fmt import duration, ms, pct
from tracekit.safe_text import clean

_WIDE = {"two": 2, "four": 4, "eight": 8, "sixteen": 16, "thirty-two": 32}
_FORMAT = re.compile(
    r"^(?:(?P<wide>Two|Four|Eight|Sixteen|Thirty-two) wide channel vectorized row major"
    r"|(?P<chw>Channel major)|(?P<row>Row major(?: linear)?))\s+(?P<p>\w+)(?: format)?"
    r"(?: where channel % (?P<n>\d+) == 0)?(?P<rest>.*)$", re.IGNORECASE)


def short_format(fmt: str) -> str:
    """'Channel major FP16 format where channel % 8 == 0' -> 'FP16 NHWC8' (as
    trt-engine-explorer abbreviates them); unknown descriptions are returned unchanged."""
    m = _FORMAT.match(fmt or "")
    if not m or m.group("rest").strip(" ,") not in ("", "with 3 spatial dimensions"):
        return fmt
    p = m.group("p")
    if m.group("wide"):
        n = _WIDE[m.group("wide").lower()]
        layout = f"NC/{n}HW{n}"
    elif m.group("chw"):
        layout = "NHWC" + (m.group("n") or "")
    else:
        layout = "NCHW"
    if "3 spatial" in m.group("rest"):
        layout = layout.replace("HW", "DHW")
    return f"{p} {layout}"


def render(result: FusionReport, console: Console, top: int = 10) -> None:
    _header(result, console)
    _where_ops_went(result, console)
    _fused_layers(result, console, top)
    _reformats(result, console, top)
    _precision(result, console)
    if result.removed is not None:
        _removed(result.removed, console, top)
    if result.regions:
        _regions(result.regions, console, top)
    for note in result.notes:
        console.print(Text(clean(note), style="dim"))
    console.print()


def _t(value, style: str = "", limit: int | None = None) -> Text:
    return Text(clean(value, limit), style=style)


def _header(result: FusionReport, console: Console) -> None:
    """The engine, its fusion rate and the non-GEMM time left."""
    head = Text()
    head.append(clean(os.path.basename(str(result.path or ""))), style="bold")
    head.append(clean(f"  TensorRT · {result.layers:,} layers · {duration(result.total_ns)} "
                      "per inference (sum of layer averages)"), style="dim")
    console.print(head)
    nodes = result.nodes
    if result.fusion_rate is not None:
        console.print(Text(
            f"Fusion rate {pct(result.fusion_rate)}: {nodes.non_gemm_fused:,} of "
            f"{nodes.non_gemm:,} non-GEMM ONNX nodes run inside another layer "
            f"({nodes.gemm:,} GEMM-based nodes, {nodes.total:,} nodes named in layers)"))
    ng = result.non_gemm_layers
    console.print(Text(f"Non-GEMM time that survived fusion: {duration(ng.total_ns)} "
                       f"({pct(ng.share)}) in {ng.count:,} layers"
                       + (" · " + ", ".join(f"{g} {ms(ns)} ms" for g, ns in ng.by_group.items())
                          if ng.by_group else "")))


def _where_ops_went(result: FusionReport, console: Console) -> None:
    into_gemm, into_other, own = result.fused_into_gemm, result.fused_into_non_gemm, result.standalone_non_gemm
    types = sorted(set(into_gemm) | set(into_other) | set(own),
                   key=lambda k: (-(into_gemm.get(k, 0) + into_other.get(k, 0) + own.get(k, 0)), k))
    if not types:
        return
    table = Table(title="Non-GEMM ONNX ops: where they went", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for col in ("op type", "into GEMM layers", "into non-GEMM layers", "own layer"):
        table.add_column(col, justify="left" if col == "op type" else "right")
    for k in types:
        table.add_row(_t(k), f"{into_gemm.get(k, 0):,}", f"{into_other.get(k, 0):,}",
                      f"{own.get(k, 0):,}")
    console.print(table)


def _fused_layers(result: FusionReport, console: Console, top: int) -> None:
    fused = result.fused_layers[:top]
    if not fused:
        return
    table = Table(title="Largest fused layers", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("layer", overflow="fold", ratio=1, min_width=20)
    table.add_column("group", no_wrap=True)
    table.add_column("precision", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("fused non-GEMM ops", overflow="fold")
    for r in fused:
        table.add_row(_t(r.name, limit=160), _t(r.group, "bold cyan" if r.is_gemm else ""),
                      _t(r.precision), duration(r.dur_ns),
                      _t(", ".join(r.fused_non_gemm) or "-", limit=120))
    console.print(table)


def _reformats(result: FusionReport, console: Console, top: int) -> None:
    ref = result.reformats
    if not ref.count:
        console.print(Text("No reformat layers.", style="dim"))
        return
    table = Table(title=f"Reformat layers: {ref.count:,}, {duration(ref.total_ns)} "
                        f"({pct(ref.share)} of the total)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("layer", overflow="fold", ratio=1, min_width=20)
    table.add_column("kind", no_wrap=True)
    table.add_column("from → to", overflow="fold", ratio=1)
    table.add_column("time", justify="right", no_wrap=True)
    for r in ref.layers[:top]:
        table.add_row(_t(r.name, limit=160), _t(r.kind),
                      _t(f"{short_format(r.from_) or '?'} → {short_format(r.to) or '?'}", limit=200),
                      duration(r.dur_ns))
    console.print(table)


def _precision(result: FusionReport, console: Console) -> None:
    table = Table(title="Time by layer precision", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("precision", "layers", "time (ms)", "share", "in GEMM layers (ms)"):
        table.add_column(col, justify="left" if col == "precision" else "right")
    for p, r in result.precision.items():
        table.add_row(_t(p), f"{r.layers:,}", ms(r.total_ns), pct(r.share), ms(r.gemm_ns))
    console.print(table)


def _removed(removed: Removed, console: Console, top: int) -> None:
    """The ONNX model's nodes that are in no layer (``--onnx``)."""
    if not removed.available:
        console.print(Text(clean(f"--onnx: {removed.reason}"), style="yellow"))
        return
    rate = removed.non_gemm_fused_or_removed_rate
    console.print(Text(clean(
        f"ONNX model {os.path.basename(removed.model)}: {removed['model_nodes']:,} nodes, "
        f"{removed['removed_count']:,} in no layer (removed by TensorRT)"
        + (f"; {pct(rate)} of its non-GEMM nodes were fused or removed" if isinstance(rate, float) else ""))))
    by_type = removed.get("removed_by_type") or {}
    if by_type:
        table = Table(title="Removed ONNX nodes by op type", title_justify="left",
                      box=box.SIMPLE_HEAD)
        table.add_column("op type")
        table.add_column("nodes", justify="right")
        table.add_column("examples", overflow="fold")
        for op, count in list(by_type.items())[:top]:
            names = [r.name for r in removed.get("removed") or [] if r.op_type == op][:3]
            table.add_row(_t(op), f"{count:,}", _t(", ".join(names), limit=120))
        console.print(table)
    for note in removed.get("notes") or []:
        console.print(Text(clean(note), style="dim"))


def _regions(regions: list[Region], console: Console, top: int) -> None:
    table = Table(title="Compiled regions read from the ONNX model", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("region", overflow="fold", ratio=1, min_width=20)
    table.add_column("nodes", justify="right")
    table.add_column("group (was)", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("node types", overflow="fold")
    for r in regions[:top]:
        kinds = ", ".join(f"{k} {n}" for k, n in list(r.op_types.items())[:6])
        table.add_row(_t(r.name, limit=160), f"{r.nodes:,}",
                      _t(f"{r.group} ({r.group_before})"), duration(r.dur_ns),
                      _t(kinds or "ends not in the model", limit=120))
    console.print(table)
