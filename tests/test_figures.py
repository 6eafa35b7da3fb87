"""Figures that read right: launch calls per call with blocking calls apart, GPU idle after
synchronizations counted once per idle gap, one byte and device format, plurals, units that
fit the trace's scale, TensorRT layers called layers."""
from __future__ import annotations

import io
import json
import shutil

import numpy as np
from rich.console import Console

from tests.conftest import CORPUS, corpus_file, raw_events
from tests.test_bad_input import run_cli
from tests.test_transfers import _trace
from tracekit.analysis import summarize
from tracekit.analysis.transfers import report
from tracekit.report import fmt, summary_text


def _text(summary) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    summary_text.render(summary, console)
    return console.file.getvalue()


# --------------------------------------------------------------------------- launches

def test_launch_calls_are_median_and_p90_per_call_with_blocking_calls_apart(load):
    # a ROCm trace whose host->device copies are blocking hipMemcpyWithStream calls
    path = corpus_file("mi250_minitoy")
    events, _ = raw_events(path)
    gpu = {e["args"]["correlation"] for e in events if e.get("ph") == "X"
           and e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset") and "correlation" in e.get("args", {})}
    runtime = [e for e in events if e.get("ph") == "X" and e.get("cat") == "cuda_runtime"
               and e.get("args", {}).get("correlation") in gpu]
    blocking = [e for e in runtime if e["name"] == "hipMemcpyWithStream"]
    plain = np.array([round(e["dur"] * 1000) for e in runtime if e["name"] != "hipMemcpyWithStream"])
    assert len(blocking) and len(plain)
    lo = summarize(load(path), step="all").launch_overhead
    assert lo.launch_calls == len(plain) and lo.launch_api_ns == plain.sum()
    assert lo.launch_median_ns == np.median(plain) and lo.launch_p90_ns == np.percentile(plain, 90)
    assert lo.blocking_calls == len(blocking) and lo.blocking_names == ["hipMemcpyWithStream"]
    assert lo.blocking_api_ns == sum(round(e["dur"] * 1000) for e in blocking)
    line = summary_text.launch_line(lo)
    assert f"median {fmt.duration(lo.launch_median_ns)}" in line
    assert f"p90 {fmt.duration(lo.launch_p90_ns)}" in line and "(hipMemcpyWithStream)" in line


# --------------------------------------------------------------------------- syncs

def test_each_idle_gap_goes_once_to_the_first_sync_that_ended_in_it():
    k = [dict(name="a", kind="kernel", ts_ns=0, dur_ns=10, op=-1, device=0),
         dict(name="b", kind="kernel", ts_ns=100, dur_ns=10, op=-1, device=0)]
    ops = [dict(name="aten::item", ts_ns=0, dur_ns=60, self_ns=60),
           dict(name="aten::nonzero", ts_ns=60, dur_ns=30, self_ns=30)]
    launches = [dict(name="cudaStreamSynchronize", ts_ns=5, dur_ns=15, op=0),   # drains at 10
                dict(name="cudaDeviceSynchronize", ts_ns=30, dur_ns=10, op=1),  # same gap
                dict(name="cudaStreamSynchronize", ts_ns=50, dur_ns=5, op=1)]   # same gap
    sync = report(_trace(kernels=k, launches=launches, ops=ops), step="all").synchronizations
    got = {r["name"]: (r["gpu_idle_after_ns"], r["op"]) for r in sync.calls}
    assert got == {"cudaStreamSynchronize": (90, "aten::item"),
                   "cudaDeviceSynchronize": (0, "aten::nonzero")}
    assert sync.gpu_idle_after_ns == 90  # the gap [10, 100), once


def test_idle_after_syncs_never_exceeds_the_gpu_idle_time(load):
    trace = load(corpus_file("critical_path__alexnet"))
    sync = report(trace, step="all").synchronizations
    gpu = summarize(trace, step="all").gpu
    assert 0 < sync.gpu_idle_after_ns <= gpu.idle_ns
    top = sync.calls[0]
    assert top["op"]  # the op whose call caused it
    result = run_cli("fallback", corpus_file("critical_path__alexnet"), columns=140)
    assert "called from" in result.stdout and top["op"][:20] in result.stdout


# --------------------------------------------------------------------------- formats

def test_one_byte_and_device_format():
    assert fmt.size(1536) == "1.5 KiB" and fmt.size(3 << 20) == "3.0 MiB"
    from parsers._io import size_text
    for n in (8 << 20, 3 << 30, 5 << 10):
        assert size_text(n) == fmt.size(n)
    assert fmt.devices(["MI300X"] * 8) == "8× MI300X"
    assert fmt.devices([""]) == "1× GPU"
    assert fmt.devices(["A100", "H100", "H100"]) == "A100, 2× H100"
    assert fmt.count(1, "step") == "1 step" and fmt.count(2, "kernel") == "2 kernels"


def test_time_at_tells_the_ends_of_a_short_window_apart():
    lo, hi = 81_090_123_000, 81_094_123_000  # a 4 ms window 81 s into the trace
    assert fmt.time_at(lo, hi - lo) != fmt.time_at(hi, hi - lo)
    assert fmt.time_at(lo, hi - lo) == "81.0901 s"
    assert fmt.time_at(2_500_000, 10_000_000) == "2.50 ms"


def test_microsecond_trace_reads_in_microseconds_without_ops_or_plurals_wrong():
    k = [dict(name="void relu_kernel<float>(float*)", kind="kernel", ts_ns=0, dur_ns=1500, op=-1,
              device=0, launch=-1)]
    text = _text(summarize(_trace(kernels=k), step="all"))
    assert "time (µs)" in text and "1.50" in text and "0.00 ms" not in text
    assert "1 kernel " in text and "1 kernels" not in text
    assert "kernels per op call" not in text  # no ops: no ratio to show


def test_header_names_an_unnamed_device_and_counts_devices(tmp_path):
    events = [{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 0, "dur": 3,
               "args": {"device": 0, "stream": 7, "correlation": 1}}]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"traceEvents": events, "deviceProperties": [{"id": 0, "name": ""}]}))
    first = run_cli("summary", path, cache_dir=tmp_path).stdout.splitlines()[0]
    assert "1× GPU" in first and "×  ·" not in first


# --------------------------------------------------------------------------- TensorRT

def test_tensorrt_views_say_layers_and_take_the_device_from_metadata(tmp_path):
    import tracekit
    from tui import queries as q

    folder = CORPUS / "tensorrt"
    stem = ("NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__pytorch__resnet"
            "__A100__fp16__resnet.onnx.engine")
    if not (folder / f"{stem}.profile.json").is_file():
        import pytest
        pytest.skip(f"corpus TensorRT profile not found in {folder}")
    for suffix in ("profile.json", "graph.json"):
        shutil.copy(folder / f"{stem}.{suffix}", tmp_path / f"{stem}.{suffix}")
    (tmp_path / f"{stem}.metadata.json").write_text(json.dumps(
        {"device_information": {"Name": "NVIDIA A100-SXM4-40GB"}}))
    profile = tmp_path / f"{stem}.profile.json"
    first = run_cli("summary", profile, cache_dir=tmp_path).stdout.splitlines()
    assert any("1× NVIDIA A100-SXM4-40GB" in line for line in first[:3])
    trace = tracekit.load(profile, cache=False)
    scope = q.Scope()
    ops = q.op_table(trace, scope, "op")
    row = ops.iloc[0].to_dict()
    line = q.drill(trace, scope, "op", row).lines[0]
    assert "layer" in line and "GPU activit" not in line and "host self time" not in line
    assert fmt.duration(int(row["total_ns"])) in line
