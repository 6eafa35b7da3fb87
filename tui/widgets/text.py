"""Trace-derived strings become plain rich Text: cleaned of control characters and
never parsed as markup: names in a trace are untrusted."""
from __future__ import annotations

from rich.text import Text

from tracekit.safe_text import clean


def safe(s, style: str = "", limit: int | None = None, middle: bool = False) -> Text:
    """``middle``: cut a long name in the middle, keeping both ends."""
    return Text(clean(s, limit=limit, middle=middle), style=style, no_wrap=True, overflow="ellipsis")


def num(s: str, style: str = "") -> Text:
    return Text(s, style=style, justify="right", no_wrap=True)
