"""Machine-readable output: the summary dicts as JSON on stdout."""
from __future__ import annotations

import sys

import orjson

from tracekit.safe_text import json_text


def render(result, out=None) -> None:
    out = out or sys.stdout
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
                        default=str).decode()
    out.write(json_text(text))  # names from traces: no raw control or bidi characters
    out.write("\n")
