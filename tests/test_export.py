"""Export: Perfetto protobuf, Chrome JSON, Parquet/CSV, windows, CLI.

Every timeline export is read back independently of the exporter -- the protobuf with
Perfetto's own generated classes (``perfetto.protos...Trace``), the JSON with the ``json``
module -- and checked: one slice per exported row, proper nesting on every track, both
ends of every flow, counters, names and annotations intact.
"""
from __future__ import annotations

import gzip
import itertools
import json
import os
import subprocess
import sys
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tracekit
from parsers.nsys import SOURCE as NSYS_SOURCE
from parsers.onnxruntime import SOURCE as ORT_SOURCE
from parsers.tensorrt import SOURCE as TRT_SOURCE
from tests.conftest import CORPUS, SAMPLES, corpus_file, kineto_files
from tracekit.export import ExportError, export, lanes, parse_time
from tracekit.export.window import select

CLI = [sys.executable, "-c",
       ("import sys; from tracekit.cli import main, export; "
        "main.SUBCOMMANDS.setdefault('export', export); sys.exit(main.main(sys.argv[1:]))")]
CATEGORY_TABLE = {"op": "ops", "runtime": "launches", "kernel": "kernels", "memcpy": "kernels",
                  "memset": "kernels"}  # anything else: a range kind
HOSTILE = "evil\x1b[31m[red]\x07\r\nname\u202e\"quote\\ <b>"


# ------------------------------------------------------------------------ read back

def read_pftrace(path) -> dict:
    """Walk the packets with Perfetto's generated classes; rebuild slices per track.
    Annotations are decoded on demand (:func:`args_of`), except the row id."""
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace, TrackEvent

    trace = Trace()
    trace.ParseFromString(Path(path).read_bytes())
    names, cats, arg_names, strings, tracks = {}, {}, {}, {}, {}
    open_ = defaultdict(list)
    slices, problems = [], []
    counters = defaultdict(list)
    flow_out, flow_in = Counter(), Counter()
    last = {}
    cleared = False
    BEGIN, END = TrackEvent.TYPE_SLICE_BEGIN, TrackEvent.TYPE_SLICE_END
    id_iid = None
    for p in trace.packet:
        if p.HasField("track_event"):
            te = p.track_event
            u, ts, kind = te.track_uuid, p.timestamp, te.type
            if ts < last.get(u, 0):
                problems.append(f"time goes back on track {u}")
            last[u] = ts
            if kind == BEGIN:
                first = te.debug_annotations[0]
                assert first.name_iid == id_iid
                s = {"track": u, "ts": ts, "name": names[te.name_iid], "cat": cats[te.category_iids[0]],
                     "id": first.int_value, "te": te, "flows_out": te.flow_ids, "flows_in": te.terminating_flow_ids}
                if s["flows_out"]:
                    flow_out.update(s["flows_out"])
                if s["flows_in"]:
                    flow_in.update(s["flows_in"])
                open_[u].append(s)
            elif kind == END:
                stack = open_[u]
                if not stack:
                    problems.append(f"end without begin on track {u}")
                    continue
                s = stack.pop()
                s["end"] = ts
                slices.append(s)
            else:
                counters[u].append(te.double_counter_value if te.HasField("double_counter_value")
                                   else te.counter_value)
            if p.trusted_packet_sequence_id != 1 or not (cleared and p.sequence_flags & 2):
                problems.append("event outside the interned sequence")
            if u not in tracks:
                problems.append(f"event on undeclared track {u}")
            continue
        if p.sequence_flags & 1:
            cleared = True
        if p.HasField("interned_data"):
            d = p.interned_data
            names.update((e.iid, e.name) for e in d.event_names)
            cats.update((e.iid, e.name) for e in d.event_categories)
            arg_names.update((e.iid, e.name) for e in d.debug_annotation_names)
            strings.update((e.iid, e.str.decode("utf-8")) for e in d.debug_annotation_string_values)
            id_iid = next((k for k, v in arg_names.items() if v == "id"), None)
        if p.HasField("track_descriptor"):
            tracks[p.track_descriptor.uuid] = p.track_descriptor
    problems += [f"{len(v)} slices never end on track {u}" for u, v in open_.items() if v]
    return {"tracks": tracks, "slices": slices, "counters": counters, "flow_out": flow_out,
            "flow_in": flow_in, "problems": problems, "arg_names": arg_names, "strings": strings}


def args_of(r: dict, s: dict) -> dict:
    """The debug annotations of a slice read by :func:`read_pftrace`."""
    if "args" not in s:
        out = {}
        for a in s["te"].debug_annotations:
            kind = a.WhichOneof("value")
            out[r["arg_names"][a.name_iid]] = (r["strings"][a.string_value_iid]
                                                if kind == "string_value_iid" else getattr(a, kind))
        s["args"] = out
    return s["args"]


def read_chrome(path) -> dict:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        doc = json.load(f)
    events = doc["traceEvents"]
    x = [e for e in events if e["ph"] == "X"]
    for e in x:
        e["s"] = round(e["ts"] * 1000)
        e["e"] = e["s"] + round(e["dur"] * 1000)
    return {"doc": doc, "x": x, "flows": [e for e in events if e["ph"] in "sf"],
            "counters": [e for e in events if e["ph"] == "C"],
            "meta": [e for e in events if e["ph"] == "M"]}


