"""Copies, synchronizations and CPU fallback, on real traces and on hand-built ones."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import corpus_file, raw_events
from tracekit.analysis.results import to_builtins
from tracekit.analysis.transfers import report
from tracekit.api import Trace
from tracekit.model import KERNELS, LAUNCHES, OPS, RANGES, make_table
from tracekit.taxonomy.apply import classify


def test_copies_by_direction_match_the_raw_trace(load):
    path = corpus_file("pytorch__kineto__plugin__samples__resnet50_num_workers_0__worker0")
    trace = load(path)
    events, _ = raw_events(path)
    copies = [e for e in events if e.get("cat") in ("Memcpy", "gpu_memcpy") and e.get("ph") == "X"]
    result = report(trace, step="all")["transfers"]
    for d in result["by_direction"]:
        mine = [e for e in copies if f" {d['direction']} " in e["name"]]
        assert d["count"] == len(mine)
        assert d["time_ns"] == sum(round(e["dur"] * 1000) for e in mine)
        assert d["bytes"] == sum(e["args"]["bytes"] for e in mine)
        assert d["bandwidth_gbps"] == d["bytes"] / d["time_ns"]
        assert sum(o["time_ns"] for o in d["ops"]) <= d["time_ns"]
    assert sum(d["count"] for d in result["by_direction"]) == len(copies)
    htod = next(d for d in result["by_direction"] if d["direction"] == "HtoD")
    assert htod["ops"][0]["op"] == "aten::copy_"


def test_synchronizations_are_found_on_real_traces(load):
    trace = load(corpus_file("critical_path__alexnet"))
    sync = report(trace, step="all")["synchronizations"]
    events, _ = raw_events(corpus_file("critical_path__alexnet"))
    expected = [e for e in events if e.get("cat") == "cuda_runtime"
                and e["name"] in ("cudaDeviceSynchronize", "cudaStreamSynchronize", "cudaMemcpy")]
    assert sync["count"] == len(expected) > 0
    assert sync["host_ns"] == sum(round(e["dur"] * 1000) for e in expected)
    assert sync["gpu_idle_after_ns"] > 0


def _trace(kernels=(), launches=(), ops=(), ranges=()):
    def table(schema, rows):
        cols = {k: [r[k] for r in rows] for k in (rows[0] if rows else {})}
        return make_table(schema, len(rows), **cols)
    t = Trace(ops=table(OPS, list(ops)), kernels=table(KERNELS, list(kernels)),
              launches=table(LAUNCHES, list(launches)), ranges=table(RANGES, list(ranges)),
              meta={"source": "test", "path": "hand-built"})
    return classify(t)


def test_gpu_idle_after_a_sync_is_the_gap_until_the_next_kernel():
    k = [dict(name="a", kind="kernel", ts_ns=0, dur_ns=10, op=-1, device=0),
         dict(name="b", kind="kernel", ts_ns=10, dur_ns=10, op=-1, device=0),
         dict(name="c", kind="kernel", ts_ns=40, dur_ns=10, op=-1, device=0),
         dict(name="d", kind="kernel", ts_ns=60, dur_ns=30, op=-1, device=0)]
    syncs = [dict(name="cudaDeviceSynchronize", ts_ns=5, dur_ns=20),   # drains at 20, next at 40
             dict(name="cudaStreamSynchronize", ts_ns=50, dur_ns=20),  # ends inside d: no idle
             dict(name="cudaLaunchKernel", ts_ns=1, dur_ns=2),
             dict(name="cudaMemcpy", ts_ns=95, dur_ns=5)]              # nothing after it
    sync = report(_trace(kernels=k, launches=syncs), step="all")["synchronizations"]
    got = {r["name"]: r["gpu_idle_after_ns"] for r in sync["calls"]}
    assert got == {"cudaDeviceSynchronize": 20, "cudaStreamSynchronize": 0, "cudaMemcpy": 0}
    assert sync["count"] == 3 and sync["host_ns"] == 45


def test_cpu_fallback_in_a_gpu_session():
    cuda, cpu = "CUDAExecutionProvider", "CPUExecutionProvider"
    ops = [dict(name="/m/MatMul", op_type="MatMul", provider=cuda, ts_ns=0, dur_ns=50, self_ns=50, step=1),
           dict(name="Memcpy_token_0", op_type="MemcpyToHost", provider=cuda, ts_ns=50, dur_ns=20, self_ns=20, step=1),
           dict(name="/m/NonZero", op_type="NonZero", provider=cpu, ts_ns=70, dur_ns=100, self_ns=100, step=1),
           dict(name="Memcpy_token_1", op_type="MemcpyFromHost", provider=cuda, ts_ns=170, dur_ns=30, self_ns=30, step=1)]
    runs = [dict(name="model_run", kind="model_run", ts_ns=0, dur_ns=400, step=1)]
    trace = _trace(ops=ops, ranges=runs)
    trace.meta["steps"] = [1]
    f = report(trace)["fallback"]
    assert f["applies"] and f["gpu_providers"] == [cuda]
    assert f["fallback_ns"] == 100 and f["memcpy_ns"] == 50 and f["run_latency_ns"] == 400
    assert f["fallback_share"] == 0.25 and f["memcpy_share"] == 0.125
    assert [n["op_type"] for n in f["nodes"]] == ["NonZero"]
    memcpy = report(trace)["transfers"]["ort_memcpy_nodes"]
    assert to_builtins(memcpy) == {"MemcpyFromHost": {"count": 1, "time_ns": 30}, "MemcpyToHost": {"count": 1, "time_ns": 20}}


def test_no_fallback_without_a_gpu_provider():
    ops = [dict(name="n", op_type="Relu", provider="CPUExecutionProvider", ts_ns=0, dur_ns=5, self_ns=5)]
    f = report(_trace(ops=ops), step="all")["fallback"]
    assert not f["applies"] and f["nodes"] == []


def test_fallback_command(tmp_path):
    path = corpus_file("critical_path__alexnet")
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(tmp_path), COLUMNS="120")
    cmd = [sys.executable, "-m", "tracekit.cli.main", "fallback", str(path)]
    text = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert "Copies by direction" in text and "HtoD" in text and "cudaDeviceSynchronize" in text
    out = json.loads(subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env,
                                    check=True).stdout)
    assert {"transfers", "synchronizations", "fallback"} <= set(out)


def test_fallback_on_the_synthetic_cuda_ep_profiles():
    """ONNX Runtime CUDA EP profiles (synthetic fixtures, see tests/fixtures/ort/README.md):
    the Unique node falls back to the CPU between two Memcpy nodes."""
    import tracekit
    from tests.conftest import ROOT

    for name in ("cuda_ep_merged.json", "cuda_ep_fences.json"):
        trace = tracekit.load(ROOT / "tests" / "fixtures" / "ort" / name, cache=False)
        result = report(trace)
        f = result["fallback"]
        assert f["applies"] and f["gpu_providers"] == ["CUDAExecutionProvider"]
        ops = trace.ops[trace.ops["step"].isin([1, 2])]
        cpu = ops[(ops["provider"] == "CPUExecutionProvider") & ~ops["op_type"].astype(str).str.startswith("Memcpy")]
        assert f["fallback_ns"] == int(cpu["dur_ns"].sum()) > 0
        assert [n["op_type"] for n in f["nodes"]] == sorted(set(cpu["op_type"].astype(str)))
        runs = trace.ranges[(trace.ranges["kind"] == "model_run") & trace.ranges["step"].isin([1, 2])]
        assert f["run_latency_ns"] == int(runs["dur_ns"].sum())
        memcpy = result["transfers"]["ort_memcpy_nodes"]
        assert set(memcpy) == {"MemcpyToHost", "MemcpyFromHost"}
        assert f["memcpy_ns"] == sum(m["time_ns"] for m in memcpy.values())
        directions = {d["direction"] for d in result["transfers"]["by_direction"]}
        assert directions == {"HtoD", "DtoH"}
