"""Errors and warnings about user input (a bad file is not a bug in tracekit)."""
from __future__ import annotations


class TraceError(Exception):
    """A file that cannot be read as a trace. ``str()`` is one line naming the file."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class TraceWarning(UserWarning):
    """Something in a trace was read with a caveat (e.g. a truncated file)."""
