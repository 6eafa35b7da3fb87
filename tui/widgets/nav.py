"""The strip of screen names at the top; the current one is highlighted."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

SCREENS = [("overview", "1 Overview"), ("operators", "2 Operators"), ("kernels", "3 Kernels"),
           ("transfers", "4 Transfers"), ("timeline", "5 Timeline")]


class NavBar(Static):
    def __init__(self, current: str, scope_text: str = "", **kw) -> None:
        super().__init__(**kw)
        self.current = current
        self.scope_text = scope_text

    def set_scope_text(self, text: str) -> None:
        self.scope_text = text
        self.update(self._render_text())

    def on_mount(self) -> None:
        self.update(self._render_text())

    def _render_text(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        for mode, label in SCREENS:
            style = "bold reverse" if mode == self.current else "dim"
            t.append(f" {label} ", style=style)
        return t
