"""Every Kineto trace in the corpus loads, and its numbers match sums taken from the raw
JSON with the standard library (independently of tracekit's parser)."""
from __future__ import annotations

import re
import tarfile

import numpy as np
import pytest

import tracekit
from tests.conftest import corpus_file, kineto_files, raw_events

DEVICE_CATS = {"kernel", "gpu_memcpy", "gpu_memset", "Kernel", "Memcpy", "Memset"}
LAUNCH_CATS = {"cuda_runtime", "cuda_driver", "Runtime", "mtia_runtime"}
MTIA_WAIT = re.compile(r"(^|_)(event_)?(wait|record)", re.I)
NOT_KINETO = "execution_trace__benchmark_simple_add_et"


def _is_device(e) -> bool:
    if e.get("ph") != "X" or not isinstance(e.get("ts"), (int, float)):
        return False
    cat = e.get("cat")
    return cat in DEVICE_CATS or (cat == "mtia_ccp_events" and not MTIA_WAIT.search(e["name"]))


def _expected_device_ns(events) -> tuple[int, int]:
    dev = [e for e in events if _is_device(e)]
    return len(dev), sum(round(float(e.get("dur", 0)) * 1000) for e in dev)


TRACES = [p for p in kineto_files() if NOT_KINETO not in p.name and not p.name.endswith(".tar.gz")]


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name[-60:])
def test_corpus_trace_adds_up(path, load):
    trace = load(path)
    events, _ = raw_events(path)
    n_dev, dev_ns = _expected_device_ns(events)
    assert len(trace.kernels) == n_dev
    summary = trace.summary(step="all")
    groups = trace.breakdown(by="group", step="all")
    if n_dev:
        assert summary["time_basis"] == "device"
        assert summary["total_ns"] == dev_ns
        assert int(groups["total_ns"].sum()) == dev_ns
        assert sum(summary["groups"].values()) == dev_ns
        # total = compute + communication; compute = GEMM-based + non-GEMM
        assert summary["gemm_ns"] + summary["non_gemm_ns"] == summary["compute_ns"]
        assert summary["compute_ns"] + summary["communication_ns"] == dev_ns
        assert summary["communication_ns"] == summary["groups"].get("Communication", 0)
        unattributed = int(trace.kernels.loc[trace.kernels["op"] < 0, "dur_ns"].sum())
        assert summary["unattributed_ns"] == unattributed
        # every activity has a group; "Unattributed" only where no op and no name rule
        assert not trace.kernels["group"].isna().any()
        un = trace.kernels[trace.kernels["group"] == "Unattributed"]
        assert (un["op"] < 0).all()
    else:
        assert summary["time_basis"] == "cpu_self"
        assert summary["total_ns"] == int(trace.ops["self_ns"].sum())
    for by in ("op", "kernel", "module"):
        table = trace.breakdown(by=by, step="all")
        if len(table):
            assert int(table["total_ns"].sum()) == summary["total_ns"], by
    # default window: a subset of the whole trace, and it adds up too
    default = trace.summary()
    assert default["total_ns"] <= summary["total_ns"]
    assert sum(default["groups"].values()) == default["total_ns"]


@pytest.mark.parametrize("path", [p for p in TRACES if any(
    s in p.name for s in ("alexnet", "with_gpu_user_annotation", "amd_trace", "timeline_analysis",
                          "cuda_event_sync_multi", "triton_example", "after_fix"))],
    ids=lambda p: p.name[-50:])
def test_attribution_matches_naive_replay(path, load):
    """kernel -> launch (correlation) -> innermost op on the launch's thread that encloses
    it, recomputed by brute force in Python; a launch that no op encloses is the op."""
    trace = load(path)
    events, _ = raw_events(path)
    ops = [e for e in events if e.get("ph") == "X" and e.get("cat") in ("cpu_op", "Operator")
           and not str(e["name"]).startswith("ProfilerStep#")]
    launches = {}
    for e in events:
        if e.get("ph") == "X" and e.get("cat") in LAUNCH_CATS and "correlation" in e.get("args", {}):
            launches[e["args"]["correlation"]] = e
    expected = []
    for e in events:
        if not _is_device(e):
            continue
        launch = launches.get(e.get("args", {}).get("correlation"))
        best = None
        if launch is not None:
            t = launch["ts"]
            for op in ops:
                if (op["pid"], op["tid"]) == (launch["pid"], launch["tid"]) and \
                        op["ts"] <= t < op["ts"] + max(op.get("dur", 0), 0.001):
                    if best is None or (op["ts"], -op["dur"]) > (best["ts"], -best["dur"]):
                        best = op
            best = best or launch
        expected.append((round(e["ts"] * 1000), e["name"], best["name"] if best else None))
    k = trace.kernels
    names = trace.ops["name"].astype(str).to_numpy()
    got = sorted(zip((k["ts_ns"] - trace.meta.get("base_time_ns", 0)).tolist(),
                     k["name"].astype(str), [names[i] if i >= 0 else None for i in k["op"]]))
    expected.sort(key=lambda r: (r[0], r[1], r[2] or ""))
    got.sort(key=lambda r: (r[0], r[1], r[2] or ""))
    mismatches = [(a, b) for a, b in zip(expected, got) if a[2] != b[2]]
    assert len(got) == len(expected)
    assert len(mismatches) <= 0.01 * len(expected), mismatches[:5]


