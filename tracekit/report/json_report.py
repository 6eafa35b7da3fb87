"""Machine-readable output: results as JSON on stdout, keyed by their field names."""
from __future__ import annotations

import sys

import orjson

from tracekit.analysis.results import to_builtins
from tracekit.safe_text import json_text


def render(result, console=None) -> None:
    """``result``: a typed result, or dicts and lists holding them. ``console``: a rich
    Console or a text stream (default stdout)."""
    out = getattr(console, "file", console) or sys.stdout
    text = orjson.dumps(to_builtins(result), option=orjson.OPT_INDENT_2).decode()
    out.write(json_text(text))  # names from traces: no raw control or bidi characters
    out.write("\n")
