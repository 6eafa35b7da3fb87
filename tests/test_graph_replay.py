"""CUDA/HIP graph replays on a real vLLM decode trace (MI300, hipGraphLaunch) and the
trace vLLM wrote while it captured the graph. Expected values come from the raw JSON,
read with the standard library."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import tracekit
from tests.conftest import corpus_file, raw_events
from tracekit.taxonomy import Taxonomy

REPLAY = "vllm_decode_full__graph_execution"
CAPTURE = "vllm_decode_full__capture_traces__graph_capture_rank_0"
DEVICE_CATS = {"kernel", "gpu_memcpy", "gpu_memset"}


def _x(events, cats):
    return [e for e in events if e.get("ph") == "X" and e.get("cat") in cats]


def _innermost(x, candidates):
    """The innermost of ``candidates`` (same thread) whose span holds ``x``."""
    best = None
    for c in candidates:
        if (c["pid"], c["tid"]) == (x["pid"], x["tid"]) and \
                c["ts"] <= x["ts"] and x["ts"] + x["dur"] <= c["ts"] + c["dur"]:
            if best is None or c["dur"] < best["dur"]:
                best = c
    return best


def _raw_replay():
    events, _ = raw_events(corpus_file(REPLAY))
    kernels = _x(events, DEVICE_CATS)
    launches = {e["args"]["correlation"]: e for e in _x(events, {"cuda_runtime"})}
    ops = _x(events, {"cpu_op"})
    return events, kernels, launches, ops


def _ns(e) -> int:
    return round(e["dur"] * 1000)


def test_every_kernel_with_a_launch_in_the_file_gets_an_op(load):
    events, kernels, launches, ops = _raw_replay()
    total = sum(_ns(k) for k in kernels)
    enclosed = {c: _innermost(launch, ops) for c, launch in launches.items()}
    in_op_ns = sum(_ns(k) for k in kernels if enclosed.get(k["args"]["correlation"]))
    with_launch_ns = sum(_ns(k) for k in kernels if k["args"]["correlation"] in launches)
    # what reached an op before launches stood in for missing ops: a few percent
    assert in_op_ns / total < 0.05

    trace = load(corpus_file(REPLAY))
    k = trace.kernels
    s = trace.summary(step="all")
    assert s["total_ns"] == total
    assert s["unattributed_ns"] == total - with_launch_ns
    assert s["attributed_share"] == pytest.approx(with_launch_ns / total)
    ops_t = trace.ops
    stand_in = ops_t["op_type"].astype(str).to_numpy() == "launch"
    real = ~stand_in[k["op"].to_numpy()]
    assert int(k.loc[real, "dur_ns"].sum()) == in_op_ns

    # the replay: one hipGraphLaunch outside every op, named after itself, under the
    # annotation that encloses it, linked as a graph launch
    graph = [c for c, launch in launches.items() if launch["name"] == "hipGraphLaunch"]
    assert len(graph) == 1 and enclosed[graph[0]] is None
    replayed = [e for e in kernels if e["args"]["correlation"] == graph[0]]
    annotation = _innermost(launches[graph[0]], _x(events, {"user_annotation"}))
    on_graph = k[k["link"] == "graph_launch"]
    assert len(on_graph) == len(replayed) > 400
    op = ops_t.iloc[int(on_graph["op"].iloc[0])]
    assert (on_graph["op"] == op["id"]).all()
    assert op["name"] == "hipGraphLaunch" and op["op_type"] == "launch"
    assert op["module"] == annotation["name"]


def test_replayed_kernels_are_grouped_by_their_names(load):
    trace = load(corpus_file(REPLAY))
    taxonomy = Taxonomy.default()
    k = trace.kernels[trace.kernels["link"] == "graph_launch"]
    by_name = {n: taxonomy.classify("kernels", n) or "Other" for n in k["name"].astype(str).unique()}
    assert [by_name[n] for n in k["name"].astype(str)] == k["group"].astype(str).tolist()


def _raw_capture_plan():
    """Per replayed kernel (in start order): the op that issued its node at capture."""
    events, _ = raw_events(corpus_file(CAPTURE))
    runtime = sorted(_x(events, {"cuda_runtime"}), key=lambda e: e["ts"])
    begin = next(e for e in runtime if e["name"] == "hipStreamBeginCapture")
    end = next(e for e in runtime if e["name"] == "hipStreamEndCapture")
    captured = [e for e in runtime if begin["ts"] < e["ts"] < end["ts"] and "kernel" in e["args"]
                and (e["pid"], e["tid"]) == (begin["pid"], begin["tid"])]
    ops = _x(events, {"cpu_op"})
    return captured, [_innermost(e, ops) for e in captured]


def test_capture_trace_maps_replayed_kernels_to_the_ops_that_issued_them(load):
    _, kernels, launches, _ = _raw_replay()
    graph = next(c for c, launch in launches.items() if launch["name"] == "hipGraphLaunch")
    replayed = sorted((e for e in kernels if e["args"]["correlation"] == graph), key=lambda e: e["ts"])
    captured, issuers = _raw_capture_plan()
    # the capture recorded the replay's kernels one for one, in order
    assert [e["args"]["kernel"] for e in captured] == [e["name"] for e in replayed]
    assert all(issuers)

    trace = tracekit.load(corpus_file(REPLAY), capture=corpus_file(CAPTURE), cache=False)
    stats = trace.meta["capture"]
    assert stats["replays"] == stats["replays_mapped"] == 1
    assert stats["kernels_mapped"] == len(replayed)
    assert stats["kernels_mapped_ns"] == sum(_ns(e) for e in replayed)
    k = trace.kernels.sort_values("ts_ns", kind="stable")
    k = k[k["link"] == "graph_launch"]
    names = trace.ops["name"].astype(str).to_numpy()
    assert [names[o] for o in k["op"]] == [op["name"] for op in issuers]
    # every issuing op hangs under the replay's launch, with its capture-time shapes
    shapes = trace.ops["shapes"].astype(str).to_numpy()
    want = [json.dumps(op["args"]["Input Dims"]) if "Input Dims" in op["args"] else "" for op in issuers]
    assert [shapes[o] for o in k["op"]] == want
    ops = trace.ops.set_index("id")
    root = ops.loc[int(k["op"].iloc[0])]
    while root["parent"] >= 0:
        root = ops.loc[int(root["parent"])]
    assert root["name"] == "hipGraphLaunch"
    # op and module views now name real ops: attributed to a real op, before and after
    real = trace.ops["op_type"].astype(str).to_numpy()[trace.kernels["op"].to_numpy()] != "launch"
    total = int(trace.kernels["dur_ns"].sum())
    eager = sum(_ns(e) for e in kernels if e["args"]["correlation"] != graph)
    assert int(trace.kernels.loc[real, "dur_ns"].sum()) == eager + sum(_ns(e) for e in replayed)
    assert int(trace.kernels.loc[real, "dur_ns"].sum()) == total
    by_op = trace.breakdown(by="op", step="all")
    assert int(by_op["total_ns"].sum()) == total
    assert "hipGraphLaunch" not in set(by_op["name"])
    assert {"aten::addmm", "vllm::unified_attention_with_output"} <= set(by_op["name"])


def test_cli_summary_with_capture(tmp_path):
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(tmp_path), COLUMNS="120")
    cmd = [sys.executable, "-m", "tracekit.cli.main", "summary", str(corpus_file(REPLAY)),
           "--capture", str(corpus_file(CAPTURE)), "--by", "op", "--top", "1000", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    captured, _ = _raw_capture_plan()
    assert data["capture"]["kernels_mapped"] == len(captured)
    assert data["attributed_share"] == 1.0
    assert sum(r["total_ns"] for r in data["by"]["op"]) == data["total_ns"]


def test_capture_that_matches_nothing_is_said(tmp_path):
    # the capture trace given as its own capture: it replays no graph
    with pytest.warns(tracekit.TraceWarning, match="no graph replays"):
        trace = tracekit.load(corpus_file(CAPTURE), capture=corpus_file(CAPTURE), cache=False)
    assert trace.meta["capture"]["replays"] == 0
    assert trace.meta["capture"]["graphs_captured"] == 1