def test_bare_array_legacy_format_with_string_tids(load):
    path = corpus_file("pytorch__kineto__plugin__samples__resnet50_num_workers_0__worker0")
    events, doc = raw_events(path)
    assert doc == {}  # a bare top-level array
    trace = load(path)
    assert len(trace.ops) > 10000 and len(trace.kernels) > 9000
    # string tids such as "4093687616" become numbers; GPU streams come from args
    assert (trace.ops["tid"] > 0).all()
    assert set(trace.kernels["stream"].unique()) <= {7, 13, 14, 15, 16}
    copies = trace.kernels[trace.kernels["kind"] == "memcpy"]
    assert set(copies["copy"].astype(str)) <= {"HtoD", "DtoH", "DtoD"}
    assert (copies.loc[copies["copy"] == "HtoD", "group"] == "Transfer").all()
    steps = {int(e["name"].split("#")[1]) for e in events if str(e.get("name")).startswith("ProfilerStep#")}
    assert trace.meta["steps"] == sorted(steps) and len(steps) >= 5


def test_float_timestamps_relative_to_base_time(load):
    path = corpus_file("amd_trace")
    events, doc = raw_events(path)
    trace = load(path)
    base = doc["baseTimeNanoseconds"]
    first = min((e for e in events if e.get("cat") == "kernel"), key=lambda e: e["ts"])
    got = int(trace.kernels.loc[trace.kernels["kind"] == "kernel", "ts_ns"].min())
    assert abs(got - (base + round(first["ts"] * 1000))) <= 1
    assert trace.meta["display_time_unit"] == "ms"