def properly_nested(intervals) -> bool:
    """Half-open [s, e): sorted by start (longest first), a slice that starts inside an
    open one ends inside it."""
    stack: list[int] = []
    for s, e in sorted(intervals, key=lambda v: (v[0], -v[1])):
        while stack and stack[-1] <= s:
            stack.pop()
        if stack and e > stack[-1]:
            return False
        stack.append(e)
    return True


def table_of(cat: str) -> str:
    return CATEGORY_TABLE.get(cat, "ranges")


# ------------------------------------------------------------------------ checks

def expected_rows(trace, **window):
    if "range" in window:
        window["range_name"] = window.pop("range")
    sel = select(trace, **window)
    return sel, {name: frame for name, frame in sel.tables().items()}


def check_pftrace(path, trace, info, **window):
    sel, frames = expected_rows(trace, **window)
    r = read_pftrace(path)
    assert not r["problems"], r["problems"][:5]
    slices = r["slices"]
    # one slice per exported row, and each row once (by table and id)
    ids = defaultdict(list)
    for s in slices:
        ids[table_of(s["cat"])].append(s["id"])
    for name, frame in frames.items():
        assert sorted(ids[name]) == sorted(frame["id"].tolist()), name
    assert len(slices) == sel.count == info["slices"]
    # names intact
    got = Counter((table_of(s["cat"]), s["name"]) for s in slices)
    want = Counter((name, str(v)) for name, frame in frames.items() for v in frame["name"].astype(str))
    assert got == want
    # nesting on every track
    by_track = defaultdict(list)
    for s in slices:
        by_track[s["track"]].append((s["ts"], s["end"]))
    bad = [r["tracks"][u].name or u for u, iv in by_track.items() if not properly_nested(iv)]
    assert not bad, bad
    # durations survive exactly
    row = {(table_of(s["cat"]), s["id"]): s for s in slices}
    for name, frame in frames.items():
        for rid, dur in frame[["id", "dur_ns"]].head(200).itertuples(index=False):
            s = row[(name, rid)]
            assert s["end"] - s["ts"] == max(dur, 0)
    # flows: each id leaves one launch and reaches one activity (terminating it, or -- where
    # the activity starts at or before its launch -- carrying the same plain flow id)
    ends = defaultdict(list)
    for s in slices:
        for f in list(s["flows_out"]) + list(s["flows_in"]):
            ends[f].append((table_of(s["cat"]), s["id"], bool(s["flows_in"])))
    launched = _launched(sel)
    assert len(ends) == launched == info["flows"]
    kernel_ts = {s["id"]: s["ts"] for s in slices if table_of(s["cat"]) == "kernels"}
    launch_ts = {s["id"]: s["ts"] for s in slices if table_of(s["cat"]) == "launches"}
    launch_of = dict(zip(sel.kernels["id"], sel.kernels["launch"]))
    for f, where in ends.items():
        assert sorted(t for t, _, _ in where) == ["kernels", "launches"], where
        kernel = next(w for w in where if w[0] == "kernels")
        launch = next(w for w in where if w[0] == "launches")
        assert f == kernel[1] + 1 and launch[1] == launch_of[kernel[1]]
        assert kernel[2] == (kernel_ts[kernel[1]] > launch_ts[launch[1]])  # terminating unless skewed
    # counters
    counter_tracks = {u: t for u, t in r["tracks"].items() if t.HasField("counter")}
    assert counter_tracks and set(r["counters"]) == set(counter_tracks)
    counter_names = {t.name for t in counter_tracks.values()}
    assert {"GEMM busy %", "non-GEMM busy %"} <= counter_names
    for u, values in r["counters"].items():
        if counter_tracks[u].name.endswith("%"):
            assert all(0 <= v <= 100 for v in values)
    # annotations of a sample of rows
    _check_args(lambda key: args_of(r, row[key]), frames, trace)
    return r


def _launched(sel) -> int:
    k, lt = sel.kernels, sel.launches
    if len(k) == 0 or len(lt) == 0:
        return 0
    return int(k["launch"].isin(lt["id"]).sum())


def _check_args(args_at, frames, trace):
    ops_by_id = trace.ops.set_index("id")
    for name, frame in frames.items():
        for rec in frame.head(300).to_dict("records"):
            args = args_at((name, rec["id"]))
            assert args["id"] == rec["id"]
            if name == "ops":
                assert args["group"] == str(rec["group"]) and args["gemm"] == bool(rec["is_gemm"])
                for col in ("module", "shapes", "dtypes"):
                    assert args.get(col, "") == str(rec[col])
            elif name == "kernels":
                assert args["group"] == str(rec["group"]) and args["gemm"] == bool(rec["is_gemm"])
                for col in ("grid", "block", "copy"):
                    assert args.get(col, "") == str(rec[col])
                assert args.get("correlation", -1) == max(rec["correlation"], -1)
                if rec["kind"] != "kernel" and rec["bytes"] >= 0:
                    assert args["bytes"] == rec["bytes"]
                elif rec["bytes"] < 0:
                    assert "bytes" not in args
                if rec["op"] >= 0:
                    assert args["op"] == str(ops_by_id.loc[rec["op"], "name"])
                    assert args["op_id"] == rec["op"]
            elif name == "launches":
                assert args.get("correlation", -1) == max(rec["correlation"], -1)
                if rec["op"] >= 0:
                    assert args["op"] == str(ops_by_id.loc[rec["op"], "name"])
            else:
                assert args.get("path", "") == str(rec["path"])


