"""What TensorRT fused, and what non-GEMM time survived fusion.

Reads a classified TensorRT trace (``tracekit.load`` of a trtexec profile / layer info):
each op is one engine layer, ``fused`` lists the ONNX nodes TensorRT put into it and
``meta.extras["trt_layers"]`` keeps the layer types, origins, formats and the fused nodes' op
types. From those:

- the **fusion rate**: the share of non-GEMM ONNX nodes that run inside another layer --
  one that holds more than one node, or a GEMM layer whose main op is another node;
- which non-GEMM op types were fused into GEMM layers and which into non-GEMM layers;
- reformat layers (layout / precision conversions TensorRT inserted) and their time;
- time by layer precision;
- given the ONNX model, which of its nodes appear in no layer (TensorRT removed them), and
  what each compiled (Myelin) region holds: a ``{ForeignNode[first...last]}`` layer names
  its two ends only; the model's nodes on the paths between them are its nodes, and its
  group follows them (a GEMM-based node wins, as for any fused layer) instead of "Fused
  region".

Imports the model and the taxonomy only (never a parser); ``onnx`` is imported lazily.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from tracekit.analysis.results import (
    CountTime,
    FusedLayer,
    FusionReport,
    GemmLayers,
    LayerTime,
    NodeCounts,
    NonGemmLayers,
    PrecisionTime,
    ReformatLayer,
    Reformats,
    Region,
    Removed,
    RemovedNode,
)
from tracekit.model import FUSED_SEP, Trace, TraceError
from tracekit.taxonomy import Taxonomy

FOREIGN = re.compile(r"\{ForeignNode\[(.*?)\]\}", re.DOTALL)
REFORMAT_NAME = re.compile(r"^Reformatting CopyNode for (?:Input|Output) Tensor \d+ to ")
UNKNOWN_TYPE = "(unknown)"
ONNX_MISSING = "the 'onnx' package is not installed (pip install onnx); removed nodes not computed"


def fusion_report(trace: Trace, onnx_model=None, taxonomy: Taxonomy | None = None) -> FusionReport:
    """Fusion rate and fused op types, reformats, precision, removed nodes."""
    if trace.meta.source != "trt":
        raise TraceError(trace.meta.path or "?",
                         f"fusion analysis reads TensorRT traces; this is a "
                         f"{trace.meta.source or 'unknown'} trace")
    taxonomy = taxonomy or Taxonomy.default()
    layers = _layers(trace)
    model = _onnx_nodes(onnx_model) if onnx_model is not None else None
    model_types = {name: op for name, op in (model or {}).get("nodes", []) if name}

    def gemm_type(op_type: str) -> bool:
        group = taxonomy.classify("ops", op_type) if op_type else ""
        return bool(group) and taxonomy.is_gemm(group)

    regions = resolve_regions(layers, model, taxonomy) if model and model["available"] else None
    seen = _nodes_seen(layers, model_types)
    fates = _fates(seen, layers, gemm_type)
    total = sum(layer["dur_ns"] for layer in layers)
    node_lists = trace.meta.extras.get("node_lists") or ("layer_names" if seen else "none")
    return FusionReport(
        path=trace.meta.path,
        source="trt",
        layers=len(layers),
        total_ns=int(total),
        node_lists=node_lists,
        partial_layers=sum(1 for layer in layers if layer["partial"]),
        nodes=fates.counts,
        fusion_rate=(fates.counts.non_gemm_fused / fates.counts.non_gemm) if fates.counts.non_gemm else None,
        fused_into_gemm=_sorted(fates.into_gemm),
        fused_into_non_gemm=_sorted(fates.into_other),
        standalone_non_gemm=_sorted(fates.standalone),
        gemm_layers=_gemm_layers(layers, model_types, gemm_type),
        non_gemm_layers=_non_gemm_layers(layers, total),
        fused_layers=[_layer_record(x, model_types, gemm_type) for x in
                      sorted((x for x in layers if len(x["nodes"]) > 1), key=lambda x: -x["dur_ns"])],
        reformats=_reformats(layers, total),
        precision=_precision(layers, total),
        per_layer=[LayerTime(name=x["name"], layer_type=x["layer_type"], op_type=x["op_type"],
                             group=x["group"], is_gemm=x["is_gemm"], precision=x["precision"],
                             dur_ns=x["dur_ns"], nodes=len(x["nodes"])) for x in layers],
        removed=(_removed(model, seen, gemm_type, node_lists, fates.fused_names)
                 if model is not None else None),
        regions=regions,
        notes=_notes(trace, layers, seen, node_lists, regions),
    )


# ---------------------------------------------------------------- where the nodes went

@dataclass
class _Fates:
    """What became of the non-GEMM ONNX nodes the layers name, counted by op type."""

    counts: NodeCounts
    into_gemm: Counter[str]
    into_other: Counter[str]
    standalone: Counter[str]
    fused_names: set[str]


def _nodes_seen(layers: list[dict], model_types: dict) -> dict[str, dict]:
    """Every ONNX node a layer names: its op type and the layers that name it."""
    seen: dict[str, dict] = {}
    for i, layer in enumerate(layers):
        for j, node in enumerate(layer["nodes"]):
            op_type = model_types.get(node) or layer["node_types"][j] or ""
            entry = seen.setdefault(node, {"type": "", "layers": []})
            entry["type"] = entry["type"] or op_type
            entry["layers"].append(i)
    return seen


def _fates(seen: dict[str, dict], layers: list[dict], gemm_type) -> _Fates:
    """GEMM-based nodes are counted apart; a non-GEMM node is fused into a GEMM layer, into
    a non-GEMM one, or runs standalone."""
    fates = _Fates(NodeCounts(total=len(seen), gemm=0, non_gemm=0, non_gemm_fused=0,
                              non_gemm_standalone=0), Counter(), Counter(), Counter(), set())
    for node, entry in seen.items():
        op_type = entry["type"]
        if gemm_type(op_type):
            fates.counts.gemm += 1
            continue
        label = op_type or UNKNOWN_TYPE
        into = []
        for i in entry["layers"]:
            layer = layers[i]
            # fused: shares its layer with other nodes, or sits in a GEMM layer whose GEMM is
            # not listed (the layer's main op is another node)
            if len(layer["nodes"]) > 1 or layer["is_gemm"]:
                into.append(layer["is_gemm"])
        if into:
            fates.fused_names.add(node)
        if any(into):
            fates.into_gemm[label] += 1
        elif into:
            fates.into_other[label] += 1
        else:
            fates.standalone[label] += 1
    fused = sum(fates.into_gemm.values()) + sum(fates.into_other.values())
    c = fates.counts
    c.non_gemm = fused + sum(fates.standalone.values())
    c.non_gemm_fused, c.non_gemm_standalone = fused, c.non_gemm - fused
    return fates


def _gemm_layers(layers: list[dict], model_types: dict, gemm_type) -> GemmLayers:
    gemm = [layer for layer in layers if layer["is_gemm"]]
    return GemmLayers(count=len(gemm), total_ns=int(sum(x["dur_ns"] for x in gemm)),
                      with_fused_non_gemm=sum(1 for x in gemm if any(not gemm_type(t) for t in
                                                                     _types(x, model_types))))


def _non_gemm_layers(layers: list[dict], total: int) -> NonGemmLayers:
    other = [layer for layer in layers if not layer["is_gemm"]]
    by_group: Counter = Counter()
    for layer in other:
        by_group[layer["group"]] += layer["dur_ns"]
    spent = sum(x["dur_ns"] for x in other)
    return NonGemmLayers(count=len(other), total_ns=int(spent), share=(spent / total) if total else None,
                         by_group={g: int(ns) for g, ns in by_group.most_common()})


def _notes(trace: Trace, layers: list[dict], seen: dict, node_lists: str, regions) -> list[str]:
    """The parser's notes, then what limits these counts."""
    notes = list(trace.meta.extras.get("notes") or [])
    if not seen:
        notes.append("no ONNX node names found in this engine's layers (no layer Metadata and "
                     "layer names that are not ONNX node names): fusion counts are unavailable")
    elif node_lists != "metadata":
        notes.append("fused nodes come from layer names: TensorRT before 8.6 (or without detailed "
                     "profiling verbosity) names a layer after some of its nodes only, so "
                     "DequantizeLinear and weight nodes may be missing from these counts")
    if any(layer["partial"] for layer in layers) and regions is None:
        notes.append("Myelin layers ({ForeignNode[first...last]}) name their first and last node "
                     "only; pass --onnx MODEL to read the nodes between them")
    return notes


