"""Native Perfetto protobuf (``.pftrace``): TrackEvent slices, flows and counters.

Layout from :mod:`tracekit.export.tracks` (every slice nests on its track). The file is
written as a stream, with flat memory and no network:

1. interned strings (slice names, categories, annotation names and string values) and
   the track descriptors, as ``TracePacket`` objects built with the ``perfetto``
   package's ``StreamingTraceProtoBuilder``;
2. the events (slice begin/end, counter values) in time order, in batches, each batch
   encoded column-wise with :mod:`tracekit.export.protowire` (the same wire bytes the
   protobuf runtime would write, ~50x faster than one object per event).

Flows: a launch's begin carries one flow id per activity it started, the activity's
begin terminates it. Perfetto timestamps are unsigned, so a trace with negative times is
shifted as a whole (``time_shift_ns`` in the result).

All packets are on one trusted sequence, so interned ids resolve. Perfetto's
TraceProcessor is never used (it downloads a binary).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracekit.export.protowire import Rows, encode_varint, interleave, tag
from tracekit.export.tracks import KERNELS, LAUNCHES, utf8

SEQUENCE = 1
SEQ_INCREMENTAL_STATE_CLEARED, SEQ_NEEDS_INCREMENTAL_STATE = 1, 2
TYPE_SLICE_BEGIN, TYPE_SLICE_END, TYPE_COUNTER = 1, 2, 4
BATCH = 1 << 16
INTERN_CHUNK = 20_000

# TrackEvent / TracePacket / DebugAnnotation field numbers (perfetto_trace.proto)
P_TIMESTAMP, P_SEQUENCE_ID, P_TRACK_EVENT, P_FLAGS = 8, 10, 11, 13
TE_TYPE, TE_TRACK, TE_CATEGORY_IIDS, TE_NAME_IID, TE_ANNOTATIONS = 9, 11, 3, 10, 4
TE_COUNTER, TE_DOUBLE_COUNTER, TE_FLOW_IDS, TE_TERMINATING_FLOW_IDS = 30, 44, 47, 48
DA_NAME_IID, DA_BOOL, DA_INT, DA_STRING_IID = 1, 2, 4, 17


def write(layout, fileobj) -> dict:
    """Write ``layout`` to a binary file object; returns counts."""
    try:
        from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
        from perfetto.trace_builder.proto_builder import StreamingTraceProtoBuilder
    except ImportError as exc:
        from tracekit.export.window import ExportError

        raise ExportError(getattr(fileobj, "name", "output"),
                          f"Perfetto output needs the 'perfetto' package ({exc}); "
                          "pip install perfetto, or write .json") from None

    builder = StreamingTraceProtoBuilder(fileobj)
    shift = _shift(layout)
    arg_names = [a.key for a in layout.args]
    _write_interned(builder, pb, layout, arg_names)
    _write_tracks(builder, pb, layout)
    packets = _write_events(fileobj, layout, shift)
    return {"packets": packets, "time_shift_ns": shift}


def _shift(layout) -> int:
    """Perfetto timestamps are unsigned: shift everything if a trace has negative times."""
    lows = [int(layout.ts.min())] if layout.n else []
    lows += [int(c.ts.min()) for _, c in layout.counters if len(c.ts)]
    low = min(lows) if lows else 0
    return -low if low < 0 else 0


def _write_interned(builder, pb, layout, arg_names) -> None:
    tables = [("event_names", layout.names, "name"), ("event_categories", layout.categories, "name"),
              ("debug_annotation_names", arg_names, "name"),
              ("debug_annotation_string_values", layout.strings, "str")]
    first = True
    entries = [(field, i + 1, value, attr) for field, values, attr in tables
               for i, value in enumerate(values)]
    for start in range(0, max(len(entries), 1), INTERN_CHUNK):
        packet = builder.create_packet()
        packet.trusted_packet_sequence_id = SEQUENCE
        if first:
            packet.sequence_flags = SEQ_INCREMENTAL_STATE_CLEARED | SEQ_NEEDS_INCREMENTAL_STATE
            packet.first_packet_on_sequence = True
            packet.previous_packet_dropped = 1
            first = False
        else:
            packet.sequence_flags = SEQ_NEEDS_INCREMENTAL_STATE
        interned = packet.interned_data
        for field, iid, value, attr in entries[start:start + INTERN_CHUNK]:
            item = getattr(interned, field).add()
            item.iid = iid
            if attr == "str":
                item.str = utf8(value).encode("utf-8")
            else:
                setattr(item, attr, utf8(value))
        builder.write_packet(packet)


def _write_tracks(builder, pb, layout) -> None:
    tracks = layout.tracks
    has_children = {t.parent for t in tracks if t.parent >= 0}
    TD = pb.TrackDescriptor
    for t in tracks:
        packet = builder.create_packet()
        packet.trusted_packet_sequence_id = SEQUENCE
        d = packet.track_descriptor
        d.uuid = t.uuid
        if t.parent >= 0:
            d.parent_uuid = tracks[t.parent].uuid
            d.sibling_order_rank = t.rank
        if t.index in has_children:
            d.child_ordering = TD.EXPLICIT
        if t.role == "process" and t.pid >= 0:
            d.process.pid = t.pid
            d.process.process_name = utf8(t.name)
        elif t.role == "thread":
            d.thread.pid = tracks[t.parent].pid
            d.thread.tid = t.tid
            d.thread.thread_name = utf8(t.name)
        else:
            d.name = utf8(t.name)
        if t.role == "counter":
            if t.unit == "%":
                d.counter.unit_name = "%"
            else:
                d.counter.unit = pb.CounterDescriptor.UNIT_SIZE_BYTES
                d.counter.unit_name = t.unit
        if t.lane > 0:
            d.description = (f"Slices that overlap others on '{tracks[t.parent].name}' "
                             "without nesting; moved here so that none is dropped.")
        builder.write_packet(packet)


@dataclass
class _Counters:
    """Counter samples of every counter track, in time order."""

    time: np.ndarray
    uuid: np.ndarray  # track uuid per sample
    value: np.ndarray
    double: np.ndarray  # written as a double (percentages) rather than an integer


@dataclass
class _Flows:
    """Launch -> activity arrows, laid out per slice for the writer."""

    count: np.ndarray  # per slice: flows it starts
    start: np.ndarray  # per slice: first of its flows in ``ids_by_src``
    ids_by_src: np.ndarray
    term: np.ndarray  # per slice: flow id it ends (activities)
    has_term: np.ndarray
    has_plain: np.ndarray


def _write_events(f, layout, shift: int) -> int:
    kind, index, time, counters = _event_stream(layout)
    flows = _flows(layout)
    uuid_of_track = np.array([t.uuid for t in layout.tracks], dtype=np.int64)
    arg_iid = {a.key: i + 1 for i, a in enumerate(layout.args)}
    seq = tag(P_SEQUENCE_ID, 0) + encode_varint(SEQUENCE) + tag(P_FLAGS, 0) + encode_varint(SEQ_NEEDS_INCREMENTAL_STATE)
    by_table = [layout.args_for(t) for t in range(4)]
    total = len(kind)
    written = 0
    for a in range(0, total, BATCH):
        b = min(a + BATCH, total)
        k, idx, t = kind[a:b], index[a:b], time[a:b] + shift
        groups = []
        # slice ends: type, track
        pos = np.flatnonzero(k == 1)
        if len(pos):
            te = Rows(len(pos)).raw(tag(TE_TYPE, 0) + encode_varint(TYPE_SLICE_END))
            te.varint(TE_TRACK, uuid_of_track[layout.track[idx[pos]]])
            groups.append(_packet(pos, t[pos], te, seq))
        # counter values
        pos = np.flatnonzero(k == 2)
        if len(pos):
            ci = idx[pos]
            te = Rows(len(pos)).raw(tag(TE_TYPE, 0) + encode_varint(TYPE_COUNTER))
            te.varint(TE_TRACK, counters.uuid[ci])
            dbl = counters.double[ci]
            te.fixed64(TE_DOUBLE_COUNTER, counters.value[ci], present=dbl)
            te.varint(TE_COUNTER, np.rint(counters.value[ci]).astype(np.int64), present=~dbl)
            groups.append(_packet(pos, t[pos], te, seq))
        # slice begins, per table (each has its own annotations)
        begin_rows = np.flatnonzero(k == 0)
        if len(begin_rows):
            tables = layout.table[idx[begin_rows]]
            for table in range(4):
                pos = begin_rows[tables == table]
                if len(pos) == 0:
                    continue
                te = _begins(layout, table, idx[pos], uuid_of_track, arg_iid, by_table[table], flows)
                groups.append(_packet(pos, t[pos], te, seq))
        f.write(interleave(groups, b - a).tobytes())
        written += b - a
    return written


def _event_stream(layout):
    """Every slice begin and end and every counter sample in time order: kind (0 begin,
    1 end, 2 counter), index (slice or counter sample) and time. Counters come after the
    slice events at the same instant."""
    ev_slice, ev_end = layout.event_order()
    ev_time = np.where(ev_end, layout.ts[ev_slice] + layout.dur[ev_slice], layout.ts[ev_slice])
    c_time = [c.ts for _, c in layout.counters]
    c_uuid = [np.full(len(c.ts), layout.tracks[t].uuid, np.int64) for t, c in layout.counters]
    c_val = [np.asarray(c.values, dtype=np.float64) for _, c in layout.counters]
    c_dbl = [np.full(len(c.ts), c.unit == "%") for _, c in layout.counters]
    if c_time:
        c_time, c_uuid = np.concatenate(c_time), np.concatenate(c_uuid)
        c_val, c_dbl = np.concatenate(c_val), np.concatenate(c_dbl)
        o = np.argsort(c_time, kind="stable")
        c_time, c_uuid, c_val, c_dbl = c_time[o], c_uuid[o], c_val[o], c_dbl[o]
    else:
        c_time = c_uuid = np.zeros(0, np.int64)
        c_val, c_dbl = np.zeros(0), np.zeros(0, bool)
    total = len(ev_slice) + len(c_time)
    c_pos = np.searchsorted(ev_time, c_time, side="right") + np.arange(len(c_time))
    is_c = np.zeros(total, dtype=bool)
    is_c[c_pos] = True
    kind = np.empty(total, dtype=np.int8)
    index = np.empty(total, dtype=np.int64)
    time = np.empty(total, dtype=np.int64)
    kind[~is_c] = ev_end.astype(np.int8)
    index[~is_c] = ev_slice
    time[~is_c] = ev_time
    kind[is_c] = 2
    index[is_c] = np.arange(len(c_time))
    time[is_c] = c_time
    return kind, index, time, _Counters(c_time, c_uuid, c_val, c_dbl)


def _flows(layout) -> _Flows:
    """Launch begins carry one flow id per activity they started; activities end them."""
    n = layout.n
    order = np.argsort(layout.flow_src, kind="stable")
    flow_count = np.bincount(layout.flow_src, minlength=n) if n else np.zeros(0, np.int64)
    # An activity that starts at or before its launch (clock skew) would be read before
    # the flow begins; there both ends carry a plain flow id, which links them either way.
    term = np.zeros(n, dtype=np.uint64)
    has_term = np.zeros(n, dtype=bool)
    has_plain = np.zeros(n, dtype=bool)
    skew = layout.ts[layout.flow_dst] <= layout.ts[layout.flow_src]
    term[layout.flow_dst] = layout.flow_id
    has_term[layout.flow_dst[~skew]] = True
    has_plain[layout.flow_dst[skew]] = True
    return _Flows(flow_count, np.cumsum(flow_count) - flow_count, layout.flow_id[order],
                  term, has_term, has_plain)


def _begins(layout, table: int, si, uuid_of_track, arg_iid, args, flows: _Flows) -> Rows:
    """TrackEvents that begin the slices ``si`` of one table: track, category, name, the
    table's annotations and the flows they start or end."""
    te = Rows(len(si)).raw(tag(TE_TYPE, 0) + encode_varint(TYPE_SLICE_BEGIN))
    te.varint(TE_TRACK, uuid_of_track[layout.track[si]])
    te.varint(TE_CATEGORY_IIDS, layout.category[si].astype(np.int64) + 1)
    te.varint(TE_NAME_IID, layout.name[si].astype(np.int64) + 1)
    for arg in args:
        _annotation(te, arg_iid[arg.key], arg, si)
    if table == KERNELS and len(layout.flow_id):
        te.fixed64(TE_TERMINATING_FLOW_IDS, flows.term[si], present=flows.has_term[si])
        if flows.has_plain[si].any():
            te.fixed64(TE_FLOW_IDS, flows.term[si], present=flows.has_plain[si])
    if table == LAUNCHES and len(layout.flow_id):
        counts = flows.count[si]
        if counts.any():
            rows = np.flatnonzero(counts)
            c = counts[rows]
            pick = np.repeat(flows.start[si[rows]] - (np.cumsum(c) - c), c) + np.arange(int(c.sum()))
            ids = flows.ids_by_src[pick].astype("<u8")
            body = np.empty((len(ids), 10), dtype=np.uint8)
            body[:, :2] = np.frombuffer(tag(TE_FLOW_IDS, 1), np.uint8)
            body[:, 2:] = ids.view(np.uint8).reshape(-1, 8)
            te.ragged(body.ravel(), counts * 10)
    return te


def _packet(pos, ts, te: Rows, seq: bytes):
    """Trace.packet wrappers around TracePacket{timestamp, sequence, track_event}."""
    packet = Rows(len(pos)).varint(P_TIMESTAMP, ts).raw(seq).message(P_TRACK_EVENT, te)
    data, lens = Rows(len(pos)).message(1, packet).tobytes()
    return pos, data, lens


def _annotation(te: Rows, name_iid: int, arg, si) -> None:
    values = arg.values[si]
    prefix = tag(DA_NAME_IID, 0) + encode_varint(name_iid)
    if arg.kind == "str":
        present = values >= 0
        te.submessage_varint(TE_ANNOTATIONS, prefix, DA_STRING_IID, values.astype(np.int64) + 1, present)
    elif arg.kind == "int":
        te.submessage_varint(TE_ANNOTATIONS, prefix, DA_INT, values, arg.present[si])
    else:
        te.submessage_varint(TE_ANNOTATIONS, prefix, DA_BOOL, np.maximum(values, 0).astype(np.int64),
                             values >= 0)