def check_chrome(path, trace, info, **window):
    sel, frames = expected_rows(trace, **window)
    r = read_chrome(path)
    x = r["x"]
    assert len(x) == sel.count == info["slices"]
    ids = defaultdict(list)
    for e in x:
        ids[table_of(e["cat"])].append(e["args"]["id"])
    for name, frame in frames.items():
        assert sorted(ids[name]) == sorted(frame["id"].tolist()), name
    got = Counter((table_of(e["cat"]), e["name"]) for e in x)
    want = Counter((name, str(v)) for name, frame in frames.items() for v in frame["name"].astype(str))
    assert got == want
    # no overlapping X events on one (pid, tid): everything nests
    by_tid = defaultdict(list)
    for e in x:
        by_tid[(e["pid"], e["tid"])].append((e["s"], e["e"]))
    bad = [k for k, iv in by_tid.items() if not properly_nested(iv)]
    assert not bad, bad
    # exact nanoseconds: ts relative to baseTimeNanoseconds
    base = r["doc"]["baseTimeNanoseconds"]
    by_key = {(table_of(e["cat"]), e["args"]["id"]): e for e in x}
    for name, frame in frames.items():
        for rid, ts, dur in frame[["id", "ts_ns", "dur_ns"]].head(200).itertuples(index=False):
            e = by_key[(name, rid)]
            assert e["s"] + base == ts and e["e"] - e["s"] == max(dur, 0)
    # flows: "s"/"f" pairs with matching ids, each end on its slice's thread
    starts = Counter(e["id"] for e in r["flows"] if e["ph"] == "s")
    finishes = Counter(e["id"] for e in r["flows"] if e["ph"] == "f")
    assert starts == finishes and all(v == 1 for v in starts.values())
    assert len(starts) == _launched(sel) == info["flows"]
    assert all(e.get("bp") == "e" for e in r["flows"] if e["ph"] == "f")
    at = defaultdict(set)  # what starts where: the slice each flow end binds to
    for e in x:
        at[(e["pid"], e["tid"], e["s"])].add(table_of(e["cat"]))
    pairs = defaultdict(dict)
    for e in r["flows"]:
        ts = round(e["ts"] * 1000)
        pairs[e["id"]][e["ph"]] = (at[(e["pid"], e["tid"], ts)], ts)
    for pair in pairs.values():  # launch -> activity, reversed only where the activity is earlier
        (src, s_ts), (dst, f_ts) = pair["s"], pair["f"]
        forward = "launches" in src and "kernels" in dst and s_ts <= f_ts
        backward = "kernels" in src and "launches" in dst and s_ts < f_ts
        assert forward or backward, pair
    # counters and names of every tid
    assert r["counters"]
    assert {"GEMM busy", "non-GEMM busy"} <= {e["name"] for e in r["counters"]}
    named = {(e["pid"], e["tid"]) for e in r["meta"] if e["name"] == "thread_name"}
    assert set(by_tid) <= named
    by_id = {(table_of(e["cat"]), e["args"]["id"]): e["args"] for e in x}
    _check_args(by_id.__getitem__, frames, trace)
    return r


def export_both(trace, tmp_path, stem="out", **window):
    pf, js = tmp_path / f"{stem}.pftrace", tmp_path / f"{stem}.json"
    info_pf = export(trace, pf, **window)
    info_js = export(trace, js, **window)
    return pf, js, info_pf, info_js


# ------------------------------------------------------------------------ real traces

TIMELINE_TRACES = [
    "negative_queue_length_values_check",   # CUDA graph launches, one overlap on a stream
    "trace_diff__test__test",                # CUDA graphs, overlapping kernels on one stream
    "cpu_only__rank-34",                     # CPU only
    "rank_non_gpu",                          # CPU only, 2,424 ops
    "with_gpu_user_annotation",              # GPU annotation ranges
    "amd_trace__mi250",                      # ROCm
    "nccl_parser_config",                    # NCCL, several streams
    "critical_path__alexnet",                # synchronization ranges
]
SAMPLE_TRACES = ["decoder_h100.pt.trace.json.gz", "decoder_h100_legacy.pt.trace.json",
                 "cpu_only.pt.trace.json"]


@pytest.mark.parametrize("fragment", TIMELINE_TRACES)
def test_timeline_exports_read_back_on_corpus(fragment, load, tmp_path):
    trace = load(corpus_file(fragment))
    pf, js, info_pf, info_js = export_both(trace, tmp_path)
    check_pftrace(pf, trace, info_pf)
    check_chrome(js, trace, info_js)


@pytest.mark.parametrize("name", SAMPLE_TRACES)
def test_timeline_exports_read_back_on_samples(name, load, tmp_path):
    trace = load(SAMPLES / name)
    pf, js, info_pf, info_js = export_both(trace, tmp_path)
    check_pftrace(pf, trace, info_pf)
    check_chrome(js, trace, info_js)