# ---------------------------------------------------------------- layers

def _layers(trace: Trace) -> list[dict]:
    ops = trace.ops
    info = trace.meta.extras.get("trt_layers") or {}
    n = len(ops)

    def column(key, default):
        values = info.get(key)
        return list(values) if isinstance(values, list) and len(values) == n else [default] * n

    layer_type, origin = column("layer_type", ""), column("origin", "")
    node_types, partial = column("node_types", None), column("partial_nodes", False)
    in_formats, out_formats = column("in_formats", ""), column("out_formats", "")
    out = []
    for k, row in enumerate(ops[["name", "group", "is_gemm", "dur_ns", "precision", "fused",
                                 "op_type"]].itertuples(index=False)):
        fused = str(row.fused)
        nodes = fused.split(FUSED_SEP) if fused else []
        types = node_types[k].split(FUSED_SEP) if node_types[k] else []
        if len(types) != len(nodes):
            types = [""] * len(nodes)
        out.append({
            "name": str(row.name), "group": str(row.group), "is_gemm": bool(row.is_gemm),
            "dur_ns": int(row.dur_ns), "precision": str(row.precision) or "unknown",
            "op_type": str(row.op_type), "layer_type": str(layer_type[k]), "origin": str(origin[k]),
            "nodes": nodes, "node_types": types, "partial": bool(partial[k]),
            "in_formats": [f for f in str(in_formats[k]).split(FUSED_SEP) if f],
            "out_formats": [f for f in str(out_formats[k]).split(FUSED_SEP) if f],
        })
    return out


