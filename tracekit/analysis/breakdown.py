"""Where the time goes: breakdowns by group, op, kernel, module or input shape (DESIGN.md,
"Time accounting"). Every breakdown's ``total_ns`` column sums exactly to the window's total.

Time basis: ``device`` (sum of GPU activity durations) when the trace has GPU activity,
otherwise ``cpu_self`` (exclusive time of host ops). CPU and GPU time are never added.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from tracekit.analysis.window import Selection
from tracekit.model import Trace
from tracekit.model.names import module_class_path
from tracekit.model.vocab import SOURCES

BY = ("group", "op", "node", "kernel", "module", "instance", "shape", "step")
# sources whose op names are instances (ONNX node, TensorRT layer): an op's kind is its op_type
INSTANCE_NAMED = tuple(s for s, v in SOURCES.items() if v.instance_names)
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
    """One row per group / op kind / op name / kernel name / module path / op input shape,
    largest first (groups in taxonomy order). Columns: name, group, is_gemm, calls, kernels,
    total_ns, mean_ns, share, kernels_per_call. ``by="op"`` keys an op by its kind
    (:func:`op_kinds`: the op type of an ONNX node or TensorRT layer, else the op name) and
    adds ``instances``, how many op names the row holds; ``by="node"`` has one row per op
    name (node, layer). ``by="module"`` aggregates every instance of a module
    into its class path (:func:`~tracekit.model.names.module_class_path`) and adds
    ``instances``, how many module paths the row holds; ``by="instance"`` has one row per
    module path. ``by="step"`` has one row per step and group (``step 3``; events outside
    every step are ``(outside steps)``), in step order. ``by="shape"`` names a row by the op name and its
    input shapes (:func:`shape_key`: ``"aten::mm [[8, 64], [64, 64]]"``; GPU activities
    without an op: ``"(no operator) (no shapes)"``)."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    device = time_basis(trace) == "device"
    if by == "kernel" and not device:
        return _empty()
    units = _device_units(trace, window, by) if device else _op_units(window, by)
    total = int(units.dur.sum())
    rows = _aggregate(units, instances=by in ("op", "module"))
    group = np.asarray([str(g) for g in units.group[1][rows.group]], dtype=object)
    key = units.key[1][rows.key] if units.key is not None else rows.key
    if by in ("group", "step"):
        order = {g: i for i, g in enumerate(group_order(trace))}
        rank = np.asarray([order.get(g, 1e9) for g in group], dtype=np.float64)
    if by == "group":
        name = group
        sort = np.argsort(rank, kind="quicksort")
    elif by == "step":
        step = key.astype(np.int64)
        name = np.where(step >= 0, np.char.add("step ", step.astype(str)), NO_STEP).astype(object)
        # events outside every step come after the steps: the steps are what a reader compares
        sort = np.lexsort((rank, np.where(step >= 0, step.astype(np.int64), np.iinfo(np.int64).max)))
    else:
        name = np.asarray([str(v) for v in key], dtype=object)
        _, name_rank = np.unique(name, return_inverse=True)
        _, total_rank = np.unique(-rows.total_ns, return_inverse=True)
        sort = np.lexsort((name_rank.ravel(), total_rank.ravel()))
    # rows with no time go, unless they count kernels or calls: zero-length kernels
    # still count in their group, so group counts add up to the header's
    keep = rows.total_ns[sort] > 0
    if by == "group":
        keep |= (rows.kernels[sort] > 0) | (rows.calls[sort] > 0)
    sort = sort[keep] if total > 0 else sort
    gemm = _gemm_flags(trace)
    calls = np.maximum(rows.calls[sort], 1)
    table = pd.DataFrame({
        "name": pd.array(name[sort], dtype="str"), "group": pd.array(group[sort], dtype="str"),
        "is_gemm": np.asarray([bool(gemm.get(g, False)) for g in group[sort]], dtype=bool),
        "calls": rows.calls[sort], "kernels": rows.kernels[sort], "total_ns": rows.total_ns[sort],
        "mean_ns": (rows.total_ns[sort] / calls).astype(np.int64),
        "share": rows.total_ns[sort] / total if total else np.zeros(len(sort)),
        "kernels_per_call": rows.kernels[sort] / calls,
    })
    if rows.instances is not None:
        table["instances"] = rows.instances[sort]
    return table


def op_kinds(ops: pd.DataFrame) -> np.ndarray:
    """Each op's ``by="op"`` row name: what it is. ONNX Runtime and TensorRT name an op by
    its instance (``SkipLayerNormalization_token_69``, ``conv1 + Relu_1``) and write its
    kind in ``op_type``; other formats' op names already are kinds (``aten::mm``)."""
    codes, values = _kind_codes(ops)
    out = np.asarray([str(v) for v in values], dtype=object)[np.maximum(codes, 0)] if len(values) \
        else np.full(len(codes), "nan", dtype=object)
    return np.where(codes >= 0, out, "nan").astype(object)