def test_overlapping_activities_go_to_child_tracks_not_dropped(load, tmp_path):
    trace = load(corpus_file("trace_diff__test__test"))
    pf = tmp_path / "o.pftrace"
    info = export(trace, pf)
    assert info["overlap_tracks"] >= 1
    r = read_pftrace(pf)
    lanes_ = {u: t for u, t in r["tracks"].items() if "overlap" in t.name}
    assert lanes_
    for t in lanes_.values():  # a child of the track it overflows
        assert t.parent_uuid in r["tracks"] and "overlap" not in r["tracks"][t.parent_uuid].name
    on_lanes = [s for s in r["slices"] if s["track"] in lanes_]
    assert on_lanes and len(r["slices"]) == info["slices"]


def test_cuda_graph_launch_has_one_flow_per_kernel(load, tmp_path):
    trace = load(corpus_file("trace_diff__test__test"))
    graph = trace.kernels[trace.kernels["link"] == "graph_launch"]
    launch_id, n_kernels = graph.groupby("launch").size().idxmax(), graph.groupby("launch").size().max()
    assert n_kernels > 1
    r = read_pftrace(export_both(trace, tmp_path)[0])
    launch = next(s for s in r["slices"] if s["cat"] == "runtime" and s["id"] == launch_id)
    assert len(launch["flows_out"]) == n_kernels


JSON_SWEEP_LIMIT = None if os.environ.get("TRACEKIT_FULL_CORPUS") else 30_000


@pytest.mark.parametrize("path", kineto_files(), ids=lambda p: p.name.split(".")[0][-40:])
def test_every_corpus_trace_exports_every_slice_nested(path, cache_dir, tmp_path):
    """Every Kineto trace of the corpus (every rank of an archive): read back, every slice
    is there and every track nests, flows pair up (leaner than the checks above). JSON is
    read back for traces up to 30k slices (TRACEKIT_FULL_CORPUS=1: all of them)."""
    from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traces = tracekit.load_all(path, cache_dir=cache_dir)
    except tracekit.TraceError:
        pytest.skip("not a Kineto trace (covered by the bad-input tests)")
    for i, trace in enumerate(traces):
        pf = tmp_path / f"r{i}.pftrace"
        info = export(trace, pf)
        t = Trace()
        t.ParseFromString(pf.read_bytes())
        stacks, by_track, n = defaultdict(list), defaultdict(list), 0
        out_flows, in_flows = Counter(), Counter()
        for p in t.packet:
            if not p.HasField("track_event"):
                continue
            te = p.track_event
            if te.type == 1:
                stacks[te.track_uuid].append(p.timestamp)
                out_flows.update(te.flow_ids)
                in_flows.update(te.terminating_flow_ids)
            elif te.type == 2:
                assert stacks[te.track_uuid]
                by_track[te.track_uuid].append((stacks[te.track_uuid].pop(), p.timestamp))
                n += 1
        assert not any(stacks.values())
        assert n == info["slices"] == select(trace).count
        assert all(properly_nested(iv) for iv in by_track.values())
        both = out_flows + in_flows  # each flow id: on its launch and on its activity
        assert set(both.values()) <= {2} and len(both) == info["flows"] == _launched(select(trace))
        if JSON_SWEEP_LIMIT is not None and n > JSON_SWEEP_LIMIT:
            continue
        js = tmp_path / f"r{i}.json"
        export(trace, js)
        r = read_chrome(js)
        assert len(r["x"]) == n
        tids = defaultdict(list)
        for e in r["x"]:
            tids[(e["pid"], e["tid"])].append((e["s"], e["e"]))
        assert all(properly_nested(iv) for iv in tids.values())
        flows = Counter((e["ph"], e["id"]) for e in r["flows"])
        assert sorted(k[1] for k in flows if k[0] == "s") == sorted(k[1] for k in flows if k[0] == "f")


# ------------------------------------------------------------------------ other formats

