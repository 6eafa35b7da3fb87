"""Overview: metadata, GEMM vs non-GEMM, per-group bars, top non-GEMM ops, transfers and
CPU fallback, and the Amdahl line."""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from tracekit.analysis.results import Device, TransferReport
from tracekit.model.vocab import basis_label, basis_unit
from tracekit.report import fmt
from tracekit.safe_text import clean
from tui import keys
from tui import queries as q
from tui.screens.base import TraceScreen
from tui.screens.drill import DrillScreen
from tui.widgets import bars
from tui.widgets.colors import GEMM_COLOR, NON_GEMM_COLOR, group_color
from tui.widgets.text import safe


class Section(Widget):
    """A block of text drawn for the width it has (bars fill the line)."""

    DEFAULT_CSS = "Section { height: auto; }"

    def __init__(self, draw, **kw) -> None:
        super().__init__(**kw)
        self.draw = draw
        self.data = None

    def show(self, data) -> None:
        self.data = data
        self.refresh(layout=True)

    def render(self) -> Text:
        if self.data is None:
            return Text("…", style="dim")
        return self.draw(self.data, max(self.size.width, 20))

    def get_content_height(self, container, viewport, width: int) -> int:
        if self.data is None:
            return 1
        text = self.draw(self.data, max(width, 20))
        return len(text.wrap(self.app.console, max(width, 1)))


class OverviewScreen(TraceScreen):
    """j/k select a group or a top operator; enter opens it: a group's operators, an
    operator's kernels (its drill-down)."""

    MODE = "overview"
    BINDINGS = keys.bindings("overview")

    def __init__(self, trace, scope, overview: q.Overview | None = None) -> None:
        super().__init__(trace, scope)
        self._initial = overview
        self.ov: q.Overview | None = None
        self.pick: int | None = None  # index into items(); None: nothing selected

    def items(self) -> list[tuple[str, str]]:
        """What j/k move over: ("group", name) per group, then ("op", name) per top op."""
        if self.ov is None:
            return []
        return [("group", str(g)) for g in self.ov.groups["name"]] + \
               [("op", str(n)) for n in self.ov.top_non_gemm["name"]]

    def selected(self, kind: str) -> str | None:
        items = self.items()
        if self.pick is None or not items:
            return None
        k, name = items[self.pick % len(items)]
        return name if k == kind else None

    def action_select(self, step: int) -> None:
        items = self.items()
        if not items:
            return
        self.pick = (step - 1 if step > 0 else step) % len(items) if self.pick is None \
            else (self.pick + step) % len(items)
        for sid in ("ov-groups", "ov-top"):
            self.query_one(f"#{sid}", Section).refresh(layout=True)

    def action_open(self) -> None:
        if self.trace is None:  # a preview: the trace is still loading
            return
        if self.pick is None:
            self.action_select(1)
        items = self.items()
        if not items or self.pick is None:
            return
        kind, name = items[self.pick % len(items)]
        if kind == "op":
            self.app.push_screen(DrillScreen(q.drill(self.trace, self.scope, "op", {"name": name})))
            return
        self.app.action_show("operators")
        ops = self.app.screen
        ops.by, ops.group_filter, ops.search = "op", name, ""
        if ops.is_mounted:
            ops.reload()

    def show_trace(self, trace, overview: q.Overview) -> None:
        """Attributes down: the loaded trace replaces the preview's numbers."""
        self.trace, self._initial = trace, overview
        if self.is_mounted:
            self.reload()

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="overview-body"):
            yield Section(draw_meta, id="ov-meta", classes="section")
            yield Static("GEMM vs non-GEMM", classes="section-title")
            yield Section(draw_gemm, id="ov-gemm", classes="section")
            yield Static("Time per group", classes="section-title")
            yield Section(lambda ov, w: draw_groups(ov, w, self.selected("group")), id="ov-groups",
                          classes="section")
            yield Static("Top non-GEMM operators", classes="section-title")
            yield Section(lambda ov, w: draw_top(ov, w, self.selected("op")), id="ov-top",
                          classes="section")
            yield Static("Transfers & CPU fallback", classes="section-title")
            yield Section(draw_transfers, id="ov-transfers", classes="section")

    def reload(self) -> None:
        if self._initial is None and self.trace is None:
            return
        ov = self._initial if self._initial is not None else q.overview(self.trace, self.scope)
        self._initial = None
        self.ov = ov
        self.sub_title = clean(ov.scope)
        for sid in ("ov-meta", "ov-gemm", "ov-groups", "ov-top"):
            self.query_one(f"#{sid}", Section).show(ov)
        self.query_one("#ov-transfers", Section).show(None)
        if self.trace is not None:
            self.load_transfers(self.scope)

    @work(thread=True, exclusive=True, group="transfers")
    def load_transfers(self, scope) -> None:
        report = q.transfer_report(self.trace, scope)
        self.app.call_from_thread(self._show_transfers, scope, report)

    def _show_transfers(self, scope, report) -> None:
        if scope == self.scope:
            self.query_one("#ov-transfers", Section).show(report)


