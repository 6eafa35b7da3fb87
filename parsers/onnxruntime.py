"""ONNX Runtime profiling JSON (``SessionOptions.enable_profiling``) -> tracekit event model.

What the runtime writes (onnxruntime/core/common/profiler.cc, the executors' KernelScope,
the CUDA/ROCm EP profilers and GPUProfilerBase::MergeEvents): a JSON array of Chrome
trace "X" events, each ``{"cat" : "Session"|"Node"|"Kernel"|"Api", "pid", "tid", "dur",
"ts", "ph", "name", "args"}``, with integer microseconds relative to the start of
profiling and every argument a string unless it is JSON text.

- ``Session`` events: ``model_loading_uri`` / ``model_loading_array``,
  ``session_initialization``, one ``model_run`` per ``InferenceSession.run`` (and
  ``SequentialExecutor::Execute`` inside it in recent versions).
- ``Node`` events, per executed node: ``<node>_kernel_time`` with ``op_name`` (the op type),
  ``provider``, ``node_index``, ``activation_size``, ``parameter_size``, ``output_size``,
  ``input_type_shape`` / ``output_type_shape`` (``[{"float":[1,16,64]}, ...]``) and
  ``thread_scheduling_stats``; older versions wrap it in ``<node>_fence_before`` /
  ``<node>_fence_after`` events (``op_name`` only). Very old profiles carry ``op_name`` only.
  A node without a name is written as ``<OpType>_<index>``.
- ``Kernel`` events (CUDA / ROCm EPs): one per GPU kernel or memcpy, named by the demangled
  kernel ("MemcpyHostToDevice" / "MemcpyDeviceToHost" for copies), with ``stream``,
  ``grid_x..z``, ``block_x..z``, and ``op_name`` copied from the record that was open when
  they were launched (the node's ``_kernel_time``, sometimes its ``_fence_before``; empty
  for ``model_run``). GPUProfilerBase::MergeEvents writes them right after that record,
  with ``ts`` moved to its start plus a small increment (and, newest, ``parent_name``);
  the older CudaProfiler right before it, with ``ts`` = the kernel's end.

Mapping: one op per ``_kernel_time`` event (name = node name, op_type = op_name, module =
the node name's path, self time = duration, step = index of the enclosing ``model_run``);
every ``model_run`` is a range of kind "model_run" and a step (the first is warm-up); other
Session events are annotations; every Kernel event is a kernel whose op is the node whose
record launched it (``parent_name`` when present, else the neighbouring Node record that
carries its ``op_name``), link "ort_adjacent"; GPU events of ``model_run`` (feed and fetch
copies) have no op. Kernels of ``MemcpyToHost`` / ``MemcpyFromHost`` nodes are
device->host / host->device copies.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import orjson
import pandas as pd

from parsers import _io
from parsers._decode import (
    Flags,
    Interner,
    decode_events,
    float_column,
    gc_paused,
    int_column,
    recover_truncated,
    warn_flags,
)
from parsers._shared import copy_column, copy_kind, step_at
from tracekit.model import (
    KERNELS,
    OPS,
    RANGES,
    Trace,
    TraceError,
    TraceMeta,
    TraceWarning,
    categorical_of,
    checks,
    constant,
    make_table,
)
from tracekit.model.intervals import group_codes, nest

SOURCE = "ort"
FORMAT = "ONNX Runtime profiling JSON"
# the parser contract (parsers.Parser)
NAME = "onnxruntime"
DESCRIPTION = "ONNX Runtime profiling JSON"
OPTIONS: tuple[str, ...] = ()
VERSION = 2
CATEGORIES = ("Session", "Node", "Kernel", "Api")  # profiler_common.h event_category_names_
SESSION, NODE, KERNEL, API, OTHER = range(5)
SUFFIXES = ("_kernel_time", "_fence_before", "_fence_after")
KERNEL_TIME, FENCE_BEFORE, FENCE_AFTER, NO_SUFFIX = range(4)
MODEL_RUN = "model_run"
# host<->device copies: CUPTI memcpy records ("MemcpyHostToDevice"), roctracer copy ops
# ("CopyHostToDevice", "hipMemcpyDtoH"), and ROCm's "kind" argument
_COPY_NAME = re.compile(
    r"(?:Memcpy|Copy)((?:Host|Device|Peer)(?:Array)?To(?:Host|Device|Peer)(?:Array)?)|Memcpy\s*(HtoD|DtoH|DtoD|HtoH|PtoP)",
    re.IGNORECASE)
_MEMSET_NAME = re.compile(r"^(hip|cuda)?Memset|^Memset", re.IGNORECASE)
MEMCPY_NODES = {"MemcpyToHost": "DtoH", "MemcpyFromHost": "HtoD"}
_SNIFF_HEAD = re.compile(rb"\[\s*\{")
_SNIFF_CAT = re.compile(rb'"cat"\s*:\s*"([^"\\]{0,64})"')
_ORT_CATS = {c.encode() for c in CATEGORIES}


# ------------------------------------------------------------------ decoding

Val = Any  # ORT writes every scalar argument as a string; hand-edited files may not


class Args(msgspec.Struct, gc=False, frozen=True):
    op_name: Val = None  # None: absent (not the same as "", which MergeEvents writes)
    provider: Val = ""
    node_index: Val = None
    graph_index: Val = None  # ORT <= 1.6 wrote graph_index / exec_plan_index instead
    activation_size: Val = None
    parameter_size: Val = None
    output_size: Val = None
    input_type_shape: msgspec.Raw = msgspec.Raw()
    output_type_shape: msgspec.Raw = msgspec.Raw()
    parent_name: Val = ""
    stream: Val = None
    device: Val = None
    grid_x: Val = None
    grid_y: Val = None
    grid_z: Val = None
    block_x: Val = None
    block_y: Val = None
    block_z: Val = None
    size: Val = None  # roctracer memcpy/memset bytes
    bytes: Val = None
    kind: Val = ""  # roctracer copy kind


NO_ARGS = Args()


class Event(msgspec.Struct, gc=False):
    cat: Val = ""
    name: Val = ""
    pid: Val = -1
    tid: Val = -1
    ts: Val = None
    dur: Val = 0
    ph: Val = "X"
    args: Args = NO_ARGS


RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
EVENTS = msgspec.json.Decoder(list[Event])
_ANY = msgspec.json.Decoder()


def sniff(head: bytes, path: str | None = None) -> bool:
    """An ORT profile: a JSON array whose events' categories (as far as the head shows)
    are ORT's own -- Session / Node / Kernel / Api -- with a Session or Node among them.
    Kineto traces (a ``{"traceEvents": ...}`` object, or arrays of cpu_op/kernel/...
    events) are left to the Kineto parser."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not _SNIFF_HEAD.match(text):
        return False
    cats = set(_SNIFF_CAT.findall(text))
    return bool(cats) and cats <= _ORT_CATS and bool(cats & {b"Session", b"Node"})


