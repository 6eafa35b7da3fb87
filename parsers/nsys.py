"""Nsight Systems SQLite export (``nsys export --type sqlite``) -> tracekit event model.

Reads both schema generations (``EXPORT_META_DATA`` up to ~2023, ``META_DATA_EXPORT``
since) and adapts to the columns each version has: tables and columns are discovered with
``sqlite_master`` / ``PRAGMA table_info``, and a table an export lacks is simply absent.
The database is opened read-only; SQL selects only the needed columns and results come
back as numpy arrays in bulk (see :mod:`parsers._sqlite`).

- ``kernels``: ``CUPTI_ACTIVITY_KIND_KERNEL`` / ``_MEMCPY`` / ``_MEMSET`` (device, stream,
  correlation, grid/block, bytes, copy direction from ``copyKind`` and the memory kinds,
  named like CUPTI's own "Memcpy HtoD (Pageable -> Device)").
- ``launches``: ``CUPTI_ACTIVITY_KIND_RUNTIME`` (and ``_DRIVER`` where present), every
  call (synchronizations and synchronous copies included), named without Nsight's API
  version suffix ("cudaLaunchKernel_v7000" -> "cudaLaunchKernel"); CUDA-backtrace copies of
  calls are not calls and are left out. pid/tid come from ``globalTid``.
- ``ops``: NVTX push/pop and start/end ranges (``NVTX_EVENTS``), nested per thread.
  PyTorch ``emit_nvtx`` decorations are stripped from the name ("aten::linear, seq = 12,
  op_id = 3, sizes = [[2, 3]]" -> name "aten::linear", shapes "[[2, 3]]"); ranges that
  are not operators (module or annotation names such as "LlamaRMSNorm", TensorRT layer
  ranges) are ops too and also make up the ``module`` path of what they enclose, themselves
  included. Operator ranges are "namespace::op" or "XxxBackward0" names; the rest are
  module/annotation ranges (a record_function scope stays one even when decorated).
- ``ranges``: those module/annotation ranges (kind "nvtx"), ``ProfilerStep#N`` ranges
  (kind "step", also ``meta.steps``), and device synchronizations (kind "gpu_sync").

Attribution: kernel -> runtime call by ``correlationId`` within the same process (ids
repeat across processes) -> innermost NVTX range enclosing the call's start on the same
thread (``link = "nvtx"``); otherwise ``op = -1``, ``link = "none"``.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import warnings

import numpy as np
import pandas as pd

from parsers import _io
from parsers._shared import copy_column, copy_kind, dotted_paths, match_launch, sorted_steps, step_at
from parsers._sqlite import (
    MAGIC,
    Budget,
    Database,
    Text,
    categorical_from_keys,
    categorical_from_text,
    check_header,
    connect,
    quote,
)
from tracekit.model import (
    KERNELS,
    LAUNCHES,
    OPS,
    RANGES,
    Trace,
    TraceError,
    TraceMeta,
    TraceWarning,
    categorical,
    checks,
    constant,
    make_table,
)
from tracekit.model.intervals import gather, nest, self_time

SOURCE = "nsys"
FORMAT = "Nsight Systems SQLite export"
# the parser contract (parsers.Parser)
NAME = "nsys"
DESCRIPTION = "Nsight Systems SQLite export"
OPTIONS: tuple[str, ...] = ()
VERSION = 1

KERNEL_TABLE = "CUPTI_ACTIVITY_KIND_KERNEL"
MEMCPY_TABLE = "CUPTI_ACTIVITY_KIND_MEMCPY"
MEMSET_TABLE = "CUPTI_ACTIVITY_KIND_MEMSET"
API_TABLES = ("CUPTI_ACTIVITY_KIND_RUNTIME", "CUPTI_ACTIVITY_KIND_DRIVER")
SYNC_TABLE = "CUPTI_ACTIVITY_KIND_SYNCHRONIZATION"
NVTX_TABLE = "NVTX_EVENTS"
META_TABLES = ("META_DATA_EXPORT", "EXPORT_META_DATA")  # current, older generation

# NVTX event types (ENUM_NSYS_EVENT_TYPE) that are ranges; marks and the rest are skipped.
RANGE_EVENT_NAMES = ("NvtxPushPopRange", "NvtxStartEndRange", "NvtxtPushPopRange",
                     "NvtxtStartEndRange")
RANGE_EVENT_TYPES = (59, 60, 70, 71)
# ENUM_NSYS_EVENT_CLASS: CUDA-backtrace records repeat API calls (same correlationId).
BACKTRACE_CLASSES = (67, 68, 69)

# CUPTI's CUpti_ActivityMemcpyKind / CUpti_ActivityMemoryKind, where the export has no enum table.
COPY_KIND_NAMES = {0: "UNKNOWN", 1: "HTOD", 2: "DTOH", 3: "HTOA", 4: "ATOH", 5: "ATOA", 6: "ATOD",
                   7: "DTOA", 8: "DTOD", 9: "HTOH", 10: "PTOP", 11: "UVM_HTOD", 12: "UVM_DTOH",
                   13: "UVM_DTOD"}
MEM_KIND_LABELS = {0: "Pageable", 1: "Pinned", 2: "Device", 3: "Array", 4: "Managed",
                   5: "Device Static", 6: "Managed Static", 7: "Unknown"}

# PyTorch emit_nvtx / legacy profiler decorations, in the order they are appended.
NVTX_DECORATIONS = (", seq = ", ", stashed seq = ", ", op_id = ", ", sizes = ", ", input_op_ids = ")
STEP_NAME = re.compile(r"ProfilerStep#(\d+)")
# Operator-like range names (the rest are module/annotation names): "aten::linear",
# "autograd::engine::evaluate_function: AddmmBackward0", "AddmmBackward0".
OPERATOR_NAME = re.compile(r"^[A-Za-z_]\w*::\w|^\w+Backward\d*$")
# TensorRT layer ranges of compiled (Myelin) regions: "{ForeignNode[first...last]}" names
# two ends of a region that may hold whole transformer blocks, "__myl_Fc_myl2_3" one
# Myelin layer. Their kernels say what ran, so such a range is an op that decides nothing
# (op_type COMPILED_REGION, which no taxonomy rule names) and no module path of what it holds.
COMPILED_REGION_NAME = re.compile(r"^\s*(?:\{ForeignNode\[.*\]\}\s*$|__myl_)", re.DOTALL)
COMPILED_REGION = "Myelin"
API_VERSION_SUFFIX = re.compile(r"_v\d{4,5}$")
GLOBAL_ID_SHIFT = 24  # globalTid = ... | pid << 24 | tid
PID_MASK = 0xFFFFFF
NO_NUMBER = -(2**63)  # a start/end cell that holds no number (NULL or text)


# a report as nsys writes it (.nsys-rep, formerly .qdrep): read through its SQLite export
REPORT_MAGIC = b"NVIDIA Tegra Profiler Report"
EXPORT_TIMEOUT_S = 3600


def sniff(head: bytes, path: str | None = None) -> bool:
    return head.startswith(MAGIC) or head.startswith(REPORT_MAGIC)


def parse(path, progress=None) -> list[Trace]:
    """One Trace per export. ``progress(stage, done, total)`` is told as tables are read."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(len(REPORT_MAGIC))
    except OSError as exc:
        raise _io._open_error(path, exc) from None
    if head.startswith(REPORT_MAGIC):
        return [_parse_report(path, progress)]
    gz = head[:2] == _io.GZIP_MAGIC
    if not gz:
        return [_parse_file(path, path, progress)]
    data = _io.read_bytes(path)  # a gzipped export: SQLite needs a real file
    with tempfile.TemporaryDirectory(prefix="tracekit-nsys-") as tmp:
        plain = os.path.join(tmp, "export.sqlite")
        with open(plain, "wb") as f:
            f.write(data)
        del data
        return [_parse_file(plain, path, progress)]


