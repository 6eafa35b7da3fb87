"""Compare 2..N traces of the same model: runtimes, before/after, GPUs.

Each side is one trace in its own window (the same step rule as ``summary``), cut into
units -- GPU activities on a device basis, ops (self time, layers, nodes) otherwise -- the
units the summary adds up, so each side's rows sum exactly to its summary total. Units get
a key at the chosen level and rows are matched by key:

- ``group``: the taxonomy group.
- ``op``: the operator kind, one spelling for the frameworks' names (``aten::layer_norm``,
  ``LayerNormalization`` -> ``layernorm``; ``aten::addmm``, ``Gemm``, ``MatMul`` ->
  ``matmul``). A fused layer (TensorRT ``Conv + Relu``) holds several kinds; kinds fused
  together anywhere become one row on every side (``conv + relu``), so the fused layer is
  matched to the several ops it replaced and the row lists the fused layers.
- ``module``: the module path. PyTorch module ranges (class names) and ONNX node scopes
  (attribute names) spell paths differently; when exact paths match little, rows are keyed
  by the indices of the repeated blocks on the path (``stages.0/layers.1`` ~
  ``ResNetStage_0.ResNetBottleNeckLayer_1``), which both spell.
- ``kernel``: the kernel base name (ops on a side without GPU activity).

A row every side has is matched (except the time without an op or a module); each side's
``matched_ns`` is the time in matched rows.
Unmatched rows stay in the result. Whether the sides are comparable at all (time bases,
models, steps, batch and dtype) is in ``comparable``.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tracekit.analysis.breakdown import NO_MODULE, NO_OP, breakdown, group_order, time_basis
from tracekit.analysis.compare_results import Comparable, CompareRow, Comparison, Side
from tracekit.analysis.results import Summary
from tracekit.analysis.summary import gemm_totals
from tracekit.analysis.window import Selection, select_window
from tracekit.model import FUSED_SEP, Trace, TracekitError
from tracekit.model.names import is_reformat, kernel_base_name, member_type
from tracekit.taxonomy import normalize_op

BY = ("group", "op", "module", "kernel")
BASIS_FAMILY = {"device": "device time", "trt_layer": "TensorRT layer averages",
                "cpu_self": "host CPU time", "ort_node": "host CPU time"}
BLOCKS = "indices of repeated blocks on the module path"
EXACT = "module path"
OUTSIDE_BLOCKS = "(outside repeated blocks)"
UNKNOWN = (NO_OP, NO_MODULE)  # keys that are never matched
STAND_IN = "launch"  # the parsers' op_type of a launch that stands in for a missing op

# operator kinds: the frameworks' spellings of one operator (names compacted: lower case,
# namespace, underscores and a Backward suffix dropped), first match wins
_KINDS = [(re.compile(p), kind) for p, kind in (
    (r"^(convtranspose|convtranspose\dd|cudnnconvolutiontranspose)$", "convtranspose"),
    (r"^(conv|conv\dd|convolution|cudnnconvolution|mkldnnconvolution|slowconv.*|thnnconv.*|"
     r"qlinearconv|convinteger|fusedconv|nchwcconv|caskconvolution|convolutionoverrideable)$", "conv"),
    (r"^(linear|addmm|mm|matmul|gemm|fusedgemm|fusedmatmul|matmulinteger|qlinearmatmul|bmm|"
     r"baddbmm|einsum|fullyconnected|matrixmultiply|mkldnnlinear)$", "matmul"),
    (r"^(batchnorm|batchnorm\dd|nativebatchnorm|batchnormimplindex|cudnnbatchnorm|"
     r"miopenbatchnorm|batchnormalization|nativebatchnormlegitnoTraining)$", "batchnorm"),
    (r"^(layernorm|nativelayernorm|layernormalization|simplifiedlayernormalization)$", "layernorm"),
    (r"^(groupnorm|nativegroupnorm|groupnormalization)$", "groupnorm"),
    (r"^(instancenorm|instancenormalization)$", "instancenorm"),
    (r"^(rmsnorm|fusedrmsnorm|rmsnormalization)$", "rmsnorm"),
    (r"^(relu|clampmin|threshold)$", "relu"),
    (r"^(maxpool|maxpool\dd|maxpool\ddwithindices)$", "maxpool"),
    (r"^(avgpool\dd|averagepool|adaptiveavgpool\dd|globalaveragepool)$", "avgpool"),
    (r"^(softmax|safesoftmax)$", "softmax"),
    (r"^(logsoftmax)$", "logsoftmax"),
    (r"^(quantizelinear|quantizepertensor|quantizeperchannel)$", "quantize"),
    (r"^(dequantizelinear|dequantize)$", "dequantize"),
    (r"^(scaleddotproductattention|scaleddotproductflashattention|scaleddotproductefficientattention|"
     r"multiheadattention|attention|sdpa)$", "attention"),
)]


_GRAPH_PREFIX = re.compile(r"^graph_\d+_(?=cpp_fused_)")


class CompareError(TracekitError, ValueError):
    """A comparison that cannot be made as asked (too few traces, labels that do not fit)."""


def op_kind(name: str) -> str:
    """One spelling for an operator across frameworks (see the module's doc)."""
    # Inductor's C++ kernels are numbered per graph (graph_0_cpp_fused_...): the same
    # kernel of another run or graph is one row
    compact = normalize_op(_GRAPH_PREFIX.sub("", str(name))).replace("_", "").replace(" ", "").lower()
    for pattern, kind in _KINDS:
        if pattern.match(compact):
            return kind
    return compact or str(name)


def compare(traces: list[Trace], labels: list[str] | None = None, by: str = "group",
            step=None, range_name: str | None = None,
            summaries: Sequence[Summary] | None = None,
            side_steps: Sequence | None = None) -> Comparison:
    """Rows of ``traces`` matched at level ``by`` (group, op, module, kernel). ``labels``
    name the sides (default: file names); ``step`` is the window of every side (a step
    selection or a :class:`~tracekit.analysis.window.Window`; None: the summary's rule),
    ``range_name`` narrows each to the ranges of that name; ``side_steps``: one step
    selection per trace instead (warm-up vs steady state of one trace, step 5 of a run vs
    step 5 of another). ``summaries``: each trace's
    summary over that same window, where the caller has them already (a report): the
    sides' totals and groups are taken from them instead of summed again."""
    if by not in BY:
        raise CompareError(f"--by must be one of {', '.join(BY)}")
    if len(traces) < 2:
        raise CompareError(f"compare needs at least two traces ({len(traces)} given)")
    given_labels = bool(labels)
    labels = list(labels) if labels else default_labels(traces)
    if len(labels) != len(traces):
        raise CompareError(f"{len(labels)} labels for {len(traces)} traces")
    if summaries is not None and len(summaries) != len(traces):
        raise CompareError(f"{len(summaries)} summaries for {len(traces)} traces")
    if side_steps is not None and len(side_steps) != len(traces):
        raise CompareError(f"{len(side_steps)} step selections for {len(traces)} traces "
                           "(give one for every trace, or one per trace)")
    steps = list(side_steps) if side_steps is not None else [step] * len(traces)
    if side_steps is not None and not given_labels and len({t.meta.path for t in traces}) == 1:
        labels = [f"step {s}" if s is not None else "default steps" for s in steps]  # one file
    windows = [select_window(t, s, range_name) for t, s in zip(traces, steps)]
    frames = [units(t, w) for t, w in zip(traces, windows)]
    notes: list[str] = []
    match = {"group": "taxonomy group", "op": "operator kind (fused kinds joined)",
             "kernel": "kernel base name", "module": EXACT}[by]
    if by == "op":
        merge = fused_kinds(frames)
        for f in frames:
            f["key"] = [merge.get(k, k) for k in f["kind"]]
    elif by == "module":
        match = module_keys(frames)
    else:
        for f, t in zip(frames, traces):
            f["key"] = f["group"] if by == "group" else f["kernel"]
            if by == "kernel" and time_basis(t) != "device":
                notes.append(f"{t.meta.path}: no GPU activity; its kernel rows are its ops")
    rows = match_rows(frames, traces[0] if by == "group" else None, spelled=by == "op")
    sides = [_side(t, w, f, lab, rows, i, summaries[i] if summaries is not None else None)
             for i, (t, w, f, lab) in enumerate(zip(traces, windows, frames, labels))]
    comparable = comparability(traces, windows, frames, sides, by)
    result = Comparison(by=by, match=match, sides=sides, rows=rows, comparable=comparable,
                        notes=notes)
    from tracekit.analysis.compare_study import study  # it reads the sides made here

    result.study = study(traces, result)
    return result


def default_labels(traces: Sequence[Trace]) -> list[str]:
    """File names; where two are alike, the folder above them too."""
    paths = [(t.meta.path or f"trace {i + 1}") for i, t in enumerate(traces)]
    names = [os.path.basename(p) or p for p in paths]
    if len(set(names)) < len(names):
        names = [os.path.join(os.path.basename(os.path.dirname(p)), os.path.basename(p))
                 for p in paths]
    if len(set(names)) < len(names):
        return [f"{i + 1}:{n}" for i, n in enumerate(names)]
    return _shorten(names)


def _shorten(names: list[str], width: int = 24) -> list[str]:
    """Long names that share a beginning and an end (corpus files, run folders) keep
    what tells them apart, cut at a separator: ``...A100__fp16__resnet.onnx.engine.profile.json``
    and ``...A100__fp32__...`` -> ``fp16__resnet``, ``fp32__resnet``."""
    if max(map(len, names)) <= width:
        return names
    head = os.path.commonprefix(names)
    tail = os.path.commonprefix([n[::-1] for n in names])[::-1]
    cut = max((head.rfind(c) for c in "_/.-"), default=-1) + 1
    end = min((i for i in (tail.find(c) for c in "_/.-") if i >= 0), default=len(tail))
    short = [n[cut:len(n) - (len(tail) - end)].strip("_.-/") for n in names]
    return short if all(short) and len(set(short)) == len(short) else names


# ---------------------------------------------------------------- units

def units(trace: Trace, window: Selection) -> pd.DataFrame:
    """One row per unit of time the summary adds up: GPU activities (device basis) or ops
    (their self time), with group, is_gemm, ns, the op's name, kind, module and fused
    members, and the kernel base name."""
    if time_basis(trace) == "device":
        k = window.kernels
        op = k["op"].to_numpy()
        frame = pd.DataFrame({"group": _strings(k["group"]), "is_gemm": k["is_gemm"].to_numpy(bool),
                              "ns": k["dur_ns"].to_numpy(np.int64), "op": op})
        base = {n: kernel_base_name(n) for n in _strings(k["name"].drop_duplicates())}
        kernel = np.asarray([base[n] for n in _strings(k["name"])], dtype=object)
    else:
        o = window.ops
        frame = pd.DataFrame({"group": _strings(o["group"]), "is_gemm": o["is_gemm"].to_numpy(bool),
                              "ns": o["self_ns"].to_numpy(np.int64), "op": o["id"].to_numpy()})
        kernel = None
    described = _describe_ops(trace, frame["op"].to_numpy(), kernel)
    for column, values in described.items():
        frame[column] = values
    frame["kernel"] = kernel if kernel is not None else frame["kind"].to_numpy()
    return frame


def _describe_ops(trace: Trace, op: np.ndarray, kernel: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """name, spelling (the op's name as its framework writes the operator), kind, fused
    kinds and module of the ops ``op`` (row ids; -1: none), each distinct (name, op type,
    fused) decided once; ``kernel``: the base names of the kernels the units are."""
    n = len(op)
    out = {"name": np.full(n, NO_OP, dtype=object), "spelling": np.full(n, NO_OP, dtype=object),
           "kind": np.full(n, NO_OP, dtype=object),
           "fused": np.full(n, "", dtype=object), "module": np.full(n, NO_MODULE, dtype=object)}
    has = op >= 0
    if not has.any():
        return out
    ops = trace.ops
    ids = op[has]
    names, types, fused, modules = (_strings(ops[c])[ids] for c in ("name", "op_type", "fused", "module"))
    source = trace.meta.source
    triples = pd.DataFrame({"name": names, "type": types, "fused": fused})
    codes, uniques = pd.MultiIndex.from_frame(triples).factorize()
    decided = [_kind(source, *u) for u in uniques]
    out["name"][has] = names
    out["spelling"][has] = np.asarray([_spelling(source, *u) for u in uniques], dtype=object)[codes]
    out["kind"][has] = np.asarray([d[0] for d in decided], dtype=object)[codes]
    out["fused"][has] = np.asarray([d[1] for d in decided], dtype=object)[codes]
    if kernel is not None:
        # A launch outside every op (an optimizer's multi_tensor_apply under a Python
        # annotation, a graph replay) stands in for the op: its name is the runtime call.
        # Keyed by the runtime call, unrelated kernels would share one "cudalaunchkernel"
        # row; keyed by what it launched they stay apart and read as launches.
        stand_in = np.zeros(n, dtype=bool)
        stand_in[has] = types == STAND_IN
        if stand_in.any():
            out["kind"][stand_in] = kernel[stand_in]
            out["spelling"][stand_in] = [f"{a} → {k}" for a, k in zip(out["name"][stand_in], kernel[stand_in])]
    # torch.compile's "## Call CompiledFxGraph <hash> ##" range names no module of the model
    out["module"][has] = np.where((modules == "") | _compiled(modules), NO_MODULE, modules)
    return out


def _compiled(modules: np.ndarray) -> np.ndarray:
    return np.asarray([m.startswith("## ") and "Compiled" in m for m in modules], dtype=bool) \
        if len(modules) else np.zeros(0, bool)


def _strings(column: pd.Series) -> np.ndarray:
    """A column's values as an object array of str (categoricals through their codes)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = np.asarray(column.cat.categories.astype(str), dtype=object)
        codes = column.cat.codes.to_numpy()
        return np.where(codes >= 0, cats[np.maximum(codes, 0)], "").astype(object)
    return column.astype(str).to_numpy(dtype=object)


def _kind(source: str, name: str, op_type: str, fused: str) -> tuple[str, str]:
    """(operator kind, fused kinds joined by " + " or "") of one op."""
    if source == "trt" and is_reformat(name):
        return "reformat", ""
    members = [m for m in fused.split(FUSED_SEP) if m and not _TENSOR.search(m)] if fused else []
    if len(members) > 1:
        kinds = list(dict.fromkeys(op_kind(member_type(m)) for m in members))
        # Q/DQ and copies fused into a layer are plumbing: the layer stays its compute's
        # row (a quantized conv and a quantized GEMM stay apart)
        joined = [k for k in kinds if k not in _PLUMBING] or kinds[:1]
        return joined[0], (" + ".join(joined) if len(joined) > 1 else "")
    if source == "trt":
        return op_kind(member_type(members[0] if members else name) or op_type), ""
    if source == "ort" and op_type:
        return op_kind(op_type), ""
    return op_kind(name), ""


def _spelling(source: str, name: str, op_type: str, fused: str) -> str:
    """How the op's own framework spells its operator: ``aten::mm``, ONNX ``Conv``,
    TensorRT's layer type; a layer or node name is the model's, not the operator's."""
    if fused and FUSED_SEP in fused or source == "trt" and is_reformat(name):
        return ""  # the row's key (the fused kinds) is its name
    if source == "trt":
        return member_type(name) or op_type or name
    if source == "ort" and op_type:
        return op_type
    return name


_TENSOR = re.compile(r"\.(weight|bias)$|^onnx::", re.IGNORECASE)  # weights named in a fused layer
_PLUMBING = frozenset({"quantize", "dequantize", "reformat", "identity", "reshape", "cast",
                       "transpose", "shuffle", "copy", "squeeze", "unsqueeze", "flatten"})


def fused_kinds(frames: list[pd.DataFrame]) -> dict[str, str]:
    """{kind: merged key} joining the kinds that share a fused layer on any side
    (union-find, so ``conv + relu`` and ``conv + add + relu`` become one row)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    order: dict[str, int] = {}
    for f in frames:
        for joined in f.loc[f["fused"] != "", "fused"].unique():
            kinds = joined.split(" + ")
            for k in kinds:
                order.setdefault(k, len(order))
            for k in kinds[1:]:
                a, b = find(kinds[0]), find(k)
                if a != b:
                    parent[b] = a
    members: dict[str, list[str]] = {}
    for k in order:
        members.setdefault(find(k), []).append(k)
    return {k: " + ".join(members[find(k)]) for k in order}


# ---------------------------------------------------------------- module keys

_INDEX = re.compile(r"^(?:.*_)?(\d+)$")


def _components(path: str) -> list[str]:
    return [p for p in re.split(r"[/.]", path) if p]


def block_key(path: str) -> str:
    """The indices of repeated blocks on a module path: ``/model/stages.0/layers.1/conv``
    and ``Model.ResNetStage_0.ResNetBottleNeckLayer_1.Conv2d`` -> ``[0.1]``."""
    if path == NO_MODULE:
        return NO_MODULE
    found = [m.group(1) for m in map(_INDEX.match, _components(path)) if m]
    return f"[{'.'.join(found)}]" if found else OUTSIDE_BLOCKS


def module_keys(frames: list[pd.DataFrame]) -> str:
    """Key the units by exact module path, or by block indices when those match clearly
    more of the time on every side; returns the method in words."""
    exact = [f["module"].map(lambda p: "/".join(_components(p)) if p != NO_MODULE else p)
             for f in frames]
    blocks = [f["module"].map(block_key) for f in frames]

    # decided on the sides that name modules for most of their time: one without module
    # paths (a compiled region) matches nothing either way and must not decide
    named = [i for i, f in enumerate(frames) if (_module_share(f) or 0.0) >= 0.5]
    chosen = named if len(named) >= 2 else list(range(len(frames)))

    def matched(keys: list[pd.Series]) -> float:
        """Mean share of the chosen sides' time in keys all of them have."""
        common = set.intersection(*(set(keys[i][frames[i]["ns"] > 0]) for i in chosen))
        shares = [frames[i]["ns"][keys[i].isin(common)].sum() / max(int(frames[i]["ns"].sum()), 1)
                  for i in chosen]
        return float(np.mean(shares))

    use_blocks = matched(blocks) > matched(exact) + 0.05
    for f, e, b in zip(frames, exact, blocks):
        f["key"] = (b if use_blocks else e).to_numpy()
    return BLOCKS if use_blocks else EXACT


# ---------------------------------------------------------------- rows

def match_rows(frames: list[pd.DataFrame], first: Trace | None = None,
               spelled: bool = False) -> list[CompareRow]:
    """One row per key over all sides; groups in taxonomy order (``first``'s), other
    keys by their largest time on any side. ``spelled``: a row's name is the most common
    spelling of its operator on the first side that has it (op rows), else its key."""
    n = len(frames)
    per: list[pd.DataFrame] = []
    for f in frames:
        g = f.groupby("key", sort=False)
        per.append(pd.DataFrame({"ns": g["ns"].sum(), "count": g.size()}))
    keys = list(dict.fromkeys(k for p in per for k in p.index))
    info = [_row_info(f) for f in frames]
    rows = []
    for key in keys:
        ns = [int(p["ns"].get(key, 0)) for p in per]
        count = [int(p["count"].get(key, 0)) for p in per]
        present = [key in p.index for p in per]
        group = next((info[i][0].get(key, "") for i in range(n) if present[i]), "")
        # time without an op or a module is on every side, but nothing says it is the same work
        # fused kinds joined ("conv + relu") read as they are: one spelling would hide the rest
        name = next((info[i][3].get(key, "") for i in range(n) if present[i]), "") \
            if spelled and " + " not in str(key) else ""
        rows.append(CompareRow(key=str(key), name=str(name or key), group=group, ns=ns,
                               count=count, present=present,
                               matched=all(present) and key not in UNKNOWN,
                               names=[info[i][1].get(key, "") for i in range(n)],
                               fused=[info[i][2].get(key, "") for i in range(n)]))
    if first is not None:
        order = {g: i for i, g in enumerate(group_order(first))}
        rows.sort(key=lambda r: order.get(r.key, len(order)))
    else:
        rows.sort(key=lambda r: (not r.matched, -max(r.ns), r.key))
    return rows


def _row_info(f: pd.DataFrame) -> tuple[dict, dict, dict, dict]:
    """Per key: the group and the name holding most time, its fused layers in words, and
    the most common spelling of its operator (op rows: ``aten::mm`` for ``matmul``)."""
    if not len(f):
        return {}, {}, {}, {}
    group = (f.groupby(["key", "group"], sort=False)["ns"].sum().reset_index()
             .sort_values("ns", ascending=False).drop_duplicates("key"))
    name = (f.groupby(["key", "name"], sort=False)["ns"].sum().reset_index()
            .sort_values("ns", ascending=False).drop_duplicates("key"))
    fused: dict[str, str] = {}
    layers = f[f["fused"] != ""]
    if len(layers):
        ops = layers.drop_duplicates(["key", "op"])
        for key, part in ops.groupby("key", sort=False):
            kinds = list(dict.fromkeys(part["fused"]))
            fused[key] = f"{len(part)} fused layer{'s' if len(part) != 1 else ''} ({'; '.join(kinds[:4])}" \
                         f"{'; ...' if len(kinds) > 4 else ''})"
    spelled = f[f["spelling"] != ""]
    spelling = (spelled.groupby(["key", "spelling"], sort=False).size().rename("n").reset_index()
                .sort_values("n", ascending=False, kind="stable").drop_duplicates("key"))
    return (dict(zip(group["key"], group["group"])), dict(zip(name["key"], name["name"])), fused,
            dict(zip(spelling["key"], spelling["spelling"])))


def _side(trace: Trace, window: Selection, frame: pd.DataFrame, label: str,
          rows: list[CompareRow], i: int, summary: Summary | None = None) -> Side:
    if summary is None:
        table = breakdown(trace, window, "group")
        split = gemm_totals(trace, window, table)
        groups = dict(zip(table["name"], table["total_ns"]))
    else:  # the same numbers, summed once by the caller
        split = {k: getattr(summary, k) for k in ("total_ns", "compute_ns", "gemm_ns", "non_gemm_ns",
                                                  "communication_ns")}
        groups = summary.groups
    total = int(split["total_ns"])
    counts = frame.groupby("group", sort=False).size()
    matched = sum(r.ns[i] for r in rows if r.matched)
    return Side(label=label, path=trace.meta.path, source=trace.meta.source,
                time_basis=time_basis(trace), window=window.describe(),
                steps=[int(s) for s in window.steps], total_ns=total,
                compute_ns=int(split["compute_ns"]), gemm_ns=int(split["gemm_ns"]),
                non_gemm_ns=int(split["non_gemm_ns"]),
                communication_ns=int(split["communication_ns"]), matched_ns=int(matched),
                matched_share=(matched / total) if total else None, units=int(len(frame)),
                ops=int(len(window.ops)),
                groups={str(g): int(ns) for g, ns in groups.items()},
                group_counts={str(g): int(counts.get(g, 0)) for g in groups})


# ---------------------------------------------------------------- comparability

def comparability(traces: list[Trace], windows: list[Selection], frames: list[pd.DataFrame],
                  sides: list[Side], by: str = "group") -> Comparable:
    """Why the sides may not be comparable (each reason one line); "identical" when every
    side holds the same events in its window. ``by="module"`` adds sides whose time is
    mostly outside any module path (a compiled region, a format without module ranges)."""
    labels = [s.label for s in sides]
    if all(_same(frames[0], f) for f in frames[1:]):
        return Comparable(ok=True, identical=True, reason_codes=["identical"],
                          reasons=[f"identical: {', '.join(labels)} hold the same events in "
                                   "their windows; every difference is zero"])
    reasons: list[tuple[str, str]] = []  # (code, line): readers pick reasons by code
    families = [BASIS_FAMILY.get(s.time_basis, s.time_basis) for s in sides]
    if len(set(families)) > 1:
        reasons.append(("time_basis", "different time bases (" + _pairs(labels, families) +
                        "): compare shares, not times"))
    steps = [len(w.steps) for w in windows]
    if len(set(steps)) > 1 and all(steps):
        reasons.append(("steps", f"different step counts in the windows ({_pairs(labels, steps)}): "
                        "totals are not per step; compare time per step or shares, or pick --step"))
    stepped = [i for i, w in enumerate(windows) if w.all_steps]  # formats with steps only
    dropped = [bool(windows[i].dropped_steps) for i in stepped]
    if len(set(dropped)) > 1:
        reasons.append(("warmup", "warm-up handled differently (" + _pairs(
            [labels[i] for i in stepped], ["warm-up dropped" if d else "no warm-up dropped" for d in dropped]) + ")"))
    runs = [run_facts(t) for t in traces]
    for fact in ("model", "batch", "seq", "image_size", "dtype", "precision"):
        values = [r.get(fact) for r in runs]
        if all(v is not None for v in values) and len({str(v) for v in values}) > 1:
            reasons.append((fact, f"different {fact} ({_pairs(labels, values)})"))
    if by == "module":
        bare = [(s.label, _module_share(f)) for s, f in zip(sides, frames)]
        bare = [(label, share) for label, share in bare if share is not None and share < 0.5]
        if bare:
            reasons.append(("module_paths", "module rows cannot match much: " + ", ".join(
                f"{label} has module paths for {share:.0%} of its time" for label, share in bare)))
    reasons += [("compiled", r) for r in (_compiled_reason(s, f) for s, f in zip(sides, frames)) if r]
    overlap = _overlap(frames)
    if overlap is not None and overlap < 0.5:
        reasons.append(("module_overlap", f"module trees barely overlap ({overlap:.0%} of the time "
                        "is in block paths every side has): different models?"))
    return Comparable(ok=not reasons, reasons=[line for _, line in reasons],
                      reason_codes=[code for code, _ in reasons])


OPAQUE_SHARE = 0.05  # torch.compile's own time worth a reason
_COMPILED_REGION = "Torch-Compiled Region"
_DYNAMO_OWN = ("TorchDynamo Cache Lookup", "Pregraph bytecode")  # guard checks, frame set-up
_CPP_KERNEL = r"^(?:graph_\d+_)?cpp_fused_"  # Inductor's C++ kernels, when they record themselves


def _compiled_reason(side: Side, f: pd.DataFrame) -> str | None:
    """How much of a side is torch.compile's own time (in Other), when it is worth saying:
    Dynamo's guard checks and frame set-up, and the compiled regions' self time, which no
    op inside accounts for. On a device basis the time is the kernels', whatever launched
    them."""
    if side.time_basis == "device" or not side.total_ns or not len(f):
        return None
    names = f["name"].astype(str)
    region = int(f["ns"][names.str.startswith(_COMPILED_REGION)].sum())
    dynamo = int(f["ns"][names.isin(_DYNAMO_OWN)].sum())
    total = side.total_ns
    if region + dynamo < OPAQUE_SHARE * total:
        return None
    if names.str.contains(_CPP_KERNEL).any():  # its kernels are seen: the rest is glue
        inside = "Inductor's Python wrapper and allocations between its kernels, which record nothing"
    else:
        inside = ("Inductor's generated code recorded nothing inside it, so its kernels are not "
                  "seen; collect with Inductor's cpp.enable_kernel_profile (tracekit collect "
                  "torch --compile sets it)")
    return (f"{side.label}: {(region + dynamo) / total:.1%} of its time is torch.compile's own "
            f"(in Other): {dynamo / total:.1%} Dynamo's guard checks and frame set-up, "
            f"{region / total:.1%} the compiled region's own: {inside}")


def _pairs(labels: list[str], values: list) -> str:
    return ", ".join(f"{lab}: {v}" for lab, v in zip(labels, values))


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if len(a) != len(b) or int(a["ns"].sum()) != int(b["ns"].sum()):
        return False
    cols = ["ns", "group", "name", "kernel"]
    return bool((a[cols].to_numpy() == b[cols].to_numpy()).all())


def _module_share(f: pd.DataFrame) -> float | None:
    total = int(f["ns"].sum())
    return float(f["ns"][f["module"] != NO_MODULE].sum() / total) if total else None


def _overlap(frames: list[pd.DataFrame]) -> float | None:
    """The least share of a side's time in module blocks every side has; None unless
    every side names modules for most of its time."""
    keys = [_per_distinct(f["module"], block_key) for f in frames]
    for k, f in zip(keys, frames):
        total = int(f["ns"].sum())
        if not total or f["ns"][k != NO_MODULE].sum() < 0.5 * total:
            return None
    common = set.intersection(*(set(k[k != NO_MODULE]) for k in keys))
    return float(min(f["ns"][k.isin(common)].sum() / f["ns"][k != NO_MODULE].sum()
                     for k, f in zip(keys, frames)))


def _per_distinct(column: pd.Series, fn) -> pd.Series:
    """``column.map(fn)``, calling ``fn`` once per distinct value instead of once per unit."""
    codes, distinct = pd.factorize(column)
    if (codes < 0).any():
        return column.map(fn)
    return pd.Series(np.asarray([fn(v) for v in distinct], dtype=object)[codes], index=column.index)


def run_facts(trace: Trace) -> dict:
    """What the run was, where the trace or a collector's sidecar says: model, batch,
    seq, image_size, dtype; TensorRT: the precision most layer time ran in."""
    facts: dict = {}
    collected = trace.meta.extras.get("collected")
    if not isinstance(collected, dict):
        collected = _sidecar(trace.meta.path)
    for key in ("model", "batch", "seq", "image_size", "dtype"):
        if isinstance(collected, dict) and collected.get(key) is not None:
            facts[key] = collected[key]
    if trace.meta.source == "trt" and len(trace.ops):
        ops = trace.ops[trace.ops["is_gemm"].to_numpy(bool)]
        if len(ops):
            by = ops.groupby(ops["precision"].astype(str), observed=True)["dur_ns"].sum()
            if len(by) and by.idxmax():
                facts["precision"] = str(by.idxmax())
    return facts


def _sidecar(path) -> dict | None:
    """The collectors' ``<trace>.meta.json`` beside a trace, if it is there and readable."""
    if not path:
        return None
    try:
        with open(f"{path}.meta.json", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
