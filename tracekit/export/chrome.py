"""Chrome Trace Event JSON (``.json``, ``.json.gz``) with the Perfetto export's content.

* one ``"X"`` event per slice, on the (pid, tid) of its track from
  :mod:`tracekit.export.tracks`: extra lanes are extra tids, so no two ``X`` events on
  one tid overlap without nesting; events are written in preorder (start, longest
  first), so viewers that keep file order for equal timestamps nest them right;
* flows as ``"s"``/``"f"`` pairs with matching ids (``"bp": "e"``: the arrow ends on the
  activity that encloses the ``f``);
* counters as ``"C"`` events; process/thread names and sort order as ``"M"`` events.

Timestamps are microseconds since the start of the trace (the origin of ``--from``),
written with exactly three decimals so that nanoseconds survive; ``baseTimeNanoseconds``
holds the start, as in Kineto's own files.

Every string is escaped by orjson, once per distinct value; the events themselves are
assembled column-wise (:class:`tracekit.export.protowire.Rows`), in batches, because one
dict per event costs more than loading the trace.
"""
from __future__ import annotations

import numpy as np
import orjson

from tracekit.export.protowire import Rows
from tracekit.export.tracks import utf8

BATCH = 1 << 15


def write(layout, fileobj, meta: dict | None = None) -> dict:
    f = fileobj
    t0 = layout.start_ns
    f.write(b'{"traceEvents":[')
    state = {"first": True}

    def put(data: bytes) -> None:  # every chunk starts with ",\n"
        if not data:
            return
        if state["first"]:
            data = data[1:]
            state["first"] = False
        f.write(data)

    put(_dicts(_metadata(layout)))
    _slices(layout, put, t0)
    _flows(layout, put, t0)
    put(_dicts(_counters(layout, t0)))
    tail = {"displayTimeUnit": "ms", "baseTimeNanoseconds": int(t0),
            "otherData": {"exporter": "tracekit", **(meta or {})}}
    f.write(b"\n]," + orjson.dumps(tail)[1:])
    return {"events": layout.n}


def _dicts(events: list) -> bytes:
    """``,\n``-led JSON lines of small events (metadata, counters)."""
    return b"".join(b",\n" + orjson.dumps(e) for e in events)


def _json(s: str) -> bytes:
    return orjson.dumps(utf8(s))


def _metadata(layout) -> list:
    out = []
    tracks = layout.tracks
    children: dict[int, list] = {}
    for t in tracks:
        children.setdefault(t.parent, []).append(t)
    for t in children.get(-1, []):
        out.append({"ph": "M", "name": "process_name", "pid": t.json_pid, "tid": 0,
                    "args": {"name": utf8(t.name)}})
        out.append({"ph": "M", "name": "process_sort_index", "pid": t.json_pid, "tid": 0,
                    "args": {"sort_index": t.rank}})
        rank = 0
        stack = sorted(children.get(t.index, []), key=lambda c: -c.rank)
        while stack:  # depth first: a track, then its lanes
            c = stack.pop()
            if c.role in ("thread", "slices"):
                out.append({"ph": "M", "name": "thread_name", "pid": c.json_pid,
                            "tid": c.json_tid, "args": {"name": utf8(c.name)}})
                out.append({"ph": "M", "name": "thread_sort_index", "pid": c.json_pid,
                            "tid": c.json_tid, "args": {"sort_index": rank}})
                rank += 1
            stack.extend(sorted(children.get(c.index, []), key=lambda x: -x.rank))
    return out


