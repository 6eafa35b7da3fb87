"""Compare: the group table of 2..N traces side by side, a bar per side; Enter on a group
shows its operators matched across the sides, escape goes back; ``a`` switches between
absolute times and shares of each side's total."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tracekit.analysis.compare_results import CompareRow, Comparison
from tracekit.report.compare_text import as_shares
from tracekit.safe_text import clean
from tui import keys
from tui import queries as q
from tui.widgets.bars import block_bar
from tui.widgets.colors import group_color
from tui.widgets.header import Header
from tui.widgets.table import VimTable
from tui.widgets.text import num, safe

BAR = 10


class CompareScreen(Screen):
    BINDINGS = keys.bindings("compare")
    AUTO_FOCUS = "#cmp-table"

    def __init__(self, groups: Comparison, ops: Comparison) -> None:
        super().__init__()
        self.groups = groups
        self.ops = ops
        # times on different bases (device, TensorRT layers, CPU) compare only as shares
        self.shares = as_shares(groups)
        self.group: str | None = None  # the group drilled into
        self.rows: list[CompareRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="cmp-info")
        yield VimTable(id="cmp-table")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = clean(" vs ".join(s.label for s in self.groups.sides), limit=100)
        self.redraw()

    # data -----------------------------------------------------------------------
    def shown_rows(self) -> list[CompareRow]:
        if self.group is None:
            return list(self.groups.rows)
        return [r for r in self.ops.rows if r.group == self.group]

    def value(self, row: CompareRow, i: int) -> float:
        side = self.groups.sides[i]
        if self.shares:
            return row.ns[i] / side.total_ns if side.total_ns else 0.0
        return float(row.ns[i])

    # drawing --------------------------------------------------------------------
    def redraw(self) -> None:
        self.rows = self.shown_rows()
        table = self.query_one("#cmp-table", VimTable)
        table.clear(columns=True)
        sides = self.groups.sides
        table.add_column("group" if self.group is None else "operator", key="key")
        for i, s in enumerate(sides):
            table.add_column(safe(s.label, limit=24), key=f"side{i}")
        table.add_column("delta", key="delta")
        table.add_column("ratio", key="ratio")
        fused = self.group is not None and any(any(r.fused) for r in self.rows)
        if fused:  # which sides ran the row as fused layers (the key names the kinds)
            table.add_column("fused layers", key="fused")
        top = max((self.value(r, i) for r in self.rows for i in range(len(sides))), default=0.0)
        for row in self.rows:
            color = group_color(row.group)
            cells = [safe(row.name, style=color if self.group is None else "", limit=40)]
            for i in range(len(sides)):
                cells.append(self.cell(row, i, top, color))
            cells += [self.delta(row), self.ratio(row)]
            if fused:
                cells.append(safe(", ".join(f"{s.label} {f.split(' fused', 1)[0]}"
                                            for s, f in zip(sides, row.fused) if f), style="dim", limit=40))
            table.add_row(*cells)
        self.query_one("#cmp-info", Static).update(self.info())

    def cell(self, row: CompareRow, i: int, top: float, color: str) -> Text:
        if not row.present[i]:
            return num("—", style="dim")
        v = self.value(row, i)
        t = Text(no_wrap=True)
        t.append(block_bar(v / top if top else 0.0, BAR), style=color)
        t.append(" " + (q.fmt_pct(v) if self.shares else q.fmt_duration(int(v))).rjust(9))
        return t

    def delta(self, row: CompareRow) -> Text:
        a, b = self.value(row, 0), self.value(row, -1)
        d = b - a
        style = "red" if d > 0 else "green" if d < 0 else ""
        if self.shares:
            return num(f"{d * 100:+.1f}pt", style=style)
        return num(("+" if d > 0 else "-" if d < 0 else "") + q.fmt_duration(int(abs(d))), style=style)

    def ratio(self, row: CompareRow) -> Text:
        a, b = self.value(row, 0), self.value(row, -1)
        if not a or not b:
            return num("new" if b else "gone" if a else "-", style="dim")
        return num(f"{b / a:.2f}×")

    def info(self) -> Text:
        t = Text()
        for i, s in enumerate(self.groups.sides):
            if i:
                t.append("\n")
            t.append_text(safe(s.label, style="bold", limit=40))
            compute = s.compute_ns
            gemm = s.gemm_ns / compute if compute else None
            matched = (self.ops if self.group is not None else self.groups).sides[i].matched_share
            t.append(f"  {s.source} · {s.time_basis} · {q.fmt_duration(s.total_ns)} · GEMM-based "
                     f"{q.fmt_pct(gemm) if gemm is not None else '-'} · matched "
                     f"{q.fmt_pct(matched) if matched is not None else '-'}", style="dim")
        for reason in self.groups.comparable.reasons:
            t.append("\n")
            t.append_text(safe(reason, style="green" if self.groups.comparable.identical else "yellow"))
        t.append("\nshowing ")
        t.append("shares of each side's total" if self.shares else "absolute times", style="bold")
        if self.group is not None:
            t.append(" · operators of ")
            t.append_text(safe(self.group, style="bold"))
            t.append(f" ({len(self.rows)}; matched by {self.ops.match})", style="dim")
        else:
            t.append(" · enter: the operators of a group", style="dim")
        return t

    # actions --------------------------------------------------------------------
    def action_toggle_share(self) -> None:
        self.shares = not self.shares
        self.redraw()

    def action_back(self) -> None:
        if self.group is not None:
            self.group = None
            self.redraw()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.group is None and 0 <= event.cursor_row < len(self.rows):
            self.group = self.rows[event.cursor_row].key
            self.redraw()