def parse(path, progress=None) -> list[Trace]:
    """One Trace per profile (a tar archive of profiles gives one per member)."""
    members = _io.members(path)
    traces = []
    while members:
        traces.append(parse_member(members.pop(0), progress))
    warmup = _collector_warmup(path)
    if warmup is not None:
        for trace in traces:
            trace.meta.extras["warmup_steps"] = warmup
    return traces


def companions(path) -> list[str]:
    """The sidecar ``<profile>.meta.json`` tracekit's collector writes beside a profile."""
    side = os.fspath(path) + ".meta.json"
    return [side] if os.path.isfile(side) else []


def _collector_warmup(path) -> int | None:
    """How many of the profile's first runs tracekit's collector ran as warm-up (its
    sidecar's ``warmup_runs``), so that the default step rule drops exactly those; None
    without a sidecar that says so."""
    for side in companions(path):
        try:
            doc = orjson.loads(_io.read_bytes(side))
        except (OSError, orjson.JSONDecodeError, TraceError):
            return None
        n = doc.get("warmup_runs") if isinstance(doc, dict) else None
        return n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else None
    return None


def parse_member(member: _io.Member, progress=None) -> Trace:
    path = member.name
    with gc_paused():
        data, member.data = member.data, None
        raws, truncated = _split(data, path)
        cols = _Columns()
        try:
            decode_events(raws, cols, progress and (lambda d, t: progress("decode", d, t)), EVENTS)
        except msgspec.ValidationError as exc:
            raise TraceError(path, f"malformed ONNX Runtime profile event ({_io.first_line(exc)})") from None
        except RecursionError:
            raise TraceError(path, "JSON is nested too deeply") from None
        except (msgspec.DecodeError, UnicodeDecodeError):
            raise _io.json_error(path, data) from None
        del raws, data
        c = cols.finish()
    if progress is not None:
        progress("attribute", 0, 1)
    return _build(c, cols, path, truncated)


