"""PyTorch profiler (Kineto) / Chrome Trace Event JSON -> tracekit event model.

Reads every variant seen in the wild: ``{"traceEvents": [...]}`` or a bare array, gzip,
tar archives of per-rank traces, float-µs timestamps relative to ``baseTimeNanoseconds``
and old integer-µs ones, string pids/tids, legacy categories (``Operator``, ``Runtime``,
``Kernel``, ``Memcpy``, ``Memset``) and current ones, CUDA, ROCm and MTIA activity.
A file cut off mid-array is read up to the last complete event, with a warning.

Attribution (DESIGN.md): kernel -> launch by correlation (or by the ``ac2g`` flow that
binds them), launch -> innermost op on the same thread that encloses it in time (with
``External id`` as evidence), op -> innermost enclosing module/annotation range.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import msgspec
import numpy as np
import pandas as pd

from parsers import _io
from parsers._decode import Columns, Header, decode_events, gc_paused, recover_truncated, split_events
from parsers._shared import copy_column, dotted_paths, match_launch, sorted_steps, step_at
from tracekit.cores import cpu_ticks
from tracekit.model import (
    KERNELS,
    LAUNCHES,
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
from tracekit.model.intervals import Nesting, gather, group_codes, nest, self_time
from tracekit.model.vocab import COPY_KINDS

SOURCE = "kineto"
# the parser contract (parsers.Parser)
NAME = "kineto"
DESCRIPTION = "PyTorch profiler / Kineto / Chrome trace JSON"
OPTIONS: tuple[str, ...] = ()
VERSION = 1

# Event roles, from the category (lower-cased).
OTHER, OP, LAUNCH, KERNEL, MEMCPY, MEMSET, ANNOT, GPU_ANNOT, PYFUNC, SYNC, FLOW, DEVICE = range(12)
ROLE_BY_CAT = {
    "cpu_op": OP, "operator": OP,
    "cuda_runtime": LAUNCH, "runtime": LAUNCH, "cuda_driver": LAUNCH, "mtia_runtime": LAUNCH,
    "hip_runtime": LAUNCH, "xpu_runtime": LAUNCH, "privateuse1_runtime": LAUNCH,
    "kernel": KERNEL, "gpu_memcpy": MEMCPY, "memcpy": MEMCPY,
    "gpu_memset": MEMSET, "memset": MEMSET,
    "user_annotation": ANNOT, "gpu_user_annotation": GPU_ANNOT,
    "python_function": PYFUNC, "cuda_sync": SYNC,
    "mtia_ccp_events": DEVICE,
    "ac2g": FLOW, "async": FLOW, "async_gpu": FLOW, "async_cpu_to_gpu": FLOW,
}
KIND_OF_ROLE = {KERNEL: "kernel", MEMCPY: "memcpy", MEMSET: "memset", DEVICE: "kernel"}
STEP_NAME = re.compile(r"ProfilerStep#(\d+)")
MODULE_PREFIX = "nn.Module: "
DEVICE_WAIT = re.compile(r"(^|_)(event_)?(wait|record)", re.I)  # MTIA event_wait/event_record
COPY_KIND = re.compile(rf"\b({'|'.join(COPY_KINDS)})\b")
LAUNCH_GRAPH = re.compile(r"GraphLaunch", re.I)
LAUNCH_OP = "launch"  # op_type of a launch that stands in for a missing op
ROUNDING_NS = 1000  # integer-µs traces round both ends of every event


def sniff(head: bytes, path: str | None = None) -> bool:
    """Could this be a Chrome/Kineto trace? Any JSON document or tar archive is given a
    try: the parser then says precisely what is wrong with it (no 'traceEvents', an
    Execution Trace, ...), which beats "unknown format"."""
    if _io.is_tar(head):
        return True  # an archive of per-rank traces
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:1] in (b"{", b"[")


def parse(path, progress=None) -> list[Trace]:
    """One Trace per trace file; a tar archive of per-rank traces gives several.

    ``progress(stage, done, total)``, if given, is called as the work advances."""
    members = _io.members(path)
    traces = []
    while members:
        traces.append(parse_member(members.pop(0), progress))
    return traces


def parse_member(member: "_io.Member", progress=None) -> Trace:
    """Decode, then drop the file's bytes before building tables (peak memory)."""
    path = member.name
    with gc_paused():
        since = cpu_ticks()  # which cores stay idle while the array is split
        header, raws, truncated = _split(member.data, path)
        columns = Columns()
        try:
            decode_events(raws, columns, progress and (lambda d, t: progress("decode", d, t)),
                          since=since)
        except (msgspec.ValidationError, RecursionError) as exc:
            raise TraceError(path, f"malformed trace event ({_io.first_line(exc)})") from None
        except (msgspec.DecodeError, UnicodeDecodeError):
            raise _io.json_error(path, member.data) from None
        del raws
        header.traceEvents = None
        member.data = None  # the raw slices were the last users of the file's bytes
        cols = columns.finish() if columns._parts else None
    if progress is not None:
        progress("attribute", 0, 1)
    return _build(header, columns, cols, path, truncated)


