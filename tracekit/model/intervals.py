"""Vectorized interval nesting: who encloses whom, per thread, without a per-event loop.

Events on one thread (ops, annotations, NVTX ranges) nest like a call stack. Rather than
replaying the stack event by event, intervals are sorted once by (start, -end); the depth
of each interval is then "intervals started before it minus intervals ended before it",
and at one depth the intervals of a thread are disjoint and sorted, so each depth is a
sorted array that ``numpy.searchsorted`` can query. A query walks the depths from the
deepest up (a few dozen at most), never the events.

Every answer is checked for real containment, so imperfect nesting in a trace (a child that
outlives its parent by a rounding error) degrades to a shallower enclosing interval
instead of a wrong one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

_KEY_LIMIT = 2**62


def group_codes(*keys: npt.ArrayLike) -> np.ndarray:
    """Dense int codes for the combination of the given key columns (e.g. pid, tid)."""
    if len(keys) == 1:
        codes, _ = pd.factorize(np.asarray(keys[0]), sort=False)
        return codes.astype(np.int64)
    frame = pd.DataFrame({str(i): np.asarray(k) for i, k in enumerate(keys)})
    return frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy(np.int64)


@dataclass
class Nesting:
    """Intervals of one kind, indexed for containment queries.

    ``depth[i]`` and ``parent[i]`` are in the caller's order; ``parent`` is -1 at the top.
    """

    depth: np.ndarray
    parent: np.ndarray
    _levels: list  # per depth: (sorted start keys, end keys, original indices)
    _base: int
    _span: int

    @property
    def max_depth(self) -> int:
        return len(self._levels) - 1

    def _key(self, t: np.ndarray, group: np.ndarray) -> np.ndarray:
        return (np.asarray(t, dtype=np.int64) - self._base) + np.asarray(group, dtype=np.int64) * self._span

    def innermost(self, start: np.ndarray, end: np.ndarray, group: np.ndarray,
                  below: np.ndarray | None = None) -> np.ndarray:
        """Index of the innermost interval enclosing ``[start, end]`` in the same group.

        ``below`` (optional, per query) restricts the answer to depths smaller than it.
        Returns -1 where nothing encloses the query.
        """
        start = np.asarray(start, dtype=np.int64)
        end = np.maximum(np.asarray(end, dtype=np.int64), start)
        group = np.asarray(group, dtype=np.int64)
        out = np.full(len(start), -1, dtype=np.int64)
        if len(start) == 0 or not self._levels:
            return out
        in_range = (start >= self._base) & (start - self._base < self._span)
        qs = self._key(np.where(in_range, start, self._base), group)
        qe = qs + (end - start)
        todo = in_range.copy()
        for level in range(len(self._levels) - 1, -1, -1):
            if not todo.any():
                break
            starts, ends, index = self._levels[level]
            sel = np.flatnonzero(todo if below is None else todo & (below > level))
            if len(sel) == 0:
                continue
            pos = np.searchsorted(starts, qs[sel], side="right") - 1
            ok = pos >= 0
            pos = np.where(ok, pos, 0)
            ok &= ends[pos] >= qe[sel]
            hit = sel[ok]
            out[hit] = index[pos[ok]]
            todo[hit] = False
        return out

    def at_points(self, t: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Innermost interval containing the instant ``t`` (start <= t < end)."""
        t = np.asarray(t, dtype=np.int64)
        return self.innermost(t, t + 1, group)


def nest(start: np.ndarray, end: np.ndarray, group: np.ndarray) -> Nesting:
    """Index intervals ``[start, end)`` that nest within each ``group`` (thread)."""
    start = np.asarray(start, dtype=np.int64)
    n = len(start)
    if n == 0:
        return Nesting(np.zeros(0, np.int32), np.zeros(0, np.int64), [], 0, 1)
    raw_end = np.asarray(end, dtype=np.int64)
    # Zero-length intervals still occupy one nanosecond, so they nest inside their caller.
    end = np.maximum(raw_end, start + 1)
    group = np.asarray(group, dtype=np.int64)
    base = int(start.min())
    span = int(end.max()) - base + 1
    if (int(group.max()) + 1) * span >= _KEY_LIMIT:
        raise OverflowError("trace span too long to index")  # ~146 years of threads*time
    ks = (start - base) + group * span
    ke = (end - base) + group * span
    order = np.lexsort((-raw_end, -ke, ks))  # outer first; a real span before a 0-length one
    s_sorted = ks[order]
    e_sorted = ke[order]
    ended_before = np.searchsorted(np.sort(e_sorted), s_sorted, side="right")
    depth_sorted = np.arange(n, dtype=np.int64) - ended_before
    levels = []
    max_depth = int(depth_sorted.max())
    for level in range(max_depth + 1):
        idx = np.flatnonzero(depth_sorted == level)
        levels.append((s_sorted[idx], e_sorted[idx], order[idx]))
    depth = np.empty(n, dtype=np.int32)
    depth[order] = depth_sorted
    nesting = Nesting(depth, np.full(n, -1, np.int64), levels, base, span)
    # Parent: innermost enclosing interval at a smaller depth (checked containment).
    nesting.parent = nesting.innermost(start, end, group, below=depth)
    # Depth as seen through verified parents (improper overlaps can inflate the raw one).
    nesting.depth = _depth_from_parents(nesting.parent)
    return nesting


