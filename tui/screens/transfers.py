"""Transfers & fallback: copies by direction (bytes, time, bandwidth, causing ops),
synchronizations and the GPU idle they cause, ONNX Runtime CPU-fallback nodes --
tracekit.analysis.transfers.report for the current scope."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tracekit.analysis.results import TransferReport
from tracekit.safe_text import clean
from tui import queries as q
from tui.screens.base import TraceScreen
from tui.widgets.text import num, safe


class TransfersScreen(TraceScreen):
    MODE = "transfers"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="transfers-body"):
            yield Static(Text("computing…", style="dim"), id="transfers")

    def reload(self) -> None:
        self.query_one("#transfers", Static).update(Text("computing…", style="dim"))
        self.compute(self.scope)

    @work(thread=True, exclusive=True, group="transfers-screen")
    def compute(self, scope) -> None:
        report = q.transfer_report(self.trace, scope)
        self.app.call_from_thread(self._show, scope, report)

    def _show(self, scope, report) -> None:
        if scope != self.scope:
            return
        self.sub_title = clean(report.window)
        self.query_one("#transfers", Static).update(render_report(report))


def _table(title: str, *cols: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", box=None, pad_edge=False,
              expand=False, show_edge=False)
    for c in cols:
        t.add_column(c, justify="left" if c in ("direction", "op", "call", "node", "type") else "right",
                     overflow="ellipsis", no_wrap=True, max_width=48 if c in ("op", "call", "node") else None)
    return t


def render_report(report: TransferReport):
    parts = []
    tr = report.transfers
    copies = _table("Copies by direction", "direction", "count", "bytes", "time", "GB/s", "device %")
    for d in tr.by_direction:
        copies.add_row(safe(d.direction), num(f"{d.count:,}"), num(q.fmt_bytes(d.bytes)),
                       num(q.fmt_duration(d.time_ns)),
                       num(f"{d.bandwidth_gbps:.1f}" if d.bandwidth_gbps else "-"),
                       num(q.fmt_pct(d.share_of_device_time)))
    if tr.by_direction:
        parts.append(copies)
        ops = _table("Copies by causing op", "direction", "op", "count", "bytes", "time")
        for d in tr.by_direction:
            for o in d.ops:
                ops.add_row(safe(d.direction), safe(o.op), num(f"{o.count:,}"),
                            num(q.fmt_bytes(o.bytes)), num(q.fmt_duration(o.time_ns)))
        parts += [Text(""), ops]
    else:
        parts.append(Text("No host-device copies in this window.", style="dim"))
    if tr.ort_memcpy_nodes:
        mem = _table("ONNX Runtime Memcpy nodes", "type", "count", "time")
        for name, v in tr.ort_memcpy_nodes.items():
            mem.add_row(safe(name), num(f"{v.count:,}"), num(q.fmt_duration(v.time_ns)))
        parts += [Text(""), mem]
    sync = report.synchronizations
    parts.append(Text(""))
    if sync.calls:
        st = _table("Synchronizations", "call", "count", "host", "GPU idle after", "called from")
        for c in sync.calls:
            st.add_row(safe(c.name), num(f"{c.count:,}"), num(q.fmt_duration(c.host_ns)),
                       num(q.fmt_duration(c.gpu_idle_after_ns)), safe(c.op or "-"))
        parts.append(st)
    else:
        parts.append(Text("No blocking synchronization calls.", style="dim"))
    fb = report.fallback
    parts.append(Text(""))
    if fb.applies:
        head = Text("CPU fallback ", style="bold")
        head.append(f"{q.fmt_duration(fb.fallback_ns)} ({q.fmt_pct(fb.get('fallback_share'))} of run latency),"
                    f" Memcpy nodes {q.fmt_duration(fb.memcpy_ns)} ({q.fmt_pct(fb.get('memcpy_share'))})",
                    style="")
        parts.append(head)
        nodes = _table("", "node", "type", "calls", "time", "share")
        for n in fb.nodes:
            nodes.add_row(safe(n.name), safe(n.op_type), num(f"{n.calls:,}"),
                          num(q.fmt_duration(n.time_ns)), num(q.fmt_pct(n.share)))
        parts.append(nodes)
    else:
        providers = ", ".join(fb.providers) or "none"
        t = Text("CPU fallback: not applicable (needs an ONNX Runtime session with a GPU provider; providers: ",
                 style="dim")
        t.append_text(safe(providers, style="dim"))
        t.append(")", style="dim")
        parts.append(t)
    return Group(*parts)
