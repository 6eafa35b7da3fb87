"""Timeline: lanes per GPU stream and op thread; enter filters every screen to a span."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tracekit.safe_text import clean
from tui import queries as q
from tui.screens.base import TraceScreen
from tui.widgets.timeline import TimelineView


class TimelineScreen(TraceScreen):
    MODE = "timeline"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="timeline-body"):
            yield TimelineView(q.TimelineData(lo=0, hi=1, t0=0, groups=[], lanes=[]), id="timeline")

    def _timeline_scope(self):
        # the timeline shows the step/range; a picked span is shown by zooming, not cut
        return self.scope.with_span(None)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(TimelineView).focus()

    def reload(self) -> None:
        view = self.query_one(TimelineView)
        view.set_data(q.timeline(self.trace, self._timeline_scope()))
        if self.scope.span is not None:
            view.view_lo, view.view_hi = self.scope.span
        self.sub_title = clean(q.describe(self.trace, self.scope, q.window(self.trace, self.scope)))