def _split(data: bytes, path: str):
    """The raw event slices, and whether the file was cut off (then read up to the cut)."""
    try:
        return RAW_LIST.decode(data), False
    except msgspec.ValidationError:
        raise TraceError(path, "not an ONNX Runtime profile (expected a JSON array of events)") from None
    except RecursionError:
        raise TraceError(path, "JSON is nested too deeply") from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        if _io.json_problem(data) != "cut off":
            raise _io.json_error(path, data) from None
    try:
        recovered = recover_truncated(data)
    except RecursionError:
        recovered = None
    if recovered is None or not isinstance(recovered[1], list):
        raise TraceError(path, "JSON is cut off before the first complete event")
    raws = recovered[1]
    warnings.warn(TraceWarning(f"{path}: profile is cut off; read {len(raws)} events up to the cut"),
                  stacklevel=3)
    return raws, True


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


class _Columns:
    """Flat per-event columns, built chunk by chunk (strings interned once each)."""

    FIELDS = ("cat", "name", "pid", "tid", "ts", "dur", "op_name", "has_op_name", "provider", "node_index",
              "activation_size", "parameter_size", "output_size", "in_shape", "out_shape",
              "parent", "stream", "device", "grid", "block", "bytes", "kind", "ph")

    def __init__(self):
        self.strings = Interner()  # names, op types, providers, parent names, kinds
        self.blobs = Interner(first=(b"",))  # raw JSON of type/shape lists
        self.parts: dict[str, list] = {f: [] for f in self.FIELDS}
        self.flags = Flags()

    def warn(self, path: str) -> None:
        warn_flags(path, self.flags)

    def add(self, events: list[Event]) -> None:
        s = self.strings.encode
        n = len(events)
        args = [e.args for e in events]
        cat_code = {c: i for i, c in enumerate(CATEGORIES)}
        p = self.parts
        p["cat"].append(np.fromiter((cat_code.get(e.cat, OTHER) if isinstance(e.cat, str) else OTHER
                                     for e in events), np.int8, n))
        p["ph"].append(np.fromiter((e.ph in ("X", None, "") for e in events), bool, n))
        p["name"].append(s(_texts([e.name for e in events])))
        p["pid"].append(_ints([e.pid for e in events], self.flags, "pid"))
        p["tid"].append(_ints([e.tid for e in events], self.flags, "tid"))
        p["ts"].append(float_column([e.ts for e in events]))
        p["dur"].append(float_column([e.dur for e in events]))
        op_name = [a.op_name for a in args]
        p["op_name"].append(s(_texts(op_name)))
        p["has_op_name"].append(np.fromiter((x is not None for x in op_name), bool, n))
        p["provider"].append(s(_texts([a.provider for a in args])))
        index = _ints([a.node_index for a in args])
        if (index < 0).any():
            index = np.where(index < 0, _ints([a.graph_index for a in args]), index)
        p["node_index"].append(index)
        p["activation_size"].append(_ints([a.activation_size for a in args]))
        p["parameter_size"].append(_ints([a.parameter_size for a in args]))
        p["output_size"].append(_ints([a.output_size for a in args]))
        p["in_shape"].append(self.blobs.encode([bytes(a.input_type_shape) for a in args]))
        p["out_shape"].append(self.blobs.encode([bytes(a.output_type_shape) for a in args]))
        p["parent"].append(s(_texts([a.parent_name for a in args])))
        p["stream"].append(_ints([a.stream for a in args]))
        p["device"].append(_ints([a.device for a in args]))
        p["grid"].append(s([_dims(a.grid_x, a.grid_y, a.grid_z) if a.grid_x is not None else ""
                            for a in args]))
        p["block"].append(s([_dims(a.block_x, a.block_y, a.block_z) if a.block_x is not None else ""
                             for a in args]))
        size = _ints([a.bytes for a in args])
        if (size < 0).any():
            size = np.where(size < 0, _ints([a.size for a in args]), size)
        p["bytes"].append(size)
        p["kind"].append(s(_texts([a.kind for a in args])))

    def finish(self) -> dict[str, np.ndarray]:
        out = {}
        for key, parts in self.parts.items():
            out[key] = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        self.parts = {}
        return out


def _texts(values: list) -> list:
    return [v if type(v) is str else _text(v) for v in values]


