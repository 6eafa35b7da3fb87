"""Lanes: split the slices of one track so that every lane nests properly.

Timeline viewers (Perfetto, chrome://tracing) keep one call stack per track: a slice
that starts inside another must end inside it, or the viewer silently drops or clips it
(Perfetto issues 4280 and 928). Real traces break that rule: GPU activities overlap on
one stream (CUDA graphs, profiler jitter), host ops overlap by a rounding error in
integer-microsecond traces. tracekit never drops a slice; it moves the ones that do not
fit onto extra lanes (child tracks), the fewest it can.

Semantics are half-open: a slice ``[s, e)`` is inside ``[S, E)`` when ``S <= s < E``
and ``e <= E``; a slice that starts exactly where another ends follows it. A
zero-length slice nests inside whatever is open at its instant.

Two modes:

* ``nest`` (host ops, runtime calls, annotation ranges): slices may nest; only partial
  overlaps need another lane;
* ``disjoint`` (GPU activity): a kernel running inside another kernel on one stream is
  concurrency, not a call, so any overlap takes another lane.

The common case (a track that already nests, a stream whose kernels run one after the
other) is settled with numpy over all tracks at once; only the clusters of slices that
actually overlap go through a first-fit sweep in Python, which gives the fewest lanes
for intervals sorted by start.
"""
from __future__ import annotations

from itertools import pairwise

import numpy as np

_KEY_LIMIT = 2**62


def preorder(group: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Row order by (group, start, longest first, input order): parents before children."""
    return np.lexsort((np.arange(len(start)), -end, start, group))


def assign(group, start, end, nest: bool, parent=None) -> np.ndarray:
    """Lane (0, 1, ...) of each slice within its ``group`` (the track it belongs on).

    ``parent`` (optional): index of the slice's parent in the model (an op's caller, the
    op that made a runtime call); a slice moved off lane 0 tries its parent's lane first,
    so that it stays under the op that called it.
    """
    group = np.asarray(group, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.maximum(np.asarray(end, dtype=np.int64), start)
    n = len(start)
    lane = np.zeros(n, dtype=np.int32)
    if n == 0:
        return lane
    if nest:
        order = preorder(group, start, end)
    else:  # shortest first at one start: a zero-length activity then shares the lane
        order = np.lexsort((np.arange(n), end, start, group))
    g, s, e = group[order], start[order], end[order]
    first = np.ones(n, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    if nest:
        depth = _open_count(g, s, e, first)
        bad = ~_nests(g, s, e, depth)
        cluster = np.cumsum(depth == 0) - 1
    else:
        reach = _segmented_cummax(g, e, first)
        prev = np.empty(n, dtype=np.int64)
        prev[0] = np.iinfo(np.int64).min
        prev[1:] = reach[:-1]
        prev[first] = np.iinfo(np.int64).min
        overlaps = s < prev
        bad = overlaps
        cluster = np.cumsum(~overlaps) - 1
    if not bad.any():
        return lane
    flagged = np.unique(cluster[bad])
    rows = np.flatnonzero(np.isin(cluster, flagged))
    sweep = _sweep_nest if nest else _sweep_disjoint
    # positions of each flagged cluster in sorted order: contiguous runs of ``rows``
    breaks = np.flatnonzero(np.diff(cluster[rows]) != 0) + 1
    inv = None
    if nest and parent is not None:
        inv = np.empty(n, dtype=np.int64)
        inv[order] = np.arange(n)
        parent = np.asarray(parent, dtype=np.int64)
    sorted_lane = np.zeros(n, dtype=np.int32)
    for run in np.split(rows, breaks):
        if nest:
            par = None
            if inv is not None:
                p = parent[order[run]]
                par = np.where(p >= 0, inv[np.maximum(p, 0)], -1)
            sorted_lane[run] = sweep(s[run], e[run], run, par, sorted_lane)
        else:
            sorted_lane[run] = sweep(s[run], e[run])
    lane[order] = sorted_lane
    return lane


def _segmented_cummax(g, v, first):
    """Running maximum of ``v`` that restarts at each group (rows sorted by group)."""
    gid = np.cumsum(first) - 1
    lo = int(v.min())
    span = int(v.max()) - lo + 1
    if (int(gid[-1]) + 1) * span < _KEY_LIMIT:
        key = gid * span + (v - lo)
        return np.maximum.accumulate(key) - gid * span + lo
    out = np.empty_like(v)
    bounds = np.append(np.flatnonzero(first), len(v))
    for a, b in pairwise(bounds):
        out[a:b] = np.maximum.accumulate(v[a:b])
    return out


def _keys(g, *arrays):
    """Make (group, time) pairs comparable as single int64 keys where they fit."""
    lo = min(int(a.min()) for a in arrays)
    span = max(int(a.max()) for a in arrays) - lo + 1
    gid = np.unique(g, return_inverse=True)[1].astype(np.int64)
    if (int(gid.max()) + 1) * span >= _KEY_LIMIT:
        return None
    return [gid * span + (a - lo) for a in arrays]


def _open_count(g, s, e, first):
    """For rows in preorder: how many earlier rows of the same group are still open at the
    row's start (end > start)."""
    n = len(s)
    idx = np.arange(n)
    group_start = np.maximum.accumulate(np.where(first, idx, 0))
    keys = _keys(g, s, e)
    if keys is None:  # groups x span too large for one key: per group
        out = np.empty(n, dtype=np.int64)
        bounds = np.append(np.flatnonzero(first), n)
        for a, b in pairwise(bounds):
            one = np.zeros(b - a, dtype=bool)
            one[0] = True
            out[a:b] = _open_count(np.zeros(b - a, np.int64), s[a:b], e[a:b], one)
        return out
    ks, ke = keys
    # rows of the group that ended at or before s_i (rows of earlier groups sort below)
    ended = np.searchsorted(np.sort(ke), ks, side="right") - group_start
    # ... less the zero-length rows at s_i sorted at or after row i: they are not earlier.
    # Rows are sorted by (group, start, longest first), so those close each run of equal
    # (group, start).
    run_end = np.searchsorted(ks, ks, side="right")
    later_zero = np.zeros(n, dtype=np.int64)
    zero = e == s
    if zero.any():
        zc = np.concatenate(([0], np.cumsum(zero)))
        run_start = np.searchsorted(ks, ks, side="left")
        zstart = run_end - (zc[run_end] - zc[run_start])
        later_zero = run_end - np.maximum(idx, zstart)
    return (idx - group_start) - (ended - later_zero)


