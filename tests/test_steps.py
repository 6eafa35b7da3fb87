"""Per-step view (groups x steps) and the one-line warning about an outlier step."""
from __future__ import annotations

import gzip
import json
import re

from tests.conftest import SAMPLES
from tests.test_bad_input import run_cli
from tests.test_transfers import _trace
from tracekit import analysis
from tracekit.analysis.steps import outlier_line, step_totals

DECODER = SAMPLES / "decoder_h100.pt.trace.json.gz"


def test_step_rows_are_groups_by_step_and_add_up_to_the_raw_steps(load):
    trace = load(DECODER)
    win = analysis.select(trace, "all")
    table = analysis.breakdown(trace, win, "step")
    assert int(table["total_ns"].sum()) == int(win.kernels["dur_ns"].sum())
    # each step's total from the raw file: its device events between the step's annotation ends
    doc = json.loads(gzip.decompress(DECODER.read_bytes()))
    k = win.kernels
    for step in win.steps:
        mine = table[table["name"] == f"step {step}"]
        assert int(mine["total_ns"].sum()) == int(k.loc[k["step"] == step, "dur_ns"].sum()) > 0
        assert list(mine["group"]) == [g for g in analysis.breakdown(trace, win, "group")["name"]
                                       if g in set(mine["group"])]
    steps = [e for e in doc["traceEvents"] if str(e.get("name", "")).startswith("ProfilerStep#")]
    assert {f"step {int(e['name'].split('#')[1])}" for e in steps} <= set(table["name"])


def _steps_trace(durations):
    kernels = [dict(name="k", kind="kernel", ts_ns=i * 1000, dur_ns=d, op=-1, device=0, step=i + 1)
               for i, d in enumerate(durations)]
    ranges = [dict(name=f"ProfilerStep#{i + 1}", kind="step", ts_ns=i * 1000, dur_ns=999, step=i + 1)
              for i in range(len(durations))]
    trace = _trace(kernels=kernels, ranges=ranges)
    trace.meta.steps = list(range(1, len(durations) + 1))
    return trace


def test_an_outlier_step_is_named_in_one_line():
    # warm-up step 1 dropped; step 3 took 9.4 µs against about 1.3 µs for the others
    trace = _steps_trace([50_000, 1_300, 9_400, 1_200, 1_300])
    summary = analysis.summarize(trace)
    assert summary.step_ns == {"2": 1_300, "3": 9_400, "4": 1_200, "5": 1_300}
    line = summary.step_outlier
    assert line.startswith("step 3 is an outlier: 9.4 µs, 7.2× the median of the other steps (1.3 µs)")
    assert "--step 2,4-5" in line
    # nothing stands out in steps of similar length
    assert analysis.summarize(_steps_trace([50_000, 1_300, 1_400, 1_200])).step_outlier == ""
    assert outlier_line({1: 100}) == ""
    win = analysis.select(trace, None)
    assert step_totals(trace, win) == {2: 1_300, 3: 9_400, 4: 1_200, 5: 1_300}


def test_summary_by_step_prints_groups_by_steps_and_the_outlier(tmp_path):
    text = run_cli("summary", DECODER, "--by", "step", "--step", "all", cache_dir=tmp_path,
                   columns=80).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    body = text.split("Time by step")[1].splitlines()
    rows = [line for line in body if re.match(r"\s*step \d", line)]
    assert [r.split()[1] for r in rows] == ["2", "3", "4"]
    assert "GEMM" in body[2] and "total" in body[2] and "vs median" in body[2]
    # the warm-up step is 1.42x the others: slower, but no outlier
    assert "1.42×" in rows[0] and "is an outlier" not in text
    doc = json.loads(run_cli("summary", DECODER, "--by", "step", "--json", cache_dir=tmp_path).stdout)
    assert sum(r["total_ns"] for r in doc["by"]["step"]) == doc["total_ns"]
    assert sum(doc["step_ns"].values()) == doc["total_ns"]


def write_outlier_trace(path) -> None:
    """A Kineto trace of five ProfilerSteps, one kernel each; step 3's takes 94 µs against
    12-13 µs for the others after the warm-up (step 1)."""
    events, t = [], 0
    for i, dur in enumerate([50, 13, 94, 12, 13], start=1):
        events += [
            {"ph": "X", "cat": "user_annotation", "name": f"ProfilerStep#{i}", "pid": 1, "tid": 1,
             "ts": t, "dur": 200},
            {"ph": "X", "cat": "cpu_op", "name": "aten::relu", "pid": 1, "tid": 1, "ts": t + 1, "dur": 20},
            {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1,
             "ts": t + 2, "dur": 4, "args": {"correlation": i}},
            {"ph": "X", "cat": "kernel", "name": "relu_kernel", "pid": 0, "tid": 7, "ts": t + 10,
             "dur": dur, "args": {"device": 0, "stream": 7, "correlation": i}}]
        t += 300
    path.write_text(json.dumps({"traceEvents": events}))


def test_summary_names_the_outlier_step_of_a_trace_file(tmp_path):
    path = tmp_path / "outlier.json"
    write_outlier_trace(path)
    lines = run_cli("summary", path, cache_dir=tmp_path, columns=200).stdout.splitlines()
    warned = [line for line in lines if "is an outlier" in line]
    assert warned == ["step 3 is an outlier: 94.0 µs, 7.2× the median of the other steps (13.0 µs); "
                      "it weighs on every figure here (--step 2,4-5 leaves it out)"]
    # leaving it out as the line says: no outlier left
    text = run_cli("summary", path, "--step", "2,4-5", cache_dir=tmp_path).stdout
    assert "is an outlier" not in text
