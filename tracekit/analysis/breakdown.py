"""Where the time goes: breakdowns by group, op, kernel, module or input shape (DESIGN.md,
"Time accounting"). Every breakdown's ``total_ns`` column sums exactly to the window's total.

Time basis: ``device`` (sum of GPU activity durations) when the trace has GPU activity,
otherwise ``cpu_self`` (exclusive time of host ops). CPU and GPU time are never added.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tracekit.analysis.window import Selection
from tracekit.model import Trace
from tracekit.model.names import module_class_path

BY = ("group", "op", "kernel", "module", "instance", "shape", "step")
NO_STEP = "(outside steps)"
NO_OP = "(no operator)"
NO_MODULE = "(no module)"
NO_SHAPE = "(no shapes)"
COLUMNS = ["name", "group", "is_gemm", "calls", "kernels", "total_ns", "mean_ns", "share",
           "kernels_per_call"]


def time_basis(trace: Trace) -> str:
    """"device" when there is GPU activity; otherwise what the parser says its op times
    are ("trt_layer": TensorRT per-layer average, "ort_node": ONNX Runtime node time),
    "cpu_self" by default. Non-device bases add up the ops' ``self_ns``."""
    if len(trace.kernels):
        return "device"
    return trace.meta.time_basis or "cpu_self"


def group_order(trace: Trace) -> list[str]:
    return list(trace.meta.group_order or trace.kernels["group"].cat.categories)