def draw_meta(ov: q.Overview, width: int) -> Text:
    t = Text()
    src = safe(ov.source, style="dim")
    name_w = max(width - len(src.plain) - 2, 16)
    t.append_text(safe(ov.file, style="bold", limit=name_w))
    t.append("  ")
    t.append_text(src)
    if ov.devices:
        t.append("\ndevice: ")
        t.append_text(safe(fmt.devices(ov.devices)))
    t.append("\nscope: ")
    t.append_text(safe(ov.scope))
    if ov.steps:
        t.append(f"   steps in trace: {len(ov.steps)}")
    t.append(f"\nspan {q.fmt_ms(ov.span_ns)}")
    if ov.gpu:
        busy = sum(d["busy_ns"] for d in ov.gpu)
        span = sum(d["span_ns"] for d in ov.gpu)
        idle = sum(d["idle_ns"] for d in ov.gpu)
        t.append(f"   GPU busy {q.fmt_ms(busy)} ({q.fmt_pct(busy / span if span else None)} of GPU span)"
                 f"   idle {q.fmt_ms(idle)}")
        if len(ov.gpu) > 1:
            t.append(f" over {len(ov.gpu)} devices")
    if len(ov.device_rows) > 1:
        t.append_text(draw_devices(ov.device_rows))
    basis = basis_label(ov.basis)
    if ov.basis == "device":
        counts = f"{fmt.count(ov.counts['kernels'], 'GPU activity', 'GPU activities')}, "
    else:
        counts = ""
    unit = "op" if ov.basis == "device" else basis_unit(ov.basis)[:-1]
    t.append(f"\nbasis: {basis}   {counts}{fmt.count(ov.counts['ops'], unit)}")
    if ov.basis == "device" and ov.total_ns:
        t.append(f"   unattributed {q.fmt_pct(ov.unattributed_ns / ov.total_ns)}")
    if ov.outside:
        t.append("\n")
        t.append_text(safe(ov.outside, style="yellow", limit=300))
    if ov.warnings:
        t.append(f"\n{len(ov.warnings)} warning(s): ", style="yellow")
        t.append_text(safe(ov.warnings[0], style="yellow", limit=200))
    return t


def draw_devices(rows: list[Device]) -> Text:
    """One line per device: its own busy time of its own span, GEMM share of its compute."""
    t = Text()
    for d in rows:
        t.append(f"\n  GPU {d.id} ")
        t.append_text(safe(d.name or "", limit=32))
        t.append(f"  {q.fmt_ms(d.total_ns)} in {d.kernels:,}, busy {q.fmt_ms(d.busy_ns)}"
                 f" of {q.fmt_ms(d.span_ns)} span, GEMM {q.fmt_pct(d.gemm_share)}")
        if d.communication_ns:
            t.append(f", comm {q.fmt_ms(d.communication_ns)}"
                     f" (exposed {q.fmt_ms(d.exposed_communication_ns)})")
    return t


