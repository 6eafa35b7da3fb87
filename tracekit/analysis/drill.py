"""Behind one row of a breakdown: the per-kernel-name table, the calls of one op / module /
shape row, and the instances of one kernel name.

Every function takes a :class:`~tracekit.analysis.window.Selection`, so a step, range or
span narrows it; durations are ns, times (``ts_ns``) absolute on the trace's clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracekit.analysis.breakdown import NO_MODULE, NO_OP, NO_SHAPE, _gemm_flags, class_paths, op_kinds, shape_key
from tracekit.analysis.window import Selection
from tracekit.model import Trace

KERNEL_COLUMNS = ["name", "kind", "group", "is_gemm", "op", "streams", "grid", "block", "count",
                  "total_ns", "mean_ns", "share", "bytes"]
DRILL_BY = ("op", "node", "module", "instance", "shape")
CALL_COLUMNS = ["id", "ts_ns", "dur_ns", "self_ns", "step", "op", "module", "shapes", "dtypes"]
INSTANCE_COLUMNS = ["id", "ts_ns", "dur_ns", "stream", "op", "module", "grid", "block", "bytes", "link"]


def kernel_table(trace: Trace, window: Selection) -> pd.DataFrame:
    """One row per GPU activity name, largest first: kind, group, is_gemm, the op that
    launched it most often (``op``), its streams ("0,7"), its most common grid and block,
    count, total_ns, mean_ns, share (of the window's device time), bytes (copies and
    sets). ``total_ns`` sums to the window's device time."""
    return _kernel_table(trace, window.kernels)


def _kernel_table(trace: Trace, k: pd.DataFrame) -> pd.DataFrame:
    if not len(k):
        return pd.DataFrame({c: [] for c in KERNEL_COLUMNS})
    f = pd.DataFrame({"name": k["name"].astype(str).to_numpy(), "kind": k["kind"].astype(str).to_numpy(),
                      "group": k["group"].astype(str).to_numpy(), "op": op_column(trace, k, "name", NO_OP),
                      "stream": k["stream"].to_numpy(), "grid": k["grid"].astype(str).to_numpy(),
                      "block": k["block"].astype(str).to_numpy(), "dur_ns": k["dur_ns"].to_numpy(),
                      "bytes": np.maximum(k["bytes"].to_numpy(), 0)})
    total = int(f["dur_ns"].sum())
    t = f.groupby("name", sort=False).agg(
        kind=("kind", "first"), group=("group", "first"), count=("dur_ns", "size"),
        total_ns=("dur_ns", "sum"), bytes=("bytes", "sum")).reset_index()
    for col in ("op", "grid", "block"):
        t[col] = _mode(f, "name", col, t["name"])
    streams = f.groupby("name", sort=False)["stream"].unique()
    t["streams"] = t["name"].map(lambda n: ",".join(str(s) for s in sorted(streams[n])))
    t["is_gemm"] = t["group"].map(_gemm_flags(trace)).fillna(False).astype(bool)
    t["total_ns"] = t["total_ns"].astype(np.int64)
    t["mean_ns"] = (t["total_ns"] / t["count"].clip(lower=1)).astype(np.int64)
    t["share"] = t["total_ns"] / total if total else 0.0
    t = t.sort_values(["total_ns", "name"], ascending=[False, True], kind="stable")
    return t[KERNEL_COLUMNS].reset_index(drop=True)


def _mode(frame: pd.DataFrame, key: str, col: str, order: pd.Series) -> pd.Series:
    """Per value of ``key`` (in ``order``): the most frequent ``col`` (ties: smallest)."""
    counts = frame.groupby([key, col], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["n", col], ascending=[False, True]).drop_duplicates(key)
    return order.map(dict(zip(counts[key], counts[col]))).fillna("")


def op_column(trace: Trace, kernels: pd.DataFrame, column: str, missing: str) -> np.ndarray:
    """``trace.ops[column]`` of each activity's op as strings, ``missing`` where it has none."""
    op = kernels["op"].to_numpy()
    out = np.full(len(op), missing, dtype=object)
    has = op >= 0
    if has.any():
        out[has] = trace.ops[column].astype(str).to_numpy()[op[has]]
    return out


def counts(values, empty: str, label: str) -> pd.DataFrame:
    """How often each value occurs (``""`` shown as ``empty``), most frequent first
    (ties by value), as columns ``label`` and ``calls``."""
    vc = pd.Series(values, dtype=object).replace("", empty).value_counts()
    rows = sorted(vc.items(), key=lambda x: (-x[1], str(x[0])))
    return pd.DataFrame({label: [r[0] for r in rows], "calls": [int(r[1]) for r in rows]})


@dataclass
class RowCalls:
    """The calls behind one breakdown row and the GPU activities they launched."""

    by: str
    name: str
    calls: pd.DataFrame  # CALL_COLUMNS, in time order
    kernels: pd.DataFrame  # kernel_table of their activities
    modules: pd.DataFrame  # module, calls
    shapes: pd.DataFrame  # shapes, calls
    groups: list[str] = field(default_factory=list)
    activities: int = 0
    device_ns: int = 0  # the activities' device time (the row's total on the device basis)
    self_ns: int = 0  # the calls' host self time (the row's total on a host basis)


