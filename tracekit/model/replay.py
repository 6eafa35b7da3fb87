"""CUDA/HIP graph replays mapped to the ops that captured them.

A replayed graph's kernels all carry the correlation of one ``cudaGraphLaunch`` /
``hipGraphLaunch``: the trace of the replay has no op that issued them. vLLM and SGLang
can write a second trace while they capture the graph; there every captured launch sits
inside the op that issued it, between ``*StreamBeginCapture`` and ``*StreamEndCapture``,
and no kernel runs. A graph replays its nodes in capture order, so the j-th kernel of a
replay (by start time) is the j-th work launch of the capture whose node count matches.

:func:`attach` copies the issuing ops (with their callers, shapes, dtypes and module
path) under each replay's own op, once per replay, and points the kernels at them. It
runs before classification, so op and module views work on replays as on eager traces.
Replays whose node count matches no captured graph, or several different ones, keep
their launch as op and are counted in the returned stats.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import union_categoricals

from tracekit.model.tables import OPS, make_table
from tracekit.model.trace import Trace

BEGIN = re.compile(r"StreamBeginCapture", re.I)
END = re.compile(r"StreamEndCapture", re.I)
GRAPH_LAUNCH = re.compile(r"GraphLaunch", re.I)
# API calls that add a node to a graph being captured
WORK = re.compile(r"Launch\w*Kernel|LaunchKernel|cuLaunch|Memcpy\w*Async|Memset\w*Async", re.I)
NOT_WORK = re.compile(r"GraphLaunch|HostFunc", re.I)


def captured_graphs(capture: Trace) -> list[np.ndarray]:
    """Per capture (begin..end on one thread), the row numbers in ``capture.launches`` of
    the work launches it recorded, in issue order. A launch whose kernel ran in the
    capture trace was not captured (another stream) and is left out."""
    la = capture.launches
    if not len(la):
        return []
    names = la["name"].astype(str).to_numpy()
    is_begin = np.array([bool(BEGIN.search(n)) for n in names])
    is_end = np.array([bool(END.search(n)) for n in names])
    is_work = np.array([bool(WORK.search(n)) and not NOT_WORK.search(n) for n in names])
    ran = np.zeros(len(la), bool)
    launched = capture.kernels["launch"].to_numpy()
    ran[launched[(launched >= 0) & (launched < len(la))]] = True
    is_work &= ~ran
    ts = la["ts_ns"].to_numpy()
    graphs = []
    for _, rows in la.groupby(["pid", "tid"], sort=False).indices.items():
        rows = rows[np.argsort(ts[rows], kind="stable")]
        start = None
        for r in rows:
            if is_begin[r]:
                start = r
            elif is_end[r] and start is not None:
                inside = rows[(ts[rows] > ts[start]) & (ts[rows] < ts[r])]
                graphs.append(inside[is_work[inside]])
                start = None
    return graphs


def attach(replay: Trace, capture: Trace) -> dict[str, Any]:
    """Map the replayed kernels of ``replay`` to the ops of ``capture`` (in place, before
    classification). Returns what was mapped: graphs captured, replays and their kernels
    mapped, replays left as they were and why."""
    graphs = captured_graphs(capture)
    stats: dict[str, Any] = {"graphs_captured": len(graphs), "graph_sizes": sorted({len(g) for g in graphs}),
             "replays": 0, "replays_mapped": 0, "kernels_mapped": 0, "kernels_mapped_ns": 0,
             "replays_unmatched": 0, "replays_ambiguous": 0}
    if not len(replay.kernels) or not len(replay.launches):
        return stats
    plan = _plan(replay, capture, graphs, stats)
    if not plan:
        return stats
    c_op = capture.launches["op"].to_numpy()
    src, pos = _issuing_ops(capture, np.concatenate([c_op[g] for _, _, g in plan]))
    copies, first = _copies(replay, capture, plan, src, pos)
    k = replay.kernels
    new_op = k["op"].to_numpy().copy()
    dur = k["dur_ns"].to_numpy()
    for r, (_, rows, g) in enumerate(plan):
        issued = c_op[g]
        ok = issued >= 0
        new_op[rows[ok]] = first[r] + pos[issued[ok]]
        stats["replays_mapped"] += 1
        stats["kernels_mapped"] += int(ok.sum())
        stats["kernels_mapped_ns"] += int(dur[rows[ok]].sum())
    columns = {}
    for col, kind in OPS.items():
        a, b = replay.ops[col], copies[col]
        if kind == "cat":
            columns[col] = union_categoricals([a.array, b.array])
        else:
            columns[col] = np.concatenate([a.to_numpy(), b.to_numpy()])
    replay.ops = pd.DataFrame(columns)
    k["op"] = new_op
    return stats


_Plan = list[tuple[int, np.ndarray, np.ndarray]]  # (replay launch row, kernel rows in node order, capture launch rows)


def _plan(replay: Trace, capture: Trace, graphs: list[np.ndarray], stats: dict[str, Any]) -> _Plan:
    """Each graph replay with the one captured graph it replays; replays that match none,
    or several different ones, are counted in ``stats`` and left out."""
    k, la = replay.kernels, replay.launches
    launch = k["launch"].to_numpy()
    names = la["name"].astype(str).to_numpy()
    is_graph = np.array([bool(GRAPH_LAUNCH.search(n)) for n in names])
    on_graph = (launch >= 0) & is_graph[np.maximum(launch, 0)]
    if not on_graph.any():
        return []
    c_op = capture.launches["op"].to_numpy()
    c_names = capture.ops["name"].astype(str).to_numpy()
    by_size: dict[int, list[np.ndarray]] = {}
    for g in graphs:
        by_size.setdefault(len(g), []).append(g)
    order = np.lexsort((k["id"].to_numpy(), k["ts_ns"].to_numpy(), launch))
    order = order[on_graph[order]]
    bounds = np.flatnonzero(np.diff(launch[order])) + 1
    plan = []
    for rows in np.split(order, bounds):
        stats["replays"] += 1
        candidates = by_size.get(len(rows), [])
        # graphs of the same size are the same graph when they were issued by the same ops
        distinct = {tuple(c_names[c_op[g]] if (c_op[g] >= 0).all() else c_op[g]) for g in candidates}
        if not candidates:
            stats["replays_unmatched"] += 1
        elif len(distinct) > 1:
            stats["replays_ambiguous"] += 1
        else:
            plan.append((int(launch[rows[0]]), rows, candidates[0]))
    return plan


def _issuing_ops(capture: Trace, issued: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The capture's ops that issued work and every caller above them: their rows, and
    each capture op's position among them (-1: not copied)."""
    used = np.unique(issued)
    used = used[used >= 0]
    parent = capture.ops["parent"].to_numpy()
    keep = np.zeros(len(capture.ops), bool)
    frontier = used
    while len(frontier):
        keep[frontier] = True
        up = parent[frontier]
        frontier = np.unique(up[(up >= 0) & ~keep[np.maximum(up, 0)]])
    src = np.flatnonzero(keep)
    pos = np.full(len(capture.ops), -1, np.int64)
    pos[src] = np.arange(len(src))
    return src, pos