def _nests(g, s, e, depth) -> np.ndarray:
    """True where a row (preorder) fits the stack of its group: its innermost open
    ancestor (latest earlier row one level up) is open at its start and contains it."""
    n = len(s)
    ok = np.ones(n, dtype=bool)
    if n == 0 or int(depth.max()) == 0:
        return ok
    for level in range(1, int(depth.max()) + 1):
        q = np.flatnonzero(depth == level)
        if len(q) == 0:
            continue
        cand = np.flatnonzero(depth == level - 1)
        pos = np.searchsorted(cand, q) - 1
        has = pos >= 0
        p = cand[np.maximum(pos, 0)]
        good = has & (g[p] == g[q]) & (e[p] > s[q]) & (e[q] <= e[p])
        ok[q] = good
    return ok


def _sweep_disjoint(s, e) -> np.ndarray:
    """First-fit lanes for one cluster of overlapping activities sorted by start."""
    ends: list[int] = []
    out = np.empty(len(s), dtype=np.int32)
    for i, (a, b) in enumerate(zip(s.tolist(), e.tolist())):
        for k, last in enumerate(ends):
            if last <= a:
                ends[k] = b
                out[i] = k
                break
        else:
            out[i] = len(ends)
            ends.append(b)
    return out


def _sweep_nest(s, e, rows, parent, lanes_so_far) -> np.ndarray:
    """First-fit lanes for one cluster in preorder, each lane a call stack.

    ``parent[i]``: sorted position of row i's model parent (or -1); the parent's lane is
    tried first."""
    stacks: list[list[int]] = []
    out = np.empty(len(s), dtype=np.int32)
    pos_of = {int(r): i for i, r in enumerate(rows.tolist())}
    par = parent.tolist() if parent is not None else None
    for i, (a, b) in enumerate(zip(s.tolist(), e.tolist())):
        order = range(len(stacks))
        if par is not None and par[i] >= 0 and par[i] in pos_of:
            pl = int(out[pos_of[par[i]]])
            order = [pl] + [k for k in range(len(stacks)) if k != pl]
        placed = False
        for k in order:
            stack = stacks[k]
            while stack and stack[-1] <= a:
                stack.pop()
            if not stack or b <= stack[-1]:
                stack.append(b)
                out[i] = k
                placed = True
                break
        if not placed:
            out[i] = len(stacks)
            stacks.append([b])
    return out


def check(group, start, end) -> bool:
    """True if every group nests properly (half-open). For tests and assertions."""
    group = np.asarray(group, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    if len(start) == 0:
        return True
    order = preorder(group, start, end)
    g, s, e = group[order], start[order], end[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return bool(_nests(g, s, e, _open_count(g, s, e, first)).all())
