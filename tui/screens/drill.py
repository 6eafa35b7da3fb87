"""Drill-down into one row: its calls, kernels, module paths and shapes. Escape goes back."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui import keys
from tui import queries as q
from tui.screens.shown import while_shown
from tui.widgets.header import Header
from tui.widgets.table import VimTable, fill
from tui.widgets.text import safe


class DrillScreen(Screen):
    BINDINGS = keys.bindings("drill")

    def __init__(self, drill: q.Drill) -> None:
        super().__init__()
        self.drill = drill

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="drill-body"):
            title = Text("Drill-down  ", style="bold")
            title.append_text(safe(self.drill.title, style="bold"))
            for line in self.drill.lines:
                title.append("\n")
                title.append_text(safe(line))
            yield Static(title, id="drill-title")
            for i, (name, frame) in enumerate(self.drill.tables):
                yield Static(safe(f"{name} ({len(frame):,})"), classes="section-title")
                yield VimTable(id=f"drill-table-{i}", classes="drill-table")
        yield Footer()

    @while_shown
    def on_mount(self) -> None:
        self.sub_title = "escape: back"
        for i, (_, frame) in enumerate(self.drill.tables):
            fill(self.query_one(f"#drill-table-{i}", VimTable), frame)