def export_command(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"nsys export --type sqlite --output {shlex.quote(stem + '.sqlite')} {shlex.quote(path)}"


def _parse_report(path: str, progress) -> Trace:
    """A .nsys-rep report: exported with ``nsys export`` into a temporary folder, then read."""
    nsys = shutil.which("nsys")
    if nsys is None:
        raise TraceError(path, "is an Nsight Systems report; tracekit reads its SQLite export "
                               f"and nsys is not on PATH to make it: run {export_command(path)}")
    with tempfile.TemporaryDirectory(prefix="tracekit-nsys-") as tmp:
        out = os.path.join(tmp, "export.sqlite")
        try:
            done = subprocess.run([nsys, "export", "--type", "sqlite", "--output", out, path],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  errors="replace", timeout=EXPORT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise TraceError(path, f"nsys export took over {EXPORT_TIMEOUT_S} s; run "
                                   f"{export_command(path)} and read the .sqlite file") from None
        except OSError as exc:
            raise TraceError(path, f"cannot run {nsys} ({exc.strerror or exc})") from None
        if done.returncode != 0 or not os.path.isfile(out):
            why = next((line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()), "")
            raise TraceError(path, f"nsys export failed (exit {done.returncode}"
                                   + (f": {why[:200]}" if why else "") + ")")
        trace = _parse_file(out, path, progress)
        trace.meta.extras["exported_by"] = "nsys export"
        return trace


def _parse_file(db_path: str, path: str, progress) -> Trace:
    try:
        check_header(db_path, path)
        budget = Budget.for_file(db_path)
    except OSError as exc:
        raise _io._open_error(path, exc) from None
    text = Text()
    try:
        conn = connect(db_path, budget, text)
    except sqlite3.Error as exc:
        raise TraceError(path, f"cannot open SQLite database ({_io.first_line(exc)})") from None
    try:
        db = Database(conn)
        _require_nsys(db, path)
        trace = _build(db, path, progress)
    except sqlite3.DatabaseError as exc:
        if budget.exceeded:
            raise TraceError(path, budget.message()) from None
        raise TraceError(path, f"corrupt or truncated SQLite database ({_io.first_line(exc)})") from None
    finally:
        conn.close()
    if text.bad:
        _warn(trace.meta, f"{text.bad:,} text value{'s' if text.bad > 1 else ''} (kernel, range or "
                          "API names) not valid UTF-8; shown with replacement characters")
    return trace


def _require_nsys(db: Database, path: str) -> None:
    """An export: its meta table, or (older schemas have none) the CUPTI activity / NVTX
    tables with their start and end columns."""
    if any(db.has(t) for t in META_TABLES):
        return
    if db.has("StringTable") and not db.has("StringIds"):
        raise TraceError(path, "is an nvprof database, not an Nsight Systems export "
                               "(open it in Nsight Systems and export it with nsys export --type sqlite)")
    if any((t.startswith("CUPTI_ACTIVITY_KIND_") or t == NVTX_TABLE)
           and db.has_column(t, "start") and db.has_column(t, "end") for t in db.tables):
        return
    raise TraceError(path, "is a SQLite database but not an Nsight Systems export "
                           f"(no {' or '.join(META_TABLES)} table and no CUPTI activity tables)")


# ---------------------------------------------------------------- build

def _build(db: Database, path: str, progress) -> Trace:
    meta = _meta(db, path)
    step = _Progress(progress, 5)
    acts = _activities(db, meta)
    step()
    api = _api_calls(db, meta)
    step()
    nv = _nvtx(db, meta)
    step()
    syncs = _syncs(db, meta)
    step()

    # ---- threads: one code space for NVTX ranges and API calls ----
    thread = pd.factorize(np.concatenate([nv["gtid"], api["gtid"]]))[0].astype(np.int64)
    nv_thread, l_thread = thread[:len(nv["gtid"])], thread[len(nv["gtid"]):]

    # ---- steps: ProfilerStep#N ranges are windows, not ops ----
    is_step = nv["step_num"] >= 0
    steps = sorted_steps(nv["ts"][is_step], nv["end"][is_step], nv["step_num"][is_step])

    # ---- ops: every other NVTX range, nested per thread ----
    o = np.flatnonzero(~is_step)
    o_ts, o_end, o_thread = nv["ts"][o], nv["end"][o], nv_thread[o]
    o_dur = o_end - o_ts
    op_nest = nest(o_ts, o_end, o_thread)
    o_parent, o_depth = op_nest.parent, op_nest.depth
    o_ann = nv["annotation"][o]
    o_path, paths = dotted_paths(np.asarray(nv["name"].codes)[o], [str(c) for c in nv["name"].categories],
                                 o_parent, o_depth, o_ann)
    o_type = np.where(nv["compiled"][o], COMPILED_REGION, "")
    o_step = step_at(steps, o_ts)

    # ---- launches -> ops (innermost range enclosing the call's start on its thread) ----
    l_op = op_nest.at_points(api["ts"], l_thread)
    l_step = step_at(steps, api["ts"])

    # ---- kernels -> launches (correlation within the process) -> ops ----
    k_launch = match_launch(acts["corr"], acts["ts"], api["corr"], api["ts"],
                            k_process=acts["pkey"], l_process=api["pkey"])
    k_op = gather(l_op, k_launch, -1)
    k_step = gather(l_step, k_launch, -1)
    orphan = k_launch < 0
    if orphan.any():
        k_step[orphan] = step_at(steps, acts["ts"][orphan])
    link = np.where(k_op >= 0, 0, 1).astype(np.int8)

    ops = make_table(
        OPS, len(o),
        name=_sub_cat(nv["name"], o), ts_ns=o_ts, dur_ns=o_dur, self_ns=self_time(o_dur, o_parent),
        pid=nv["pid"][o], tid=nv["tid"][o], parent=o_parent, depth=o_depth,
        module=categorical(o_path, paths), range=np.full(len(o), -1, np.int64),
        shapes=_sub_cat(nv["shapes"], o), source=constant(SOURCE, len(o)),
        op_type=categorical_from_text(o_type.astype(object)), step=o_step,
    )
    kernels = make_table(
        KERNELS, len(acts["ts"]),
        kind=acts["kind"], name=acts["name"], ts_ns=acts["ts"], dur_ns=acts["dur"],
        device=acts["device"], stream=acts["stream"], correlation=acts["corr"], launch=k_launch,
        op=k_op, link=pd.Categorical.from_codes(link, categories=["nvtx", "none"]),
        bytes=acts["bytes"], copy=acts["copy"], grid=acts["grid"], block=acts["block"], step=k_step,
    )
    launches = make_table(
        LAUNCHES, len(api["ts"]),
        name=api["name"], ts_ns=api["ts"], dur_ns=api["dur"], pid=api["pid"], tid=api["tid"],
        correlation=api["corr"], op=l_op, step=l_step,
    )
    ranges = _ranges(nv, o, o_ann, o_parent, o_path, paths, is_step, steps, syncs)
    step()

    meta.steps = sorted({int(s) for s in steps[2]})
    meta.extras["nvtx_ranges"] = len(nv["ts"])
    meta.extras["processes"] = _processes(db, np.concatenate([nv["pid"], api["pid"], acts["pid"]]))
    return Trace(ops=ops, kernels=kernels, launches=launches, ranges=ranges, meta=meta)


class _Progress:
    def __init__(self, fn, total: int):
        self.fn, self.total, self.done = fn, total, 0

    def __call__(self):
        self.done += 1
        if self.fn is not None:
            self.fn("decode" if self.done < self.total else "attribute", self.done, self.total)


def _warn(meta: TraceMeta, message: str) -> None:
    text = f"{meta.path}: {message}"
    meta.warnings.append(text)
    warnings.warn(TraceWarning(text), stacklevel=4)


# ---------------------------------------------------------------- metadata

def _meta(db: Database, path: str) -> TraceMeta:
    meta = TraceMeta(source=SOURCE, format=FORMAT, path=path, time_basis="device")
    extras = meta.extras
    extras["clock"] = "nsys session (ns since the session started)"
    table = next((t for t in META_TABLES if db.has(t)), None)
    extras["schema"] = table or "unknown"
    if table and db.has_column(table, "name") and db.has_column(table, "value"):
        rows = dict(db.conn.execute(f"SELECT name, value FROM {quote(table)}").fetchall())
        for key, out in (("EXPORT_PRODUCT_VERSION", "nsys_version"),
                         ("EXPORT_SCHEMA_VERSION", "export_schema_version")):
            if rows.get(key) is not None:
                extras[out] = str(rows[key])
    start = "TARGET_INFO_SESSION_START_TIME"
    if db.has(start) and db.has_column(start, "utcEpochNs"):
        row = db.conn.execute(f"SELECT utcEpochNs FROM {start} LIMIT 1").fetchone()
        if row and isinstance(row[0], int):
            extras["session_start_utc_ns"] = row[0]
    meta.devices = _devices(db)
    return meta


def _devices(db: Database) -> list[dict]:
    devices = []
    if db.has("TARGET_INFO_GPU") and db.has_column("TARGET_INFO_GPU", "id"):
        extra = [c for c in ("name", "busLocation", "cuDevice", "uuid", "totalMemory", "smCount",
                             "computeMajor", "computeMinor") if db.has_column("TARGET_INFO_GPU", c)]
        cols = ", ".join(quote(c) for c in ["id", *extra])
        seen = set()
        for row in db.conn.execute(f"SELECT {cols} FROM TARGET_INFO_GPU ORDER BY id").fetchall():
            if row[0] in seen:
                continue
            seen.add(row[0])
            d = {"id": int(row[0])}
            for key, value in zip(extra, row[1:]):
                if value is not None:
                    d[{"busLocation": "bus", "cuDevice": "cuda_device"}.get(key, key)] = value
            devices.append(d)
    if db.has("TARGET_INFO_CUDA_DEVICE"):
        cols = [c for c in ("gpuId", "cudaId", "pid") if db.has_column("TARGET_INFO_CUDA_DEVICE", c)]
        if cols == ["gpuId", "cudaId", "pid"]:
            rows = db.conn.execute("SELECT DISTINCT gpuId, cudaId, pid FROM TARGET_INFO_CUDA_DEVICE").fetchall()
            by_gpu: dict = {}
            for gpu, cuda, pid in rows:
                by_gpu.setdefault(gpu, []).append({"cuda_device": cuda, "pid": pid})
            for d in devices:
                if d["id"] in by_gpu:
                    d["processes"] = by_gpu[d["id"]]
    return devices


def _processes(db: Database, pids: np.ndarray) -> list[dict]:
    used = sorted({int(p) for p in np.unique(pids) if p >= 0})
    if not used or not db.has("PROCESSES") or not all(db.has_column("PROCESSES", c) for c in ("pid", "name")):
        return [{"pid": p} for p in used]
    names = {}
    for pid, name in db.conn.execute("SELECT pid, name FROM PROCESSES").fetchall():
        if pid is not None and name is not None:
            names.setdefault(int(pid), str(name))
    return [{"pid": p, "name": names[p]} if p in names else {"pid": p} for p in used]


def _enum_labels(db: Database, table: str, column: str = "name") -> dict[int, str]:
    if not db.has(table) or not db.has_column(table, "id") or not db.has_column(table, column):
        return {}
    return {int(k): str(v) for k, v in db.conn.execute(
        f"SELECT id, {quote(column)} FROM {quote(table)}").fetchall() if k is not None and v is not None}


# ---------------------------------------------------------------- GPU activity

def _activities(db: Database, meta: TraceMeta) -> dict:
    """Kernels, memcpys and memsets, concatenated in that order."""
    parts = []
    if db.has(KERNEL_TABLE):
        parts.append(_kernel_rows(db))
    if db.has(MEMCPY_TABLE):
        parts.append(_memcpy_rows(db))
    if db.has(MEMSET_TABLE):
        parts.append(_memset_rows(db))
    parts = [_checked_times(p, meta) for p in parts]
    n = sum(len(p["ts"]) for p in parts)
    if not db.has(KERNEL_TABLE):
        _warn(meta, f"no CUDA kernel table in this export (no {KERNEL_TABLE}); " +
              ("the GPU breakdown is empty" if n == 0 else "only memory copies and sets are counted"))
    out: dict = {}
    for key in ("ts", "dur", "device", "stream", "corr", "gpid", "bytes"):
        out[key] = np.concatenate([p[key] for p in parts]) if parts else np.zeros(0, np.int64)
    for key in ("name", "grid", "block"):
        out[key] = _concat_cats([p[key] for p in parts], n)
    kinds = np.concatenate([np.full(len(p["ts"]), p["kind"], np.int8) for p in parts]) \
        if parts else np.zeros(0, np.int8)
    out["kind"] = pd.Categorical.from_codes(kinds, categories=["kernel", "memcpy", "memset"])
    copy = _concat_cats([p["copy"] for p in parts], n)
    out["copy"] = copy_column(copy)
    out["has_pid"] = out["gpid"] >= 0
    out["pkey"] = np.where(out["has_pid"], out["gpid"] >> GLOBAL_ID_SHIFT, -1)
    out["pid"] = np.where(out["has_pid"], out["pkey"] & PID_MASK, -1)
    return out


def _common(db: Database, table: str) -> str:
    def c(name, default="-1"):
        return db.col(table, name, default)

    return (f"{_time(db, table, 'start')}, {_time(db, table, 'end')}, {c('deviceId')}, "
            f"{c('streamId')}, {c('correlationId')}, {c('globalPid')}")


def _time(db: Database, table: str, column: str) -> str:
    """A start/end column as integer ns; NO_NUMBER where the row holds NULL or text."""
    if not db.has_column(table, column):
        return "0"
    q = quote(column)
    # a real INT64_MIN moves up by one: still out of range, told apart from "no number"
    return (f"CASE WHEN typeof({q}) IN ('integer', 'real') THEN MAX(CAST({q} AS INTEGER), "
            f"{NO_NUMBER + 1}) ELSE {NO_NUMBER} END")


def _split_common(cols: list) -> dict:
    ts, end, device, stream, corr, gpid = cols[:6]
    stream = np.where(stream == 0xFFFFFFFF, -1, stream)
    return {"ts": ts, "end": end, "device": device, "stream": stream,
            "corr": np.where(corr > 0, corr, -1), "gpid": gpid}


def _checked_times(rows: dict, meta: TraceMeta) -> dict:
    """``rows`` with a ``dur`` column, less the rows whose start/end are no number, out of
    range or reversed (counted, one warning per kind): nothing is zeroed silently."""
    ts, end = rows.pop("ts"), rows.pop("end")
    times = checks.start_end_times(ts, end, numeric=(ts != NO_NUMBER) & (end != NO_NUMBER))
    for text in checks.messages(meta.path, times.counts):
        meta.warnings.append(text)
        warnings.warn(TraceWarning(text), stacklevel=4)
    keep = times.ok
    out = {key: (value[keep] if hasattr(value, "__len__") and len(value) == len(keep) else value)
           for key, value in rows.items()}
    out["ts"], out["dur"] = times.ts_ns[keep], times.dur_ns[keep]
    return out


def _kernel_rows(db: Database) -> dict:
    t = KERNEL_TABLE
    name_sql, name_kind = _string_column(db, t, ("demangledName", "shortName", "mangledName", "name"))
    dims = ", ".join(db.col(t, c, "0") for c in ("gridX", "gridY", "gridZ", "blockX", "blockY", "blockZ"))
    cols = db.fetch(f"SELECT {_common(db, t)}, {name_sql}, {dims} FROM {quote(t)}", "iiiiii" + name_kind + "iiiiii")
    out = _split_common(cols)
    out["name"] = _names(db, cols[6], name_kind)
    out["grid"] = _dims(cols[7:10])
    out["block"] = _dims(cols[10:13])
    out["bytes"] = np.full(len(out["ts"]), -1, np.int64)
    out["copy"] = pd.Categorical.from_codes(np.zeros(len(out["ts"]), np.int8), categories=[""])
    out["kind"] = 0
    return out


def _memcpy_rows(db: Database) -> dict:
    t = MEMCPY_TABLE
    kinds = ", ".join(db.col(t, c) for c in ("bytes", "copyKind", "srcKind", "dstKind"))
    cols = db.fetch(f"SELECT {_common(db, t)}, {kinds} FROM {quote(t)}", "iiiiii" + "iiii")
    out = _split_common(cols)
    nbytes, kind_codes, src, dst = cols[6:10]
    copy_names = _enum_labels(db, "ENUM_CUDA_MEMCPY_OPER") or COPY_KIND_NAMES
    mem = _mem_kind_labels(db)

    def direction(k: int) -> str:
        name = str(copy_names.get(k, "")).upper().replace("CUDA_MEMCPY_KIND_", "")
        return copy_kind(name)

    combo = (kind_codes.astype(np.int64) & 0xFFFF) << 32 | (src & 0xFFFF) << 16 | (dst & 0xFFFF)

    def label(key: int) -> str:
        k, s, d = key >> 32, (key >> 16) & 0xFFFF, key & 0xFFFF
        where = f" ({mem.get(s, 'Unknown')} -> {mem.get(d, 'Unknown')})" if s != 0xFFFF and d != 0xFFFF else ""
        return f"Memcpy {direction(k) or 'Unknown'}{where}"

    out["name"] = categorical_from_keys(combo, label)
    out["copy"] = categorical_from_keys(kind_codes, direction)
    out["bytes"] = nbytes
    n = len(out["ts"])
    out["grid"] = out["block"] = pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[""])
    out["kind"] = 1
    return out


def _memset_rows(db: Database) -> dict:
    t = MEMSET_TABLE
    cols = db.fetch(f"SELECT {_common(db, t)}, {db.col(t, 'bytes')}, {db.col(t, 'memKind')} "
                    f"FROM {quote(t)}", "iiiiii" + "ii")
    out = _split_common(cols)
    mem = _mem_kind_labels(db)
    out["name"] = categorical_from_keys(cols[7], lambda k: f"Memset ({mem.get(k, 'Device')})"
                                        if k >= 0 else "Memset")
    out["bytes"] = cols[6]
    n = len(out["ts"])
    out["copy"] = out["grid"] = out["block"] = pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[""])
    out["kind"] = 2
    return out