def _slices(layout, put, t0: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    n = layout.n
    if n == 0:
        return
    order = layout.begin_order()
    pid_of = np.array([t.json_pid for t in layout.tracks], dtype=np.int64)
    tid_of = np.array([t.json_tid for t in layout.tracks], dtype=np.int64)
    names = _arrow_pool([b',\n{"ph":"X","name":' + _json(s) for s in layout.names])
    cats = _arrow_pool([b',"cat":' + _json(s) for s in layout.categories])
    id_arg = next(a for a in layout.args if a.key == "id")
    others = [a for a in layout.args if a.key != "id"]
    pools = {}
    for arg in others:
        if arg.kind != "int":
            items, local = _arg_pool(arg, layout.strings)
            pools[arg.key] = (_arrow_pool(items), local)

    def number(values, prefix: bytes, present=None):
        arr = pa.array(values, mask=None if present is None else ~present)
        return pc.binary_join_element_wise(pa.scalar(prefix), pc.cast(arr, pa.string()).cast(pa.binary()),
                                           pa.scalar(b""))

    def micros(values, prefix: bytes):
        whole = pc.cast(pa.array(values // 1000), pa.string()).cast(pa.binary())
        frac = pc.utf8_lpad(pc.cast(pa.array(values % 1000), pa.string()), 3, "0").cast(pa.binary())
        return [pa.scalar(prefix), whole, pa.scalar(b"."), frac]

    for a in range(0, n, BATCH):
        si = order[a:a + BATCH]
        tr = layout.track[si]
        cols = [names.take(pa.array(layout.name[si])), cats.take(pa.array(layout.category[si])),
                number(pid_of[tr], b',"pid":'), number(tid_of[tr], b',"tid":')]
        cols += micros(layout.ts[si] - t0, b',"ts":') + micros(layout.dur[si], b',"dur":')
        cols.append(number(id_arg.values[si], b',"args":{"id":'))
        for arg in others:
            if arg.kind == "int":
                present = arg.present[si]
                if present.any():
                    cols.append(number(arg.values[si], b',"' + arg.key.encode() + b'":', present))
            else:
                pool, local = pools[arg.key]
                codes = local[np.maximum(arg.values[si], -1) + 1]
                if (codes >= 0).any():
                    cols.append(pool.take(pa.array(codes, mask=codes < 0)))
        cols.append(pa.scalar(b"}}"))
        joined = pc.binary_join_element_wise(*cols, pa.scalar(b""), null_handling="replace",
                                             null_replacement=b"")
        put(_arrow_bytes(joined))


def _arrow_pool(items: list[bytes]):
    import pyarrow as pa

    return pa.array(items, type=pa.binary())


def _arrow_bytes(arr) -> bytes:
    """The concatenated values of a binary array (no copy of each value)."""
    import pyarrow as pa

    arr = arr.cast(pa.binary()) if arr.type != pa.binary() else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    data = arr.buffers()[2]
    return data.to_pybytes()[int(offsets[0]):int(offsets[-1])] if data is not None else b""


def _arg_pool(arg, strings):
    """``,"key":value`` fragments for the values an argument takes, and a map from value
    code (+1, so that -1 maps to "absent") to fragment."""
    key = b',"' + arg.key.encode() + b'":'
    if arg.kind == "bool":
        return [key + b"false", key + b"true"], np.array([-1, 0, 1], dtype=np.int64)
    used = np.unique(arg.values[arg.values >= 0])
    items = [key + _json(strings[i]) for i in used.tolist()]
    local = np.full(len(strings) + 1, -1, dtype=np.int64)
    local[used + 1] = np.arange(len(used))
    return items, local


def _flows(layout, put, t0: int) -> None:
    m = len(layout.flow_id)
    if m == 0:
        return
    pid_of = np.array([t.json_pid for t in layout.tracks], dtype=np.int64)
    tid_of = np.array([t.json_tid for t in layout.tracks], dtype=np.int64)
    ids = layout.flow_id.astype(np.int64)
    # viewers bind "f" to the "s" read before it: where an activity starts before its launch
    # (clock skew), the pair is reversed so that the arrow still joins the two slices
    skew = layout.ts[layout.flow_dst] < layout.ts[layout.flow_src]
    start = np.where(skew, layout.flow_dst, layout.flow_src)
    finish = np.where(skew, layout.flow_src, layout.flow_dst)
    for ph, sl in ((b's"', start), (b'f","bp":"e"', finish)):
        for a in range(0, m, BATCH):
            s = sl[a:a + BATCH]
            tr = layout.track[s]
            r = Rows(len(s)).raw(b',\n{"ph":"' + ph).decimal(ids[a:a + BATCH], prefix=b',"id":')
            r.decimal(pid_of[tr], prefix=b',"pid":').decimal(tid_of[tr], prefix=b',"tid":')
            r.decimal(layout.ts[s] - t0, prefix=b',"ts":', milli=True)
            r.raw(b',"cat":"launch","name":"launch"}')
            data, _ = r.tobytes()
            put(data.tobytes())


def _counters(layout, t0: int) -> list:
    out = []
    for t, c in layout.counters:
        track = layout.tracks[t]
        if c.unit == "%":
            name, key = c.name.removesuffix(" %"), "%"
        else:
            name, key = track.name.replace(" bytes", ""), "bytes"
        ts = ((c.ts - t0) / 1000.0).tolist()
        values = c.values.tolist()
        out.extend({"ph": "C", "name": name, "pid": track.json_pid, "tid": 0, "ts": ts[i],
                    "args": {key: values[i]}} for i in range(len(ts)))
    return out