def _depth_from_parents(parent: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(parent), dtype=np.int32)
    cur = parent.copy()
    has = cur >= 0
    while has.any():
        depth[has] += 1
        cur[has] = parent[cur[has]]
        has = cur >= 0
    return depth


def self_time(dur: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Exclusive time: duration minus the durations of direct children (never negative)."""
    dur = np.asarray(dur, dtype=np.int64)
    has = parent >= 0
    child_sum = np.zeros(len(dur), dtype=np.int64)
    np.add.at(child_sum, parent[has], dur[has])
    return np.maximum(dur - child_sum, 0)


def propagate_down(parent: np.ndarray, depth: np.ndarray, own: np.ndarray, missing: int) -> np.ndarray:
    """Value of the innermost ancestor-or-self whose ``own`` value is not ``missing``.

    Walks depth levels top-down (vectorized per level), so each interval inherits from
    its nearest classified ancestor.
    """
    out = np.array(own, copy=True)
    if len(out) == 0:
        return out
    for level in range(1, int(depth.max()) + 1):
        idx = np.flatnonzero((depth == level) & (out == missing))
        if len(idx):
            out[idx] = out[parent[idx]]
    return out


def label_at(starts: np.ndarray, ends: np.ndarray, labels: np.ndarray, t: np.ndarray,
             inclusive_end: bool = False) -> np.ndarray:
    """Label of the window (sorted by start, disjoint: steps, runs) holding each instant
    ``t``; -1 outside every window. The latest-starting window wins on overlap."""
    out = np.full(len(t), -1, np.int32)
    if len(starts) == 0 or len(t) == 0:
        return out
    pos = np.searchsorted(starts, t, side="right") - 1
    ok = pos >= 0
    pos = np.maximum(pos, 0)
    ok &= (t <= ends[pos]) if inclusive_end else (t < ends[pos])
    out[ok] = labels[pos[ok]]
    return out


def gather(values: np.ndarray, index: np.ndarray, default: object) -> np.ndarray:
    """``values[index]`` where index >= 0, else ``default`` (for -1 "no row" links)."""
    out = np.full(len(index), default, dtype=values.dtype)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


# --------------------------------------------------------------------------- bucketing
# A timeline cell covers thousands of events; coverage per cell comes from prefix sums
# over sorted starts and ends, so drawing a lane costs a few searchsorted calls per group.

def covered_upto(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Total length of the intervals ``[start, end)`` that lies before each instant ``t``
    (``t`` sorted): sum over s <= t of (t - s) minus sum over e <= t of (t - e)."""
    if not len(start):
        return np.zeros(len(t))
    base = t[0]
    s = np.sort(start - base).astype(np.float64)
    e = np.sort(end - base).astype(np.float64)
    tt = (t - base).astype(np.float64)
    cs = np.concatenate(([0.0], np.cumsum(s)))
    ce = np.concatenate(([0.0], np.cumsum(e)))
    ns = np.searchsorted(s, tt, side="right")
    ne = np.searchsorted(e, tt, side="right")
    return (ns * tt - cs[ns]) - (ne * tt - ce[ne])


def bucket_groups(start: np.ndarray, end: np.ndarray, group: np.ndarray,
                  lo: int, hi: int, width: int, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``[lo, hi)`` into ``width`` buckets; per bucket the group code covering most
    time (-1 where idle) and the busy fraction (capped at 1: events on one lane overlap a
    little). ``start`` and ``end`` are sorted by start; ``group`` holds codes < n_groups."""
    edges = lo + (np.arange(width + 1, dtype=np.float64) * (hi - lo) / width).astype(np.int64)
    cover = np.zeros((n_groups, width), dtype=np.float64)
    i0 = np.searchsorted(end, lo, side="right")
    i1 = np.searchsorted(start, hi, side="left")
    s, e, g = start[i0:i1], end[i0:i1], group[i0:i1]
    for code in np.unique(g):
        m = g == code
        cover[code] = np.diff(covered_upto(s[m], e[m], edges))
    best = cover.argmax(axis=0)
    busy = cover.sum(axis=0) / np.maximum(np.diff(edges), 1)
    best[cover.max(axis=0) <= 0] = -1
    return best, np.minimum(busy, 1.0)


def at_or_near(start: np.ndarray, end: np.ndarray, t: int, tolerance: int) -> int:
    """Index of the interval holding instant ``t`` (sorted by start), else of the nearest
    one within ``tolerance``; -1 if none is that close."""
    if not len(start):
        return -1
    i = int(np.searchsorted(start, t, side="right")) - 1
    if i >= 0 and end[i] > t:
        return i
    best, dist = -1, tolerance + 1
    for j in (i, i + 1):
        if 0 <= j < len(start):
            d = max(start[j] - t, t - end[j], 0)
            if d < dist:
                best, dist = j, d
    return best if dist <= tolerance else -1
