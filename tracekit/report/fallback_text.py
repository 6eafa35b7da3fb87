"""Human output of ``tracekit fallback``."""
from __future__ import annotations

import os

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracekit.analysis.results import TransferReport
from tracekit.report.fmt import duration, pct, size
from tracekit.safe_text import clean


def render(result: TransferReport, console: Console) -> None:
    console.print(Text(clean(os.path.basename(str(result.path or ""))), style="bold"),
                  Text(clean(f" {result.source} · {result.window}"), style="dim"))
    t = result.transfers
    table = Table(title="Copies by direction", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("direction", "count", "bytes", "time", "GB/s", "share of GPU time", "top causing op"):
        table.add_column(col, justify="left" if col in ("direction", "top causing op") else "right")
    for d in t.by_direction:
        top = d.ops[0].op if d.ops else "-"
        table.add_row(d.direction, f"{d.count:,}", size(d.bytes), duration(d.time_ns),
                      f"{d.bandwidth_gbps:.1f}" if d.bandwidth_gbps else "-",
                      pct(d.share_of_device_time), Text(clean(top, 60)))
    if t.by_direction:
        console.print(table)
    else:
        console.print(Text("No memcpy activity in this trace.", style="dim"))
    s = result.synchronizations
    if s.calls:
        sync = Table(title="Synchronizations", title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("call", "count", "host time", "GPU idle after", "called from"):
            sync.add_column(col, justify="left" if col in ("call", "called from") else "right")
        for r in s.calls:
            sync.add_row(Text(clean(r.name)), f"{r.count:,}", duration(r.host_ns),
                         duration(r.gpu_idle_after_ns), Text(clean(r.op or "-", 50)))
        console.print(sync)
    else:
        console.print(Text("No blocking synchronization calls.", style="dim"))
    f = result.fallback
    if f.applies:
        console.print(Text(f"CPU fallback: {duration(f.fallback_ns)} on CPUExecutionProvider"
                           f" ({pct(f.get('fallback_share'))} of run latency); Memcpy nodes "
                           f"{duration(f.memcpy_ns)} ({pct(f.get('memcpy_share'))})"))
        nodes = Table(box=box.SIMPLE_HEAD)
        for col in ("node", "op type", "calls", "time", "share of run"):
            nodes.add_column(col, justify="left" if col in ("node", "op type") else "right")
        for n in f.nodes:
            nodes.add_row(Text(clean(n.name, 70)), Text(clean(n.op_type)), f"{n.calls:,}",
                          duration(n.time_ns), pct(n.share))
        if f.nodes:
            console.print(nodes)
    elif any(p.endswith("ExecutionProvider") for p in f.providers):
        console.print(Text(f"Providers: {', '.join(f.providers)} (no GPU provider: no fallback "
                           "to report)", style="dim"))
    console.print()