def row_calls(trace: Trace, window: Selection, by: str, name: str) -> RowCalls:
    """The calls behind the row ``name`` of ``breakdown(trace, window, by)`` for ``by`` in
    op / node / module / shape, over all its groups: the ops with that key (for an op, the
    ops of that kind: every node of an ONNX op type) and the activities
    they launched (for a module, the ops under it that launched GPU work when the window
    has any). The "(no operator)" row is the activities without an op. On the device
    basis ``device_ns`` equals the row's total summed over its groups; on a host basis,
    ``self_ns`` does."""
    if by not in DRILL_BY:
        raise ValueError(f"by must be one of {', '.join(DRILL_BY)}")
    ops, k = window.ops, window.kernels
    sel = ops[_op_keys(ops, by) == name]
    if by in ("module", "instance") and len(k):
        launched = sel[np.isin(sel["id"].to_numpy(), k["op"].to_numpy())]
        sel = launched if len(launched) else sel
    mine = np.isin(k["op"].to_numpy(), sel["id"].to_numpy())
    if name == _no_op_key(by):
        mine |= k["op"].to_numpy() < 0
    kk = k[mine]
    sel = sel.sort_values("ts_ns", kind="stable")
    calls = pd.DataFrame({
        "id": sel["id"].to_numpy(), "ts_ns": sel["ts_ns"].to_numpy(), "dur_ns": sel["dur_ns"].to_numpy(),
        "self_ns": sel["self_ns"].to_numpy(), "step": sel["step"].to_numpy(),
        "op": sel["name"].astype(str).to_numpy(), "module": sel["module"].astype(str).to_numpy(),
        "shapes": sel["shapes"].astype(str).to_numpy(), "dtypes": sel["dtypes"].astype(str).to_numpy(),
    })
    return RowCalls(
        by=by, name=name, calls=calls, kernels=_kernel_table(trace, kk),
        modules=counts(calls["module"], NO_MODULE, "module"),
        shapes=counts(calls["shapes"], NO_SHAPE, "shapes"),
        groups=sorted(set(sel["group"].astype(str))), activities=len(kk),
        device_ns=int(kk["dur_ns"].sum()), self_ns=int(sel["self_ns"].sum()))


def _op_keys(ops: pd.DataFrame, by: str) -> np.ndarray:
    """Each op's row name in ``breakdown(by=...)``."""
    if by == "shape":
        return shape_key(ops["name"].to_numpy(), ops["shapes"].to_numpy())
    if by in ("module", "instance"):
        modules = ops["module"].astype(str).to_numpy()
        modules = np.where(modules == "", NO_MODULE, modules)
        return class_paths(modules) if by == "module" else modules
    if by == "op":
        return op_kinds(ops)
    return ops["name"].astype(str).to_numpy()


def _no_op_key(by: str) -> str:
    return shape_key([NO_OP], [""])[0] if by == "shape" else NO_OP


@dataclass
class KernelInstances:
    """Every instance of one GPU activity name and the ops that launched it."""

    name: str
    instances: pd.DataFrame  # INSTANCE_COLUMNS, in time order
    by_op: pd.DataFrame  # op, count, total_ns; largest first
    modules: pd.DataFrame  # module, calls
    groups: list[str] = field(default_factory=list)
    device_ns: int = 0


def kernel_instances(trace: Trace, window: Selection, name: str) -> KernelInstances:
    """The instances of the activity ``name`` in the window (its row of
    :func:`kernel_table`): their times, streams, launching op and module, grid/block,
    bytes and link evidence; per launching op, count and time (summing to ``device_ns``)."""
    k = window.kernels
    kk = k[k["name"].astype(str) == name].sort_values("ts_ns", kind="stable")
    inst = pd.DataFrame({
        "id": kk["id"].to_numpy(), "ts_ns": kk["ts_ns"].to_numpy(), "dur_ns": kk["dur_ns"].to_numpy(),
        "stream": kk["stream"].to_numpy(), "op": op_column(trace, kk, "name", NO_OP),
        "module": op_column(trace, kk, "module", ""), "grid": kk["grid"].astype(str).to_numpy(),
        "block": kk["block"].astype(str).to_numpy(), "bytes": kk["bytes"].to_numpy(),
        "link": kk["link"].astype(str).to_numpy()})
    by_op = inst.groupby("op", sort=False).agg(count=("dur_ns", "size"), total_ns=("dur_ns", "sum"))
    by_op = by_op.reset_index().sort_values(["total_ns", "op"], ascending=[False, True]).reset_index(drop=True)
    return KernelInstances(name=name, instances=inst, by_op=by_op,
                           modules=counts(inst["module"], NO_MODULE, "module"),
                           groups=sorted(set(kk["group"].astype(str))), device_ns=int(kk["dur_ns"].sum()))
