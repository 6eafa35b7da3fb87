"""Track layout shared by the Perfetto and Chrome JSON exporters.

One slice per exported row of every table, each on a track where it nests:

* a process per host pid, a thread track per (pid, tid) holding its ops and the runtime
  calls (launches) they make, properly nested;
* a device per GPU, a track per stream holding its kernels, memcpys and memsets;
* ranges on their own tracks, one per (thread, kind) for host ranges (steps, user
  annotations, nn.Module, NVTX, model_run) and per (device, stream, kind) for GPU ranges;
* wherever slices on one of these tracks overlap without nesting, the ones that do not
  fit move to child tracks ("... · overlap 1", "... · overlap 2"), see :mod:`lanes`;
* flows from each launch to the activities it started; counters (see :mod:`counters`).

Formats without process/thread ids (TensorRT layers, ONNX Runtime nodes without kernel
timestamps) get their op tracks from the ops table all the same: whatever pid/tid the
parser gives, or one "<source> ops" track.

Slice emission order (``begin_order`` / ``event_order``) is fixed here, once, so that
both writers agree: begins in preorder (start, longest first), and at one instant the
ends of slices closing there come before the begins of slices opening there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracekit.export import counters as counters_mod
from tracekit.export import lanes
from tracekit.model import FUSED_SEP, TraceMeta
from tracekit.model.vocab import SOURCES, TABLES

OPS, KERNELS, LAUNCHES, RANGES = range(4)
GPU_RANGE_KINDS = ("gpu_annotation", "gpu_sync")
RANGE_LABELS = {"step": "steps", "annotation": "annotations", "module": "nn.Module",
                "nvtx": "NVTX", "model_run": "model_run", "profiler": "profiler",
                "gpu_annotation": "GPU annotations", "gpu_sync": "synchronization"}
# track title of each source's ops
SOURCE_OPS = {name: source.ops_label for name, source in SOURCES.items()}
INT32_MAX = 2**31 - 1
_KIND_ORDER = {"step": 0, "model_run": 1, "annotation": 2, "nvtx": 3, "module": 4, "profiler": 5}


@dataclass
class Track:
    index: int
    uuid: int
    name: str
    parent: int = -1           # index of the parent track, -1 at the top
    role: str = "slices"       # process | thread | device | slices | counter
    pid: int = -1              # process/thread descriptor ids where they apply
    tid: int = -1
    rank: int = 0              # order among siblings
    json_pid: int = 0
    json_tid: int = 0
    unit: str = ""             # counters: "%" or "bytes"
    lane: int = 0
    device: int = -1           # GPU tracks: device id; streams also their stream id
    stream: int = -1


@dataclass
class Arg:
    """One debug annotation over all slices. ``kind``: str (values index ``Layout.strings``,
    -1 = absent), int (``present`` says where), bool (-1 absent, 0/1)."""

    key: str
    kind: str
    values: np.ndarray
    present: np.ndarray | None = None


@dataclass
class Layout:
    tracks: list[Track]
    table: np.ndarray          # int8, per slice: 0 ops, 1 kernels, 2 launches, 3 ranges
    row: np.ndarray            # int64 position in its table's selected frame
    ts: np.ndarray             # int64 ns
    dur: np.ndarray            # int64 ns (>= 0)
    track: np.ndarray          # int32 index into tracks
    name: np.ndarray           # int32 index into names
    names: list[str]
    category: np.ndarray       # int8 index into categories
    categories: list[str]
    args: list[Arg]
    strings: list[str]
    flow_src: np.ndarray       # slice index of the launch
    flow_dst: np.ndarray       # slice index of the activity
    flow_id: np.ndarray        # uint64, unique per flow
    counters: list = field(default_factory=list)   # (track index, counters.Counter)
    bucket_ns: int = 0
    start_ns: int = 0          # trace start (origin of --from/--to, JSON timestamps)
    counts: dict = field(default_factory=dict)     # slices per table

    @property
    def n(self) -> int:
        return len(self.ts)

    def args_for(self, table: int) -> list:
        """The annotations that some slice of ``table`` has (slices are stored table by
        table, in the order of TABLES)."""
        sizes = [self.counts.get(name, 0) for name in TABLES]
        lo = sum(sizes[:table])
        hi = lo + sizes[table]
        if hi == lo:
            return []
        out = []
        for a in self.args:
            v = a.present[lo:hi] if a.kind == "int" else a.values[lo:hi] >= 0
            if v.any():
                out.append(a)
        return out

    def begin_order(self) -> np.ndarray:
        """Slice indices in preorder: by start, longest first, then table order."""
        return np.lexsort((np.arange(self.n), -(self.ts + self.dur), self.ts))

    def event_order(self) -> tuple[np.ndarray, np.ndarray]:
        """All begin/end events in emission order: (slice index, is_end).

        Begins in preorder; a zero-length slice ends right after it begins; the end of a
        longer slice comes before any begin at the same instant, inner slices first."""
        n = self.n
        pre = self.begin_order()
        rank = np.empty(n, dtype=np.int64)
        rank[pre] = np.arange(n)
        zero = self.dur[pre] == 0
        # begins, each zero-length one followed by its end
        b_slice = np.repeat(pre, np.where(zero, 2, 1))
        b_end = np.zeros(len(b_slice), dtype=bool)
        pos = np.cumsum(np.where(zero, 2, 1)) - 1
        b_end[pos[zero]] = True
        b_time = self.ts[b_slice]
        # ends of the others, by (end time, inner first)
        others = np.flatnonzero(self.dur > 0)
        end_t = self.ts[others] + self.dur[others]
        o = np.lexsort((-rank[others], end_t))
        e_slice, e_time = others[o], end_t[o]
        # merge: an end goes before every begin at or after its time
        before = np.searchsorted(b_time, e_time, side="left")
        total = len(b_slice) + len(e_slice)
        e_pos = before + np.arange(len(e_slice))
        is_e = np.zeros(total, dtype=bool)
        is_e[e_pos] = True
        out_slice = np.empty(total, dtype=np.int64)
        out_end = np.empty(total, dtype=bool)
        out_slice[is_e] = e_slice
        out_end[is_e] = True
        out_slice[~is_e] = b_slice
        out_end[~is_e] = b_end
        return out_slice, out_end

    def summary(self) -> dict:
        roles = pd.Series([t.role for t in self.tracks]).value_counts().to_dict() if self.tracks else {}
        lanes_used = sum(1 for t in self.tracks if t.role == "slices" and t.lane > 0)
        return {"slices": int(self.n), "per_table": dict(self.counts),
                "tracks": len(self.tracks),
                "slice_tracks": int(roles.get("slices", 0)) + int(roles.get("thread", 0)),
                "overlap_tracks": lanes_used, "flows": len(self.flow_id),
                "counter_tracks": len(self.counters), "bucket_ns": self.bucket_ns}


class _Tracks:
    """The track tree: processes with their threads and host ranges, devices with their
    streams and device ranges, overlap lanes and counters; one track per key."""

    def __init__(self, meta: TraceMeta):
        self.tracks: list[Track] = []
        self.sort: list[tuple] = []
        self.by_key: dict = {}
        self.labels = meta.extras.get("process_labels") or {}  # Kineto's process_labels events
        self.source = meta.source or "trace"
        self.devices = {int(d.get("id")): str(d.get("name")) for d in meta.devices
                        if isinstance(d, dict) and isinstance(d.get("id"), int) and d.get("name")}

    def add(self, key, name, parent=-1, role="slices", sort=(), **kw) -> int:
        if key in self.by_key:
            return self.by_key[key]
        index = len(self.tracks)
        self.tracks.append(Track(index, uuid=index + 1, name=name, parent=parent, role=role, **kw))
        self.sort.append(tuple(sort))
        self.by_key[key] = index
        return index

    def process(self, pid: int) -> int:
        pid = int(pid)
        source = self.source
        if pid < 0 or (source in SOURCES and not SOURCES[source].processes):
            return self.add(("process", pid), SOURCE_OPS.get(source, f"{source} ops"), role="process",
                            sort=(0, pid))
        label = self.labels.get(str(pid)) or (SOURCE_OPS.get(source) if source != "kineto" else None)
        name = f"process {pid}" + (f" · {label}" if label else "")
        descriptor = pid <= INT32_MAX
        return self.add(("process", pid), name, role="process", pid=pid if descriptor else -1,
                        sort=(0, pid))

    def thread(self, pid: int, tid: int) -> int:
        pid, tid = int(pid), int(tid)
        parent = self.process(pid)
        if tid < 0:
            return self.add(("thread", pid, tid), "ops", parent=parent, sort=(tid, 0))
        p = self.tracks[parent]
        if p.pid >= 0:
            return self.add(("thread", pid, tid), f"thread {tid}", parent=parent, role="thread",
                            pid=pid, tid=tid, sort=(tid, 0))
        return self.add(("thread", pid, tid), f"thread {tid}", parent=parent, sort=(tid, 0))

    def device(self, d: int) -> int:
        d = int(d)
        name = ((f"GPU {d}" if d >= 0 else "GPU (device not known)")
                + (f" · {self.devices[d]}" if d in self.devices else ""))
        return self.add(("device", d), name, role="device", device=d, sort=(1, d))

    def stream(self, d: int, s: int) -> int:
        name = f"stream {int(s)}" if s >= 0 else "stream not known"
        return self.add(("stream", int(d), int(s)), name, parent=self.device(d),
                        device=int(d), stream=int(s), sort=(1, int(s), 0))

    def rank(self) -> None:
        """Order siblings by their sort keys (creation order breaks ties)."""
        children: dict[int, list[int]] = {}
        for t in self.tracks:
            children.setdefault(t.parent, []).append(t.index)
        for kids in children.values():
            for rank, i in enumerate(sorted(kids, key=lambda i: (self.sort[i], i))):
                self.tracks[i].rank = rank


def build(selection, bucket_ns: int | None = None) -> Layout:
    trace = selection.trace
    frames = selection.tables()
    ops, kernels, launches, ranges = (frames[t] for t in TABLES)
    full_ops = trace.ops
    tk = _Tracks(trace.meta)
    base = _base_tracks(tk, ops, kernels, launches, ranges)

    # ---------------------------------------------------------------- concatenate
    frames_in = [ops, kernels, launches, ranges]
    sizes = [len(f) for f in frames_in]
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    n = int(offsets[-1])
    table = np.repeat(np.arange(4, dtype=np.int8), sizes)
    row = np.concatenate([np.arange(k, dtype=np.int64) for k in sizes]) if n else np.zeros(0, np.int64)
    ts = np.concatenate([f["ts_ns"].to_numpy(np.int64) for f in frames_in])
    dur = np.maximum(np.concatenate([f["dur_ns"].to_numpy(np.int64) for f in frames_in]), 0)
    base_track = np.concatenate(base).astype(np.int64)
    track = _overlap_tracks(tk, frames_in, offsets, table, base_track, ts, dur)

    # ---------------------------------------------------------------- names, categories
    names, name_code = _pool([f["name"].array for f in frames_in])
    categories, category = _categories(frames_in, n)
    args, strings = _args(frames_in, full_ops, offsets, n)
    flow_src, flow_dst, flow_id = _flows(kernels, launches, offsets)
    placed, bucket = _counters(tk, selection, kernels, ops, full_ops, ts, dur, bucket_ns)

    tk.rank()
    _json_ids(tk.tracks)
    counts = {name: int(size) for name, size in zip(TABLES, sizes)}
    return Layout(tk.tracks, table, row, ts, dur, track.astype(np.int32), name_code, names,
                  category.astype(np.int8), [str(c) for c in categories], args, strings,
                  flow_src, flow_dst, flow_id, placed, bucket, selection.start_ns, counts)


def _base_tracks(tk: _Tracks, ops, kernels, launches, ranges) -> list[np.ndarray]:
    """The track of every row of each table before overlaps are split off."""
    host_pids = sorted(set(ops["pid"].tolist()) | set(launches["pid"].tolist())
                       | set(ranges.loc[~ranges["kind"].isin(GPU_RANGE_KINDS), "pid"].tolist()))
    for pid in host_pids:
        tk.process(pid)

    # a thread's ops and the runtime calls they make share one base track
    for pid, tid in sorted({(p, t) for frame in (ops, launches)
                            for p, t in frame[["pid", "tid"]].drop_duplicates().itertuples(index=False)}):
        tk.thread(pid, tid)
    ops_track = _base(ops, ("pid", "tid"), lambda p, t: tk.by_key[("thread", int(p), int(t))])
    launch_track = _base(launches, ("pid", "tid"), lambda p, t: tk.by_key[("thread", int(p), int(t))])

    gpu_ranges = ranges["kind"].isin(GPU_RANGE_KINDS).to_numpy() if len(ranges) else np.zeros(0, bool)
    if len(kernels):
        for d, st in sorted(set(kernels[["device", "stream"]].drop_duplicates().itertuples(index=False, name=None))):
            tk.stream(d, st)
    if gpu_ranges.any():
        g = ranges[gpu_ranges]
        for (d, st, kind), _ in g.groupby(["pid", "stream", g["kind"].astype(str)], sort=True):
            label = RANGE_LABELS.get(kind, kind)
            tk.add(("gpu_range", int(d), int(st), kind),
                   f"{label} · stream {int(st)}" if st >= 0 else label, parent=tk.device(d),
                   sort=(1, int(st), 1, kind))
    kernel_track = _base(kernels, ("device", "stream"), lambda d, s: tk.by_key[("stream", int(d), int(s))])

    range_track = np.zeros(len(ranges), dtype=np.int64)
    if len(ranges):
        kinds = ranges["kind"].astype(str).to_numpy()
        pid, tid = ranges["pid"].to_numpy(), ranges["tid"].to_numpy()
        stream_col = ranges["stream"].to_numpy()
        combos = pd.DataFrame({"k": kinds, "p": pid, "t": tid, "s": stream_col, "g": gpu_ranges})
        for (k, p, t, s, g), idx in combos.groupby(["k", "p", "t", "s", "g"], sort=True).indices.items():
            if g:
                track = tk.by_key[("gpu_range", int(p), int(s), k)]
            else:
                parent = tk.process(p)
                label = RANGE_LABELS.get(k, k)
                name = f"{label} · thread {int(t)}" if t >= 0 else label
                track = tk.add(("range", int(p), int(t), k), name, parent=parent,
                               sort=(int(t), 1, _KIND_ORDER.get(k, 99), k))
            range_track[idx] = track
    return [ops_track, kernel_track, launch_track, range_track]


def _overlap_tracks(tk: _Tracks, frames_in, offsets, table, base_track, ts, dur) -> np.ndarray:
    """The final track of every slice: its base track, or an "overlap" track under it
    where it overlaps a neighbour without nesting (children stay under their caller)."""
    ops, kernels, launches, ranges = frames_in
    n = len(table)
    # parents in the model, as slice indices
    parent = np.full(n, -1, dtype=np.int64)
    if len(ops):
        parent[offsets[OPS]:offsets[OPS + 1]] = _local(ops["parent"], ops["id"], offsets[OPS])
    if len(launches):
        parent[offsets[LAUNCHES]:offsets[LAUNCHES + 1]] = _local(launches["op"], ops["id"], offsets[OPS])
    if len(ranges):
        parent[offsets[RANGES]:offsets[RANGES + 1]] = _local(ranges["parent"], ranges["id"], offsets[RANGES])

    lane = np.zeros(n, dtype=np.int32)
    nest = table != KERNELS
    for mode in (True, False):
        sel = np.flatnonzero(nest == mode)
        if len(sel) == 0:
            continue
        par = None
        if mode:
            local = np.full(n, -1, dtype=np.int64)
            local[sel] = np.arange(len(sel))
            p = parent[sel]
            par = np.where(p >= 0, local[np.maximum(p, 0)], -1)
        lane[sel] = lanes.assign(base_track[sel], ts[sel], ts[sel] + dur[sel], mode, par)

    track = base_track.copy()
    extra = np.flatnonzero(lane > 0)
    if len(extra):
        pairs = pd.DataFrame({"b": base_track[extra], "l": lane[extra]})
        for (b, k), idx in pairs.groupby(["b", "l"], sort=True).indices.items():
            b_track = tk.tracks[int(b)]
            t = tk.add(("lane", int(b), int(k)), f"{b_track.name} · overlap {int(k)}",
                       parent=int(b), lane=int(k), sort=(int(k),))
            track[extra[idx]] = t
    return track


def _categories(frames_in, n: int):
    """Slice categories: "op", the kernel kind, "runtime", the range kind."""
    ops, kernels, launches, ranges = frames_in
    cat_values = [np.full(len(ops), "op", dtype=object),
                  kernels["kind"].astype(str).to_numpy() if len(kernels) else np.zeros(0, object),
                  np.full(len(launches), "runtime", dtype=object),
                  ranges["kind"].astype(str).to_numpy() if len(ranges) else np.zeros(0, object)]
    cat_all = np.concatenate(cat_values) if n else np.zeros(0, object)
    if not n:
        return np.zeros(0, str), np.zeros(0, np.int64)
    return np.unique(cat_all.astype(str), return_inverse=True)


def _flows(kernels, launches, offsets):
    """Launch -> kernel arrows: source and destination slice, and an id per kernel."""
    flow_src = flow_dst = np.zeros(0, dtype=np.int64)
    if len(kernels) and len(launches):
        pos = pd.Index(launches["id"].to_numpy()).get_indexer(kernels["launch"].to_numpy())
        ok = pos >= 0
        flow_src = offsets[LAUNCHES] + pos[ok]
        flow_dst = offsets[KERNELS] + np.flatnonzero(ok)
    flow_id = (kernels["id"].to_numpy()[flow_dst - offsets[KERNELS]] + 1).astype(np.uint64) \
        if len(flow_dst) else np.zeros(0, np.uint64)
    return flow_src, flow_dst, flow_id


def _counters(tk: _Tracks, selection, kernels, ops, full_ops, ts, dur, bucket_ns):
    """Counter tracks over the selected span (or the slices' extent where it is open)."""
    n = len(ts)
    if selection.span_ns is not None and selection.span_ns[1] < np.iinfo(np.int64).max:
        lo, hi = selection.span_ns
    elif n:
        lo, hi = int(ts.min()), int((ts + dur).max())
        if selection.span_ns is not None:
            lo = max(lo, selection.span_ns[0])
    else:
        lo = hi = 0
    if hi <= lo and n:
        hi = lo + 1
    counter_list, bucket = counters_mod.compute(kernels, ops, full_ops, lo, hi, bucket_ns)
    placed = []
    for c in counter_list:
        kind, key = c.owner
        parent_track = tk.device(key) if kind == "device" else tk.process(key)
        unit_name = "%" if c.unit == "%" else f"bytes per {_fmt_ns(bucket)}"
        t = tk.add(("counter", kind, key, c.name), f"{c.name}" + ("" if c.unit == "%" else f" per {_fmt_ns(bucket)}"),
                   parent=parent_track, role="counter", unit=unit_name, sort=(-1, len(placed)))
        placed.append((t, c))
    return placed, bucket


def utf8(s: str) -> str:
    """The string itself where it can be written as UTF-8 (any real name); lone
    surrogates (from broken JSON escapes) become visible escapes instead of an error."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _fmt_ns(ns: int) -> str:
    for unit, size in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns >= size and ns % size == 0:
            return f"{ns // size} {unit}"
    return f"{ns} ns"


def _base(frame: pd.DataFrame, cols, track_of) -> np.ndarray:
    if len(frame) == 0:
        return np.zeros(0, dtype=np.int64)
    a_codes, a_uniques = pd.factorize(frame[cols[0]].to_numpy())
    b_codes, b_uniques = pd.factorize(frame[cols[1]].to_numpy())
    codes, combos = pd.factorize(a_codes.astype(np.int64) * len(b_uniques) + b_codes)
    table = np.array([track_of(a_uniques[c // len(b_uniques)], b_uniques[c % len(b_uniques)])
                      for c in combos], dtype=np.int64)
    return table[codes]


def _local(ref: pd.Series, ids: pd.Series, offset: int) -> np.ndarray:
    """Slice index of the row whose id is ``ref`` (among exported rows), or -1."""
    ref = ref.to_numpy()
    if len(ids) == 0:
        return np.full(len(ref), -1, dtype=np.int64)
    pos = pd.Index(ids.to_numpy()).get_indexer(ref)
    return np.where(pos >= 0, pos + offset, -1)


def _pool(cats: list) -> tuple[list[str], np.ndarray]:
    """One list of distinct strings for several categoricals, and each row's index in it."""
    all_labels = pd.Index(np.concatenate([np.asarray(c.categories, dtype=object) for c in cats])
                          if cats else np.zeros(0, object)).astype(str).unique()
    index = pd.Index(all_labels)
    out = []
    for c in cats:
        if len(c) == 0:
            out.append(np.zeros(0, dtype=np.int32))
            continue
        m = index.get_indexer(pd.Index(np.asarray(c.categories, dtype=object)).astype(str))
        codes = np.asarray(c.codes)
        out.append(np.where(codes >= 0, m[np.maximum(codes, 0)], -1).astype(np.int32))
    return [str(s) for s in all_labels], (np.concatenate(out) if out else np.zeros(0, np.int32))


# ---------------------------------------------------------------------------- args

def _arg_specs(frames_in, full_ops):
    """(key, kind, per-table values or None). String values are categoricals."""
    ops, kernels, launches, ranges = frames_in
    op_index = pd.Index(full_ops["id"].to_numpy()) if len(full_ops) else pd.Index([])

    def via_op(ref: pd.Series, col: str):
        """Column ``col`` of the op each row points to (from the whole trace)."""
        pos = op_index.get_indexer(ref.to_numpy()) if len(op_index) else np.full(len(ref), -1)
        cat = full_ops[col].array if len(full_ops) else pd.Categorical([])
        codes = np.asarray(cat.codes)[np.maximum(pos, 0)] if len(full_ops) else np.full(len(ref), -1)
        codes = np.where(pos >= 0, codes, -1)
        return pd.Categorical.from_codes(codes, categories=cat.categories) if len(full_ops) else \
            pd.Categorical([""] * len(ref))

    fused = ops["fused"].array  # source nodes of a fused layer, shown as "a, b, c"
    if len(fused) and any(FUSED_SEP in str(c) for c in fused.categories):
        fused = pd.Categorical(["" if pd.isna(v) else str(v).replace(FUSED_SEP, ", ")
                                for v in np.asarray(fused, dtype=object)])
    kbytes = kernels["bytes"].to_numpy()
    kkind = kernels["kind"].astype(str).to_numpy() if len(kernels) else np.zeros(0, object)
    specs = [
        ("id", "int", [ops["id"], kernels["id"], launches["id"], ranges["id"]]),
        ("group", "str", [ops["group"].array, kernels["group"].array, via_op(launches["op"], "group"), None]),
        ("gemm", "bool", [ops["is_gemm"], kernels["is_gemm"], None, None]),
        ("op", "str", [None, via_op(kernels["op"], "name"), via_op(launches["op"], "name"), None]),
        ("op_id", "int", [None, kernels["op"], launches["op"], None]),
        ("module", "str", [ops["module"].array, via_op(kernels["op"], "module"), None, None]),
        ("path", "str", [None, None, None, ranges["path"].array]),
        ("shapes", "str", [ops["shapes"].array, None, None, None]),
        ("dtypes", "str", [ops["dtypes"].array, None, None, None]),
        ("op_type", "str", [ops["op_type"].array, None, None, None]),
        ("fused", "str", [fused, None, None, None]),
        ("precision", "str", [ops["precision"].array, None, None, None]),
        ("provider", "str", [ops["provider"].array, None, None, None]),
        ("self_ns", "int", [ops["self_ns"], None, None, None]),
        ("bytes", "int", [None, pd.Series(np.where((kkind != "kernel") | (kbytes > 0), kbytes, -1)), None, None]),
        ("copy", "str", [None, kernels["copy"].array, None, None]),
        ("grid", "str", [None, kernels["grid"].array, None, None]),
        ("block", "str", [None, kernels["block"].array, None, None]),
        ("correlation", "int", [None, kernels["correlation"], launches["correlation"], None]),
        ("link", "str", [None, kernels["link"].array, None, None]),
        ("device", "int", [None, kernels["device"], None, None]),
        ("stream", "int", [None, kernels["stream"], None, None]),
        ("step", "int", [ops["step"], kernels["step"], launches["step"], ranges["step"]]),
    ]
    return specs


def _args(frames_in, full_ops, offsets, n):
    specs = _arg_specs(frames_in, full_ops)
    str_cats = [v for _, kind, per in specs if kind == "str" for v in per if v is not None]
    strings, _ = _pool([c if isinstance(c, pd.Categorical) else pd.Categorical(c) for c in str_cats])
    index = pd.Index(strings)
    empty = index.get_indexer([""])[0] if "" in strings else -2
    args = []
    for key, kind, per in specs:
        if kind == "str":
            values = np.full(n, -1, dtype=np.int32)
        elif kind == "int":
            values = np.full(n, -1, dtype=np.int64)
        else:
            values = np.full(n, -1, dtype=np.int8)
        for t, v in enumerate(per):
            if v is None or offsets[t + 1] == offsets[t]:
                continue
            sl = slice(offsets[t], offsets[t + 1])
            if kind == "str":
                cat = v if isinstance(v, pd.Categorical) else pd.Categorical(v)
                m = index.get_indexer(pd.Index(np.asarray(cat.categories, dtype=object)).astype(str))
                codes = np.asarray(cat.codes)
                values[sl] = np.where(codes >= 0, m[np.maximum(codes, 0)], -1)
            elif kind == "int":
                values[sl] = np.asarray(v, dtype=np.int64)
            else:
                values[sl] = np.asarray(v, dtype=bool).astype(np.int8)
        if kind == "str":
            values[values == empty] = -1
            args.append(Arg(key, kind, values))
        elif kind == "int":
            args.append(Arg(key, kind, values, values >= 0))
        else:
            args.append(Arg(key, kind, values))
    return args, strings


# ---------------------------------------------------------------------------- JSON ids

def _json_ids(tracks: list[Track]) -> None:
    """(pid, tid) for the Chrome JSON format: host processes keep their pid, threads their
    tid; devices, lanes and range tracks get ids that collide with nothing."""
    used_pids = {t.pid for t in tracks if t.role == "process" and t.pid >= 0}
    roots = [t for t in tracks if t.parent < 0]
    for t in roots:  # host processes and devices keep their own ids where free
        if t.role == "process" and t.pid >= 0:
            t.json_pid = t.pid
        elif t.role == "device" and t.device >= 0 and t.device not in used_pids:
            t.json_pid = t.device
            used_pids.add(t.device)
        else:
            t.json_pid = -1
    fresh = max(used_pids | {0}) + 1
    for t in roots:
        if t.json_pid < 0:
            while fresh in used_pids:
                fresh += 1
            t.json_pid = fresh
            used_pids.add(fresh)

    def root_of(t: Track) -> Track:
        while t.parent >= 0:
            t = tracks[t.parent]
        return t

    used_tids: dict[int, set] = {}
    for t in tracks:
        if t.parent < 0:
            continue
        t.json_pid = root_of(t).json_pid
        if t.role == "thread" and t.tid >= 0:
            t.json_tid = t.tid
            used_tids.setdefault(t.json_pid, set()).add(t.tid)
    for t in tracks:
        if t.parent < 0 or (t.role == "thread" and t.tid >= 0):
            continue
        taken = used_tids.setdefault(t.json_pid, set())
        want = t.stream if (t.stream >= 0 and t.lane == 0) else None
        if want is None or want in taken:
            want = max(taken | {0}) + 1
        t.json_tid = want
        taken.add(want)
