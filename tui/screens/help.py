"""`?`: every key, from tui.keys."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui import keys


class HelpScreen(ModalScreen):
    BINDINGS = keys.bindings("help")

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        for where, shown, what in keys.KEYS:
            table.add_row(where, shown, what)
        self.table = table
        with VerticalScroll(id="help"):
            yield Static("Keys  (escape or ? closes)", classes="dialog-title")
            yield Static(table)
