"""`?`: every key, from tui.keys."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import KEYS


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        for where, keys, what in KEYS:
            table.add_row(where, keys, what)
        self.table = table
        with VerticalScroll(id="help"):
            yield Static("Keys  (escape or ? closes)", classes="dialog-title")
            yield Static(table)
