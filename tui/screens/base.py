"""What every trace screen shares: header, navigation strip, footer, and reloading its
data when the app's scope (step / range / span) changed while it was hidden."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from tui import queries as q
from tui.widgets.header import Header
from tui.widgets.nav import NavBar


class TraceScreen(Screen):
    MODE = ""

    def __init__(self, trace, scope: q.Scope) -> None:
        super().__init__()
        self.trace = trace
        self.scope = scope

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.MODE, id="nav")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        return iter(())

    def on_mount(self) -> None:
        self.reload()

    def set_scope(self, scope: q.Scope) -> None:
        """Attributes down: the app hands the new scope to the visible screen; hidden
        screens pick it up when they are shown again."""
        if scope != self.scope:
            self.scope = scope
            self.reload()

    def on_screen_resume(self) -> None:
        self.set_scope(self.app.scope)

    def reload(self) -> None:
        """Recompute and redraw for ``self.scope``."""
