"""A guard for the handlers of screens that are pushed and popped (drill-down, dialogs)."""
from __future__ import annotations

import functools


def while_shown(handler):
    """Run a screen's handler only while the screen is shown.

    A screen closed while it was still mounting (enter then escape in one burst of keys)
    has its widgets removed before its own mount handler runs: there is nothing to fill."""

    @functools.wraps(handler)
    def run(screen, *args, **kwargs):
        if screen.is_current:
            return handler(screen, *args, **kwargs)
        return None

    return run