def _ints(values: list, flags: Flags | None = None, what: str = "number") -> np.ndarray:
    """int64 column from ORT's string-valued numbers ("13", "0x7f3a..."); -1 where absent
    or out of the int64 range (counted in ``flags``)."""
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except (TypeError, ValueError, OverflowError):
        pass
    if all(v is None for v in values):
        return np.full(len(values), -1, np.int64)
    num = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(num) | (np.abs(num) >= 2.0**63)
    out = np.where(missing, -1, num).astype(np.int64)
    odd = np.flatnonzero(missing)
    if len(odd):  # hex stream pointers, padded text: the careful path, value by value
        odd = odd[[values[i] is not None for i in odd]]
        if len(odd):
            out[odd] = int_column([values[i] for i in odd], flags, what)
    return out


def _dims(x, y, z) -> str:
    """"[x, y, z]" (as Kineto writes grid/block), "" where absent or -1 (memcpy records)."""
    if x is None:
        return ""
    vals = [_text(v).strip() for v in (x, y, z)]
    if vals[0] in ("", "-1"):
        return ""
    return "[" + ", ".join(v or "1" for v in vals) + "]"


# ------------------------------------------------------------------ building

@dataclass
class _Events:
    """Every event with its times in ns and the rows of each table it feeds."""

    c: dict
    strings: list  # labels; the code columns of ``c`` index into it
    names: np.ndarray  # ``strings`` as an object array
    ok: np.ndarray  # complete events with a usable time
    ts_ns: np.ndarray
    dur_ns: np.ndarray
    part: np.ndarray  # per event: which part of a Node record (-1: not a node)
    node_base: np.ndarray  # per event: code of the node name without its suffix
    i_op: np.ndarray  # _kernel_time records: one op each
    i_run: np.ndarray  # model_run, in time order
    i_sess: np.ndarray
    i_k: np.ndarray


def _build(c: dict, cols: _Columns, path: str, truncated: bool) -> Trace:
    n = len(c["cat"])
    meta = TraceMeta(source=SOURCE, format=FORMAT, path=path, truncated=truncated,
                     extras={"events": int(n)})
    if n == 0:
        meta.time_basis = "ort_node"
        meta.extras.update(runs=0, providers=[])
        return Trace(meta=meta)
    ev = _select(c, cols, path, meta)

    # ---- runs: model_run in time order are steps 0, 1, ... ----
    run_start = ev.ts_ns[ev.i_run]
    runs = (run_start, run_start + ev.dur_ns[ev.i_run], np.arange(len(ev.i_run), dtype=np.int64))

    op_step = step_at(runs, ev.ts_ns[ev.i_op], inclusive_end=True)
    outside = int((op_step < 0).sum()) if len(ev.i_run) else 0
    if outside:
        warnings.warn(TraceWarning(f"{path}: {outside} node events lie outside every model_run "
                                   "(they count in --step all only)"), stacklevel=4)
    ops = _ops_table(ev, cols, op_step)
    kernels = _kernels_table(ev, runs, op_step, meta)

    # ---- ranges: Session events (model_run = steps; the rest annotations) ----
    ranges = _ranges(c, ev.names, ev.i_sess, ev.ts_ns, ev.dur_ns, runs, ev.i_run)

    i_k = ev.i_k
    linked = kernels["op"].to_numpy() >= 0
    providers = ev.names[c["provider"][ev.i_op]]
    meta.steps = [int(s) for s in runs[2]]
    meta.time_basis = "device" if len(i_k) else "ort_node"
    meta.extras.update(
        runs=len(ev.i_run), providers=sorted({str(p) for p in providers} - {""}),
        kernel_events=len(i_k), kernels_linked=int(linked.sum()),
        session_events=sorted({str(ev.names[c["name"][i]]) for i in ev.i_sess}),
    )
    if len(i_k) and not linked.all():
        meta.extras["kernels_unlinked"] = int((~linked).sum())
    return Trace(ops=ops, kernels=kernels, ranges=ranges, meta=meta)


