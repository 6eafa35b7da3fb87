"""`e`: ask for a file name, then export the current selection to Perfetto."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui import keys


class ExportScreen(ModalScreen):
    """Dismisses with the path typed, or None."""

    BINDINGS = keys.bindings("export")

    def __init__(self, default_path: str, what: str) -> None:
        super().__init__()
        self.default_path = default_path
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="export"):
            yield Static(f"Export {self.what} to Perfetto (enter: write, escape: cancel)",
                         classes="dialog-title", markup=False)
            yield Input(value=self.default_path, id="export-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