def test_integer_microsecond_timestamps(load):
    path = corpus_file("critical_path__alexnet")
    events, _ = raw_events(path)
    trace = load(path)
    ts = sorted(e["ts"] for e in events if e.get("cat") == "kernel")
    assert sorted((trace.kernels.loc[trace.kernels["kind"] == "kernel", "ts_ns"] // 1000).tolist()) == ts


def test_rocm_trace_has_no_cuda_assumptions(load):
    trace = load(corpus_file("amd_trace"))
    k = trace.kernels
    assert (k["op"] >= 0).all()
    gemm = k[k["name"].astype(str).str.startswith("Cijk_")]
    assert len(gemm) and (gemm["group"] == "GEMM").all()
    htod = k[k["copy"] == "HtoD"]
    assert len(htod) == 2 and (htod["group"] == "Transfer").all()
    assert set(trace.launches["name"].astype(str)) >= {"hipLaunchKernel"}


def test_mtia_trace_loads_and_adds_up(load):
    trace = load(corpus_file("mtia_trace_single_rank"))
    summary = trace.summary(step="all")
    assert summary["kernels"] > 20000
    assert sum(summary["groups"].values()) == summary["total_ns"]
    attributed = trace.kernels[trace.kernels["op"] >= 0]
    assert len(attributed) > 1000 and set(attributed["link"].astype(str)) <= {"correlation", "flow", "external_id"}


def test_mtia_device_waits_are_sync_ranges_not_busy_time(load):
    path = corpus_file("mtia_inference_rank_0")
    events, _ = raw_events(path)
    waits = [e for e in events if e.get("cat") == "mtia_ccp_events" and MTIA_WAIT.search(e["name"])]
    trace = load(path)
    assert (trace.ranges["kind"] == "gpu_sync").sum() == len(waits) > 0
    assert not trace.kernels["name"].astype(str).str.contains("event_wait").any()


def test_cpu_only_trace_uses_self_time(load):
    trace = load(corpus_file("cpu_only__rank-34"))
    summary = trace.summary(step="all")
    assert summary["time_basis"] == "cpu_self" and summary["kernels"] == 0
    events, _ = raw_events(corpus_file("cpu_only__rank-34"))
    ops = [e for e in events if e.get("cat") == "cpu_op" and e.get("ph") == "X"]
    # self time of all ops = time covered by the outermost ops of each thread
    covered = 0
    for thread in {(e["pid"], e["tid"]) for e in ops}:
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in ops if (e["pid"], e["tid"]) == thread)
        end = -1e30
        for s, t in spans:
            covered += max(0.0, t - max(s, end))
            end = max(end, t)
    assert abs(summary["total_ns"] - covered * 1000) <= len(ops)


def test_rank_tarball_gives_one_trace_per_rank(cache_dir):
    path = corpus_file("dlrm_kineto.tar.gz")
    traces = tracekit.load_all(path, cache_dir=cache_dir)
    with tarfile.open(path) as tar:
        members = [m for m in tar.getmembers() if m.name.endswith(".json")]
    assert len(traces) == len(members) == 8
    assert sorted(t.meta["rank"] for t in traces) == list(range(8))
    for t in traces:
        s = t.summary(step="all")
        assert sum(s["groups"].values()) == s["total_ns"] > 0
    with pytest.raises(tracekit.TraceError, match="use tracekit.load_all"):
        tracekit.load(path, cache_dir=cache_dir)


def test_execution_trace_is_rejected_clearly():
    with pytest.raises(tracekit.TraceError, match="Execution Trace, not a Kineto trace"):
        tracekit.load(corpus_file(NOT_KINETO), cache=False)


def test_steps_default_drops_warmup(load):
    trace = load(corpus_file("ns_resolution_trace"))
    steps = trace.meta["steps"]
    assert len(steps) >= 3
    default = trace.summary()
    assert default["steps"] == steps[1:]
    assert default["window"]["dropped_steps"] == steps[:1]
    per_step = [trace.summary(step=s)["total_ns"] for s in steps]
    everything = trace.summary(step="all")["total_ns"]
    assert sum(per_step[1:]) == default["total_ns"]
    assert sum(per_step) <= everything
    with pytest.raises(ValueError, match="not in the trace"):
        trace.summary(step=10_000)


def test_cuda_graph_kernels_link_to_the_graph_launch(load):
    trace = load(corpus_file("negative_queue_length"))
    k = trace.kernels
    graph = k[k["link"] == "graph_launch"]
    assert len(graph) > 100
    launch_names = trace.launches["name"].astype(str).to_numpy()[graph["launch"].to_numpy()]
    assert set(launch_names) == {"cudaGraphLaunch"}
    assert (graph["op"] >= 0).all()


def test_nested_ops_have_parents_and_self_time(load):
    trace = load(corpus_file("critical_path__alexnet"))
    ops = trace.ops
    child = ops[ops["parent"] >= 0]
    parent = ops.iloc[child["parent"].to_numpy()]
    assert (parent["ts_ns"].to_numpy() <= child["ts_ns"].to_numpy()).all()
    assert (parent["depth"].to_numpy() + 1 == child["depth"].to_numpy()).all()
    assert (ops["self_ns"] <= ops["dur_ns"]).all() and (ops["self_ns"] >= 0).all()
    conv = ops[ops["name"] == "aten::conv2d"]
    assert len(conv) and (conv["self_ns"] < conv["dur_ns"]).all()


def test_names_are_categorical_and_times_int64(load):
    trace = load(corpus_file("critical_path__alexnet"))
    for table, cols in ((trace.ops, ("name", "group", "module")), (trace.kernels, ("name", "group", "link"))):
        for col in cols:
            assert str(table[col].dtype) == "category", col
    for table in trace.tables().values():
        for col in ("ts_ns", "dur_ns"):
            assert table[col].dtype == np.int64


def test_pretty_printed_trace_gives_the_compact_shapes_dtypes_grid_and_block(tmp_path):
    """A trace re-written with indentation (as several tools write JSON) loads with the
    same shapes, dtypes, grid and block as the original, in one compact spelling."""
    import json

    path = corpus_file("timeline_analysis__sampled_rank-0")
    events, doc = raw_events(path)
    indented = tmp_path / "indented.json"
    indented.write_text(json.dumps({**doc, "traceEvents": list(events)}, indent=2))
    assert "[\n" in indented.read_text()[:200_000]
    plain = tracekit.load(path, cache=False)
    pretty = tracekit.load(indented, cache=False)
    for table, cols in (("ops", ("shapes", "dtypes")), ("kernels", ("grid", "block"))):
        for col in cols:
            a = getattr(plain, table)[col].astype(str).tolist()
            b = getattr(pretty, table)[col].astype(str).tolist()
            assert a == b, (table, col)
            assert not any("\n" in v or "  " in v for v in b), (table, col)
    # the compact spelling is the standard library's: json.dumps of the parsed value
    want = sorted({json.dumps(e["args"]["Input Dims"]) for e in events
                   if e.get("cat") == "cpu_op" and "Input Dims" in e.get("args", {})})
    assert sorted(set(pretty.ops["shapes"].astype(str)) - {""}) == want
    grids = sorted({json.dumps(e["args"]["grid"]) for e in events
                    if e.get("cat") == "kernel" and "grid" in e.get("args", {})})
    assert sorted(set(pretty.kernels["grid"].astype(str)) - {""}) == grids