def _types(layer: dict, model_types: dict) -> list[str]:
    return [model_types.get(node) or t for node, t in zip(layer["nodes"], layer["node_types"])]


def _layer_record(layer: dict, model_types: dict, gemm_type) -> FusedLayer:
    types = _types(layer, model_types)
    return FusedLayer(name=layer["name"], group=layer["group"], is_gemm=layer["is_gemm"],
                      layer_type=layer["layer_type"], precision=layer["precision"],
                      dur_ns=layer["dur_ns"], nodes=layer["nodes"],
                      node_types=[t or UNKNOWN_TYPE for t in types],
                      fused_non_gemm=[t or UNKNOWN_TYPE for t in types if not gemm_type(t)])


def _sorted(counter: Counter) -> dict:
    return {k: int(v) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))}


def is_reformat(layer: dict) -> bool:
    return layer["layer_type"].lower() == "reformat" or bool(REFORMAT_NAME.match(layer["name"]))


def _reformats(layers: list[dict], total: int) -> Reformats:
    rows: list[ReformatLayer] = []
    for layer in layers:
        if not is_reformat(layer):
            continue
        if layer["layer_type"].lower() == "noop":
            kind = "noop"  # a reformat TensorRT could elide: no kernel runs
        elif layer["origin"].upper() == "QDQ":
            kind = "qdq"  # a Quantize/Dequantize node implemented as a reformat
        else:
            kind = "layout"
        rows.append(ReformatLayer(name=layer["name"], kind=kind, layer_type=layer["layer_type"],
                                  origin=layer["origin"], precision=layer["precision"],
                                  dur_ns=layer["dur_ns"],
                                  from_=layer["in_formats"][0] if layer["in_formats"] else "",
                                  to=layer["out_formats"][0] if layer["out_formats"] else ""))
    rows.sort(key=lambda r: -r.dur_ns)
    spent = sum(r.dur_ns for r in rows)
    by_kind = {}
    for kind in ("layout", "qdq", "noop"):
        mine = [r for r in rows if r.kind == kind]
        by_kind[kind] = CountTime(count=len(mine), total_ns=int(sum(r.dur_ns for r in mine)))
    return Reformats(count=len(rows), total_ns=int(spent), share=(spent / total) if total else None,
                     by_kind=by_kind, layers=rows)