def _mem_kind_labels(db: Database) -> dict[int, str]:
    labels = _enum_labels(db, "ENUM_CUDA_MEM_KIND", "label")
    return labels or MEM_KIND_LABELS


def _dims(cols: list) -> pd.Categorical:
    """"[x, y, z]" labels; CUDA bounds x < 2^31 and y, z < 2^16, so one int64 key holds all three."""
    x, y, z = (np.asarray(c, np.int64) for c in cols)
    if len(x) and (x.min() < 0 or x.max() >= 1 << 31 or min(y.min(), z.min()) < 0
                   or max(y.max(), z.max()) >= 1 << 16):  # not CUDA dimensions: keep them as they are
        labels = [f"[{a}, {b}, {c}]" for a, b, c in zip(x.tolist(), y.tolist(), z.tolist())]
        return categorical_from_text(np.array(labels, dtype=object))
    key = (x << 32) | (y << 16) | z
    return categorical_from_keys(key, lambda k: f"[{k >> 32}, {(k >> 16) & 0xFFFF}, {k & 0xFFFF}]")


def _string_column(db: Database, table: str, candidates) -> tuple[str, str]:
    """SQL for a name stored as StringIds ids ("i") or inline text ("o"), from the first
    candidate columns of one storage kind (NULLs fall through to the next)."""
    present = [c for c in candidates if db.has_column(table, c)]
    ids = [c for c in present if db.storage(table, c) in ("integer", None) and c != "name"]
    if ids:
        return f"COALESCE({', '.join(quote(c) for c in ids)}, -1)", "i"
    texts = [c for c in present if db.storage(table, c) == "text"]
    if texts:
        return f"COALESCE({', '.join(quote(c) for c in texts)}, '')", "o"
    return "-1", "i"


