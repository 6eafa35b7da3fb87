"""Names from traces are untrusted: make them safe to print on a terminal.

Control characters (C0, C1, DEL) and bidirectional overrides are shown as visible escapes
(``\\x1b``), so an escape sequence in a kernel name can neither move the cursor nor
recolour the screen. Callers wrap the result in ``rich.text.Text`` so that square
brackets are never read as rich markup.
"""
from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text, limit: int | None = None) -> str:
    s = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                    else f"\\u{ord(m.group()):04x}", str(text))
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 1)] + "…"
    return s