def _synthetic(kind: str):
    """Traces shaped like the other parsers' output, built from the model alone."""
    from tracekit.api import Trace
    from tracekit.model import KERNELS, LAUNCHES, OPS, RANGES, make_table
    from tracekit.taxonomy.apply import classify

    n = 40
    dur = np.full(n, 1000, np.int64)
    if kind == "tensorrt":  # layers only: average times laid end to end, no pid/tid
        ts = np.cumsum(dur) - dur
        names = [f"layer_{i}" + ("_conv" if i % 3 == 0 else "_relu") for i in range(n)]
        ops = make_table(OPS, n, name=names, ts_ns=ts, dur_ns=dur, self_ns=dur,
                         pid=np.full(n, -1), tid=np.full(n, -1), parent=np.full(n, -1),
                         depth=np.zeros(n, np.int32), op_type=["Convolution" if i % 3 == 0 else "Activation" for i in range(n)],
                         source=[TRT_SOURCE] * n, fused=[f"a{i}\x1fb{i}" for i in range(n)])
        return classify(Trace(ops=ops, meta={"source": TRT_SOURCE}))
    if kind == "onnxruntime":  # nodes on two threads; GPU kernels without launches; model_run
        ts = 10_000 + np.arange(n) * 1200
        tid = np.where(np.arange(n) % 2 == 0, 11, 12)
        ops = make_table(OPS, n, name=[f"/model/layers.{i}/MatMul" for i in range(n)], ts_ns=ts,
                         dur_ns=dur + 500, self_ns=dur, pid=np.full(n, 7), tid=tid,
                         parent=np.full(n, -1), depth=np.zeros(n, np.int32),
                         op_type=["MatMul"] * n, provider=["CUDAExecutionProvider"] * n)
        kts = ts + 100
        kernels = make_table(KERNELS, n, kind=["kernel"] * n, name=[f"sm90_gemm_{i % 4}" for i in range(n)],
                             ts_ns=kts, dur_ns=np.full(n, 800), device=np.zeros(n, np.int64),
                             stream=np.zeros(n, np.int64), op=np.arange(n), link=["ort_adjacent"] * n)
        ranges = make_table(RANGES, 1, name=["model_run"], kind=["model_run"], ts_ns=[0],
                            dur_ns=[int(ts[-1]) + 5000], pid=[7], tid=[11], depth=[0])
        return classify(Trace(ops=ops, kernels=kernels, ranges=ranges, meta={"source": ORT_SOURCE}))
    # nsys: NVTX ranges (nested and overlapping), launches, kernels on two streams overlapping
    ts = 1_000 + np.arange(n) * 700
    launches = make_table(LAUNCHES, n, name=["cudaLaunchKernel"] * n, ts_ns=ts, dur_ns=np.full(n, 300),
                          pid=np.full(n, 5), tid=np.full(n, 5), correlation=np.arange(n) + 1)
    k_ts = ts + 500
    k_ts[3] = ts[3] - 50   # clock skew: starts before its launch
    k_ts[5] = ts[5]        # ... and at the same instant
    kernels = make_table(KERNELS, n, kind=["kernel"] * n, name=[f"ampere_sgemm_{i}" for i in range(n)],
                         ts_ns=k_ts, dur_ns=np.full(n, 1500), device=np.zeros(n, np.int64),
                         stream=np.full(n, 7), correlation=np.arange(n) + 1, launch=np.arange(n),
                         link=["correlation"] * n)
    ranges = make_table(RANGES, 3, name=["forward", "layer", HOSTILE], kind=["nvtx"] * 3,
                        ts_ns=[0, 500, 20_000], dur_ns=[30_000, 10_000, 20_000], pid=[5] * 3,
                        tid=[5] * 3, depth=[0, 1, 1], parent=[-1, 0, 0])
    return classify(Trace(kernels=kernels, launches=launches, ranges=ranges, meta={"source": NSYS_SOURCE}))


def test_real_tensorrt_profile_gets_a_layer_track(load, tmp_path):
    # the track is named after what the parser writes as ``source``, not a guess at it
    path = next(iter(sorted((CORPUS / "tensorrt").glob("*resnet__A100__fp16*.profile.json"))), None)
    if path is None:
        pytest.skip("TensorRT corpus not found")
    trace = load(path)
    js = tmp_path / "trt.json"
    export(trace, js)
    names = {e["args"]["name"] for e in json.loads(js.read_text())["traceEvents"]
             if e.get("ph") == "M" and e.get("name") == "process_name"}
    assert "TensorRT layers" in names, names


@pytest.mark.parametrize("kind", ["tensorrt", "onnxruntime", "nsys"])
def test_other_formats_from_the_model(kind, tmp_path):
    trace = _synthetic(kind)
    pf, js, info_pf, info_js = export_both(trace, tmp_path)
    r = check_pftrace(pf, trace, info_pf)
    check_chrome(js, trace, info_js)
    if kind == "tensorrt":  # layer tracks from the ops table
        assert any(t.name == "TensorRT layers" for t in r["tracks"].values())
        fused = {args_of(r, s).get("fused") for s in r["slices"]}
        assert "a0, b0" in fused
    if kind == "nsys":  # overlapping kernels on one stream, overlapping NVTX ranges
        assert info_pf["overlap_tracks"] >= 2


# ------------------------------------------------------------------------ hostile names

def _hostile_trace(tmp_path):
    events = [
        {"ph": "X", "cat": "cpu_op", "name": HOSTILE, "pid": 1, "tid": 1, "ts": 0, "dur": 50,
         "args": {"Input Dims": [[1, 2]], "External id": 1}},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1, "ts": 10,
         "dur": 5, "args": {"correlation": 9, "External id": 1}},
        {"ph": "X", "cat": "kernel", "name": "k" + HOSTILE, "pid": 0, "tid": 7, "ts": 20, "dur": 10,
         "args": {"correlation": 9, "device": 0, "stream": 7, "grid": [1, 1, 1], "block": [32, 1, 1]}},
        {"ph": "X", "cat": "user_annotation", "name": "a" + HOSTILE, "pid": 1, "tid": 1, "ts": 0,
         "dur": 60},
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"traceEvents": events}))
    return path


def test_hostile_names_survive_in_files_and_never_reach_the_terminal_raw(tmp_path):
    path = _hostile_trace(tmp_path)
    trace = tracekit.load(path, cache=False)
    pf, js, info_pf, info_js = export_both(trace, tmp_path)
    r = check_pftrace(pf, trace, info_pf)
    c = check_chrome(js, trace, info_js)
    for names in ({s["name"] for s in r["slices"]}, {e["name"] for e in c["x"]}):
        assert {HOSTILE, "k" + HOSTILE, "a" + HOSTILE} <= names
    kernel = next(s for s in r["slices"] if s["cat"] == "kernel")
    assert args_of(r, kernel)["op"] == HOSTILE
    # the CLI: a range by that name, and an error naming it, print escapes only
    out = run_cli("export", path, "-o", tmp_path / "w.json", "--range", "a" + HOSTILE, "--no-cache")
    assert out.returncode == 0, out.stderr
    bad = run_cli("export", path, "-o", tmp_path / "w.json", "--range", HOSTILE + "x", "--no-cache")
    assert bad.returncode == 2
    for text in (out.stdout + out.stderr, bad.stderr):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b" in out.stdout and "\\x1b" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