def _names(db: Database, values: np.ndarray, kind: str, clean=None) -> pd.Categorical:
    if kind == "o":
        cat = categorical_from_text(values)
        return cat if clean is None else _recategorize(cat, clean)
    strings = db.strings(values)
    if clean is None:
        return categorical_from_keys(values, lambda k: strings.get(k, ""))
    return categorical_from_keys(values, lambda k: clean(strings.get(k, "")))


def _recategorize(cat: pd.Categorical, fn) -> pd.Categorical:
    labels = np.array([fn(str(c)) for c in cat.categories] + [""], dtype=object)
    codes, cats = pd.factorize(labels)
    return pd.Categorical.from_codes(codes[:-1][np.asarray(cat.codes)], categories=pd.Index(cats, dtype=object))


def _concat_cats(cats: list, n: int) -> pd.Categorical:
    if not cats:
        return pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[""])
    labels = pd.Index([], dtype=object)
    for c in cats:
        labels = labels.union(pd.Index(c.categories, dtype=object), sort=False)
    if "" not in labels:
        labels = labels.append(pd.Index([""], dtype=object))
    codes = np.concatenate([labels.get_indexer(c.categories)[np.asarray(c.codes)] if len(c) else
                            np.zeros(0, np.int64) for c in cats])
    return pd.Categorical.from_codes(codes, categories=labels).remove_unused_categories()


