"""Shown while the trace loads in a worker: file, size, a progress bar, elapsed time;
on failure the error as a message (no traceback) and how to leave."""
from __future__ import annotations

import os

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

from tracekit.report import fmt
from tui import keys
from tui.widgets.text import safe


class LoadingScreen(Screen):
    BINDINGS = keys.bindings("loading")

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Middle(), Center(), Vertical(id="loading"):
            yield Static(self._title(), id="loading-title")
            yield ProgressBar(total=None, show_eta=False, id="loading-bar")
            yield Static(Text("reading…", style="dim"), id="loading-stage")

    def _title(self) -> Text:
        t = Text("tracekit  ", style="bold")
        t.append_text(safe(os.path.basename(self.path) or self.path))
        try:
            t.append(f"  ({fmt.size(os.path.getsize(self.path))})", style="dim")
        except OSError:
            pass
        return t

    def stage(self, text: str, done: float | None = None, total: float | None = None) -> None:
        if not self.is_mounted:
            return
        self.query_one("#loading-stage", Static).update(Text(text, style="dim"))
        bar = self.query_one("#loading-bar", ProgressBar)
        if total:
            bar.update(total=total, progress=done or 0)

    def fail(self, message: str) -> None:
        self.query_one("#loading-bar", ProgressBar).display = False
        t = Text("Could not open the trace\n\n", style="bold red")
        t.append_text(safe(message))
        t.append("\n\npress q to quit", style="dim")
        self.query_one("#loading-stage", Static).update(t)