# ------------------------------------------------------------------------ tables

@pytest.mark.parametrize("table", ["ops", "kernels", "launches", "ranges"])
def test_parquet_and_csv_round_trip_the_table(table, load, tmp_path):
    trace = load(SAMPLES / "decoder_h100.pt.trace.json.gz")
    frame = trace.tables()[table].reset_index(drop=True)
    info = trace.to_parquet(tmp_path / "t.parquet", table=table)
    assert info["rows"] == len(frame) and info["table"] == table
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert list(back.columns) == list(frame.columns) and len(back) == len(frame)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            assert isinstance(back[col].dtype, pd.CategoricalDtype), col
            assert back[col].astype(str).tolist() == frame[col].astype(str).tolist(), col
        else:
            assert back[col].dtype == frame[col].dtype, col
            assert (back[col].to_numpy() == frame[col].to_numpy()).all(), col
    export(trace, tmp_path / "t.csv", table=table)
    text = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert list(text.columns) == list(frame.columns)
    expected = frame.astype(object).where(frame.notna(), "").astype(str)  # NaN -> empty field
    assert (text.to_numpy() == expected.to_numpy()).all()


def test_csv_keeps_hostile_names(tmp_path):
    trace = tracekit.load(_hostile_trace(tmp_path), cache=False)
    export(trace, tmp_path / "k.csv", table="kernels")
    export(trace, tmp_path / "o.parquet", table="ops")
    text = pd.read_csv(tmp_path / "k.csv", dtype=str, keep_default_na=False)
    assert text["name"].tolist() == ["k" + HOSTILE]
    assert pd.read_parquet(tmp_path / "o.parquet")["name"].astype(str).tolist() == [HOSTILE]


def test_default_table_is_kernels_or_ops_without_gpu_activity(load, tmp_path):
    gpu = load(SAMPLES / "decoder_h100.pt.trace.json.gz")
    cpu = load(SAMPLES / "cpu_only.pt.trace.json")
    assert export(gpu, tmp_path / "g.parquet")["table"] == "kernels"
    assert export(cpu, tmp_path / "c.csv")["table"] == "ops"


# ------------------------------------------------------------------------ windows

def _overlapping(frame, lo, hi):
    s = frame["ts_ns"].to_numpy()
    e = s + np.maximum(frame["dur_ns"].to_numpy(), 0)
    return ((s < hi) & (e > lo)) | ((e == s) & (s >= lo) & (s < hi))


def test_step_window_selects_the_steps_rows(load, tmp_path):
    trace = load(SAMPLES / "decoder_h100.pt.trace.json.gz")
    step = trace.meta["steps"][1]
    for table in ("ops", "kernels", "launches", "ranges"):
        export(trace, tmp_path / f"{table}.parquet", table=table, step=step)
        got = pd.read_parquet(tmp_path / f"{table}.parquet")
        frame = trace.tables()[table]
        assert sorted(got["id"]) == sorted(frame.loc[frame["step"] == step, "id"])
    pf, js, info_pf, info_js = export_both(trace, tmp_path, step=step)
    check_pftrace(pf, trace, info_pf, step=step)
    check_chrome(js, trace, info_js, step=step)
    assert info_pf["window"] == f"step {step}"


def test_range_window_selects_what_runs_in_it(load, tmp_path):
    trace = load(SAMPLES / "decoder_h100.pt.trace.json.gz")
    ranges = trace.ranges
    name = ranges.loc[ranges["kind"] == "module", "name"].astype(str).value_counts().index[0]
    hit = ranges[ranges["name"].astype(str) == name]
    lo = hit["ts_ns"].to_numpy()
    hi = lo + hit["dur_ns"].to_numpy()
    expect = {}
    for table in ("ops", "launches", "ranges"):
        frame = trace.tables()[table]
        sel = np.zeros(len(frame), bool)
        for a, b in zip(lo, hi):
            sel |= _overlapping(frame, a, b)
        expect[table] = set(frame.loc[sel, "id"])
    k = trace.kernels
    by_launch = k["launch"].isin(list(expect["launches"]))
    no_launch = ~k["launch"].isin(trace.launches["id"])
    in_time = np.zeros(len(k), bool)
    for a, b in zip(lo, hi):
        in_time |= _overlapping(k, a, b)
    expect["kernels"] = set(k.loc[by_launch | (no_launch & in_time), "id"])
    assert expect["kernels"] and expect["ops"]
    for table, ids in expect.items():
        export(trace, tmp_path / f"{table}.csv", table=table, range=name)
        got = pd.read_csv(tmp_path / f"{table}.csv")
        assert set(got["id"]) == ids, table
    pf, js, info_pf, info_js = export_both(trace, tmp_path, range=name)
    check_pftrace(pf, trace, info_pf, range=name)
    check_chrome(js, trace, info_js, range=name)