def _copies(replay: Trace, capture: Trace, plan: _Plan, src: np.ndarray,
            pos: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The ops ``src`` of the capture (``pos``: each one's place among them), copied once
    per replay under the replay's own op, at its launch's time with no duration; and the
    id of each replay's first copy."""
    la = replay.launches
    parent = capture.ops["parent"].to_numpy()
    base, n, reps = len(replay.ops), len(src), len(plan)
    lrows = np.array([lrow for lrow, _, _ in plan], np.int64)
    owner = la["op"].to_numpy()[lrows]
    r_depth = replay.ops["depth"].to_numpy()
    first = base + np.arange(reps, dtype=np.int64) * n  # id of each replay's first copy
    p = parent[src]
    c = capture.ops.iloc[src]

    def per_replay(values: npt.ArrayLike) -> np.ndarray:  # one value per replay, repeated over its copies
        return np.repeat(np.asarray(values), n)

    def per_op(column: str) -> pd.Categorical:  # the capture ops' values, once per replay
        cat = c[column].array
        return pd.Categorical.from_codes(np.tile(cat.codes, reps), categories=cat.categories)

    copies = make_table(
        OPS, n * reps, id=base + np.arange(n * reps, dtype=np.int64),
        ts_ns=per_replay(la["ts_ns"].to_numpy()[lrows]), dur_ns=np.zeros(n * reps, np.int64),
        self_ns=np.zeros(n * reps, np.int64), pid=per_replay(la["pid"].to_numpy()[lrows]),
        tid=per_replay(la["tid"].to_numpy()[lrows]),
        parent=np.where(np.tile(p, reps) >= 0, per_replay(first) + np.tile(pos[np.maximum(p, 0)], reps),
                        per_replay(owner)),
        depth=np.tile(c["depth"].to_numpy(), reps) + per_replay(np.where(owner >= 0, r_depth[np.maximum(owner, 0)] + 1, 0)),
        step=per_replay(la["step"].to_numpy()[lrows]),
        **{col: per_op(col) for col in ("name", "module", "shapes", "dtypes", "provider", "source", "op_type")},
    )
    return copies, first
