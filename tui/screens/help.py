"""`?`: every key, from tui.keys."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui import keys
from tui.screens.shown import while_shown


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
        with Vertical(id="help-dialog"):
            yield Static("Keys  (escape or ? closes; ↑ ↓ pgup pgdn scroll)", classes="dialog-title")
            with VerticalScroll(id="help"):
                yield Static(table)
            yield Static("", id="help-more")

    @while_shown
    def on_mount(self) -> None:
        body = self.query_one("#help", VerticalScroll)
        body.focus()
        self.watch(body, "scroll_y", lambda _: self._hint(), init=False)
        self.call_after_refresh(self._hint)

    def on_resize(self) -> None:
        self.call_after_refresh(self._hint)

    @while_shown
    def _hint(self) -> None:
        """Say that more keys lie below while the list does not fit (at 80x24 it does not)."""
        body = self.query_one("#help", VerticalScroll)
        more = body.max_scroll_y > 0 and round(body.scroll_y) < body.max_scroll_y
        self.query_one("#help-more", Static).update("↓ more keys below" if more else "")
