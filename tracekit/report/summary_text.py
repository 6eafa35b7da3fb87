"""Human output of ``tracekit summary``: rich tables on the terminal.

Every name from a trace goes through ``safe_text.clean`` and into ``rich.text.Text``:
never markup, never raw control characters.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from tracekit.analysis.results import CombinedSummary, Device, Row, Summary
from tracekit.model.names import kernel_base_name
from tracekit.model.vocab import basis_unit
from tracekit.report.fmt import bar, count, devices, duration, in_unit, ms, pct, time_unit
from tracekit.safe_text import clean, distinct_cuts

if TYPE_CHECKING:  # a summary alone (a stored one) renders without pandas
    import pandas as pd

GEMM_STYLE = "bold cyan"
NON_GEMM_STYLE = "bold magenta"
COMMUNICATION = "Communication"


def _t(text, style: str = "", limit: int | None = None) -> Text:
    return Text(clean(text, limit), style=style)


def header(summary: Summary) -> Text:
    path = os.path.basename(str(summary.path or ""))
    gpu = summary.get("gpu")
    used = {d.device for d in gpu.per_device} if gpu else set()
    # on a device basis the rows are Device results; otherwise the trace's device list
    # (a TensorRT profile's device comes from its metadata)
    rows = [d for d in summary.devices or [] if isinstance(d, dict) or hasattr(d, "get")]
    names = [d.get("name") or "" for d in rows if (d.get("id") in used if gpu else d.get("name"))]
    parts = [summary.source or "?"]
    if summary.rank is not None:
        parts.append(f"rank {summary.rank}")
    if names:
        parts.append(devices(names))
    parts.append(summary.window.description)
    text = Text()
    text.append(clean(path), style="bold")
    text.append("  " + clean(" · ".join(str(p) for p in parts)), style="dim")
    return text


def outside_line(summary: Summary) -> Text | None:
    """Why part of the trace's GPU time is not in this summary (warm-up step, work
    launched before the profiler started, ...)."""
    outside = summary.window.get("outside")
    line = outside.line if outside else ""
    return Text(clean(line), style="yellow") if line else None


def totals_line(summary: Summary) -> Text:
    total = summary.total_ns
    if summary.time_basis == "device":
        gpu = summary.gpu
        n_dev = len(gpu.per_device or [])
        busy = f"busy (any GPU of {n_dev}) " if n_dev > 1 else "busy "
        text = (f"GPU time {duration(total)} in {count(summary.kernels, 'kernel')} · "
                f"{busy}{duration(gpu.busy_ns)} of {duration(gpu.span_ns)} span"
                f" · {pct(summary.attributed_share)} attributed to an op")
        if gpu.concurrent_ns:
            text += f" · {duration(gpu.concurrent_ns)} on overlapping streams"
    else:
        label, note = BASIS_LABELS.get(summary.time_basis, (summary.time_basis, ""))
        unit = basis_unit(summary.time_basis)
        text = f"{label} {duration(total)} in {summary.ops:,} {unit}" + (f" · {note}" if note else "")
    return Text(text)


BASIS_LABELS = {
    "cpu_self": ("CPU time (op self time)", "no GPU activity in this trace"),
    "trt_layer": ("TensorRT layer time (average per inference)", ""),
    "ort_node": ("ONNX Runtime node time", "no GPU kernel events in this profile"),
}


def device_lines(summary: Summary) -> Text | None:
    """One line per device when there are several: its own busy time of its own span."""
    rows: list[Device] = summary.devices or []
    if summary.time_basis != "device" or len(rows) < 2:
        return None
    text = Text()
    for i, d in enumerate(rows):
        if i:
            text.append("\n")
        text.append(f"  GPU {d.id}", style="bold")
        if d.name:
            text.append(" " + clean(d.name, 40))
        line = (f": {duration(d.total_ns)} in {count(d.kernels, 'kernel')} · busy "
                f"{duration(d.busy_ns)} of {duration(d.span_ns)} span · GEMM-based "
                f"{pct(d.gemm_share) if d.gemm_share is not None else '-'} of compute")
        if d.communication_ns:
            line += (f" · communication {duration(d.communication_ns)}, exposed "
                     f"{duration(d.exposed_communication_ns)}")
        text.append(line)
    return text


def gemm_bar(summary: Summary | CombinedSummary, width: int = 36) -> Table:
    """GEMM-based vs non-GEMM as shares of compute; collectives on a line of their own
    (total = compute + communication)."""
    compute = summary.compute_ns
    unit, scale = time_unit(compute)
    table = Table.grid(padding=(0, 1))
    for label, ns, style in (("GEMM-based", summary.gemm_ns, GEMM_STYLE),
                             ("non-GEMM", summary.non_gemm_ns, NON_GEMM_STYLE)):
        share = ns / compute if compute else 0.0
        table.add_row(Text(label, style=style), Text(bar(share, width).ljust(width), style=style),
                      Text(pct(share), justify="right"),
                      Text(f"{in_unit(ns, scale)} {unit}", justify="right"))
    return table


def communication_line(summary: Summary) -> Text | None:
    """Collectives apart from the compute split, with the part nothing overlapped."""
    comm = summary.communication_ns or 0
    if not comm:
        return None
    text = Text()
    text.append("Communication", style="bold")
    text.append(f" {ms(comm)} ms ({pct(comm / summary.total_ns)} of GPU time; GEMM-based and "
                f"non-GEMM are shares of the other {ms(summary.compute_ns)} ms, compute)")
    exposed = summary.exposed_communication_ns
    if exposed is not None:
        text.append(f" · exposed {ms(exposed)} ms ({pct(exposed / comm)}): nothing else ran "
                    "on its GPU meanwhile")
    return text


def groups_table(summary: Summary, gemm_groups: set) -> Table:
    basis = summary.time_basis
    table = Table(title="Time by group", title_justify="left", expand=False, box=box.SIMPLE_HEAD)
    table.add_column("group")
    table.add_column("kind")
    unit, scale = time_unit(summary.total_ns)
    table.add_column(f"time ({unit})", justify="right")
    table.add_column("share", justify="right")
    table.add_column(basis_unit(basis), justify="right")
    table.add_column("", min_width=12, no_wrap=True)
    total = summary.total_ns or 1
    for group, ns in summary.groups.items():
        gemm = group in gemm_groups
        style = GEMM_STYLE if gemm else ""
        kind = "GEMM" if gemm else ("comm" if group == COMMUNICATION else "non-GEMM")
        table.add_row(_t(group, style), Text(kind, style="dim"),
                      in_unit(ns, scale), pct(ns / total), f"{summary.group_counts.get(group, 0):,}",
                      Text(bar(ns / total, 12), style=GEMM_STYLE if gemm else NON_GEMM_STYLE))
    table.add_section()
    table.add_row(Text("total", style="bold"), "", Text(in_unit(summary.total_ns, scale), style="bold"),
                  "100.0%" if summary.total_ns else "-",
                  f"{sum(summary.group_counts.values()):,}", "")
    return table


def rows_table(title: str, rows: pd.DataFrame | list[Row], first: str, basis: str,
               width: int = 120) -> Table:
    """Top rows of a breakdown. Below 100 columns the per-call columns (kernels per call,
    mean) give way, so that operator names stay readable. A name never wraps: it is cut
    in the middle to the width the numbers leave, keeping both ends; kernels show their
    base name (the full name is in --json and the TUI's drill-down)."""
    wide = width >= 100
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, expand=True,
                  pad_edge=False)
    records = rows if isinstance(rows, list) else rows.to_dict("records")
    unit, scale = time_unit(max((r["total_ns"] for r in records), default=0))
    columns: list[tuple[str, list[str]]] = [("calls", [f"{r['calls']:,}" for r in records])]
    if basis == "device" and wide:
        columns.append(("krn/call", [f"{r['kernels_per_call']:.1f}" for r in records]))
    columns.append((f"total {unit}", [in_unit(r["total_ns"], scale) for r in records]))
    if wide:
        columns.append(("mean µs", [f"{r['mean_ns'] / 1e3:,.1f}" for r in records]))
    columns.append(("share", [pct(r["share"]) for r in records]))
    groups = [clean(r["group"], 13) for r in records]
    # the other columns' widest cells; each column costs 3 more (padding, divider), the
    # table 1 less (no padding at its edges)
    used = sum(max([len(h), *map(len, cells)]) for h, cells in columns) + max([5, *map(len, groups)])
    used += 3 * (len(columns) + 2) - 1
    names = display_names([r["name"] for r in records], first,
                          [r.get("instances") for r in records] if first in ("module", "op") else None)
    name_w = max(width - used, 16)
    table.add_column(first, no_wrap=True, ratio=1)
    table.add_column("group", no_wrap=True, min_width=max([5, *map(len, groups)]))
    for header, cells in columns:
        table.add_column(header, justify="right", no_wrap=True,
                         min_width=max([len(header), *map(len, cells)]))
    shown = distinct_cuts([clean(n) for n in names], name_w)
    for i, r in enumerate(records):
        table.add_row(Text(shown[i]),
                      Text(groups[i], style=GEMM_STYLE if r["is_gemm"] else ""),
                      *(cells[i] for _, cells in columns))
    return table


