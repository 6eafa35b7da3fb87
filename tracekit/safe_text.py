"""Names from traces are untrusted: make them safe to print on a terminal.

Control characters (C0, C1, DEL) and bidirectional overrides are shown as visible escapes
(``\\x1b``), so an escape sequence in a kernel name can neither move the cursor nor
recolour the screen. Callers wrap the result in ``rich.text.Text`` so that square
brackets are never read as rich markup. :func:`json_text` does the same for JSON output,
with JSON's own ``\\uXXXX`` escapes, so the decoded strings keep their exact value.
"""
from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text, limit: int | None = None, middle: bool = False) -> str:
    """``text`` safe to print, at most ``limit`` characters: cut at the end, or with
    ``middle`` in the middle, keeping both ends (a kernel's namespace and its arguments, a
    module path's root and its leaf)."""
    s = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                    else f"\\u{ord(m.group()):04x}", str(text))
    if limit is not None and len(s) > limit:
        s = middle_cut(s, limit) if middle else s[: max(limit - 1, 1)] + "…"
    return s


def middle_cut(s: str, limit: int) -> str:
    """``s`` cut to ``limit`` characters by an ellipsis in the middle; the end keeps the
    larger half, since that is where names differ (``...layers.11.mlp``)."""
    if len(s) <= limit:
        return s
    if limit < 3:
        return s[:max(limit - 1, 0)] + "…"
    tail = (limit - 1) // 2 + (limit - 1) % 2
    head = limit - 1 - tail
    return s[:head] + "…" + s[len(s) - tail:]


# C0 is left out: JSON encoders escape it inside strings, and newlines outside are layout
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_text(text: str) -> str:
    """JSON text with every unsafe character (C1 controls, DEL, bidi overrides; JSON
    encoders already escape C0) written as a ``\\uXXXX`` escape. Outside strings JSON
    holds only ASCII syntax, so the replacement touches string contents only."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def distinct_cuts(names: list[str], limit: int) -> list[str]:
    """Each name cut in the middle to ``limit`` characters; where two different names
    would read the same, their cut also keeps the part where they first differ
    (``sm90_xmma…tilesize128x256…5x_cublas``), so that rows stay apart."""
    cuts = [middle_cut(n, limit) for n in names]
    seen: dict[str, list[int]] = {}
    for i, c in enumerate(cuts):
        seen.setdefault(c, []).append(i)
    for same in seen.values():
        group = [names[i] for i in same]
        if len(set(group)) < 2 or limit < 12:
            continue
        first = min(next((k for k, (a, b) in enumerate(zip(x, y)) if a != b), min(len(x), len(y)))
                    for x, y in zip(group, group[1:]))
        for i in same:
            cuts[i] = _around(names[i], limit, first)
    return cuts


def _around(s: str, limit: int, at: int) -> str:
    """``s`` in ``limit`` characters: its head, the part from just before ``at``, its tail."""
    if len(s) <= limit:
        return s
    head = tail = max((limit - 2) // 4, 1)
    span = limit - 2 - head - tail
    lo = min(max(at - span // 3, head), len(s) - tail - span)
    parts = [s[:head]]
    parts.append(("…" if lo > head else "") + s[lo:lo + span])
    rest = len(s) - tail
    parts.append(("…" if lo + span < rest else "") + s[rest:])
    out = "".join(parts)
    return out if len(out) <= limit else middle_cut(s, limit)