def gemm_and_communication(ov: q.Overview, width: int) -> Text:
    """GEMM vs non-GEMM as shares of compute, then the collectives apart, with the part
    nothing else overlapped (total = compute + communication)."""
    if not ov.communication_ns:
        return bars.gemm_lines(ov, width)
    compute = ov.compute_ns
    share_g = ov.gemm_ns / compute if compute else 0.0
    t = Text()
    t.append("GEMM ", style=f"bold {GEMM_COLOR}")
    t.append(f"{q.fmt_ms(ov.gemm_ns)} ({q.fmt_pct(share_g)})")
    t.append("   non-GEMM ", style=f"bold {NON_GEMM_COLOR}")
    t.append(f"{q.fmt_ms(ov.non_gemm_ns)} ({q.fmt_pct(1 - share_g if compute else 0.0)})")
    t.append(f"   of compute {q.fmt_ms(compute)}\n")
    t.append_text(bars.split_bar(ov.gemm_ns, compute, width))
    t.append("\ncommunication ", style="bold")
    t.append(f"{q.fmt_ms(ov.communication_ns)} "
             f"({q.fmt_pct(ov.communication_ns / ov.total_ns if ov.total_ns else None)} of GPU time)")
    if ov.exposed_communication_ns is not None:
        t.append(f"   exposed {q.fmt_ms(ov.exposed_communication_ns)} (nothing else running)")
    return t


def draw_gemm(ov: q.Overview, width: int) -> Text:
    t = gemm_and_communication(ov, width)
    t.append("\n")
    if not ov.total_ns:
        t.append("Amdahl: no time in this window", style="dim")
    elif ov.speedup is None:
        t.append("Amdahl: all time is GEMM", style="dim")
    else:
        t.append("Amdahl: ", style="bold")
        t.append(f"with GEMM time at zero, at most {ov.speedup:.2f}× faster")
    return t


def draw_groups(ov: q.Overview, width: int, selected: str | None = None) -> Text:
    if not len(ov.groups):
        return Text("no time in this window", style="dim")
    return bars.group_lines(ov, width, selected)


def draw_top(ov: q.Overview, width: int, selected: str | None = None) -> Text:
    t = Text()
    rows = ov.top_non_gemm
    if not len(rows):
        return Text("none", style="dim")
    name_w = max(width - 13 - 12 - 8 - 2, 12)
    # an op type's instance count (ONNX nodes, TensorRT layers); kept overviews may lack it
    counts = rows["instances"].fillna(1) if "instances" in rows else [1] * len(rows)
    for i, (name, group, total, share, n) in enumerate(zip(rows["name"], rows["group"], rows["total_ns"],
                                                          rows["share"], counts)):
        if i:
            t.append("\n")
        label = safe(f"{name} ×{int(n)}" if n > 1 else name, limit=name_w, middle=True)
        label.pad_right(name_w - len(label.plain))
        if name == selected:
            label.stylize("reverse")
        t.append_text(label)
        g = safe(group, style=group_color(group), limit=13)
        g.pad_left(13 - len(g.plain))
        t.append_text(g)
        t.append(f"{q.fmt_ms(int(total)):>12} {q.fmt_pct(float(share)):>6}")
    return t


def draw_transfers(report: TransferReport, width: int) -> Text:
    t = Text()
    tr = report.transfers
    dirs = tr.by_direction
    if dirs:
        t.append("copies: ")
        t.append("   ".join(f"{d['direction']} {d['count']:,}× {q.fmt_bytes(d['bytes'])} {q.fmt_ms(d['time_ns'])}"
                            for d in dirs))
        dev = tr.device_time_ns
        t.append(f"\nhost↔device copy time {q.fmt_ms(tr.host_device_ns)}"
                 f" ({q.fmt_pct(tr.host_device_ns / dev if dev else None)} of device time)")
    else:
        t.append("no host-device copies", style="dim")
    sync = report.synchronizations
    if sync.count:
        t.append(f"\nsyncs: {sync.count:,} calls, {q.fmt_ms(sync.host_ns)} host, "
                 f"{q.fmt_ms(sync.gpu_idle_after_ns)} GPU idle after")
    fb = report.fallback
    if fb.applies:
        t.append(f"\nCPU fallback: {len(fb.nodes)} node types, {q.fmt_ms(fb.fallback_ns)}"
                 f" ({q.fmt_pct(fb.get('fallback_share'))} of run), Memcpy nodes {q.fmt_ms(fb.memcpy_ns)}")
    else:
        t.append("\nCPU fallback: not applicable (no ONNX Runtime GPU provider)", style="dim")
    return t
