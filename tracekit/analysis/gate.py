"""The regression gate of ``tracekit compare --fail-if``: limits on how much a group's time
may grow from the first compared trace to the last.

A limit is ``NAME:+X%`` (relative growth of its time), ``NAME:+Xpt`` (growth of its share
of the side's total, in percentage points) or ``NAME:+Xms`` (absolute growth; ``us``,
``ns`` and ``s`` too). NAME is a taxonomy group (any case), ``GEMM`` (all GEMM-based time,
the summary's split; ``group:GEMM`` is the GEMM group alone), ``non-GEMM`` or ``total``.
"""
from __future__ import annotations

import re

from msgspec import Struct

from tracekit.analysis.compare import BASIS_FAMILY
from tracekit.analysis.compare_results import Comparison, Side
from tracekit.model import TracekitError

UNITS = {"%": None, "pt": None, "ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_LIMIT = re.compile(r"^(?P<name>.+?):\s*\+?(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>%|pt|ns|us|µs|ms|s)$")
SPLIT = {"gemm": "gemm_ns", "gemm-based": "gemm_ns", "non-gemm": "non_gemm_ns",
         "nongemm": "non_gemm_ns", "total": "total_ns"}


class GateError(TracekitError):
    """A --fail-if limit that cannot be read or checked (exit code 2)."""


class Limit(Struct, kw_only=True):
    text: str
    name: str
    value: float
    unit: str  # "%", "pt" or "ns" (times are held in ns)


class Check(Struct, kw_only=True):
    """One limit against the first and last side: ``growth`` in the limit's unit."""

    limit: str
    name: str
    first_ns: int
    last_ns: int
    first_share: float | None
    last_share: float | None
    growth: float | None  # % / points / ns; None: growth from nothing (infinite)
    exceeded: bool
    line: str


def parse_limit(text: str) -> Limit:
    m = _LIMIT.match(text.strip())
    if not m:
        raise GateError(f"--fail-if {text!r}: expected NAME:+X% , NAME:+Xpt or NAME:+Xms "
                        "(e.g. non-GEMM:+5%, Normalization:+0.5ms)")
    unit = m.group("unit")
    value = float(m.group("value"))
    if unit not in ("%", "pt"):
        value, unit = value * (UNITS[unit] or 1), "ns"
    return Limit(text=text.strip(), name=m.group("name").strip(), value=value, unit=unit)


def check(comparison: Comparison, limits: list[Limit]) -> list[Check]:
    """Each limit checked from the first side to the last."""
    first, last = comparison.sides[0], comparison.sides[-1]
    families = {BASIS_FAMILY.get(s.time_basis, s.time_basis) for s in (first, last)}
    out = []
    for limit in limits:
        if limit.unit != "pt" and len(families) > 1:
            raise GateError(f"--fail-if {limit.text}: {first.label} and {last.label} have different "
                            f"time bases ({' vs '.join(sorted(families))}); use a share limit (+Xpt)")
        a, b = _time(first, limit, comparison), _time(last, limit, comparison)
        out.append(_check(limit, a, b, first, last))
    return out


def _time(side: Side, limit: Limit, comparison: Comparison) -> int:
    name = limit.name
    if name.lower() in SPLIT:
        return int(getattr(side, SPLIT[name.lower()]))
    group = name[len("group:"):] if name.lower().startswith("group:") else name
    known = {g.lower(): g for s in comparison.sides for g in s.groups}
    if group.lower() not in known:
        raise GateError(f"--fail-if {limit.text}: no group {group!r} in these traces "
                        f"(groups: {', '.join(sorted(set(known.values())))}; or GEMM, non-GEMM, total)")
    return int(side.groups.get(known[group.lower()], 0))


def _check(limit: Limit, a: int, b: int, first: Side, last: Side) -> Check:
    sa = a / first.total_ns if first.total_ns else None
    sb = b / last.total_ns if last.total_ns else None
    growth: float | None
    if limit.unit == "%":
        growth = (b - a) / a * 100 if a else (None if b else 0.0)
        shown = "from nothing" if growth is None else f"{growth:+.1f}%"
    elif limit.unit == "pt":
        growth = ((sb or 0.0) - (sa or 0.0)) * 100
        shown = f"{growth:+.2f}pt"
    else:
        growth = float(b - a)
        shown = f"{growth / 1e6:+.3f} ms"
    exceeded = growth is None or growth > limit.value
    line = (f"{limit.name}: {shown} ({_ms(a)} -> {_ms(b)}, share {_pct(sa)} -> {_pct(sb)}) "
            f"{'exceeds' if exceeded else 'within'} +{_limit_text(limit)}")
    return Check(limit=limit.text, name=limit.name, first_ns=a, last_ns=b, first_share=sa,
                 last_share=sb, growth=growth, exceeded=exceeded, line=line)


def _limit_text(limit: Limit) -> str:
    if limit.unit == "ns":
        return f"{limit.value / 1e6:g} ms"
    return f"{limit.value:g}{limit.unit}"


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.3f} ms"


def _pct(x: float | None) -> str:
    return f"{100 * x:.2f}%" if x is not None else "-"