# ---------------------------------------------------------------- API calls

def _api_calls(db: Database, meta: TraceMeta) -> dict:
    parts = []
    for table in API_TABLES:
        if not db.has(table):
            continue
        name_sql, kind = _string_column(db, table, ("nameId", "name"))
        where = ""
        if db.has_column(table, "eventClass"):
            classes = _backtrace_classes(db)
            where = f" WHERE eventClass IS NULL OR eventClass NOT IN ({', '.join(map(str, classes))})"
        cols = db.fetch(
            f"SELECT {_time(db, table, 'start')}, {_time(db, table, 'end')}, "
            f"{db.col(table, 'globalTid')}, {db.col(table, 'correlationId')}, {name_sql} "
            f"FROM {quote(table)}{where}", "iiii" + kind)
        parts.append((cols, kind))
    if not parts:
        z = np.zeros(0, np.int64)
        return {"ts": z, "dur": z, "gtid": z, "corr": z, "pkey": z, "pid": z, "tid": z,
                "name": pd.Categorical.from_codes(np.zeros(0, np.int8), categories=[""])}
    ts = np.concatenate([c[0] for c, _ in parts])
    end = np.concatenate([c[1] for c, _ in parts])
    gtid = np.concatenate([c[2] for c, _ in parts])
    corr = np.concatenate([c[3] for c, _ in parts])
    names = _concat_cats([_names(db, c[4], k, clean=_api_name) for c, k in parts], len(ts))
    checked = _checked_times({"ts": ts, "end": end, "gtid": gtid, "corr": corr, "names": names}, meta)
    ts, dur, gtid, corr, names = (checked[k] for k in ("ts", "dur", "gtid", "corr", "names"))
    order = np.argsort(ts, kind="stable")
    has = gtid >= 0
    pkey = np.where(has, gtid >> GLOBAL_ID_SHIFT, -1)
    return {"ts": ts[order], "dur": dur[order], "gtid": gtid[order],
            "corr": np.where(corr > 0, corr, -1)[order], "pkey": pkey[order],
            "pid": np.where(has, pkey & PID_MASK, -1)[order],
            "tid": np.where(has, gtid & PID_MASK, -1)[order], "name": names[order]}


