"""Host-device copies, synchronizations and CPU fallback. Works on any format that
carries them: Kineto and Nsight (memcpy activities, runtime calls), ONNX Runtime
(Memcpy nodes, nodes on CPUExecutionProvider)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tracekit.analysis.results import (
    CopyDirection,
    CopyOp,
    Fallback,
    FallbackNode,
    NodeTime,
    SyncCall,
    Synchronizations,
    TransferReport,
    Transfers,
)
from tracekit.analysis.window import Selection, select
from tracekit.model import Trace

# Runtime calls that block the host until the device (or a stream/event) has drained.
SYNC_CALL = re.compile(
    r"^(cuda|hip|cu)(Device|Stream|Event|Ctx)Synchronize|^cuStreamSynchronize|^cuCtxSynchronize"
    r"|^(cuda|hip)Memcpy(2D|3D)?(ToSymbol|FromSymbol)?$|^cuMemcpy(HtoD|DtoH|DtoD)?(_v2)?$"
    r"|^hipMemcpyWithStream$|^(synchronize|synchronizeStream)$", re.I)
CPU_PROVIDER = "CPUExecutionProvider"
MEMCPY_NODE = re.compile(r"^Memcpy(ToHost|FromHost)$")
DIRECTIONS = ("HtoD", "DtoH", "DtoD", "PtoP", "HtoH")


def report(trace: Trace, step=None, top: int = 10, window: Selection | None = None,
           describe: str | None = None) -> TransferReport:
    """Transfers, synchronizations and CPU fallback of ``step`` (see
    :func:`~tracekit.analysis.window.select`), or of ``window`` when given (a range or
    span selection); ``describe`` overrides the window's description."""
    window = select(trace, step) if window is None else window
    return TransferReport(path=trace.meta.path, source=trace.meta.source,
                          window=window.describe() if describe is None else describe,
                          transfers=transfers(trace, window, top),
                          synchronizations=synchronizations(trace, window),
                          fallback=fallback(trace, window, top))


def transfers(trace: Trace, window: Selection, top: int = 10) -> Transfers:
    """Copies by direction: count, bytes, device time, achieved bandwidth, causing ops."""
    k = window.kernels
    copies = k[k["kind"] == "memcpy"]
    total_device = int(k["dur_ns"].sum())
    by_dir: list[CopyDirection] = []
    for direction in [d for d in DIRECTIONS if (copies["copy"] == d).any()] + (
            ["unknown"] if (copies["copy"].astype(str) == "").any() else []):
        sel = copies[copies["copy"].astype(str) == ("" if direction == "unknown" else direction)]
        ns = int(sel["dur_ns"].sum())
        nbytes = int(sel.loc[sel["bytes"] >= 0, "bytes"].sum())
        by_dir.append(CopyDirection(
            direction=direction, count=int(len(sel)), bytes=nbytes, time_ns=ns,
            bandwidth_gbps=(nbytes / ns) if ns else None,  # bytes/ns == GB/s
            share_of_device_time=ns / total_device if total_device else None,
            ops=_causing_ops(trace, sel, top),
        ))
    return Transfers(device_time_ns=total_device, by_direction=by_dir,
                     host_device_ns=sum(d.time_ns for d in by_dir if d.direction in ("HtoD", "DtoH")),
                     ort_memcpy_nodes=_ort_memcpy_nodes(window))


def _causing_ops(trace: Trace, copies: pd.DataFrame, top: int) -> list[CopyOp]:
    op = copies["op"].to_numpy()
    names = np.full(len(op), "(no operator)", dtype=object)
    has = op >= 0
    if has.any():
        names[has] = trace.ops["name"].astype(str).to_numpy()[op[has]]
    frame = pd.DataFrame({"op": names, "ns": copies["dur_ns"].to_numpy(),
                          "bytes": np.maximum(copies["bytes"].to_numpy(), 0)})
    g = frame.groupby("op", sort=False).agg(n=("ns", "size"), time_ns=("ns", "sum"),
                                            copied=("bytes", "sum"))
    g = g.sort_values("time_ns", ascending=False).head(top)
    return [CopyOp(op=name, count=int(r.n), time_ns=int(r.time_ns), bytes=int(r.copied))
            for name, r in g.iterrows()]


def _ort_memcpy_nodes(window: Selection) -> dict[str, NodeTime]:
    ops = window.ops
    types = ops["op_type"].astype(str)
    sel = ops[types.str.match(MEMCPY_NODE)]
    return {t: NodeTime(count=int((sel["op_type"] == t).sum()),
                        time_ns=int(sel.loc[sel["op_type"] == t, "dur_ns"].sum()))
            for t in sorted(set(sel["op_type"].astype(str)))}