def test_from_to_window_is_relative_to_the_trace_start(load, tmp_path):
    trace = load(corpus_file("negative_queue_length_values_check"))
    t0 = min(int(t["ts_ns"].min()) for t in trace.tables().values() if len(t))
    lo, hi = t0 + 12_500_000, t0 + 14_000_000
    for table in ("ops", "kernels", "launches", "ranges"):
        export(trace, tmp_path / f"{table}.parquet", table=table, start="12.5ms", end="14000us")
        got = pd.read_parquet(tmp_path / f"{table}.parquet")
        frame = trace.tables()[table]
        assert sorted(got["id"]) == sorted(frame.loc[_overlapping(frame, lo, hi), "id"]), table
    pf, js, info_pf, info_js = export_both(trace, tmp_path, start="12.5ms", end="14ms")
    check_pftrace(pf, trace, info_pf, start="12.5ms", end="14ms")
    check_chrome(js, trace, info_js, start="12.5ms", end="14ms")
    # counters cover exactly the window
    r = read_chrome(js)
    ts = sorted({round(e["ts"] * 1000) for e in r["counters"]})
    assert ts[0] == lo - t0 and ts[-1] == hi - t0


def test_windows_intersect(load, tmp_path):
    trace = load(SAMPLES / "decoder_h100.pt.trace.json.gz")
    step = trace.meta["steps"][0]
    both = select(trace, step=step, start="0", end="1ms")
    one = select(trace, step=step)
    other = select(trace, start="0", end="1ms")
    for name in ("ops", "kernels", "launches", "ranges"):
        assert set(both.tables()[name]["id"]) == set(one.tables()[name]["id"]) & set(other.tables()[name]["id"])


@pytest.mark.parametrize("text,ns", [("12345", 12345), ("12.5ms", 12_500_000), ("800us", 800_000),
                                     ("800µs", 800_000), ("2s", 2_000_000_000), ("30ns", 30),
                                     ("1e3us", 1_000_000), (" 7 ms ", 7_000_000)])
def test_parse_time(text, ns):
    assert parse_time(text) == ns


@pytest.mark.parametrize("text", ["", "ms", "-5ms", "5 hours", "1,5ms"])
def test_parse_time_rejects(text):
    with pytest.raises(ExportError):
        parse_time(text)


# ------------------------------------------------------------------------ lanes

def test_lanes_nest_on_random_intervals():
    rng = np.random.default_rng(5)
    for _ in range(400):
        n = int(rng.integers(1, 40))
        g = rng.integers(0, 3, n)
        s = rng.integers(0, 60, n)
        e = s + rng.integers(0, 20, n) * (rng.random(n) < 0.85)
        for nest in (True, False):
            lane = lanes.assign(g, s, e, nest)
            for key in set(zip(g.tolist(), lane.tolist())):
                m = (g == key[0]) & (lane == key[1])
                assert properly_nested(list(zip(s[m].tolist(), e[m].tolist())))
                if not nest:  # GPU lanes: no activity inside another unless zero-length
                    iv = sorted(zip(s[m].tolist(), e[m].tolist()))
                    assert all(b[0] >= a[1] or b[1] == b[0] or a[1] == a[0]
                               for a, b in itertools.pairwise(iv))
        for gg in set(g.tolist()):
            m = g == gg
            assert lanes.check(g[m], s[m], e[m]) == properly_nested(list(zip(s[m].tolist(), e[m].tolist())))


def test_lanes_use_the_fewest_tracks_and_keep_children_with_their_parent():
    # three kernels running at once on one stream: three lanes, not more
    assert sorted(lanes.assign([0, 0, 0], [0, 1, 2], [10, 10, 10], nest=False)) == [0, 1, 2]
    # back-to-back activities share a lane
    assert lanes.assign([0, 0], [0, 5], [5, 9], nest=False).tolist() == [0, 0]
    # op B overlaps op A without nesting; B's child C stays with B on B's lane
    lane = lanes.assign([0, 0, 0], [0, 5, 6], [10, 15, 8], nest=True, parent=[-1, -1, 1])
    assert lane[0] == 0 and lane[1] == 1 and lane[2] == 1


def test_export_costs_little_on_a_nested_trace(load):
    """Sanity: a trace whose ops nest needs no extra lanes at all."""
    trace = load(SAMPLES / "decoder_h100.pt.trace.json.gz")
    from tracekit.export import tracks

    layout = tracks.build(select(trace))
    assert not any(t.lane for t in layout.tracks)


# ------------------------------------------------------------------------ CLI and errors

def run_cli(*args, env_extra=None):
    env = dict(os.environ, COLUMNS="200", **(env_extra or {}))
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def main_in_process(monkeypatch, *args) -> int:
    """``tracekit`` in this process (same argument parsing and error handling)."""
    from tracekit.cli import export as export_cmd
    from tracekit.cli import main

    monkeypatch.setitem(main.SUBCOMMANDS, "export", main.SUBCOMMANDS.get("export", export_cmd))
    return main.main([str(a) for a in args])


