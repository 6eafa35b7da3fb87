"""Bounds on event times, shared by every parser.

A hostile or broken file can hold any number: ``dur: 1e16`` (past int64 once in ns), a
``ts`` of null or text, a negative duration, one event at 0 among epoch timestamps, or
thousands of multi-day events whose sum wraps int64. Each parser passes its raw time
columns through :func:`event_times` (or :func:`start_end_times`) before it uses them:
out-of-range events are set aside (``ok`` is False), and :func:`warn` says once per kind
how many, so no later step sees a negative time, a wrapped sum or a span too long to index.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tracekit.model.errors import TraceWarning
from tracekit.model.trace import Trace

DAY_NS = 86_400 * 10**9
MAX_DUR_NS = 2 * DAY_NS  # no profile is longer; anything longer is a broken value
MAX_DISTANCE_NS = 2 * DAY_NS  # from the median start: one event at 0 among epoch times
MAX_ABS_TS_NS = 2**62  # |ts| + dur stays far inside int64
MAX_SUM_NS = 2**60  # per table: group sums (and sums over a few traces) cannot wrap

# reason codes, in the order warnings are given
OK, NO_TS, TS_RANGE, FAR, NO_DUR, NEG_DUR, DUR_RANGE, END_BEFORE_START, SUM_RANGE = range(9)
MESSAGES = {
    NO_TS: "{n} {events} {have} no numeric ts (null, text or missing); set aside",
    TS_RANGE: "{n} {events} {have} a ts out of range; set aside",
    FAR: "{n} {events} {lie} over 2 days from the rest of the trace (a stray timestamp); set aside",
    NO_DUR: "{n} {events} {have} a duration that is not a number; set aside",
    NEG_DUR: "{n} {events} {have} a negative duration; set aside",
    DUR_RANGE: "{n} {events} {have} a duration over 2 days (out of range); set aside",
    END_BEFORE_START: "{n} {events} {end} before {they} start; set aside",
    SUM_RANGE: "{n} {events} {have} durations whose sum is out of range; the longest set aside",
}


@dataclass
class Times:
    ts_ns: np.ndarray  # int64; 0 where not ok
    dur_ns: np.ndarray  # int64, >= 0; 0 where not ok
    reason: np.ndarray  # int8 reason code per event (OK = 0)
    counts: dict = field(default_factory=dict)  # reason -> events set aside among ``counted``

    @property
    def ok(self) -> np.ndarray:
        return self.reason == OK


def event_times(ts: npt.ArrayLike, dur: npt.ArrayLike, *, scale: int = 1, base: int = 0,
                counted: npt.ArrayLike | None = None, exact_us: bool = False) -> Times:
    """int64 ns start and duration from raw columns (float or int, in units of ``scale``
    ns; NaN = missing), with the reason each out-of-range event is set aside.

    ``counted`` (bool mask) marks the events the parser will use: only they are counted
    in warnings and decide the trace's median start. ``exact_us`` converts float µs
    without float64 rounding of epoch-scale timestamps."""
    ts = np.asarray(ts)
    dur = np.asarray(dur)
    n = len(ts)
    counted = np.ones(n, bool) if counted is None else np.asarray(counted, bool)
    with np.errstate(all="ignore"):
        tsf = ts.astype(np.float64) * scale + float(base)
        durf = dur.astype(np.float64) * scale
    reason = np.zeros(n, np.int8)
    _mark(reason, np.isnan(tsf), NO_TS)
    _mark(reason, ~(np.abs(tsf) < MAX_ABS_TS_NS), TS_RANGE)
    _mark(reason, np.isnan(durf), NO_DUR)
    _mark(reason, durf < 0, NEG_DUR)
    _mark(reason, ~(durf <= MAX_DUR_NS), DUR_RANGE)
    good = reason == OK
    if exact_us and scale == 1000:
        ts_ns = _us_to_ns(np.where(good, ts, 0.0)) + np.int64(base)
    else:
        ts_ns = np.where(good, tsf, 0).astype(np.int64) if ts.dtype.kind == "f" else \
            np.where(good, ts.astype(np.int64) * scale + base, 0)
    dur_ns = np.where(good, np.rint(np.where(good, durf, 0.0)), 0).astype(np.int64) \
        if dur.dtype.kind == "f" else np.where(good, dur.astype(np.int64) * scale, 0)
    return _finish(ts_ns, dur_ns, reason, counted)


def start_end_times(start: npt.ArrayLike, end: npt.ArrayLike, *,
                    counted: npt.ArrayLike | None = None,
                    numeric: npt.ArrayLike | None = None) -> Times:
    """Like :func:`event_times`, from int64 ns start and end columns (Nsight Systems):
    no subtraction is done on values that could overflow, so numpy warns about nothing.
    ``numeric``: False where the file held no number (NULL or text) in either column."""
    start = np.asarray(start, np.int64)
    end = np.asarray(end, np.int64)
    n = len(start)
    counted = np.ones(n, bool) if counted is None else np.asarray(counted, bool)
    reason = np.zeros(n, np.int8)
    if numeric is not None:
        _mark(reason, ~np.asarray(numeric, bool), NO_TS)
    in_range = (np.abs(np.maximum(start, -MAX_ABS_TS_NS)) < MAX_ABS_TS_NS)
    end_in_range = (np.abs(np.maximum(end, -MAX_ABS_TS_NS)) < MAX_ABS_TS_NS)
    _mark(reason, ~in_range | ~end_in_range, TS_RANGE)
    s = np.where(reason == OK, start, 0)
    e = np.where(reason == OK, end, 0)
    dur = e - s  # both inside +-2**62: cannot overflow
    _mark(reason, dur < 0, END_BEFORE_START)
    _mark(reason, dur > MAX_DUR_NS, DUR_RANGE)
    good = reason == OK
    return _finish(np.where(good, s, 0), np.where(good, dur, 0), reason, counted)


def _mark(reason: np.ndarray, bad: np.ndarray, code: int) -> None:
    reason[bad & (reason == OK)] = code


def _finish(ts_ns: npt.ArrayLike, dur_ns: npt.ArrayLike, reason: np.ndarray, counted: np.ndarray) -> Times:
    ts_ns = np.asarray(ts_ns, np.int64)
    dur_ns = np.asarray(dur_ns, np.int64)
    used = counted & (reason == OK)
    if used.any():
        median = int(np.median(ts_ns[used]))
        far = used & (np.abs(ts_ns - median) > MAX_DISTANCE_NS)
        reason[far] = FAR
        used &= ~far
    total = float(dur_ns[used].sum(dtype=np.float64))
    if total > MAX_SUM_NS:
        idx = np.flatnonzero(used)
        order = idx[np.argsort(-dur_ns[idx], kind="stable")]
        remaining = total - np.cumsum(dur_ns[order].astype(np.float64))
        k = int(np.argmax(remaining <= MAX_SUM_NS)) + 1
        reason[order[:k]] = SUM_RANGE
    bad = reason != OK
    ts_ns = np.where(bad, 0, ts_ns)
    dur_ns = np.where(bad, 0, dur_ns)
    codes, numbers = np.unique(reason[counted & bad], return_counts=True)
    return Times(ts_ns, dur_ns, reason, {int(c): int(k) for c, k in zip(codes, numbers)})


def _us_to_ns(us: np.ndarray) -> np.ndarray:
    """Float µs to int64 ns keeping the sub-µs digits of epoch-scale times exact."""
    whole = np.floor(us)
    return whole.astype(np.int64) * 1000 + np.rint((us - whole) * 1000).astype(np.int64)


def messages(path: str, counts: dict) -> list[str]:
    """One line per kind of set-aside event, counting them."""
    out = []
    for code in sorted(counts):
        n = counts[code]
        if not n or code not in MESSAGES:
            continue
        one = n == 1
        out.append(f"{path}: " + MESSAGES[code].format(
            n=n, events="event" if one else "events", have="has" if one else "have",
            lie="lies" if one else "lie", end="ends" if one else "end", they="it" if one else "they"))
    return out


def count(path: str, what: str, n: int, action: str) -> str | None:
    """A warning for ``n`` values of one kind read with a caveat (None when n == 0)."""
    if not n:
        return None
    return f"{path}: {n} {what}; {action}"


def warn(path: str, counts: dict, stacklevel: int = 3) -> None:
    for message in messages(path, counts):
        warnings.warn(TraceWarning(message), stacklevel=stacklevel)


def warn_count(path: str, what: str, n: int, action: str, stacklevel: int = 3) -> None:
    message = count(path, what, n, action)
    if message:
        warnings.warn(TraceWarning(message), stacklevel=stacklevel)


# references between tables: (table, column) -> the table whose row it names
REFERENCES = {("ops", "parent"): "ops", ("ops", "range"): "ranges", ("kernels", "op"): "ops",
              ("kernels", "launch"): "launches", ("launches", "op"): "ops",
              ("ranges", "parent"): "ranges"}


def validate(trace: Trace, path: str) -> None:
    """Safety net behind every parser: rows of any table whose times are out of range
    (see :func:`event_times`) are set aside, with one warning per kind, and references
    to them (a kernel's op, an op's parent) become -1. A no-op on sound traces."""
    tables = trace.tables()
    kept: dict[str, np.ndarray] = {}
    counts: dict[int, int] = {}
    for name, table in tables.items():
        if not len(table):
            continue
        times = event_times(table["ts_ns"].to_numpy(), table["dur_ns"].to_numpy())
        if times.counts:
            kept[name] = times.ok
            for code, n in times.counts.items():
                counts[code] = counts.get(code, 0) + n
    if not kept:
        return
    warn(path, counts)
    new_row = {}
    for name, table in tables.items():
        ok = kept.get(name, np.ones(len(table), bool))
        new_row[name] = np.where(ok, np.cumsum(ok) - 1, -1)
    for name, table in tables.items():
        keep = kept.get(name)
        table = table[keep].reset_index(drop=True) if keep is not None else table.copy()
        for (owner, column), target in REFERENCES.items():
            if owner == name and column in table:
                ref = table[column].to_numpy()
                rows = new_row[target]
                valid = (ref >= 0) & (ref < len(rows))
                table[column] = np.where(valid, rows[np.clip(ref, 0, len(rows) - 1)], -1) \
                    if len(rows) else np.full(len(ref), -1, np.int64)
        table["id"] = np.arange(len(table), dtype=np.int64)
        setattr(trace, name, table)