def _precision(layers: list[dict], total: int) -> dict[str, PrecisionTime]:
    out: dict[str, PrecisionTime] = {}
    for layer in layers:
        p = out.setdefault(layer["precision"], PrecisionTime())
        p.layers += 1
        p.total_ns += layer["dur_ns"]
        p.gemm_ns += layer["dur_ns"] if layer["is_gemm"] else 0
    for p in out.values():
        p.share = (p.total_ns / total) if total else None
    return dict(sorted(out.items(), key=lambda kv: -kv[1].total_ns))


# ---------------------------------------------------------------- the ONNX model

def _onnx_nodes(path) -> dict:
    """{"path", "available", "nodes": [(name, op_type)], "reason"} for an ONNX model file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TraceError(path, "no such file")
    try:
        import onnx
    except ImportError:
        return {"path": path, "available": False, "reason": ONNX_MISSING, "nodes": []}
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:  # protobuf decode errors have no common base class
        raise TraceError(path, f"not a readable ONNX model ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    if not len(model.graph.node):
        raise TraceError(path, "ONNX model has no nodes (not a model file?)")
    return {"path": path, "available": True,
            "nodes": [(node.name, node.op_type) for node in model.graph.node],
            "edges": [(list(node.input), list(node.output)) for node in model.graph.node]}


def _removed(model: dict, seen: dict, gemm_type, node_lists: str, fused_names: set) -> Removed:
    if not model["available"]:
        return Removed(model=model["path"], available=False, reason=model["reason"])
    names = [name for name, _ in model["nodes"] if name]
    in_model = set(names)
    removed = [RemovedNode(name=name, op_type=op) for name, op in model["nodes"]
               if name and name not in seen]
    by_type = Counter(r.op_type for r in removed)
    non_gemm_model = sum(1 for _, op in model["nodes"] if not gemm_type(op))
    removed_non_gemm = sum(1 for r in removed if not gemm_type(r.op_type))
    unknown = sorted(node for node in seen if node not in in_model)
    fused = sum(1 for name, op in model["nodes"] if name in fused_names and not gemm_type(op))
    unnamed = len(model["nodes"]) - len(names)
    notes = []
    if seen and len(unknown) == len(seen):
        notes.append("none of the layers' ONNX nodes is in this model: is it the model the "
                     "engine was built from?")
    if node_lists != "metadata":
        notes.append("layer names list only some fused nodes, so some nodes counted as "
                     "removed were fused (no layer Metadata in this engine's layer info)")
    if unnamed:
        notes.append(f"{unnamed} model nodes have no name and cannot be matched to layers")
    return Removed(
        model=model["path"], available=True,
        model_nodes=len(model["nodes"]),
        unnamed_model_nodes=unnamed,
        removed_count=len(removed),
        removed_by_type={k: int(v) for k, v in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))},
        removed=removed,
        non_gemm_model_nodes=non_gemm_model,
        non_gemm_removed=removed_non_gemm,
        # non-GEMM nodes of the model that no longer run as their own layer
        non_gemm_fused_or_removed_rate=((fused + removed_non_gemm) / non_gemm_model)
        if non_gemm_model else None,
        layer_nodes_not_in_model=unknown,
        notes=notes,
    )


# ---------------------------------------------------------------- compiled regions

def group_regions(trace: Trace, onnx_model, taxonomy: Taxonomy) -> list[Region]:
    """Give every compiled region of a TensorRT trace the group the ONNX model's nodes
    between its ends say (see :func:`resolve_regions`), in ``trace.ops``; the records of
    :func:`resolve_regions`. The model's absence (no ``onnx`` package) changes nothing."""
    model = _onnx_nodes(onnx_model)
    if not model["available"]:
        return []
    layers = _layers(trace)
    records = resolve_regions(layers, model, taxonomy)
    groups = trace.ops["group"]
    new = [layer["group"] for layer in layers]
    missing = [g for g in dict.fromkeys(new) if g not in groups.cat.categories]
    if missing:
        groups = groups.cat.add_categories(missing)
    trace.ops["group"] = pd.Categorical(new, categories=groups.cat.categories)
    trace.ops["is_gemm"] = [taxonomy.is_gemm(g) for g in new]
    return records


def region_ends(name: str) -> list[tuple[str, str]]:
    """(first, last) of each ``{ForeignNode[first...last]}`` in a layer name."""
    out = []
    for m in FOREIGN.finditer(name):
        parts = [p.strip() for p in m.group(1).split("...")]
        out.append((parts[0], parts[-1]))
    return out


