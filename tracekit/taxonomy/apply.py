"""Give every op and kernel of a Trace its group, with the precedence of DESIGN.md:
innermost classified module/annotation > the op (or its nearest classified caller) >
the kernel name; host<->device copies are Transfer whatever launched them."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tracekit.model import Trace
from tracekit.model.intervals import propagate_down
from tracekit.taxonomy import OTHER, UNATTRIBUTED, Taxonomy

TRANSFER = "Transfer"
HOST_DEVICE_COPIES = ("HtoD", "DtoH")


def classify(trace: Trace, taxonomy: Taxonomy | None = None) -> Trace:
    """Fill ``group``/``is_gemm`` of ops and kernels and ``module_group`` of ops, in place."""
    taxonomy = taxonomy or Taxonomy.default()
    order = taxonomy.group_order()
    code_of = {g: i for i, g in enumerate(order)}
    none = -1

    def codes(kind: str, labels: pd.Categorical) -> np.ndarray:
        """Group code per row, classifying each distinct label once (-1: no rule)."""
        per_label = np.array([code_of.get(g, none) if g else none
                              for g in taxonomy.classify_many(kind, labels.categories)],
                             dtype=np.int64)
        row_codes = np.asarray(labels.codes)
        return np.where(row_codes >= 0, per_label[np.maximum(row_codes, 0)] if len(per_label) else none, none)

    ranges, ops, kernels = trace.ranges, trace.ops, trace.kernels

    # modules/annotations: innermost classified enclosing range (steps never classify)
    module_eff = np.full(len(ranges), none, np.int64)
    if len(ranges):
        own = codes("modules", ranges["name"].array)
        own = np.where(ranges["kind"].isin(["annotation", "module", "nvtx"]).to_numpy(), own, none)
        module_eff = propagate_down(ranges["parent"].to_numpy(), ranges["depth"].to_numpy(), own, none)

    # ops: own rule, else nearest classified caller; a classified module wins over both
    op_range = ops["range"].to_numpy()
    op_module = np.where(op_range >= 0, module_eff[np.maximum(op_range, 0)] if len(module_eff) else none, none)
    # formats without module ranges (ONNX node names "/model/layers.0/norm/Mul", NVTX
    # paths) carry the module path only: classify its components, innermost first
    # the op's type where the parser gives one (ONNX op type, TRT layer type), else its name
    if len(ops):
        op_own = codes("ops", ops["name"].array)
        typed = ops["op_type"].astype(str).to_numpy() != ""
        if typed.any():
            op_own = np.where(typed, codes("ops", ops["op_type"].array), op_own)
    else:
        op_own = np.zeros(0, np.int64)
    path_only = (op_module == none) & (op_range < 0)
    if path_only.any():
        by_path = _path_codes(ops["module"].array, taxonomy, code_of, none)
        # a path is weaker evidence than a module range: it never turns a GEMM-based op
        # (a Conv in ".../patch_embeddings", a MatMul in ".../norm") into something else
        gemm_code = np.array([taxonomy.is_gemm(g) for g in order], bool)
        own_is_gemm = (op_own != none) & gemm_code[np.maximum(op_own, 0)]
        op_module = np.where(path_only & ~own_is_gemm, by_path, op_module)
    op_inherited = propagate_down(ops["parent"].to_numpy(), ops["depth"].to_numpy(), op_own, none)
    op_group = np.where(op_module != none, op_module,
                        np.where(op_inherited != none, op_inherited, code_of[OTHER]))
    # what the op itself says (used by kernels: module > op > kernel name)
    op_says = np.where(op_module != none, op_module, op_inherited)
    # a launch standing in for a missing op (a graph replay) says nothing: kernel names decide
    if len(ops):
        op_says = np.where(ops["op_type"].astype(str).to_numpy() == "launch", none, op_says)

    # kernels
    k_op = kernels["op"].to_numpy()
    k_name = codes("kernels", kernels["name"].array) if len(kernels) else np.zeros(0, np.int64)
    k_from_op = np.where(k_op >= 0, op_says[np.maximum(k_op, 0)] if len(op_says) else none, none)
    k_group = np.where(k_from_op != none, k_from_op,
                       np.where(k_name != none, k_name,
                                np.where(k_op >= 0, code_of[OTHER], code_of[UNATTRIBUTED])))
    if len(kernels):
        host_copy = kernels["copy"].isin(HOST_DEVICE_COPIES).to_numpy()
        k_group = np.where(host_copy, code_of.setdefault(TRANSFER, len(code_of)), k_group)
        if TRANSFER not in order:
            order.append(TRANSFER)

    gemm = np.array([taxonomy.is_gemm(g) for g in order], bool)
    categories = pd.Index(order, dtype=object)
    ops["group"] = pd.Categorical.from_codes(op_group, categories=categories)
    ops["is_gemm"] = gemm[op_group] if len(ops) else np.zeros(0, bool)
    ops["module_group"] = pd.Categorical.from_codes(op_module, categories=categories)
    kernels["group"] = pd.Categorical.from_codes(k_group, categories=categories)
    kernels["is_gemm"] = gemm[k_group] if len(kernels) else np.zeros(0, bool)
    trace.meta["taxonomy"] = taxonomy.sources
    trace.meta["group_order"] = order
    return trace


_PATH_SPLIT = re.compile(r"[/.]")


def _path_codes(paths: pd.Categorical, taxonomy: Taxonomy, code_of: dict, none: int) -> np.ndarray:
    """Group code per row from the innermost classified component of its module path."""
    per_label = []
    for path in paths.categories:
        code = none
        for part in reversed([p for p in _PATH_SPLIT.split(str(path)) if p]):
            group = taxonomy.classify("modules", part)
            if group:
                code = code_of.get(group, none)
                break
        per_label.append(code)
    per_label = np.array(per_label, dtype=np.int64)
    row = np.asarray(paths.codes)
    return np.where(row >= 0, per_label[np.maximum(row, 0)] if len(per_label) else none, none)