def _select(c: dict, cols: _Columns, path: str, meta: TraceMeta) -> _Events:
    """Times, and which events become ops, runs, ranges and kernels; the rest is counted
    in ``meta`` by category."""
    n = len(c["cat"])
    used = c["ph"] & (c["cat"] != OTHER)
    times = checks.event_times(c["ts"], c["dur"], scale=1000, exact_us=True, counted=used)
    checks.warn(path, times.counts)
    cols.warn(path)
    meta.extras["events_without_ts"] = int(np.isnan(c["ts"]).sum())
    has_ts, ts_ns = times.ok, times.ts_ns
    cat = c["cat"]
    ok = has_ts & c["ph"]
    names = np.asarray(cols.strings.labels, dtype=object)

    # ---- Node events: which node, which part of its record ----
    suffix_of = np.array([_suffix(str(s)) for s in cols.strings.labels], np.int8)
    base_of = [_base(str(s)) for s in cols.strings.labels]
    base_code = cols.strings.encode(base_of)  # code of each label's node name (may add labels)
    is_node = ok & (cat == NODE)
    part = np.where(is_node, suffix_of[c["name"]], -1)
    i_op = np.flatnonzero(part == KERNEL_TIME)
    i_run = np.flatnonzero(ok & (cat == SESSION) & (names[c["name"]] == MODEL_RUN))
    i_run = i_run[np.argsort(ts_ns[i_run], kind="stable")]
    i_sess = np.flatnonzero(ok & (cat == SESSION))
    i_k = np.flatnonzero(ok & (cat == KERNEL))
    counted = np.zeros(n, bool)
    for idx in (i_op, i_sess, i_k, np.flatnonzero(part >= 0)):
        counted[idx] = True
    skipped = pd.Series([CATEGORIES[x] if x < OTHER else "other" for x in cat[~counted & has_ts]],
                        dtype=object).value_counts()
    meta.extras["skipped_events"] = {str(k): int(v) for k, v in skipped.items()}
    meta.extras["fences"] = bool((part == FENCE_BEFORE).any())
    strings = cols.strings.labels
    return _Events(c=c, strings=strings, names=names, ok=ok, ts_ns=ts_ns, dur_ns=times.dur_ns,
                   part=part, node_base=base_code[c["name"]], i_op=i_op, i_run=i_run,
                   i_sess=i_sess, i_k=i_k)


def _ops_table(ev: _Events, cols: _Columns, op_step: np.ndarray) -> pd.DataFrame:
    """One op per node's ``_kernel_time`` record; ORT nodes do not nest."""
    c, i_op, strings = ev.c, ev.i_op, ev.strings
    op_dur = ev.dur_ns[i_op]
    op_names = np.asarray(strings, dtype=object)[ev.node_base[i_op]]
    blobs = [_shapes(b) for b in cols.blobs.labels]
    in_shapes = [b[0] for b in blobs]
    in_types = [b[1] for b in blobs]
    out_first_type = [b[2] for b in blobs]
    return make_table(
        OPS, len(i_op),
        name=categorical_of(ev.node_base[i_op], strings), ts_ns=ev.ts_ns[i_op], dur_ns=op_dur,
        self_ns=op_dur, pid=c["pid"][i_op], tid=c["tid"][i_op], parent=np.full(len(i_op), -1, np.int64),
        depth=np.zeros(len(i_op), np.int32), module=_modules(op_names),
        shapes=categorical_of(c["in_shape"][i_op], in_shapes), dtypes=categorical_of(c["in_shape"][i_op], in_types),
        provider=categorical_of(c["provider"][i_op], strings), source=constant(SOURCE, len(i_op)),
        step=op_step, op_type=categorical_of(c["op_name"][i_op], strings),
        precision=categorical_of(c["out_shape"][i_op], out_first_type),
    )


def _kernels_table(ev: _Events, runs: tuple, op_step: np.ndarray, meta: TraceMeta) -> pd.DataFrame:
    """GPU events, each under the node whose record they follow; the writer's placement
    tells how their ``ts`` reads (noted in ``meta.extras["gpu_ts"]``)."""
    c, i_op, i_k, strings = ev.c, ev.i_op, ev.i_k, ev.strings
    style: dict = {}
    k_op = _kernel_ops(c, strings, ev.part, ev.node_base, i_op, i_k, ev.ts_ns, ev.ok, style)
    k_ts, k_dur = ev.ts_ns[i_k], ev.dur_ns[i_k]
    if style.get("inserted_before", 0) > style.get("merged", 0):
        # the older CUDA profiler writes a GPU event's end as its ts
        k_ts = k_ts - k_dur
        meta.extras["gpu_ts"] = "end (older CudaProfiler); start = ts - dur"
    elif style.get("merged", 0):
        meta.extras["gpu_ts"] = "launching record's start + offset (MergeEvents); durations are real"
    linked = k_op >= 0
    k_step = np.where(linked, op_step[np.maximum(k_op, 0)] if len(i_op) else -1,
                      step_at(runs, k_ts, inclusive_end=True))
    # ---- kind: copies by name, kind argument, or the node that launched them ----
    op_types = np.asarray(strings, dtype=object)[c["op_name"][i_op]]
    copy, is_memset = _copies(ev.names[c["name"][i_k]], np.asarray(strings, dtype=object)[c["kind"][i_k]])
    node_copy = np.array([MEMCPY_NODES.get(t, "") for t in op_types], dtype=object)
    via_node = np.where(linked, node_copy[np.maximum(k_op, 0)] if len(i_op) else "", "")
    copy = np.where(via_node != "", via_node, copy)
    kind = np.where(copy != "", "memcpy", np.where(is_memset, "memset", "kernel"))
    k_bytes = _copy_bytes(c["bytes"][i_k], k_op, kind, op_types, c["output_size"][i_op])
    return make_table(
        KERNELS, len(i_k),
        kind=pd.Categorical(kind, categories=["kernel", "memcpy", "memset"]),
        name=categorical_of(c["name"][i_k], strings), ts_ns=k_ts, dur_ns=k_dur,
        device=c["device"][i_k], stream=c["stream"][i_k], op=k_op,
        link=pd.Categorical(np.where(linked, "ort_adjacent", "none"), categories=["ort_adjacent", "none"]),
        bytes=k_bytes, copy=copy_column(copy),
        grid=categorical_of(c["grid"][i_k], strings), block=categorical_of(c["block"][i_k], strings), step=k_step,
    )


