"""Counter tracks of an export: GEMM vs non-GEMM busy share and bytes copied, per bucket.

* ``GEMM busy %`` / ``non-GEMM busy %`` per device: the share of each time bucket covered
  by the union of that device's GEMM (resp. all other) activity intervals, so overlapping
  streams count once and each value stays within 0-100.
* ``<dir> bytes`` per device and copy direction (HtoD, DtoH, DtoD, PtoP, ...): bytes
  copied in each bucket, each copy spread evenly over its duration.
* Traces without device activity (CPU-only, TensorRT/ONNX Runtime without kernel
  timestamps) get the busy shares per process from their leaf operators instead.

The bucket is 1 ms by default, finer for short windows (at least ~100 buckets) and
coarser for very long ones (at most ~100k); ``bucket_ns`` overrides it. A counter holds
its value until the next sample, so a sample is written at the start of each bucket
whose value differs from the bucket before (an idle second is one sample, not a
thousand), and a final 0 at the end of the last bucket.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MS = 1_000_000
MIN_BUCKETS, MAX_BUCKETS = 100, 100_000


@dataclass
class Counter:
    owner: tuple          # ("device", id) or ("process", pid)
    name: str
    unit: str             # "%" or "bytes"
    ts: np.ndarray        # int64 ns, bucket starts plus the final edge
    values: np.ndarray    # float64 (percent) or int64 (bytes)


def bucket_size(span_ns: int, requested: int | None = None) -> int:
    if requested:
        return max(int(requested), 1)
    if span_ns <= 0:
        return MS
    if span_ns < MIN_BUCKETS * MS:
        return max(_nice(span_ns / MIN_BUCKETS, down=True), 1)
    if span_ns > MAX_BUCKETS * MS:
        return _nice(span_ns / MAX_BUCKETS, down=False)
    return MS


def _nice(x: float, down: bool) -> int:
    """A 1-2-5 value near ``x`` (below it if ``down``)."""
    if x < 1:
        return 1
    mag = 10 ** int(np.floor(np.log10(x)))
    steps = [1, 2, 5, 10]
    if down:
        return int(max(m * mag for m in steps if m * mag <= x))
    return int(min(m * mag for m in steps if m * mag >= x))


def compute(kernels: pd.DataFrame, ops: pd.DataFrame, full_ops: pd.DataFrame,
            lo: int, hi: int, bucket_ns: int | None = None) -> tuple[list[Counter], int]:
    """Counters over [lo, hi) for the exported kernels (or ops, without kernels)."""
    bucket = bucket_size(hi - lo, bucket_ns)
    if hi <= lo:
        return [], bucket
    n_buckets = max(int(-(-(hi - lo) // bucket)), 1)
    edges = lo + np.arange(n_buckets + 1, dtype=np.int64) * bucket
    widths = np.diff(edges).astype(np.float64)
    ts = edges
    out: list[Counter] = []
    if len(kernels):
        k_s = kernels["ts_ns"].to_numpy()
        k_e = k_s + np.maximum(kernels["dur_ns"].to_numpy(), 0)
        gemm = kernels["is_gemm"].to_numpy(bool)
        device = kernels["device"].to_numpy()
        copy = kernels["copy"].astype(str).to_numpy()
        nbytes = kernels["bytes"].to_numpy()
        for d in np.unique(device):
            on = device == d
            for label, sel in (("GEMM busy %", on & gemm), ("non-GEMM busy %", on & ~gemm)):
                busy = _covered(k_s[sel], k_e[sel], edges)
                out.append(Counter(("device", int(d)), label, "%", ts, _pct(busy, widths)))
            for direction in sorted(set(copy[on]) - {""}):
                sel = on & (copy == direction) & (nbytes > 0)
                if not sel.any():
                    continue
                moved = _spread(k_s[sel], k_e[sel], nbytes[sel], edges)
                out.append(Counter(("device", int(d)), f"{direction} bytes", "bytes", ts,
                                   np.append(moved, 0)))
    elif len(ops):
        leaf = _leaves(ops, full_ops)
        o_s = ops["ts_ns"].to_numpy()[leaf]
        o_e = o_s + np.maximum(ops["dur_ns"].to_numpy()[leaf], 0)
        gemm = ops["is_gemm"].to_numpy(bool)[leaf]
        pid = ops["pid"].to_numpy()[leaf]
        for p in np.unique(pid):
            on = pid == p
            for label, sel in (("GEMM busy %", on & gemm), ("non-GEMM busy %", on & ~gemm)):
                busy = _covered(o_s[sel], o_e[sel], edges)
                out.append(Counter(("process", int(p)), label, "%", ts, _pct(busy, widths)))
    for c in out:
        keep = np.ones(len(c.values), dtype=bool)
        keep[1:-1] = c.values[1:-1] != c.values[:-2]
        c.ts, c.values = c.ts[keep], c.values[keep]
    return out, bucket


def _pct(busy: np.ndarray, widths: np.ndarray) -> np.ndarray:
    return np.append(np.round(100.0 * busy / widths, 3), 0.0)


def _leaves(ops: pd.DataFrame, full_ops: pd.DataFrame) -> np.ndarray:
    """Exported ops that have no child op in the whole trace."""
    parents = full_ops["parent"].to_numpy()
    has_child = np.zeros(len(full_ops), dtype=bool)
    p = parents[parents >= 0]
    pos = pd.Index(full_ops["id"].to_numpy()).get_indexer(p)
    has_child[pos[pos >= 0]] = True
    mine = pd.Index(full_ops["id"].to_numpy()).get_indexer(ops["id"].to_numpy())
    return ~has_child[mine]


def _covered(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Length of the union of [start, end) inside each bucket [edges[i], edges[i+1])."""
    if len(start) == 0:
        return np.zeros(len(edges) - 1, dtype=np.float64)
    order = np.argsort(start, kind="stable")
    s, e = start[order], end[order]
    reach = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] > reach[:-1]
    run = np.cumsum(new) - 1
    ms = s[new]
    me = np.zeros(int(run[-1]) + 1, dtype=np.int64)
    np.maximum.at(me, run, e)
    lengths = me - ms
    prefix = np.concatenate(([0], np.cumsum(lengths)))
    k = np.searchsorted(ms, edges, side="right") - 1
    kk = np.maximum(k, 0)
    inside = np.clip(edges - ms[kk], 0, lengths[kk])
    cov = np.where(k >= 0, prefix[kk] + inside, 0)
    return np.diff(cov).astype(np.float64)


def _spread(start, end, nbytes, edges) -> np.ndarray:
    """Bytes moved per bucket, each copy spread evenly over [start, end)."""
    nb = len(edges) - 1
    out = np.zeros(nb, dtype=np.float64)
    lo = edges[0]
    bucket = int(edges[1] - edges[0]) if nb else 1
    raw_s = (start - lo) // bucket
    raw_e = (np.maximum(end - 1, start) - lo) // bucket
    b_s, b_e = np.clip(raw_s, 0, nb - 1), np.clip(raw_e, 0, nb - 1)
    single = ((raw_s == raw_e) | (end <= start)) & (raw_s >= 0) & (raw_s < nb)
    np.add.at(out, b_s[single], nbytes[single].astype(np.float64))
    multi = np.flatnonzero(~single & (raw_e >= 0) & (raw_s < nb) & (end > start))
    if len(multi):
        counts = (b_e - b_s + 1)[multi]
        rows = np.repeat(multi, counts)
        offs = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        b = b_s[rows] + offs
        a = np.maximum(start[rows], edges[b])
        z = np.minimum(end[rows], edges[b + 1])
        share = (z - a) / (end[rows] - start[rows])
        np.add.at(out, b, nbytes[rows] * share)
    return np.round(out).astype(np.int64)