def step_table(rows: pd.DataFrame, summary: Summary, width: int = 120) -> Table:
    """Groups x steps: one row per step, a column per group (the largest that fit the
    width; the rest in "other"), the step's total and its ratio to the median step."""
    pivot = rows.pivot_table(index="name", columns="group", values="total_ns", aggfunc="sum",
                             sort=False, fill_value=0)
    pivot = pivot.reindex(index=list(dict.fromkeys(rows["name"])),
                          columns=list(dict.fromkeys(rows["group"])), fill_value=0)
    totals = pivot.sum(axis=1)
    unit, scale = time_unit(int(totals.max()) if len(totals) else 0)
    by_size = list(pivot.sum(axis=0).sort_values(ascending=False, kind="stable").index)
    # what the step names, "other", total and "vs median" take; each column costs 3 more
    cell = max(len(in_unit(int(totals.max()) if len(totals) else 0, scale)), 5)
    room = width + 1 - (max(map(len, pivot.index), default=4) + 3) - 3 * (cell + 3) - 3
    shown: list[str] = []
    for g in by_size:
        need = max(len(clean(g, 13)), cell) + 3
        if room - need < 0:
            break
        shown.append(g)
        room -= need
    shown = [g for g in pivot.columns if g in shown]
    rest = [g for g in pivot.columns if g not in shown]
    stepped = [int(n.split()[1]) for n in pivot.index if n.startswith("step ")]
    median = float(totals[[f"step {s}" for s in stepped]].median()) if stepped else 0.0
    odd = summary.step_outlier.split(" ", 2)[1] if summary.step_outlier else None
    table = Table(title=f"Time by step ({unit})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("step", no_wrap=True)
    for g in shown:
        table.add_column(clean(g, 13), justify="right", no_wrap=True)
    if rest:
        table.add_column("other", justify="right", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("vs median", justify="right", no_wrap=True)
    for name, row in pivot.iterrows():
        cells = [in_unit(int(row[g]), scale) for g in shown]
        if rest:
            cells.append(in_unit(int(row[rest].sum()), scale))
        ratio = f"{totals[name] / median:.2f}×" if median and name.startswith("step ") else ""
        style = "yellow" if odd is not None and name == f"step {odd}" else ""
        table.add_row(Text(clean(name), style=style), *cells,
                      Text(in_unit(int(totals[name]), scale), style=style), Text(ratio, style=style))
    return table


def display_names(names: list, by: str, instances: list | None = None) -> list[str]:
    """Row names as tables show them: a kernel by its base name (``kernel_base_name``),
    numbered where two rows share one; a module class path or an op type with its instance
    count (``Encoder.Layer.Attention ×16``, ``SkipLayerNormalization ×24``)."""
    if by in ("module", "op") and instances is not None:
        return [f"{n} ×{c}" if c and c > 1 else str(n) for n, c in zip(names, instances)]
    if by != "kernel":
        return [str(n) for n in names]
    base = [kernel_base_name(str(n)) for n in names]
    seen: dict[str, int] = {}
    out = []
    for b in base:
        seen[b] = seen.get(b, 0) + 1
        out.append(b if base.count(b) == 1 else f"{b} #{seen[b]}")
    return out


def footer(summary: Summary) -> Text | None:
    notes = []
    if summary.time_basis == "device" and summary.unattributed_ns:
        notes.append(f"{duration(summary.unattributed_ns)} of GPU time had no operator "
                     "(launched outside the profiled ops); it is classified by kernel name, "
                     "and 'Unattributed' where no name rule matched.")
    lo = summary.get("launch_overhead")
    if lo and lo.short_kernel_share is not None:
        notes.append(launch_line(lo))
    return Text("\n".join(notes), style="dim") if notes else None


def launch_line(lo) -> str:
    """Short kernels, kernels per op call, and launch calls per call (median, p90), with
    the blocking calls that also launch work (cudaMemcpy) apart."""
    parts = [f"{count(lo.short_kernels, 'kernel')} ({pct(lo.short_kernel_share)}) ran under 10 µs"]
    if lo.kernels_per_op_call is not None:
        parts.append(f"{lo.kernels_per_op_call:.2f} kernels per op call")
    if lo.launch_calls:
        parts.append(f"{count(lo.launch_calls, 'launch call')}: median {duration(lo.launch_median_ns)}, "
                     f"p90 {duration(lo.launch_p90_ns)} per call ({duration(lo.launch_api_ns)} in all)")
    if lo.blocking_calls:
        names = ", ".join(clean(n, 40) for n in lo.blocking_names[:3])
        parts.append(f"{count(lo.blocking_calls, 'blocking call')} ({names}) "
                     f"{duration(lo.blocking_api_ns)}, waiting on the GPU")
    return "; ".join(parts) + "."


def render(result: Summary | CombinedSummary, console: Console, *, gemm_groups=frozenset(),
           table: pd.DataFrame | None = None, by: str = "group") -> None:
    """A summary (with the ``--by`` breakdown ``table`` when ``by`` is not "group"), or the
    combined summary of several traces. ``gemm_groups``: the groups shown as GEMM-based."""
    if isinstance(result, CombinedSummary):
        render_combined(result, console, set(gemm_groups))
    else:
        render_one(result, console, set(gemm_groups), table, by)


def render_one(summary: Summary, console: Console, gemm_groups: set, by_table=None, by: str = "group") -> None:
    if summary.kernels == 0 and summary.ops == 0:
        console.print(Group(header(summary), Text("No GPU activity and no operators in this "
                                                  "window: nothing to break down.", style="dim")))
        console.print()
        return
    parts = [header(summary)]
    parts += [line for line in (outside_line(summary),) if line is not None]
    if summary.step_outlier:
        parts.append(Text(clean(summary.step_outlier), style="yellow"))
    parts.append(totals_line(summary))
    parts += [line for line in (device_lines(summary),) if line is not None]
    parts += [Text(""), gemm_bar(summary)]
    parts += [line for line in (communication_line(summary),) if line is not None]
    parts += [Text(""), groups_table(summary, gemm_groups)]
    if by == "group":
        if summary.top_non_gemm_ops:
            parts.append(rows_table("Top non-GEMM ops", summary.top_non_gemm_ops, "op",
                                    summary.time_basis, console.width))
    elif by_table is not None and by == "step":
        parts.append(step_table(by_table, summary, console.width))
    elif by_table is not None:
        parts.append(rows_table(f"Time by {by}", by_table, by, summary.time_basis, console.width))
    note = footer(summary)
    if note is not None:
        parts.append(note)
    console.print(Group(*parts))
    console.print()


def render_combined(combined: CombinedSummary, console: Console, gemm_groups: set) -> None:
    total = combined.total_ns or 1
    console.print(Text(f"Combined over {count(combined.traces, 'trace')} "
                       f"({combined.time_basis} time)", style="bold"))
    table = Table()
    unit, scale = time_unit(combined.total_ns)
    table.add_column("group")
    table.add_column(f"time ({unit})", justify="right")
    table.add_column("share", justify="right")
    for group, ns in combined.groups.items():
        table.add_row(_t(group, GEMM_STYLE if group in gemm_groups else ""), in_unit(ns, scale), pct(ns / total))
    table.add_section()
    table.add_row(Text("total", style="bold"), in_unit(combined.total_ns, scale), "100.0%")
    console.print(gemm_bar(combined))
    console.print(table)
