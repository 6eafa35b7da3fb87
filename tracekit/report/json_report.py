"""Machine-readable output: the summary dicts as JSON on stdout."""
from __future__ import annotations

import sys

import orjson


def render(result, out=None) -> None:
    out = out or sys.stdout
    out.write(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
                           default=str).decode())
    out.write("\n")