def test_cli_exports(tmp_path, cache_dir):
    src = SAMPLES / "decoder_h100.pt.trace.json.gz"
    trace = tracekit.load(src, cache_dir=cache_dir)
    step = trace.meta["steps"][1]
    out = run_cli("export", src, "-o", tmp_path / "a.pftrace", "--step", step, "--cache-dir", cache_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"wrote {tmp_path / 'a.pftrace'} (Perfetto protobuf, step {step}): ")
    check_pftrace(tmp_path / "a.pftrace", trace, {"slices": select(trace, step=step).count,
                                                   "flows": _launched(select(trace, step=step))}, step=step)
    out = run_cli("export", src, "-o", tmp_path / "a.json.gz", "--cache-dir", cache_dir)
    assert out.returncode == 0, out.stderr
    check_chrome(tmp_path / "a.json.gz", trace, {"slices": select(trace).count, "flows": _launched(select(trace))})
    out = run_cli("export", src, "-o", tmp_path / "k.csv", "--table", "launches", "--from", "1ms",
                  "--cache-dir", cache_dir)
    assert out.returncode == 0 and "launches table" in out.stdout and "from 1ms to end" in out.stdout
    assert len(pd.read_csv(tmp_path / "k.csv")) == len(select(trace, start="1ms").launches)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_bad_output_path_is_one_line_exit_2(tmp_path, cache_dir):
    out = run_cli("export", SAMPLES / "cpu_only.pt.trace.json", "-o", tmp_path / "missing" / "x.json",
                  "--cache-dir", cache_dir)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (f"tracekit: error: {tmp_path / 'missing' / 'x.json'}: cannot write: "
                                  f"folder '{tmp_path / 'missing'}' does not exist")


@pytest.mark.parametrize("args,message", [
    (["-o", "{tmp}/missing/x.json"], "does not exist"),
    (["-o", "{tmp}/file.txt/x.json"], "is not a folder"),
    (["-o", "{tmp}"], "is a directory"),
    (["-o", "{tmp}/x.xlsx"], "unknown output format"),
    (["-o", "{tmp}/x.json", "--table", "ops"], "only applies"),
    (["-o", "{tmp}/x.json", "--from", "soon"], "not a time"),
    (["-o", "{tmp}/x.json", "--bucket", "0"], "longer than 0"),
    (["-o", "{tmp}/x.json", "--from", "2ms", "--to", "1ms"], "window is empty"),
    (["-o", "{tmp}/x.json", "--step", "99"], "step 99 is not in the trace"),
    (["-o", "{tmp}/x.json", "--range", "no such range"], "no range with this name"),
])
def test_cli_bad_output_or_options_is_one_line_exit_2(args, message, tmp_path, cache_dir, monkeypatch, capsys):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "x.json").write_text("keep")
    src = SAMPLES / "decoder_h100.pt.trace.json.gz"
    code = main_in_process(monkeypatch, "export", src, *[a.format(tmp=tmp_path) for a in args],
                           "--cache-dir", cache_dir)
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tracekit: error:") and message in lines[0], err
    assert (tmp_path / "x.json").read_text() == "keep"  # a failed export clobbers nothing


def test_cli_unwritable_directory(tmp_path, cache_dir):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        out = run_cli("export", SAMPLES / "cpu_only.pt.trace.json", "-o", locked / "x.json",
                      "--cache-dir", cache_dir)
        assert out.returncode == 2 and "no permission" in out.stderr
    finally:
        locked.chmod(0o700)


def test_write_errors_become_export_errors(tmp_path, load, monkeypatch):
    trace = load(SAMPLES / "cpu_only.pt.trace.json")
    from tracekit.export import chrome

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(chrome, "write", boom)
    with pytest.raises(ExportError, match="No space left"):
        export(trace, tmp_path / "x.json")
    assert not list(tmp_path.iterdir())  # the temporary file is gone
    assert isinstance(ExportError("x", "y"), tracekit.TraceError)


def test_multi_rank_archive_needs_a_rank(tmp_path, cache_dir, monkeypatch, capsys):
    src = corpus_file("dlrm_kineto.tar.gz")
    assert main_in_process(monkeypatch, "export", src, "-o", tmp_path / "x.json", "--cache-dir", cache_dir) == 2
    assert "pick one with --rank" in capsys.readouterr().err
    assert main_in_process(monkeypatch, "export", src, "-o", tmp_path / "x.json", "--rank", 2,
                           "--cache-dir", cache_dir) == 0
    assert "wrote" in capsys.readouterr().out
    assert main_in_process(monkeypatch, "export", src, "-o", tmp_path / "x.json", "--rank", 99,
                           "--cache-dir", cache_dir) == 2


def test_export_imports_no_parser_and_perfetto_only_when_needed():
    code = ("import sys, tracekit.export, tracekit.export.tracks, tracekit.export.chrome; "
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = out.stdout.split()
    assert not [m for m in mods if m.split(".")[0] in ("parsers", "tui", "textual", "collectors", "perfetto")]


# ------------------------------------------------------------- every other input format

def _other_format_files():
    from tests.conftest import CORPUS, ROOT

    files = sorted((CORPUS / "nsys").glob("*.sqlite")) if (CORPUS / "nsys").is_dir() else []
    files += sorted((CORPUS / "tensorrt").glob("*.profile.json")) if (CORPUS / "tensorrt").is_dir() else []
    files += sorted((ROOT / "tests" / "fixtures" / "ort").glob("*.json"))
    return files


@pytest.mark.parametrize("path", _other_format_files(), ids=lambda p: p.name[-48:])
def test_real_nsys_tensorrt_and_ort_files_export_every_slice_nested(path, load, tmp_path):
    trace = load(path)
    assert trace.source in ("nsys", "trt", "ort")
    pf, js, info_pf, info_js = export_both(trace, tmp_path)
    check_pftrace(pf, trace, info_pf)
    check_chrome(js, trace, info_js)