def _split(data: bytes, path: str):
    try:
        header, raws, truncated = split_events(data, path)
    except msgspec.ValidationError as exc:
        raise TraceError(path, f"not a Kineto/Chrome trace ({_io.first_line(exc)})") from None
    except msgspec.DecodeError:
        if _io.json_problem(data) != "cut off":
            raise _io.json_error(path, data) from None
        recovered = recover_truncated(data)
        if recovered is None:
            raise TraceError(path, "JSON is cut off before the first complete event") from None
        header, raws = recovered
        warnings.warn(TraceWarning(f"{path}: trace is cut off; read {len(raws)} events up "
                                   "to the cut"), stacklevel=3)
        truncated = True
    except RecursionError:
        raise TraceError(path, "JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise _io.json_error(path, data) from None
    except ValueError:
        raise TraceError(path, "not a JSON trace (does not start with '{' or '[')") from None
    if raws is None:
        if header.nodes is not None and header.schema is not None:
            raise TraceError(path, "is a PyTorch Execution Trace, not a Kineto trace "
                                   "(it has 'nodes', no 'traceEvents')")
        raise TraceError(path, "not a Kineto/Chrome trace: no 'traceEvents' array")
    return header, raws, truncated


@dataclass
class _Events:
    """Every decoded event with its role, times in ns and the table it goes to."""

    c: dict  # the decoded columns
    names: list  # name labels; c["name"] holds codes into it
    role: np.ndarray
    ph: np.ndarray  # phase codes
    ph_code: dict  # phase ("X", "s", ...) -> its code
    ts_ns: np.ndarray
    dur_ns: np.ndarray
    is_step_name: np.ndarray
    ops: np.ndarray  # one mask per destination
    steps: np.ndarray
    annot: np.ndarray
    module: np.ndarray
    gpu_annot: np.ndarray
    sync: np.ndarray
    launch: np.ndarray
    kernel: np.ndarray


@dataclass
class _Host:
    """Host side: ops with their nesting, host ranges, launches and the op of each."""

    i_op: np.ndarray  # event index of each op row
    op_ts: np.ndarray
    op_dur: np.ndarray
    op_thread: np.ndarray
    op_nest: Nesting
    op_self: np.ndarray
    op_range: np.ndarray
    ranges: pd.DataFrame
    r_nest: Nesting
    r_is_path: np.ndarray
    steps: tuple
    i_l: np.ndarray  # event index of each launch row
    l_ts: np.ndarray
    l_dur: np.ndarray
    l_thread: np.ndarray
    l_corr: np.ndarray
    l_op: np.ndarray
    l_used_ext: np.ndarray


@dataclass
class _Device:
    """Device activity and its links; launches outside every op become stand-in ops."""

    i_k: np.ndarray  # event index of each kernel row
    k_corr: np.ndarray
    k_launch: np.ndarray
    k_op: np.ndarray
    link: np.ndarray
    kind: np.ndarray
    copy: pd.Categorical
    l_op: np.ndarray  # launch -> op, stand-ins included
    s_idx: np.ndarray  # launch rows that stand in for an op
    s_range: np.ndarray


def _build(header: Header, columns: Columns, c: dict | None, path: str, truncated: bool) -> Trace:
    meta = _meta(header, columns, path, truncated)
    columns.warn(path)
    if c is None:
        meta.extras["events"] = 0
        return Trace(meta=meta)
    meta.extras["events"] = len(c["ph"])
    ev = _select(columns, c, meta, path)
    host = _host_side(ev)
    dev = _device_side(ev, host, columns)

    # ---- steps for every table ----
    steps = host.steps
    l_step = step_at(steps, host.l_ts)
    op_step = np.concatenate([step_at(steps, host.op_ts), l_step[dev.s_idx]])
    gpu_steps = _gpu_steps(c, ev.names, i=np.flatnonzero(ev.gpu_annot & ev.is_step_name),
                           ts_ns=ev.ts_ns, dur_ns=ev.dur_ns)
    k_step = gather(l_step, dev.k_launch, -1)
    orphan = dev.k_launch < 0
    if orphan.any():
        k_step[orphan] = step_at(gpu_steps if len(gpu_steps[0]) else steps, ev.ts_ns[dev.i_k][orphan])
    ranges = host.ranges
    ranges["step"] = step_at(steps, ranges["ts_ns"].to_numpy()).astype(np.int32)

    blobs = [b.decode("utf-8", "replace") for b in columns.blobs.labels]
    ops = _ops_table(ev, host, dev, op_step, blobs)
    kernels = _kernels_table(ev, dev, k_step, blobs)
    i_l = host.i_l
    launches = make_table(
        LAUNCHES, len(i_l),
        name=categorical_of(c["name"][i_l], ev.names), ts_ns=host.l_ts, dur_ns=host.l_dur,
        pid=c["pid"][i_l], tid=c["tid"][i_l], correlation=host.l_corr,
        external_id=c["external_id"][i_l], op=dev.l_op, step=l_step,
    )
    ranges = _append_device_ranges(ranges, c, ev.names, ev.gpu_annot, ev.sync, ev.ts_ns, ev.dur_ns, steps)
    meta.steps = sorted({int(s) for s in steps[2]})
    return Trace(ops=ops, kernels=kernels, launches=launches, ranges=ranges, meta=meta)


def _select(columns: Columns, c: dict, meta: TraceMeta, path: str) -> _Events:
    """Role and times of every event and the table it belongs to; what is skipped or set
    aside is counted in ``meta`` and warned about."""
    names = columns.names.labels
    cat_labels = columns.cats.labels
    # " kernel " and "Kernel" are the category "kernel"
    cat_role = np.array([ROLE_BY_CAT.get(str(x).strip().lower(), OTHER) for x in cat_labels], np.int8)
    role = cat_role[c["cat"]]
    ph, ph_code = c["ph"], columns.phs.codes  # phases stay codes: no object array per event
    complete = ph == ph_code.get("X", -1)
    base = meta.extras.get("base_time_ns") or 0
    times = checks.event_times(c["ts"], c["dur"], scale=1000, base=base, exact_us=True,
                               counted=complete & (role != OTHER))
    checks.warn(path, times.counts)
    begin_end = int(np.isin(ph, [ph_code.get("B", -1), ph_code.get("E", -1)]).sum())
    checks.warn_count(path, f"begin/end ('B'/'E') event{'s' if begin_end != 1 else ''}", begin_end,
                      "skipped: tracekit reads complete ('X') events")
    name = c["name"]

    step_num = _label_map(names, lambda s: int(m.group(1)) if (m := STEP_NAME.fullmatch(s)) else -1,
                          np.int64)
    is_step_name = step_num[name] >= 0
    is_module_name = _label_map(names, lambda s: s.startswith(MODULE_PREFIX), bool)[name]
    is_wait_name = _label_map(names, lambda s: bool(DEVICE_WAIT.search(s)), bool)[name]

    x = complete & times.ok
    ev = _Events(
        c=c, names=names, role=role, ph=ph, ph_code=ph_code, ts_ns=times.ts_ns, dur_ns=times.dur_ns,
        is_step_name=is_step_name,
        ops=x & (role == OP) & ~is_step_name,
        steps=x & ((role == ANNOT) | (role == OP)) & is_step_name,
        annot=x & (role == ANNOT) & ~is_step_name,
        module=x & (role == PYFUNC) & is_module_name,
        gpu_annot=x & (role == GPU_ANNOT),
        sync=x & ((role == SYNC) | ((role == DEVICE) & is_wait_name)),
        launch=x & (role == LAUNCH),
        kernel=x & np.isin(role, (KERNEL, MEMCPY, MEMSET)) | (x & (role == DEVICE) & ~is_wait_name),
    )
    counted = (ev.ops | ev.steps | ev.annot | ev.module | ev.gpu_annot | ev.sync | ev.launch
               | ev.kernel)
    meta.extras["skipped_complete_events"] = _counts_by_label(c["cat"][complete & ~counted], cat_labels)
    meta.extras["events_without_ts"] = int((complete & np.isnan(c["ts"])).sum())
    meta.extras["set_aside"] = int((complete & (role != OTHER) & ~times.ok).sum())
    return ev


def _host_side(ev: _Events) -> _Host:
    c, ts_ns, dur_ns = ev.c, ev.ts_ns, ev.dur_ns

    # ---- threads: one code space for every host-side table ----
    i_op = np.flatnonzero(ev.ops)
    i_l = np.flatnonzero(ev.launch)
    i_r = np.flatnonzero(ev.steps | ev.annot | ev.module)
    op_ts, op_dur = ts_ns[i_op], dur_ns[i_op]
    l_ts, l_dur = ts_ns[i_l], dur_ns[i_l]
    thread = group_codes(np.concatenate([c["pid"][i_op], c["pid"][i_l], c["pid"][i_r]]),
                         np.concatenate([c["tid"][i_op], c["tid"][i_l], c["tid"][i_r]]))
    op_thread, l_thread, r_thread = np.split(thread, [len(i_op), len(i_op) + len(i_l)])

    # ---- ops: nesting, self time ----
    op_nest = nest(op_ts, op_ts + op_dur, op_thread)
    op_self = self_time(op_dur, op_nest.parent)

    # ---- host ranges: steps, annotations, nn.Module ----
    ranges, r_nest, r_is_path = _host_ranges(c, ev.names, i_r, ts_ns, dur_ns, r_thread,
                                             ev.steps, ev.module)
    op_range = np.full(len(i_op), -1, np.int64)
    if r_is_path.any():
        op_range = r_nest.innermost(op_ts, op_ts + op_dur, op_thread)

    # ---- launches -> ops ----
    l_corr = _flow_bind(c, ev, ts_ns, i_l, c["correlation"][i_l], start_ph="s")
    l_ext = c["external_id"][i_l]
    by_time = op_nest.at_points(l_ts, l_thread)
    by_ext = _lookup(np.stack([c["pid"][i_op], op_thread, c["external_id"][i_op]]),
                     np.stack([c["pid"][i_l], l_thread, l_ext]), valid=l_ext > 0)
    # External id is evidence, not proof: some writers reuse correlation ids as External
    # ids, so an op found by id must also enclose the launch (within timestamp rounding).
    ext_ok = by_ext >= 0
    e = np.maximum(by_ext, 0)
    ext_ok &= (op_ts[e] - ROUNDING_NS <= l_ts) & (l_ts <= op_ts[e] + op_dur[e] + ROUNDING_NS) if len(op_ts) else ext_ok
    by_ext = np.where(ext_ok, by_ext, -1)
    return _Host(
        i_op=i_op, op_ts=op_ts, op_dur=op_dur, op_thread=op_thread, op_nest=op_nest,
        op_self=op_self, op_range=op_range, ranges=ranges, r_nest=r_nest, r_is_path=r_is_path,
        steps=_steps(ranges), i_l=i_l, l_ts=l_ts, l_dur=l_dur, l_thread=l_thread, l_corr=l_corr,
        l_op=np.where(by_ext >= 0, by_ext, by_time), l_used_ext=(by_ext >= 0) & (by_ext != by_time),
    )


def _device_side(ev: _Events, host: _Host, columns: Columns) -> _Device:
    c, names = ev.c, ev.names

    # ---- kernels -> launches -> ops ----
    i_k = np.flatnonzero(ev.kernel)
    k_corr = _flow_bind(c, ev, ev.ts_ns, i_k, c["correlation"][i_k], start_ph="f")
    k_flow = (c["correlation"][i_k] < 0) & (k_corr >= 0)
    # ids alone: a GPU event's pid is its device, not the process that launched it
    k_launch = match_launch(k_corr, ev.ts_ns[i_k], host.l_corr, host.l_ts)
    # A launch outside every op (a CUDA/HIP graph replay, cuLaunchKernelEx from a python
    # function) stands in for the op of what it launched, under its module/annotation path.
    stand_in = np.zeros(len(host.i_l), bool)
    stand_in[k_launch[k_launch >= 0]] = True
    s_idx = np.flatnonzero(stand_in & (host.l_op < 0))
    l_op = host.l_op.copy()
    l_op[s_idx] = len(host.i_op) + np.arange(len(s_idx))
    s_range = np.full(len(s_idx), -1, np.int64)
    if host.r_is_path.any() and len(s_idx):
        s_range = host.r_nest.innermost(host.l_ts[s_idx], host.l_ts[s_idx] + host.l_dur[s_idx],
                                        host.l_thread[s_idx])
    k_op = gather(l_op, k_launch, -1)

    # ---- how each kernel found its op ----
    launch_names = np.asarray(names, dtype=object)[c["name"][host.i_l]]
    is_graph = (np.array([bool(LAUNCH_GRAPH.search(s)) for s in launch_names], bool) if len(host.i_l)
                else np.zeros(0, bool))
    link = np.full(len(i_k), "none", dtype=object)
    found = k_op >= 0
    link[found] = "correlation"
    link[found & gather(host.l_used_ext, k_launch, False)] = "external_id"
    link[found & k_flow] = "flow"
    link[found & gather(is_graph, k_launch, False)] = "graph_launch"

    # ---- kind: device activity whose name or kind names a copy direction is a copy ----
    k_role = ev.role[i_k].copy()
    has_direction = (np.array([bool(COPY_KIND.search(str(x))) for x in names], bool)[c["kind"][i_k]]
                     if len(i_k) else np.zeros(0, bool))
    k_role[(k_role == DEVICE) & has_direction] = MEMCPY
    kind_of = np.full(12, "kernel", dtype=object)
    for r, k in KIND_OF_ROLE.items():
        kind_of[r] = k
    return _Device(
        i_k=i_k, k_corr=k_corr, k_launch=k_launch, k_op=k_op, link=link, kind=kind_of[k_role],
        copy=_copy_kinds(names, columns, c, i_k, k_role), l_op=l_op, s_idx=s_idx, s_range=s_range,
    )


def _ops_table(ev: _Events, host: _Host, dev: _Device, op_step: np.ndarray, blobs: list) -> pd.DataFrame:
    """Ops, then the launches that stand in for an op."""
    c, s_idx = ev.c, dev.s_idx
    n_ops = len(host.i_op) + len(s_idx)
    o_ev = np.concatenate([host.i_op, host.i_l[s_idx]])  # the event behind each op row
    o_range = np.concatenate([host.op_range, dev.s_range])
    ranges = host.ranges
    path_codes = ranges["path"].cat.codes.to_numpy().astype(np.int64)
    op_nest = host.op_nest
    return make_table(
        OPS, n_ops,
        name=categorical_of(c["name"][o_ev], ev.names), ts_ns=ev.ts_ns[o_ev], dur_ns=ev.dur_ns[o_ev],
        self_ns=np.concatenate([host.op_self, host.l_dur[s_idx]]),
        pid=c["pid"][o_ev], tid=c["tid"][o_ev],
        parent=np.concatenate([op_nest.parent, np.full(len(s_idx), -1, np.int64)]),
        depth=np.concatenate([op_nest.depth, np.zeros(len(s_idx), op_nest.depth.dtype)]),
        range=o_range, module=_module_column(gather(path_codes, o_range, -1), ranges["path"].cat.categories),
        shapes=categorical_of(c["dims"][o_ev], blobs), dtypes=categorical_of(c["types"][o_ev], blobs),
        provider=constant("CPU", n_ops), source=constant(SOURCE, n_ops),
        external_id=c["external_id"][o_ev], step=op_step,
        op_type=pd.Categorical.from_codes(np.repeat(np.array([0, 1], np.int8), [len(host.i_op), len(s_idx)]),
                                          categories=["", LAUNCH_OP]),
    )


def _kernels_table(ev: _Events, dev: _Device, k_step: np.ndarray, blobs: list) -> pd.DataFrame:
    c, i_k = ev.c, dev.i_k
    return make_table(
        KERNELS, len(i_k),
        kind=pd.Categorical(dev.kind, categories=["kernel", "memcpy", "memset"]),
        name=categorical_of(c["name"][i_k], ev.names), ts_ns=ev.ts_ns[i_k], dur_ns=ev.dur_ns[i_k],
        device=np.where(c["device"][i_k] >= 0, c["device"][i_k], c["pid"][i_k]),
        stream=np.where(c["stream"][i_k] >= 0, c["stream"][i_k], c["tid"][i_k]),
        correlation=dev.k_corr, launch=dev.k_launch, op=dev.k_op,
        link=pd.Categorical(dev.link, categories=["correlation", "external_id", "flow", "graph_launch", "none"]),
        bytes=c["bytes"][i_k], copy=dev.copy, grid=categorical_of(c["grid"][i_k], blobs),
        block=categorical_of(c["block"][i_k], blobs), step=k_step,
    )


# ---------------------------------------------------------------- helpers

def _module_column(codes: np.ndarray, categories) -> pd.Categorical:
    """ops.module from the path code of each op's innermost range ("" for -1: none)."""
    labels = list(categories)
    if "" not in labels:
        labels.append("")
    return categorical_of(np.where(codes >= 0, codes, labels.index("")), labels)


def _counts_by_label(codes: np.ndarray, labels: list) -> dict[str, int]:
    """{label: count} of coded values, most frequent first, ties in order of first
    appearance (as pandas' value_counts orders them)."""
    seen, first, counts = np.unique(codes, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    return {str(labels[seen[i]]): int(counts[i]) for i in order}


def _label_map(labels: list, fn, dtype) -> np.ndarray:
    """Apply ``fn`` once per distinct label (not per event)."""
    return np.array([fn(str(s)) for s in labels], dtype=dtype) if labels else np.zeros(0, dtype)


def _lookup(keys: np.ndarray, queries: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Row index in ``keys`` (k x n) of each query column (k x m) equal to it; -1 if none.
    The first occurrence wins where keys repeat."""
    out = np.full(queries.shape[1], -1, np.int64)
    if keys.shape[1] == 0 or not valid.any():
        return out
    kdf = pd.DataFrame({f"k{i}": keys[i] for i in range(keys.shape[0])})
    kdf["row"] = np.arange(keys.shape[1])
    kdf = kdf.drop_duplicates([f"k{i}" for i in range(keys.shape[0])])
    index = pd.MultiIndex.from_frame(kdf.drop(columns="row")) if keys.shape[0] > 1 else pd.Index(kdf["k0"])
    q = np.flatnonzero(valid)
    if keys.shape[0] > 1:
        qi = pd.MultiIndex.from_arrays([queries[i][q] for i in range(queries.shape[0])])
    else:
        qi = pd.Index(queries[0][q])
    pos = index.get_indexer(qi)
    rows = kdf["row"].to_numpy()
    out[q] = np.where(pos >= 0, rows[np.maximum(pos, 0)], -1)
    return out


def _flow_bind(c, ev: _Events, ts_ns, idx, corr, start_ph: str) -> np.ndarray:
    """Fill missing correlations from flow events ("s" on the launch, "f" on the device
    activity) that sit on the same track at the same instant as the event."""
    corr = corr.copy()
    missing = corr < 0
    if not missing.any():
        return corr
    flows = np.flatnonzero((ev.role == FLOW) & (ev.ph == ev.ph_code.get(start_ph, -1)) & (c["flow_id"] >= 0))
    if len(flows) == 0:
        return corr
    keys = np.stack([c["pid"][flows], c["tid"][flows], ts_ns[flows]])
    q = idx[missing]
    hit = _lookup(keys, np.stack([c["pid"][q], c["tid"][q], ts_ns[q]]), valid=np.ones(len(q), bool))
    got = np.where(hit >= 0, c["flow_id"][flows][np.maximum(hit, 0)], -1)
    corr[np.flatnonzero(missing)] = got
    return corr


def _copy_kinds(names, columns, c, i_k, k_role) -> pd.Categorical:
    """HtoD/DtoH/... from the activity name ("Memcpy HtoD (Pageable -> Device)") or the
    ``kind`` argument (ROCm)."""
    def kind_of(label):
        m = COPY_KIND.search(str(label))
        return m.group(1) if m else ""
    by_name = np.array([kind_of(s) for s in names], dtype=object)
    result = by_name[c["name"][i_k]]
    by_arg = by_name[c["kind"][i_k]]
    result = np.where(result == "", by_arg, result)
    result = np.where(k_role == MEMCPY, result, "")
    return copy_column(result)


def _host_ranges(c, names, i_r, ts_ns, dur_ns, r_thread, sel_steps, sel_module):
    """Steps, user annotations and nn.Module ranges on host threads, with their nesting
    and dotted module path (steps are not part of the path)."""
    is_step = sel_steps[i_r]
    is_module = sel_module[i_r]
    r_ts, r_dur = ts_ns[i_r], dur_ns[i_r]
    labels = np.asarray(names, dtype=object)[c["name"][i_r]]
    labels = np.where(is_module, [s[len(MODULE_PREFIX):] for s in labels] if len(labels) else labels, labels)
    kind = np.where(is_step, "step", np.where(is_module, "module", "annotation"))
    # Nest the non-step ranges only: a step is a window, not a module.
    r_is_path = ~is_step
    group = np.where(r_is_path, r_thread, -1)
    # Steps get their own group code so they never enclose anything.
    group = np.where(r_is_path, group, r_thread.max(initial=0) + 1 + np.arange(len(i_r)))
    r_nest = nest(r_ts, r_ts + r_dur, group)
    depth = r_nest.depth
    name = pd.Categorical(labels)
    path, paths = dotted_paths(name.codes, [str(x) for x in name.categories], r_nest.parent, depth,
                               r_is_path)
    ranges = make_table(
        RANGES, len(i_r),
        name=name, kind=pd.Categorical(kind), ts_ns=r_ts, dur_ns=r_dur,
        pid=c["pid"][i_r], tid=c["tid"][i_r], depth=depth, parent=r_nest.parent,
        path=pd.Categorical(np.asarray(paths, dtype=object)[path]),
    )
    return ranges, r_nest, r_is_path


def _steps(ranges: pd.DataFrame):
    """(starts, ends, numbers) of ProfilerStep ranges, sorted by start."""
    steps = ranges[ranges["kind"] == "step"]
    nums = np.array([int(STEP_NAME.fullmatch(str(s)).group(1)) for s in steps["name"]], np.int64)
    starts = steps["ts_ns"].to_numpy()
    return sorted_steps(starts, starts + steps["dur_ns"].to_numpy(), nums)


def _gpu_steps(c, names, i, ts_ns, dur_ns):
    nums = np.array([int(STEP_NAME.fullmatch(str(names[k])).group(1)) for k in c["name"][i]], np.int64)
    return sorted_steps(ts_ns[i], ts_ns[i] + dur_ns[i], nums)


def _append_device_ranges(ranges, c, names, sel_gpu_annot, sel_sync, ts_ns, dur_ns, steps):
    parts = [ranges]
    for sel, kind in ((sel_gpu_annot, "gpu_annotation"), (sel_sync, "gpu_sync")):
        i = np.flatnonzero(sel)
        if not len(i):
            continue
        device = np.where(c["device"][i] >= 0, c["device"][i], c["pid"][i])
        stream = np.where(c["stream"][i] >= 0, c["stream"][i], c["tid"][i])
        parts.append(make_table(
            RANGES, len(i), name=categorical_of(c["name"][i], names),
            kind=constant(kind, len(i)), ts_ns=ts_ns[i], dur_ns=dur_ns[i], pid=device,
            tid=stream, stream=stream, depth=np.zeros(len(i), np.int32),
            step=step_at(steps, ts_ns[i]),
        ))
    if len(parts) == 1:
        return ranges
    out = pd.concat(parts, ignore_index=True)
    for col in ("name", "kind", "path"):
        out[col] = out[col].astype("category")
    out["id"] = np.arange(len(out), dtype=np.int64)
    return out


def _meta(header: Header, columns: Columns, path: str, truncated: bool) -> TraceMeta:
    meta = TraceMeta(source=SOURCE, format="Kineto/Chrome trace JSON", path=path, truncated=truncated)
    extras = meta.extras
    base = header.baseTimeNanoseconds
    if isinstance(base, (int, float)) and not isinstance(base, bool) and abs(base) < checks.MAX_ABS_TS_NS:
        extras["base_time_ns"] = int(base)
    if isinstance(header.displayTimeUnit, str):
        extras["display_time_unit"] = header.displayTimeUnit
    if header.schemaVersion is not None:
        extras["schema_version"] = header.schemaVersion
    info = header.distributedInfo
    if isinstance(info, dict):
        rank = info.get("rank")
        if isinstance(rank, int) and not isinstance(rank, bool):
            meta.rank = rank
        elif rank is not None:  # not a number: kept as the file wrote it, not as a rank
            extras["distributed_rank"] = rank
        for key in ("world_size", "backend"):
            if key in info:
                extras[key] = info[key]
    props = header.deviceProperties
    if isinstance(props, list):
        meta.devices = [{"id": p.get("id"), "name": p.get("name")} for p in props
                        if isinstance(p, dict)]
    for key in ("cupti_version", "cuda_runtime_version", "cuda_driver_version"):
        value = getattr(header, key)
        if value is not None:
            extras[key] = value
    if isinstance(header.tracekit, dict):
        extras["collected"] = header.tracekit  # model, size, batch, dtype, versions, weights
    labels = {}
    for mname, pid, _tid, _name, arg_labels in columns.meta_names:
        if mname == "process_labels" and isinstance(arg_labels, str):
            labels[str(pid)] = arg_labels
    if labels:
        extras["process_labels"] = labels
    return meta