def region_nodes(model: dict, first: str, last: str) -> list[int]:
    """Indices of the model's nodes from ``first`` to ``last`` (each a node or a tensor name,
    e.g. a weight), in model order; [] when an end is not in the model or ``first`` does
    not lead to ``last``."""
    edges = model.get("edges") or []
    names = [n for n, _ in model["nodes"]]
    consumers: dict[str, list[int]] = {}
    producer: dict[str, int] = {}
    for i, (inputs, outputs) in enumerate(edges):
        for t in inputs:
            consumers.setdefault(t, []).append(i)
        for t in outputs:
            producer[t] = i
    start = [i for i, n in enumerate(names) if n == first] or consumers.get(first, [])
    end = [i for i, n in enumerate(names) if n == last] or \
        ([producer[last]] if last in producer else [])
    if not start or not end:
        return []

    def walk(seeds, step):
        seen, todo = set(seeds), list(seeds)
        while todo:
            for j in step(todo.pop()):
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return seen

    def inputs_of(i):
        return [producer[t] for t in edges[i][0] if t in producer]

    # everything the last node needs that the first did not need already: the paths from
    # first to last and the side branches that join them (k and v beside q in attention)
    behind = walk(end, inputs_of)
    if not behind.intersection(start):
        return []
    before = walk([j for i in start for j in inputs_of(i)], inputs_of)
    return sorted(behind - before)


def resolve_regions(layers: list[dict], model: dict, taxonomy: Taxonomy) -> list[Region]:
    """Fill in the nodes of every compiled region from the ONNX model and give it the group
    its nodes say; ``layers`` are updated in place. One record per region, with its group
    before and after.

    A GEMM-based node decides, as for any fused layer. Otherwise each node votes for its
    module's group where its path names one ("/layers.0/input_layernorm/Pow" is a
    normalization, as the summary reads ONNX node paths), else for its own op's group;
    nodes that only move data vote only when nothing else does."""
    out: list[Region] = []
    types = [op for _, op in model["nodes"]]
    names = [n for n, _ in model["nodes"]]
    for layer in layers:
        ends = region_ends(layer["name"])
        if not ends or not layer["partial"]:
            continue
        found = sorted({i for first, last in ends for i in region_nodes(model, first, last)})
        record = Region(name=layer["name"], ends=[list(e) for e in ends], nodes=len(found),
                        group_before=layer["group"], group=layer["group"],
                        dur_ns=layer["dur_ns"], op_types={})
        if found:
            group = _region_group([names[i] for i in found], [types[i] for i in found], taxonomy)
            if group:
                layer["group"], layer["is_gemm"] = group, taxonomy.is_gemm(group)
            layer["nodes"] = [names[i] for i in found]
            layer["node_types"] = [types[i] for i in found]
            layer["partial"] = False
            record.group = layer["group"]
            record.op_types = dict(Counter(types[i] for i in found).most_common())
        out.append(record)
    return out


def _region_group(names: list[str], op_types: list[str], taxonomy: Taxonomy) -> str:
    own = [taxonomy.classify("ops", t) if t else "" for t in op_types]
    for g in own:
        if g and taxonomy.is_gemm(g):
            return g
    votes: Counter = Counter()
    plumbing: Counter = Counter()
    for name, t, g in zip(names, op_types, own):
        g = _path_group(name, taxonomy) or g
        if g:
            (plumbing if t in _PLUMBING else votes)[g] += 1
    ranked = votes or plumbing
    return max(ranked, key=lambda g: ranked[g]) if ranked else ""


def _path_group(name: str, taxonomy: Taxonomy) -> str:
    """Group of the innermost classified module in an ONNX node's path, or ""."""
    path = name.rsplit("/", 1)[0] if "/" in name else ""
    for part in reversed([p for p in re.split(r"[/.]", path) if p]):
        group = taxonomy.classify("modules", part)
        if group:
            return group
    return ""


# ONNX nodes that only move or reinterpret data: they do not say what a region computes
_PLUMBING = frozenset("""Identity Constant ConstantOfShape Shape Size Reshape Squeeze Unsqueeze
Flatten Cast CastLike Transpose Gather Slice Concat Expand Split""".split())