def _backtrace_classes(db: Database) -> tuple:
    labels = _enum_labels(db, "ENUM_NSYS_EVENT_CLASS")
    found = tuple(k for k, v in labels.items() if "BACKTRACE" in v.upper())
    return found or BACKTRACE_CLASSES


def _api_name(name: str) -> str:
    """'cudaLaunchKernel_v7000' -> 'cudaLaunchKernel' (Nsight's API version suffix);
    'cuMemcpyHtoD_v2' keeps its '_v2', which is part of the driver function's name."""
    return API_VERSION_SUFFIX.sub("", name)


# ---------------------------------------------------------------- NVTX

def _nvtx(db: Database, meta: TraceMeta) -> dict:
    """NVTX ranges with their names stripped of emit_nvtx decorations (in SQL)."""
    t = NVTX_TABLE
    z = np.zeros(0, np.int64)
    empty_cat = pd.Categorical.from_codes(np.zeros(0, np.int8), categories=[""])
    empty = {"ts": z, "end": z, "gtid": z, "pid": z, "tid": z, "step_num": z,
             "name": empty_cat, "shapes": empty_cat, "annotation": np.zeros(0, bool),
             "compiled": np.zeros(0, bool)}
    if not db.has(t) or not db.has_column(t, "start") or not db.has_column(t, "end"):
        return empty
    text_parts = []
    if db.has_column(t, "text"):
        text_parts.append("n.text")
    join = ""
    if db.has_column(t, "textId") and db.has("StringIds"):
        text_parts.append("s.value")
        join = " LEFT JOIN StringIds s ON s.id = n.textId"
    text = f"COALESCE({', '.join(text_parts)}, '')" if text_parts else "''"
    types = RANGE_EVENT_TYPES
    enum = _enum_labels(db, "ENUM_NSYS_EVENT_TYPE")
    if enum:
        types = tuple(k for k, v in enum.items() if v in RANGE_EVENT_NAMES) or types
    where = f"n.eventType IN ({', '.join(map(str, types))})" if db.has_column(t, "eventType") else "1"
    gtid = "COALESCE(n.globalTid, -1)" if db.has_column(t, "globalTid") else "-1"
    # PyTorch appends its decorations in a fixed order, so the first one present (COALESCE
    # stops there) is where the name ends; "sizes = [[...], ...]" becomes the op's shapes.
    cut = "COALESCE(" + ", ".join(f"NULLIF(instr(t, '{d}'), 0)" for d in NVTX_DECORATIONS) + ", length(t) + 1)"
    sizes, inputs = ", sizes = ", ", input_op_ids = "
    sql = (
        f"SELECT ts, te, g, substr(t, 1, c - 1), CASE WHEN p = 0 THEN '' ELSE substr(t, p + {len(sizes)}, "
        f"COALESCE(NULLIF(instr(t, '{inputs}'), 0), length(t) + 1) - p - {len(sizes)}) END "
        f"FROM (SELECT ts, te, g, t, {cut} AS c, instr(t, '{sizes}') AS p FROM ("
        f"SELECT n.start AS ts, n.end AS te, {gtid} AS g, {text} AS t FROM {quote(t)} n{join} "
        f"WHERE {where} AND n.end IS NOT NULL AND n.end >= n.start))")
    ts, end, g, name, shapes = db.fetch(sql, "iiioo")
    if db.has_column(t, "eventType"):
        open_ranges = db.conn.execute(
            f"SELECT COUNT(*) FROM {quote(t)} n WHERE {where} AND (n.end IS NULL OR n.end < n.start)").fetchone()[0]
        if open_ranges:
            meta.extras["unterminated_nvtx_ranges"] = int(open_ranges)
    name_cat = categorical_from_text(name)
    del name
    labels = [str(c) for c in name_cat.categories]
    codes = np.asarray(name_cat.codes)
    step_of = np.array([int(m.group(1)) if (m := STEP_NAME.fullmatch(s)) else -1 for s in labels] + [-1], np.int64)
    compiled = np.array([bool(COMPILED_REGION_NAME.match(s)) for s in labels] + [False], bool)
    operator = np.array([not s.strip() or bool(OPERATOR_NAME.search(s)) for s in labels] + [False], bool)
    operator |= compiled
    has = g >= 0
    pkey = np.where(has, g >> GLOBAL_ID_SHIFT, -1)
    return {"ts": ts, "end": end, "gtid": g, "pid": np.where(has, pkey & PID_MASK, -1),
            "tid": np.where(has, g & PID_MASK, -1), "name": name_cat,
            "shapes": categorical_from_text(shapes), "step_num": step_of[codes],
            "annotation": ~operator[codes], "compiled": compiled[codes]}