def _suffix(name: str) -> int:
    for code, suffix in enumerate(SUFFIXES):
        if name.endswith(suffix):
            return code
    return NO_SUFFIX


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _modules(node_names: np.ndarray) -> pd.Categorical:
    """The path of each node name: "/model/layers.0/input_layernorm/Mul" ->
    "/model/layers.0/input_layernorm"; names without "/" have none. Optimizer-made names
    ending in "/" ("/model/layers.0/self_attn/MatMul/MatMulScaleFusion/") drop it first."""
    codes, uniques = pd.factorize(pd.Series(node_names, dtype=object), sort=False)
    paths = []
    for u in uniques:
        s = str(u).rstrip("/")
        paths.append(s.rsplit("/", 1)[0] if "/" in s else "")
    return categorical_of(codes, paths) if len(uniques) else constant("", 0)


def _kernel_ops(c, strings, part, node_base, i_op, i_k, ts_ns, ok, style: dict) -> np.ndarray:
    """Op row (index into ``i_op``) of every Kernel event, -1 where none can be told.

    The runtime keys each GPU event to the record that was open when it was launched (the
    external correlation id is that record's start) and writes it next to that record, in
    one of two ways:

    - GPUProfilerBase::MergeEvents (newer versions): right *after* the last record that starts
      then, with ``ts`` moved to that record's start + 1 µs (+ more for the next ones),
      ``op_name`` copied from it and, in the newest, ``parent_name`` = its name;
    - the older CudaProfiler::EndProfiling: right *before* the first record that starts
      then, with ``ts`` = the kernel's end (never before that record's start) and
      ``op_name`` copied from it.

    ``op_name`` is therefore the launching record's op type, and empty where that record
    was not a node (``model_run``: the copies of the feeds and fetches) -- those GPU
    events have no op. ``parent_name``, where it names a Node event, decides alone. The
    op is the node's ``_kernel_time`` row nearest in time to the record found (a
    fence_before precedes it, a fence_after follows it). Where neither neighbour carries
    the kernel's ``op_name`` (events out of order), the latest node of that op type (or
    name) before the kernel is taken. Profiles whose GPU events have no ``op_name`` at all
    are attributed to the Node record before them. ``style`` receives how many blocks each
    writer's placement explains.
    """
    out = np.full(len(i_k), -1, np.int64)
    if len(i_k) == 0 or len(i_op) == 0:
        return out
    labels = np.asarray(strings, dtype=object)
    empty = _empty_code(strings)
    cat = c["cat"]
    t_k = ts_ns[i_k]
    k_opname = c["op_name"][i_k]
    named = c["has_op_name"][i_k]
    i_other = np.flatnonzero(ok & (cat != KERNEL))  # records, file order
    i_node = np.flatnonzero(part >= 0)  # Node records, file order
    # blocks of consecutive GPU events and the records just before / after each block
    first = np.ones(len(i_k), bool)
    first[1:] = i_k[1:] != i_k[:-1] + 1
    k0 = i_k[np.flatnonzero(first)[np.cumsum(first) - 1]]
    pos = np.searchsorted(i_other, k0, side="left")
    prev_rec = np.where(pos > 0, i_other[np.maximum(pos - 1, 0)], -1)
    next_rec = np.where(pos < len(i_other), i_other[np.minimum(pos, len(i_other) - 1)], -1)
    prev_is_node = (prev_rec >= 0) & (part[np.maximum(prev_rec, 0)] >= 0)
    next_is_node = (next_rec >= 0) & (part[np.maximum(next_rec, 0)] >= 0)
    merged_after = (prev_rec >= 0) & (ts_ns[k0] == ts_ns[np.maximum(prev_rec, 0)] + 1000)
    op_of = c["op_name"]
    prev_match = prev_is_node & (op_of[np.maximum(prev_rec, 0)] == k_opname)
    next_match = next_is_node & (op_of[np.maximum(next_rec, 0)] == k_opname)
    next_by_time = next_match & (ts_ns[k0] >= ts_ns[np.maximum(next_rec, 0)])
    # the Node record nearest before each kernel (for profiles without op_name)
    at = np.searchsorted(i_node, i_k, side="left")
    node_before = np.where(at > 0, i_node[np.maximum(at - 1, 0)], -1)

    anchor = np.full(len(i_k), -1, np.int64)
    has_name = named & (k_opname != empty)
    # op_name present: the neighbour record that launched it
    after = has_name & merged_after & prev_is_node
    before = has_name & ~after & next_by_time
    after |= has_name & ~after & ~before & prev_match
    before |= has_name & ~after & ~before & next_match
    anchor = np.where(after, prev_rec, np.where(before, next_rec, anchor))
    # no op_name at all (oldest CUDA profiler): the Node record before it
    anchor = np.where(~named, node_before, anchor)
    key = np.where(anchor >= 0, node_base[np.maximum(anchor, 0)], -1)
    when = np.where(anchor >= 0, ts_ns[np.maximum(anchor, 0)], t_k)
    # parent_name decides alone where present: a Node record, or none (model_run)
    parent = c["parent"][i_k]
    has_parent = parent != empty
    if has_parent.any():
        parent_label = labels[parent]
        base_codes = {s: i for i, s in enumerate(strings)}
        pkey = np.array([base_codes.get(_base(str(p)), -1) if _suffix(str(p)) != NO_SUFFIX else -1
                         for p in parent_label], np.int64)
        when = np.where(has_parent & (pkey != key), t_k, when)
        key = np.where(has_parent, pkey, key)
    out = _nearest(node_base[i_op], ts_ns[i_op], key, when, key >= 0, "nearest")
    # which writer: blocks after their record with ts = record + 1 µs (MergeEvents), or
    # before it with ts = the kernel's end (CudaProfiler)
    heads = first & has_name
    style["merged"] = int((heads & merged_after).sum()) + int(has_parent.any())
    style["inserted_before"] = int((heads & before).sum())
    # an op_name that neither neighbour carries: the latest node of that type before it
    search = has_name & (out < 0) & ~has_parent
    if search.any():
        op_node = node_base[i_op]
        name_code = _recode(k_opname, strings, op_node)  # the op_name as a node name
        by_type = _nearest(c["op_name"][i_op], ts_ns[i_op], k_opname, t_k, search, "backward")
        by_name = _nearest(op_node, ts_ns[i_op], name_code, t_k, search & (name_code >= 0), "backward")
        out = np.where(search, np.where(by_type >= 0, by_type, by_name), out)
    return out