def breakdown(trace: Trace, window: Selection, by: str = "group") -> pd.DataFrame:
    """One row per group / op / kernel name / module path / op input shape, largest first
    (groups in taxonomy order). Columns: name, group, is_gemm, calls, kernels, total_ns,
    mean_ns, share, kernels_per_call. ``by="module"`` aggregates every instance of a module
    into its class path (:func:`~tracekit.model.names.module_class_path`) and adds
    ``instances``, how many module paths the row holds; ``by="instance"`` has one row per
    module path. ``by="step"`` has one row per step and group (``step 3``; events outside
    every step are ``(outside steps)``), in step order. ``by="shape"`` names a row by the op name and its
    input shapes (:func:`shape_key`: ``"aten::mm [[8, 64], [64, 64]]"``; GPU activities
    without an op: ``"(no operator) (no shapes)"``)."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    basis = time_basis(trace)
    shapes = by == "shape"
    frame = _device_frame(trace, window, shapes) if basis == "device" else _op_frame(window, shapes)
    if by == "step":
        steps = window.kernels["step"] if basis == "device" else window.ops["step"]
        frame["step"] = steps.to_numpy()
        key = ["step", "group"]
    elif by == "module":
        frame["module_class"] = class_paths(frame["module"])
        key = ["module_class", "group"]
    elif by == "instance":
        key = ["module", "group"]
    elif by == "group":
        key = ["group"]
    elif by == "kernel":
        if basis != "device":
            return _empty()
        key = ["kernel", "group"]
    else:
        key = [by, "group"]
    grouped = frame.groupby(key, observed=True, sort=False)
    sums = dict(total_ns=("dur_ns", "sum"), kernels=("is_kernel", "sum"), calls=("call", "nunique"))
    if by == "module":
        sums["instances"] = ("module", "nunique")
    table = grouped.agg(**sums).reset_index()
    total = int(frame["dur_ns"].sum())
    if by == "group":
        table["name"] = table["group"].astype(str)
        order = {g: i for i, g in enumerate(group_order(trace))}
        table = table.sort_values("group", key=lambda s: s.astype(str).map(order).fillna(1e9))
    elif by == "step":
        step = table["step"].to_numpy()
        table["name"] = np.where(step >= 0, np.char.add("step ", step.astype(str)), NO_STEP)
        order = {g: i for i, g in enumerate(group_order(trace))}
        table["_g"] = table["group"].astype(str).map(order).fillna(1e9)
        table["_s"] = np.where(step >= 0, step, np.iinfo(np.int64).max)
        table = table.sort_values(["_s", "_g"], kind="stable")
    else:
        table["name"] = table[key[0]].astype(str)
        table = table.sort_values(["total_ns", "name"], ascending=[False, True])
    # rows with no time go, unless they count kernels or calls: zero-length kernels
    # still count in their group, so group counts add up to the header's
    counted = (table["kernels"] > 0) | (table["calls"] > 0) if by == "group" else False
    table = table[(table["total_ns"] > 0) | counted] if total > 0 else table
    gemm = _gemm_flags(trace)
    table["group"] = table["group"].astype(str)
    table["is_gemm"] = table["group"].map(gemm).fillna(False).astype(bool)
    table["total_ns"] = table["total_ns"].astype(np.int64)
    table["kernels"] = table["kernels"].astype(np.int64)
    table["calls"] = table["calls"].astype(np.int64)
    table["mean_ns"] = (table["total_ns"] / table["calls"].clip(lower=1)).astype(np.int64)
    table["share"] = table["total_ns"] / total if total else 0.0
    table["kernels_per_call"] = table["kernels"] / table["calls"].clip(lower=1)
    if by == "module":
        table["instances"] = table["instances"].astype(np.int64)
        return table[COLUMNS + ["instances"]].reset_index(drop=True)
    return table[COLUMNS].reset_index(drop=True)


def class_paths(modules) -> np.ndarray:
    """:func:`~tracekit.model.names.module_class_path` of each module path (each distinct
    path once)."""
    values = pd.Series(np.asarray(modules, dtype=object)).astype(str)
    distinct = values.unique()
    mapping = {m: module_class_path(m) for m in distinct}
    return values.map(mapping).to_numpy(dtype=object)


def gemm_groups(trace: Trace) -> set[str]:
    """The groups that are GEMM-based in this trace."""
    return {g for g, is_gemm in _gemm_flags(trace).items() if is_gemm}


def _gemm_flags(trace: Trace) -> dict:
    """Group -> whether it is GEMM-based, as the group's last row says (groups in order of
    first appearance); from the categorical codes, not a string per row."""
    k = trace.kernels if len(trace.kernels) else trace.ops
    if not len(k):
        return {}
    group = k["group"]
    if not isinstance(group.dtype, pd.CategoricalDtype):
        return dict(zip(group.astype(str), k["is_gemm"]))
    codes = group.cat.codes.to_numpy()
    flags = k["is_gemm"].to_numpy()
    present, last = np.unique(codes[::-1], return_index=True)
    _, first = np.unique(codes, return_index=True)
    cats = group.cat.categories
    return {str(cats[present[i]]) if present[i] >= 0 else "nan": bool(flags[len(codes) - 1 - last[i]])
            for i in np.argsort(first, kind="stable")}


def shape_key(names, shapes) -> np.ndarray:
    """The ``by="shape"`` row name of ops with these names and input shapes."""
    names = np.asarray(names, dtype=object).astype(str)
    shapes = np.asarray(shapes, dtype=object).astype(str)
    return np.char.add(np.char.add(names, " "), np.where(shapes == "", NO_SHAPE, shapes)).astype(object)


def _device_frame(trace: Trace, window: Selection, shapes: bool = False) -> pd.DataFrame:
    """One row per GPU activity with the op, module (and op + input shapes) and call it
    belongs to."""
    k = window.kernels
    op = k["op"].to_numpy()
    has_op = op >= 0
    ops = trace.ops
    op_names = _lookup_cat(ops["name"], op, NO_OP)
    modules = _lookup_cat(ops["module"], op, NO_MODULE)
    modules = np.where(has_op, np.where(modules == "", NO_MODULE, modules), NO_OP)
    # an activity without an op is its own "call" (so calls count launches, not nothing)
    call = np.where(has_op, op, -1 - np.arange(len(k)))
    # categoricals stay categoricals and object arrays stay objects: turning ~10^6 names
    # into pandas' Arrow strings would cost more than the whole grouping
    frame = pd.DataFrame({
        "group": k["group"].array, "op": _objects(op_names), "module": _objects(modules),
        "kernel": k["name"].array, "dur_ns": k["dur_ns"].to_numpy(),
        "is_kernel": np.ones(len(k), np.int64), "call": call,
    })
    if shapes:
        keys = np.full(len(k), shape_key([NO_OP], [""])[0], dtype=object)
        if has_op.any():
            keys[has_op] = shape_key(ops["name"].to_numpy(), ops["shapes"].to_numpy())[op[has_op]]
        frame["shape"] = keys
    return frame


def _objects(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    return pd.arrays.NumpyExtensionArray(np.asarray(values, dtype=object))


def _op_frame(window: Selection, shapes: bool = False) -> pd.DataFrame:
    o = window.ops
    modules = o["module"].astype(str).to_numpy()
    frame = pd.DataFrame({
        "group": o["group"].to_numpy(), "op": o["name"].to_numpy(),
        "module": np.where(modules == "", NO_MODULE, modules),
        "dur_ns": o["self_ns"].to_numpy(), "is_kernel": np.zeros(len(o), np.int64),
        "call": o["id"].to_numpy(),
    })
    if shapes:
        frame["shape"] = shape_key(o["name"].to_numpy(), o["shapes"].to_numpy())
    return frame


def _lookup_cat(column: pd.Series, index: np.ndarray, missing: str) -> np.ndarray:
    """column[index] as strings, ``missing`` where index < 0 (vectorized via codes)."""
    cats = np.asarray(column.cat.categories, dtype=object)
    codes = column.cat.codes.to_numpy()
    out = np.full(len(index), missing, dtype=object)
    ok = index >= 0
    if ok.any() and len(cats):
        out[ok] = cats[codes[index[ok]]]
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object" if c in ("name", "group") else "int64")
                         for c in COLUMNS})