def _ranges(nv, o, o_ann, o_parent, o_path, paths, is_step, steps, syncs) -> pd.DataFrame:
    """Module/annotation NVTX ranges (kind "nvtx") with their own nesting, steps, syncs."""
    # nearest enclosing annotation of each op (walking operator ranges up)
    n = len(o)
    ann_parent = np.full(n, -1, np.int64)
    if n:
        p = o_parent.copy()
        todo = p >= 0
        while todo.any():
            hit = todo & o_ann[np.maximum(p, 0)]
            ann_parent[hit] = p[hit]
            todo &= ~hit
            p = np.where(todo, o_parent[np.maximum(p, 0)], -1)
            todo &= p >= 0
    a = np.flatnonzero(o_ann)
    row_of = np.full(n, -1, np.int64)
    row_of[a] = np.arange(len(a))
    a_parent = gather(row_of, ann_parent[a], -1)
    a_depth = np.zeros(len(a), np.int32)
    cur = a_parent.copy()
    while (cur >= 0).any():
        a_depth[cur >= 0] += 1
        cur = np.where(cur >= 0, a_parent[np.maximum(cur, 0)], -1)
    idx = o[a]
    s = np.flatnonzero(is_step)
    parts = [make_table(
        RANGES, len(a), name=_sub_cat(nv["name"], idx), kind=constant("nvtx", len(a)),
        ts_ns=nv["ts"][idx], dur_ns=nv["end"][idx] - nv["ts"][idx], pid=nv["pid"][idx],
        tid=nv["tid"][idx], depth=a_depth, parent=a_parent,
        path=categorical(o_path[a], paths) if len(a) else constant("", 0),
        step=step_at(steps, nv["ts"][idx])),
        make_table(
        RANGES, len(s), name=_sub_cat(nv["name"], s), kind=constant("step", len(s)),
        ts_ns=nv["ts"][s], dur_ns=nv["end"][s] - nv["ts"][s], pid=nv["pid"][s], tid=nv["tid"][s],
        depth=np.zeros(len(s), np.int32), step=nv["step_num"][s].astype(np.int32))]
    if len(syncs["ts"]):
        parts.append(make_table(
            RANGES, len(syncs["ts"]), name=syncs["name"], kind=constant("gpu_sync", len(syncs["ts"])),
            ts_ns=syncs["ts"], dur_ns=syncs["dur"], pid=syncs["device"], tid=syncs["stream"],
            stream=syncs["stream"], depth=np.zeros(len(syncs["ts"]), np.int32),
            step=step_at(steps, syncs["ts"])))
    return _concat_tables(RANGES, parts)