def _empty_code(strings) -> int:
    try:
        return list(strings).index("")
    except ValueError:
        return -1


def _recode(codes: np.ndarray, strings, node_codes: np.ndarray) -> np.ndarray:
    """The same strings' codes as they appear among node names (-1 if not a node name)."""
    known = set(np.unique(node_codes).tolist())
    table = np.array([i if i in known else -1 for i in range(len(strings))], np.int64)
    return table[codes]


def _nearest(keys: np.ndarray, times: np.ndarray, q_keys: np.ndarray, q_times: np.ndarray,
             valid: np.ndarray, direction: str) -> np.ndarray:
    """Row of (keys, times) with the same key and the nearest time (or latest at or before,
    for "backward") for each valid query; -1 otherwise."""
    out = np.full(len(q_keys), -1, np.int64)
    q = np.flatnonzero(valid)
    if len(q) == 0 or len(keys) == 0:
        return out
    right = pd.DataFrame({"key": np.asarray(keys, np.int64), "t": np.asarray(times, np.int64),
                          "row": np.arange(len(keys), dtype=np.int64)}).sort_values("t", kind="stable")
    left = pd.DataFrame({"key": np.asarray(q_keys, np.int64)[q], "t": np.asarray(q_times, np.int64)[q],
                         "q": q}).sort_values("t", kind="stable")
    merged = pd.merge_asof(left, right, on="t", by="key", direction=direction)
    rows = merged["row"].to_numpy(dtype=float)
    out[merged["q"].to_numpy()] = np.where(np.isnan(rows), -1, rows).astype(np.int64)
    return out