def _kind_codes(ops: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(codes, values) of :func:`op_kinds` (code -1: no name), from the categorical codes."""
    names, values = _categories(ops["name"])
    source = ops["source"]
    flag = np.isin(np.asarray(source.cat.categories, dtype=object), INSTANCE_NAMED)
    s_codes = source.cat.codes.to_numpy()
    typed = (s_codes >= 0) & flag[np.maximum(s_codes, 0)] if len(flag) else np.zeros(len(ops), bool)
    if not typed.any():
        return names, values
    t_codes, t_values = _categories(ops["op_type"])
    has_type = np.asarray([str(v) != "" for v in t_values] + [False], dtype=bool)
    typed &= has_type[np.where(t_codes >= 0, t_codes, len(t_values))]
    codes = np.where(typed, len(values) + t_codes.astype(np.int64), names.astype(np.int64))
    recode, distinct = pd.factorize(np.asarray([*values, *t_values], dtype=object))
    return np.where(codes >= 0, recode[np.maximum(codes, 0)] if len(recode) else codes, -1), \
        np.asarray(distinct, dtype=object)


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


@dataclass
class _Units:
    """What a breakdown adds up, as integer codes into small arrays of distinct values
    (categorical codes where the trace has them): a groupby over millions of strings, or
    pandas' fixed costs on a few hundred rows, would cost more than the sums."""

    group: tuple[np.ndarray, np.ndarray]  # (codes, values); code -1: no group
    key: tuple[np.ndarray, np.ndarray] | None  # the row key besides the group
    dur: np.ndarray
    call: np.ndarray  # what a call is: the op's id; a GPU activity without an op is its own
    kernels: bool  # every unit is a GPU activity
    module: tuple[np.ndarray, np.ndarray] | None = None  # module paths (by="module")
    instance: np.ndarray | None = None  # codes of what a row counts the instances of


class _Rows(NamedTuple):
    group: np.ndarray  # index into the units' group values
    key: np.ndarray  # index into the units' key values
    total_ns: np.ndarray
    kernels: np.ndarray
    calls: np.ndarray
    instances: np.ndarray | None


def _device_units(trace: Trace, window: Selection, by: str) -> _Units:
    """One unit per GPU activity, with the op, module (or op + input shapes) it belongs to."""
    k = window.kernels
    op = k["op"].to_numpy()
    has_op = op >= 0
    ops = trace.ops
    key = module = instance = None
    if by == "op":
        key = _lookup_codes(_kind_codes(ops), op, NO_OP, NO_OP)
        instance = _lookup(ops["name"], op, NO_OP, NO_OP)[0]
    elif by == "node":
        key = _lookup(ops["name"], op, NO_OP, NO_OP)
    elif by in ("module", "instance"):
        codes, values = _lookup(ops["module"], op, NO_OP, NO_MODULE)
        module = _dedupe(codes, np.where(values == "", NO_MODULE, values))
        key = module
    elif by == "kernel":
        key = _categories(k["name"])
    elif by == "shape":
        pairs, keys = _shape_codes(ops)
        index = np.where(has_op, op, 0)
        codes = np.where(has_op, pairs[index] if len(pairs) else 0, len(keys))
        key = _dedupe(codes, np.append(keys, shape_key([NO_OP], [""])))
    elif by == "step":
        key = _factorize(k["step"].to_numpy())
    return _with_class(_Units(
        group=_categories(k["group"]), key=key, dur=k["dur_ns"].to_numpy(),
        # an activity without an op is its own "call" (so calls count launches, not nothing)
        call=np.where(has_op, op, -1 - np.arange(len(k))), kernels=True, module=module,
        instance=instance), by)


def _op_units(window: Selection, by: str) -> _Units:
    """One unit per op (its self time)."""
    o = window.ops
    key = module = instance = None
    if by == "op":
        key = _kind_codes(o)
        instance = o["name"].cat.codes.to_numpy()
    elif by == "node":
        key = _categories(o["name"])
    elif by in ("module", "instance"):
        codes, values = _categories(o["module"], missing="nan")
        module = _dedupe(codes, np.where(values == "", NO_MODULE, values))
        key = module
    elif by == "shape":
        key = _shape_codes(o)
    elif by == "step":
        key = _factorize(o["step"].to_numpy())
    return _with_class(_Units(group=_categories(o["group"]), key=key, dur=o["self_ns"].to_numpy(),
                              call=o["id"].to_numpy(), kernels=False, module=module,
                              instance=instance), by)


def _with_class(units: _Units, by: str) -> _Units:
    """``by="module"``: rows keyed by the module paths' class paths (each distinct path once)."""
    if by == "module" and units.module is not None:
        codes, values = units.module
        units.key = _dedupe(codes, class_paths(values))
        units.instance = codes
    return units


def _aggregate(units: _Units, instances: bool = False) -> _Rows:
    """Sums per (key, group), in order of first appearance as a groupby(sort=False) has
    them; units with no group or key are left out, as a groupby leaves them out."""
    groups = max(len(units.group[1]), 1)
    combo = units.group[0].astype(np.int64)
    valid = combo >= 0
    if units.key is not None:
        valid &= units.key[0] >= 0
        combo = units.key[0].astype(np.int64) * groups + combo
    dur, call = units.dur, units.call
    module = units.instance if instances else None
    if not valid.all():
        combo, dur, call = combo[valid], dur[valid], call[valid]
        module = module[valid] if module is not None else None
    row, first = pd.factorize(combo)
    n = len(first)
    return _Rows(group=first % groups, key=first // groups, total_ns=_sums(row, dur, n),
                 kernels=np.bincount(row, minlength=n).astype(np.int64) if units.kernels
                 else np.zeros(n, np.int64),
                 calls=_distinct(row, call, n),
                 instances=_distinct(row, module, n) if module is not None else None)


def _sums(row: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per row, the exact int64 sum of ``values``."""
    if np.abs(values.astype(np.float64)).sum() < 2 ** 53:  # every partial sum exact in a double
        return np.bincount(row, weights=values, minlength=n).astype(np.int64)
    out = np.zeros(n, np.int64)
    np.add.at(out, row, values.astype(np.int64))
    return out


def _distinct(row: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per row, how many distinct ``values`` it holds."""
    if not len(values):
        return np.zeros(n, np.int64)
    lo = int(values.min())
    span = int(values.max()) - lo + 1
    if n * span < 2 ** 62:
        pairs = pd.unique(row.astype(np.int64) * span + (values.astype(np.int64) - lo))
        return np.bincount(pairs // span, minlength=n).astype(np.int64)
    seen = pd.DataFrame({"row": row, "value": values}).drop_duplicates()
    return np.bincount(seen["row"].to_numpy(), minlength=n).astype(np.int64)


def _categories(column: pd.Series, missing: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, values) of a categorical column (code -1: no value; ``missing``: a value
    of its own, as ``astype(str)`` reads NaN)."""
    values = np.asarray(column.cat.categories, dtype=object)
    codes = column.cat.codes.to_numpy()
    if missing is None:
        return codes, values
    values = np.asarray([str(v) for v in values] + [missing], dtype=object)
    return _dedupe(np.where(codes < 0, len(values) - 1, codes), values)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, distinct = pd.factorize(values)
    return codes, np.asarray(distinct)


def _dedupe(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same codes into distinct values (two values that read alike become one)."""
    recode, distinct = pd.factorize(np.asarray(values, dtype=object))
    return (recode[codes] if len(recode) else codes), np.asarray(distinct, dtype=object)


def _lookup(column: pd.Series, index: np.ndarray, missing: str, unnamed: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes, values) of column[index]: ``missing`` where index < 0, ``unnamed`` where the
    column has no values at all; a row without a value reads as the last category (as
    indexing the categories by its code -1 would)."""
    return _lookup_codes((column.cat.codes.to_numpy(), np.asarray(column.cat.categories, dtype=object)),
                         index, missing, unnamed)


def _lookup_codes(column: tuple[np.ndarray, np.ndarray], index: np.ndarray, missing: str,
                  unnamed: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_lookup` of a column given as (codes, values)."""
    codes, values = column
    ok = index >= 0
    out = np.full(len(index), len(values), dtype=np.int64)
    if len(values):
        found = codes[index[ok]]
        out[ok] = np.where(found < 0, len(values) - 1, found)
    else:
        out[ok] = 1
    return _dedupe(out, np.append(values, np.asarray([missing, unnamed], dtype=object)))


def _shape_codes(ops: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(codes, values) of each op's :func:`shape_key`, computed once per distinct pair of
    name and shapes (NaN reads "nan", as ``astype(str)`` has it)."""
    names = ops["name"].cat
    shapes = ops["shapes"].cat
    width = len(shapes.categories) + 1
    pair = (names.codes.to_numpy().astype(np.int64) + 1) * width + shapes.codes.to_numpy() + 1
    codes, first = pd.factorize(pair)
    name_values = np.asarray(["nan"] + [str(v) for v in names.categories], dtype=object)
    shape_values = np.asarray(["nan"] + [str(v) for v in shapes.categories], dtype=object)
    keys = shape_key(name_values[first // width], shape_values[first % width])
    return _dedupe(codes, keys)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object" if c in ("name", "group") else "int64")
                         for c in COLUMNS})
