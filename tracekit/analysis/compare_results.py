"""The typed result of ``tracekit compare`` (:mod:`tracekit.analysis.compare`): field names
are the JSON keys, as for the other results."""
from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from tracekit.analysis.results import Record


class Side(Record):
    """One compared trace: what it is and how its time splits. ``total_ns`` is its
    summary total in the same window; ``matched_ns`` the part of it in rows that every
    side has."""

    label: str
    path: Any
    source: Any
    time_basis: str
    window: str
    steps: list[int]
    total_ns: int
    compute_ns: int
    gemm_ns: int
    non_gemm_ns: int
    communication_ns: int
    matched_ns: int
    matched_share: float | None
    units: int  # GPU activities on a device basis, else ops (layers, nodes)
    ops: int
    groups: dict[str, int]  # time per taxonomy group, as the summary's (whatever ``by`` is)
    group_counts: dict[str, int]  # units per group


class CompareRow(Record):
    """One matched key: time on each side (0 where a side has none), in side order."""

    key: str
    group: str
    ns: list[int]
    count: list[int]  # units (activities or ops) behind the time, per side
    present: list[bool]
    matched: bool  # every side has it
    names: list[str]  # per side, the name that holds most of the row's time ("" if none)
    fused: list[str]  # per side, fused layers in this row, e.g. "12 fused layers (Conv + Relu)"


class Comparable(Record):
    """Whether the sides measure comparable things; ``reasons`` say why not (and
    "identical" when every side holds the same events)."""

    ok: bool
    reasons: list[str]
    identical: bool = False


class Comparison(Record):
    """``tracekit compare``: rows matched at one level (``by``) across 2..N traces."""

    by: str
    match: str  # how keys were made at this level, in words
    sides: list[Side]
    rows: list[CompareRow]
    comparable: Comparable
    study: dict | UnsetType = UNSET  # the study's tables where they apply (compare_study)
    notes: list[str] = []
