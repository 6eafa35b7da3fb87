"""Give every op and kernel of a Trace its group, with the precedence of docs/design.md:
innermost classified module/annotation > the op (or its nearest classified caller) >
the kernel name; host<->device copies are Transfer whatever launched them."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tracekit.model import Trace
from tracekit.model.intervals import propagate_down
from tracekit.model.names import FUSED_JOIN
from tracekit.taxonomy import OTHER, UNATTRIBUTED, Taxonomy

TRANSFER = "Transfer"
COMMUNICATION = "Communication"
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
    gemm_code = np.array([taxonomy.is_gemm(g) for g in order], bool)
    comm = code_of.get(COMMUNICATION, -2)

    def is_gemm(c: np.ndarray) -> np.ndarray:
        return (c != none) & gemm_code[np.maximum(c, 0)] if len(gemm_code) else np.zeros(len(c), bool)

    # ops: their own rule (the op's type where the parser gives one: ONNX op type, TRT layer
    # type), else the nearest classified caller
    if len(ops):
        op_own = codes("ops", ops["name"].array)
        typed = ops["op_type"].astype(str).to_numpy() != ""
        if typed.any():
            op_own = np.where(typed, codes("ops", ops["op_type"].array), op_own)
    else:
        op_own = np.zeros(0, np.int64)
    op_inherited = propagate_down(ops["parent"].to_numpy(), ops["depth"].to_numpy(), op_own, none)
    op_is_gemm = is_gemm(op_inherited)

    # modules/annotations: innermost classified enclosing range (steps never classify). A
    # range that holds a GEMM-based op is a container (ResNetEmbeddings: conv, norm, relu,
    # pool; Upsample2D: interpolate + conv), not one operator: it decides nothing, unless
    # its own group is GEMM-based (a naive attention module)
    op_range = ops["range"].to_numpy()
    module_eff = np.full(len(ranges), none, np.int64)
    if len(ranges):
        own = codes("modules", ranges["name"].array)
        own = np.where(ranges["kind"].isin(["annotation", "module", "nvtx"]).to_numpy(), own, none)
        holds = _holders(ranges["parent"].to_numpy(), op_range[op_is_gemm & (op_range >= 0)])
        own = np.where(holds & ~is_gemm(own), none, own)
        module_eff = propagate_down(ranges["parent"].to_numpy(), ranges["depth"].to_numpy(), own, none)
    op_module = np.where(op_range >= 0, module_eff[np.maximum(op_range, 0)] if len(module_eff) else none, none)
    # formats without module ranges (ONNX node names "/model/layers.0/norm/Mul", NVTX
    # paths) carry the module path only: classify its components, innermost first
    path_only = (op_module == none) & (op_range < 0)
    if path_only.any():
        by_path = _path_codes(ops, taxonomy, code_of, none, op_is_gemm)
        op_module = np.where(path_only, by_path, op_module)
    # an op that is GEMM-based or a collective keeps its group whatever encloses it (a Conv2d
    # in a PatchEmbeddings, an all-reduce in a VocabParallelEmbedding); only a GEMM-based
    # module overrides a GEMM-based op, and nothing overrides a collective
    keeps = (op_inherited == comm) | (op_is_gemm & ~is_gemm(op_module))
    op_module = np.where(keeps, none, op_module)
    op_group = np.where(op_module != none, op_module,
                        np.where(op_inherited != none, op_inherited, code_of[OTHER]))
    # what the op itself says (used by kernels: module > op > kernel name)
    op_says = np.where(op_module != none, op_module, op_inherited)

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
    trace.meta.taxonomy = list(taxonomy.sources)
    trace.meta.group_order = list(order)
    return trace


_PATH_SPLIT = re.compile(r"[/.]")


def _holders(parent: np.ndarray, ranges_with_gemm: np.ndarray) -> np.ndarray:
    """Ranges that hold (directly or through inner ranges) one of these ranges."""
    hold = np.zeros(len(parent), bool)
    cur = np.unique(ranges_with_gemm)
    while len(cur):
        hold[cur] = True
        cur = np.unique(parent[cur])
        cur = cur[cur >= 0]
        cur = cur[~hold[cur]]
    return hold


def path_pieces(path: str) -> list[tuple[str, str]]:
    """(component, path up to and including it) of a module path, outermost first. A fused
    layer name ("/conv1/Conv + /relu/Relu") or a reformat copy is one op, never a module:
    its members are not cut apart into path components."""
    out: list[tuple[str, str]] = []
    text = str(path)
    at = text.find("Reformatting CopyNode for ")
    if at >= 0:
        text = text[:at]
    members = text.split(FUSED_JOIN)
    if len(members) > 1:  # keep what encloses the fused list, not its members
        text = members[0]
        cut = max(text.rfind("/"), text.rfind("."))
        text = text[:cut] if cut > 0 else ""
    pos = 0
    for piece in _PATH_SPLIT.split(text):
        pos += len(piece)
        if piece:
            out.append((piece, text[:pos]))
        pos += 1
    return out


def _path_codes(ops: pd.DataFrame, taxonomy: Taxonomy, code_of: dict, none: int,
                op_is_gemm: np.ndarray) -> np.ndarray:
    """Group code per op from the innermost classified component of its module path. A
    component that holds a GEMM-based op is a container and decides nothing (as ranges)."""
    paths, names = ops["module"].array, ops["name"].array
    row, name_row = np.asarray(paths.codes).astype(np.int64), np.asarray(names.codes).astype(np.int64)
    categories = [str(c) for c in paths.categories]
    name_labels = [str(c) for c in names.categories]
    gemm_prefixes: set[str] = set()
    for code in np.unique(row[op_is_gemm & (row >= 0)]):
        gemm_prefixes.update(prefix for _, prefix in path_pieces(categories[code]))
    out = np.full(len(row), none, np.int64)
    has = np.flatnonzero(row >= 0)
    if not len(has):
        return out
    keys, inverse = np.unique(row[has] * (len(name_labels) + 1) + (name_row[has] + 1), return_inverse=True)
    per_key = np.full(len(keys), none, np.int64)
    for j, key in enumerate(keys.tolist()):
        path = categories[key // (len(name_labels) + 1)]
        n = key % (len(name_labels) + 1) - 1
        name = name_labels[n] if n >= 0 else ""
        # the path of an NVTX op includes the op itself: its own name is not a module
        own = path[:-len(name)].rstrip("./") if name and path.endswith(name) else path
        for piece, prefix in reversed(path_pieces(own)):
            if prefix in gemm_prefixes:
                continue
            group = taxonomy.classify("modules", piece)
            if group:
                per_key[j] = code_of.get(group, none)
                break
    out[has] = per_key[inverse.reshape(-1)]
    return out