def _copies(names: np.ndarray, kinds: np.ndarray):
    """Copy direction of each GPU event from its name (or ROCm's ``kind``), and memsets."""
    copy = np.full(len(names), "", dtype=object)
    memset = np.zeros(len(names), bool)
    cache: dict = {}
    for i, (name, kind) in enumerate(zip(names, kinds)):
        key = (name, kind)
        if key not in cache:
            cache[key] = (_copy_kind(str(name)) or copy_kind(str(kind)),
                          bool(_MEMSET_NAME.search(str(name))))
        copy[i], memset[i] = cache[key]
    return copy, memset


def _copy_kind(name: str) -> str:
    """"MemcpyHostToDevice" -> "HtoD", "CopyDeviceToHost" -> "DtoH", "MemcpyHtoD" -> "HtoD";
    CUDA arrays: "MemcpyHostToDeviceArray" -> "HtoA", "MemcpyDeviceArrayToHost" -> "AtoH"."""
    m = _COPY_NAME.search(name)
    return copy_kind(m.group(1) or m.group(2)) if m else ""


def _copy_bytes(raw: np.ndarray, k_op: np.ndarray, kind: np.ndarray, op_types: np.ndarray,
                op_output_size: np.ndarray) -> np.ndarray:
    """Bytes of each copy: from the event where it says, else -- for the one copy of a
    Memcpy node -- the node's output size (what the node moved)."""
    out = raw.copy()
    need = (out < 0) & (kind == "memcpy") & (k_op >= 0)
    if not need.any():
        return out
    per_op = np.bincount(k_op[(k_op >= 0) & (kind == "memcpy")], minlength=len(op_types))
    is_memcpy_node = np.array([t in MEMCPY_NODES for t in op_types], bool)
    op = np.maximum(k_op, 0)
    single = need & is_memcpy_node[op] & (per_op[op] == 1) & (op_output_size[op] >= 0)
    out[single] = op_output_size[op[single]]
    return out


def _shapes(blob: bytes):
    """(shapes, dtypes, first output dtype) of an ORT ``*_type_shape`` argument:
    ``[{"float":[1,16,64]},{"int64":[2]}]`` -> "[[1,16,64],[2]]", '["float","int64"]'."""
    if not blob:
        return "", "", ""
    try:
        value = _ANY.decode(blob)
    except (msgspec.DecodeError, RecursionError):
        return "", "", ""
    if not isinstance(value, list):
        return "", "", ""
    dims, types = [], []
    for item in value:
        if isinstance(item, dict) and item:
            (dtype, shape), = list(item.items())[:1]
            types.append(str(dtype))
            dims.append(shape if isinstance(shape, list) else [])
        else:
            types.append("")
            dims.append([])
    enc = msgspec.json.encode
    return enc(dims).decode(), enc(types).decode(), (types[0] if types else "")


def _ranges(c, names, i_sess, ts_ns, dur_ns, runs, i_run) -> pd.DataFrame:
    r_ts, r_dur = ts_ns[i_sess], dur_ns[i_sess]
    labels = names[c["name"][i_sess]]
    is_run = labels == MODEL_RUN
    thread = group_codes(c["pid"][i_sess], c["tid"][i_sess]) if len(i_sess) else np.zeros(0, np.int64)
    nesting = nest(r_ts, r_ts + r_dur, thread)
    step = step_at(runs, r_ts, inclusive_end=True)
    run_index = {int(e): k for k, e in enumerate(i_run)}
    step[is_run] = [run_index[int(e)] for e in i_sess[is_run]]
    return make_table(
        RANGES, len(i_sess),
        name=pd.Categorical(labels.astype(object)),
        kind=pd.Categorical(np.where(is_run, "model_run", "annotation"), categories=["model_run", "annotation"]),
        ts_ns=r_ts, dur_ns=r_dur, pid=c["pid"][i_sess], tid=c["tid"][i_sess],
        depth=nesting.depth, parent=nesting.parent, step=step,
    )