def synchronizations(trace: Trace, window: Selection) -> Synchronizations:
    """Blocking runtime calls, their host time, and the GPU idle time that follows them:
    each idle gap of the GPU timeline counts once, for the first call that ended in it (the
    host waited there, so the work after it came late), from the moment the device drained
    (or the call began, if later) to the next activity. ``op``: the op whose calls caused
    the most of that idle time."""
    launches = window.launches
    cats = launches["name"].cat.categories
    sync_names = [c for c in cats if SYNC_CALL.search(str(c))]
    sync = launches[launches["name"].isin(sync_names)]
    idle = _idle_after(window.kernels, sync["ts_ns"].to_numpy(),
                       (sync["ts_ns"] + sync["dur_ns"]).to_numpy())
    op = sync["op"].to_numpy()
    op_names = np.full(len(op), "(no operator)", dtype=object)
    if (op >= 0).any():
        op_names[op >= 0] = trace.ops["name"].astype(str).to_numpy()[op[op >= 0]]
    table = pd.DataFrame({"name": sync["name"].astype(str).to_numpy(),
                          "ns": sync["dur_ns"].to_numpy(), "idle": idle, "op": op_names})
    rows: list[SyncCall] = []
    for name, g in table.groupby("name", sort=False):
        by_op = g.groupby("op", sort=False)["idle"].sum().sort_values(ascending=False, kind="stable")
        rows.append(SyncCall(name=name, count=int(len(g)), host_ns=int(g["ns"].sum()),
                             gpu_idle_after_ns=int(g["idle"].sum()),
                             op=str(by_op.index[0]) if len(by_op) else ""))
    rows.sort(key=lambda r: -r.gpu_idle_after_ns)
    device_syncs = trace.ranges[trace.ranges["kind"] == "gpu_sync"]
    return Synchronizations(calls=rows, count=int(len(sync)), host_ns=int(table["ns"].sum()),
                            gpu_idle_after_ns=int(table["idle"].sum()),
                            device_sync_events=int(len(device_syncs)))


def _idle_after(kernels: pd.DataFrame, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """For each blocking call [start, end]: the idle gap of the (all-device) GPU timeline
    that contains ``end``, counted from max(gap start, call start) to the gap's end; a gap
    goes to the first call ending in it, the others in the same gap get 0."""
    out = np.zeros(len(end), dtype=np.int64)
    if len(end) == 0 or len(kernels) == 0:
        return out
    s = kernels["ts_ns"].to_numpy()
    e = s + kernels["dur_ns"].to_numpy()
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    # merged busy intervals: a new one starts where s > reach of everything before it
    new = np.concatenate(([True], s[1:] > reach[:-1]))
    m_start = s[new]
    m_end = np.maximum.reduceat(e, np.flatnonzero(new))
    i = np.searchsorted(m_start, end, side="right")  # first busy interval after the call ends
    inside = (i > 0) & (m_end[np.maximum(i - 1, 0)] > end)
    has_next = i < len(m_start)
    gap_start = np.where(i > 0, m_end[np.maximum(i - 1, 0)], start)
    idle = np.where(has_next, m_start[np.minimum(i, len(m_start) - 1)] - np.maximum(gap_start, start), 0)
    out[:] = np.where(inside | ~has_next, 0, np.maximum(idle, 0))
    # one claim per gap: the earliest-ending call (ties: the first row)
    claims = np.flatnonzero(out > 0)
    if len(claims):
        by_end = claims[np.lexsort((claims, end[claims]))]
        _, first = np.unique(i[by_end], return_index=True)
        keep = np.zeros(len(out), dtype=bool)
        keep[by_end[first]] = True
        out[~keep] = 0
    return out


def fallback(trace: Trace, window: Selection, top: int = 10) -> Fallback:
    """ONNX Runtime: nodes that ran on the CPU provider in a session that has a GPU
    provider, and the Memcpy nodes around them, as shares of run latency."""
    ops = window.ops
    providers = sorted(set(ops["provider"].astype(str)) - {""})
    gpu = [p for p in providers if p != CPU_PROVIDER and p.endswith("ExecutionProvider")]
    runs = trace.ranges[trace.ranges["kind"] == "model_run"]
    if not window.whole_trace and "step" in runs:
        runs = runs[runs["step"].isin(window.steps)]
    run_ns = int(runs["dur_ns"].sum())
    out = Fallback(providers=providers, gpu_providers=gpu, run_latency_ns=run_ns,
                   applies=bool(gpu), nodes=[], fallback_ns=0, memcpy_ns=0)
    if not gpu:
        return out
    types = ops["op_type"].astype(str)
    on_cpu = (ops["provider"].astype(str) == CPU_PROVIDER).to_numpy()
    memcpy = types.str.match(MEMCPY_NODE).to_numpy()
    fb = ops[on_cpu & ~memcpy]
    out.fallback_ns = int(fb["dur_ns"].sum())
    out.memcpy_ns = int(ops.loc[memcpy, "dur_ns"].sum())
    out.fallback_share = out.fallback_ns / run_ns if run_ns else None
    out.memcpy_share = out.memcpy_ns / run_ns if run_ns else None
    g = fb.assign(op_type=fb["op_type"].astype(str), name=fb["name"].astype(str)) \
        .groupby(["name", "op_type"], sort=False).agg(n=("dur_ns", "size"), time_ns=("dur_ns", "sum"))
    g = g.sort_values("time_ns", ascending=False).head(top)
    out.nodes = [FallbackNode(name=n, op_type=t, calls=int(r.n), time_ns=int(r.time_ns),
                              share=(int(r.time_ns) / run_ns) if run_ns else None)
                 for (n, t), r in g.iterrows()]
    return out
