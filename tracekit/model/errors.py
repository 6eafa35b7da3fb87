"""Errors and warnings about user input (a bad file is not a bug in tracekit).

Every error the user can cause derives from :class:`TracekitError`: the CLI prints it as
one line and exits with its ``exit_code``, the TUI shows it as a one-line notice, and
anything else (a bug) keeps its traceback. It lives in the model, the bottom layer, so
that parsers, analyses, exports and collectors all raise under the one root.
"""
from __future__ import annotations

import os


class TracekitError(Exception):
    """A problem with what the user gave (file, option, environment), not a bug.
    ``str()`` is one line that says what is wrong."""

    exit_code: int = 2  # the CLI's usage-error code, as argparse uses


class TraceError(TracekitError):
    """A file that cannot be read as a trace. ``str()`` is one line naming the file."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class TraceWarning(UserWarning):
    """Something in a trace was read with a caveat (e.g. a truncated file)."""
