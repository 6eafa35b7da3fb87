"""Small pieces every format needs the same way: copy directions spelled in the model's
words, which step encloses a time, the launch of each device activity, and the dotted
module paths of nested ranges."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tracekit.model.intervals import label_at
from tracekit.model.vocab import COPY_KINDS

_LETTER = {"H": "H", "HOST": "H", "D": "D", "DEVICE": "D", "P": "P", "PEER": "P",
           "A": "A", "ARRAY": "A"}
# "HtoD", "HTOD", "H2D", "HOST_TO_DEVICE", "HostToDevice", "UVM_HTOD" (CUPTI's managed-
# memory copies move the same way), "DeviceArrayToHost" (a CUDA array is "A")
_DIRECTION = re.compile(
    r"^(?:UVM_)?(?:(H|D|P|A)|(HOST|DEVICE|PEER)(ARRAY)?)_?(?:TO|2)_?(?:(H|D|P|A)|(HOST|DEVICE|PEER)(ARRAY)?)$")
_KNOWN = frozenset(COPY_KINDS)


def copy_kind(text: str) -> str:
    """A copy direction in the model's spelling ("HtoD", ... see
    :data:`tracekit.model.vocab.COPY_KINDS`), or "" when ``text`` names none."""
    m = _DIRECTION.match(str(text).strip().upper().replace("-", "_"))
    if not m:
        return ""
    src = "A" if m.group(3) else _LETTER[m.group(1) or m.group(2)]
    dst = "A" if m.group(6) else _LETTER[m.group(4) or m.group(5)]
    kind = f"{src}to{dst}"
    return kind if kind in _KNOWN else ""


def copy_column(values) -> pd.Categorical:
    """Copy directions (already in the model's spelling, "" for non-copies) as the
    ``kernels.copy`` column."""
    if not isinstance(values, pd.Categorical):
        values = np.asarray(values, dtype=object)
    return pd.Categorical(values, categories=["", *COPY_KINDS])


def sorted_steps(starts: np.ndarray, ends: np.ndarray, numbers: np.ndarray):
    """(starts, ends, numbers) of step windows ordered by start, for :func:`step_at`."""
    order = np.argsort(starts, kind="stable")
    return starts[order], ends[order], numbers[order]


def step_at(steps, t: np.ndarray, inclusive_end: bool = False) -> np.ndarray:
    """Number of the step (from :func:`sorted_steps`) enclosing each time ``t``; -1
    outside every step. ``inclusive_end``: a time at a step's end is still in it (ONNX
    Runtime writes a run's last records at its end)."""
    return label_at(*steps, t, inclusive_end=inclusive_end)


def match_launch(k_corr: np.ndarray, k_ts: np.ndarray, l_corr: np.ndarray, l_ts: np.ndarray,
                 k_process: np.ndarray | None = None, l_process: np.ndarray | None = None) -> np.ndarray:
    """Launch row of each device activity by correlation id; -1 where none has its id.

    Correlation ids are unique within one profiled process. Where a file holds several
    (ids repeat), the latest launch at or before the activity's start wins, else (clock
    skew: the activity starts first) the nearest one.

    ``k_process``/``l_process`` (-1: unknown): the process of each activity and launch,
    where the format says. Nsight Systems does, and ids repeat across processes there, so
    an activity is matched within its own process first, and by id alone only where its
    process, or every launch's, is unknown. Kineto gives none (a GPU event's pid is its
    device), so there ids alone decide.
    """
    out = np.full(len(k_corr), -1, np.int64)
    if len(l_corr) == 0 or len(k_corr) == 0:
        return out
    has_id = l_corr >= 0
    if k_process is None:
        ids = pd.Index(l_corr[has_id])
        if ids.is_unique:  # one launch per id (the usual single-process file): a lookup
            q = np.flatnonzero(k_corr >= 0)
            pos = ids.get_indexer(k_corr[q])
            out[q] = np.where(pos >= 0, np.flatnonzero(has_id)[np.maximum(pos, 0)], -1)
            return out
    calls = pd.DataFrame({"c": l_corr, "ts": l_ts, "row": np.arange(len(l_corr))})
    everyone = np.ones(len(k_corr), bool)
    if k_process is None or l_process is None:
        passes = [(calls, ["c"], everyone)]
    else:
        calls["p"] = l_process
        known = k_process >= 0
        unscoped = ~known if (l_process >= 0).any() else everyone
        passes = [(calls, ["p", "c"], known), (calls.drop(columns="p"), ["c"], unscoped)]
    for right, by, who in passes:
        right = right[has_id].sort_values("ts", kind="stable")
        q = np.flatnonzero((k_corr >= 0) & who & (out < 0))
        if len(q) == 0:
            continue
        acts = pd.DataFrame({"c": k_corr[q], "ts": k_ts[q], "q": q})
        if "p" in by:
            acts["p"] = k_process[q]
        acts = acts.sort_values("ts", kind="stable")
        for direction in ("backward", "nearest"):
            todo = acts[out[acts["q"].to_numpy()] < 0]
            if todo.empty:
                break
            merged = pd.merge_asof(todo, right, on="ts", by=by, direction=direction)
            rows = merged["row"].to_numpy(dtype=float)
            hit = ~np.isnan(rows)
            out[merged["q"].to_numpy()[hit]] = rows[hit].astype(np.int64)
    return out


def dotted_paths(codes: np.ndarray, labels: list[str], parent: np.ndarray, depth: np.ndarray,
                 part: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Dotted module path of each range of a nesting ("LlamaDecoderLayer.LlamaRMSNorm"):
    the names (``labels[codes]``) of the ranges enclosing it that are ``part`` of a path,
    itself included when it is one; other ranges (operators, steps) add nothing. Returns
    (code of each range's path, the paths; "" is code 0). Each distinct path is built
    once, level by level."""
    n = len(parent)
    codes = np.asarray(codes).astype(np.int64)
    paths = [""]
    index: dict[tuple[int, int], int] = {}
    by_text = {"": 0}
    out = np.zeros(n, np.int64)
    if n == 0:
        return out, paths
    for level in range(int(depth.max()) + 1):
        at = np.flatnonzero(depth == level)
        base = out[parent[at]] if level else np.zeros(len(at), np.int64)
        out[at] = base
        mine = at[part[at]]
        if not len(mine):
            continue
        key = (base[part[at]] << 32) | codes[mine]
        uniq, inverse = np.unique(key, return_inverse=True)
        new = np.empty(len(uniq), np.int64)
        for i, k in enumerate(uniq.tolist()):
            pair = (k >> 32, k & 0xFFFFFFFF)
            if pair not in index:
                prefix = paths[pair[0]]
                text = f"{prefix}.{labels[pair[1]]}" if prefix else labels[pair[1]]
                # names with dots can spell one path two ways ("a.b" + "c", "a" + "b.c")
                if text not in by_text:
                    by_text[text] = len(paths)
                    paths.append(text)
                index[pair] = by_text[text]
            new[i] = index[pair]
        out[mine] = new[inverse.reshape(-1)]
    return out, paths