def _concat_tables(schema: dict, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of several tables of one schema; categoricals merged by code, not by value."""
    n = sum(len(p) for p in parts)
    columns = {}
    for col, kind in schema.items():
        if col == "id":
            continue
        if kind == "cat":
            columns[col] = _concat_cats([p[col].array for p in parts], n)
        else:
            columns[col] = np.concatenate([p[col].to_numpy() for p in parts])
    return make_table(schema, n, **columns)


def _syncs(db: Database, meta: TraceMeta) -> dict:
    t = SYNC_TABLE
    z = np.zeros(0, np.int64)
    if not db.has(t):
        return {"ts": z}
    cols = db.fetch(f"SELECT {_common(db, t)}, {db.col(t, 'syncType')} FROM {quote(t)}", "iiiiii" + "i")
    out = _split_common(cols)
    labels = _enum_labels(db, "ENUM_CUPTI_SYNC_TYPE", "label") or {
        1: "Event sync", 2: "Stream wait sync", 3: "Stream sync", 4: "Context sync"}
    out["name"] = categorical_from_keys(cols[6], lambda k: f"{labels.get(k, 'Unknown')}")
    return _checked_times(out, meta)


# ---------------------------------------------------------------- helpers

def _sub_cat(cat: pd.Categorical, idx: np.ndarray) -> pd.Categorical:
    """Rows ``idx`` of a categorical, keeping only the categories they use."""
    sub = cat[idx] if len(idx) else pd.Categorical.from_codes(np.zeros(0, np.int8), categories=[""])
    return sub.remove_unused_categories() if len(sub) else sub
