"""Messages that flow up from screens and workers to the app ("attributes down,
messages up")."""
from __future__ import annotations

from textual.message import Message


class TraceLoaded(Message):
    def __init__(self, trace, overview) -> None:
        super().__init__()
        self.trace = trace
        self.overview = overview


class OverviewPreview(Message):
    """The first screen's numbers kept from an earlier session, shown while the trace loads."""

    def __init__(self, overview) -> None:
        super().__init__()
        self.overview = overview


class LoadFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SpanSelected(Message):
    """The timeline picked a time span [lo, hi) in absolute ns (None clears it)."""

    def __init__(self, span) -> None:
        super().__init__()
        self.span = span


class Compared(Message):
    """The compare screen's tables, computed in a worker over the loaded traces."""

    def __init__(self, groups, ops) -> None:
        super().__init__()
        self.groups = groups
        self.ops = ops
