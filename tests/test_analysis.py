"""tracekit.analysis functions the TUI and the exporter share: span / range windows,
breakdown by input shape, the per-kernel-name table, drill-downs, the Amdahl figure and
transfers over a window. Expected numbers come from the raw JSON (standard library) or
from pandas written here, never from the function under test."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SAMPLES, corpus_file, raw_events
from tracekit import analysis
from tracekit.analysis import transfers as transfers_mod
from tracekit.analysis.breakdown import NO_MODULE, NO_OP, NO_SHAPE

DEVICE_CATS = ("kernel", "gpu_memcpy", "gpu_memset")
DECODER = SAMPLES / "decoder_h100.pt.trace.json.gz"
CPU_SAMPLE = SAMPLES / "cpu_only.pt.trace.json"
GPU_TRACES = [DECODER, "critical_path__alexnet", "with_gpu_user_annotation"]
ALL_TRACES = [*GPU_TRACES, CPU_SAMPLE, "cpu_only__rank-34"]


def path_of(p):
    return corpus_file(p) if isinstance(p, str) else p


def ns(us) -> int:
    return round(float(us) * 1000)


def raw_device(path) -> list[dict]:
    events, _ = raw_events(path)
    return [e for e in events if e.get("ph") == "X" and e.get("cat") in DEVICE_CATS]


def clock_offset(trace, path) -> int:
    """trace ns = raw µs * 1000 + offset (the one number taken from tracekit)."""
    dev = raw_device(path)
    return int(trace.kernels["ts_ns"].min()) - min(ns(e["ts"]) for e in dev)


def overlap_mask(frame: pd.DataFrame, lo: int, hi: int) -> np.ndarray:
    s = frame["ts_ns"].to_numpy()
    e = s + np.maximum(frame["dur_ns"].to_numpy(), 0)
    return ((s < hi) & (e > lo)) | ((e == s) & (s >= lo) & (s < hi))


def window_total(trace, win) -> int:
    if len(trace.kernels):
        return int(win.kernels["dur_ns"].sum())
    return int(win.ops["self_ns"].sum())


def device_key_frame(trace, win) -> pd.DataFrame:
    """Kernels joined to their ops with pandas (the test's own join)."""
    ops = trace.ops[["id", "name", "shapes", "module"]].astype({"name": str, "shapes": str, "module": str})
    k = win.kernels[["id", "op", "dur_ns", "group"]].rename(columns={"id": "kid"})
    return k.merge(ops, left_on="op", right_on="id", how="left")


# ------------------------------------------------------------------------ windows

@pytest.mark.parametrize("which", GPU_TRACES)
def test_select_span_matches_the_raw_device_events_in_the_span(which, load):
    path = path_of(which)
    trace = load(path)
    off = clock_offset(trace, path)
    dev = sorted(raw_device(path), key=lambda e: e["ts"])
    lo_raw, hi_raw = ns(dev[len(dev) // 4]["ts"]), ns(dev[len(dev) // 2]["ts"]) + 1
    inside = [e for e in dev if ns(e["ts"]) < hi_raw and ns(e["ts"]) + ns(e.get("dur", 0)) > lo_raw
              or ns(e.get("dur", 0)) == 0 and lo_raw <= ns(e["ts"]) < hi_raw]
    win = analysis.select_span(analysis.select(trace, "all"), lo_raw + off, hi_raw + off)
    assert len(win.kernels) == len(inside)
    expected = sum(ns(e.get("dur", 0)) for e in inside)
    assert int(win.kernels["dur_ns"].sum()) == expected
    for by in analysis.BY:
        assert int(analysis.breakdown(trace, win, by)["total_ns"].sum()) == expected, by
    # host rows: those overlapping the span (pandas here)
    for name in ("ops", "launches"):
        frame = getattr(trace, name)
        assert set(getattr(win, name)["id"]) == set(frame.loc[overlap_mask(frame, lo_raw + off, hi_raw + off), "id"])
    assert not win.whole_trace


def test_select_span_on_a_cpu_trace_sums_self_time(load):
    trace = load(CPU_SAMPLE)
    t0 = analysis.trace_start(trace)
    lo, hi = t0 + 1_000_000, t0 + 3_000_000
    win = analysis.select_span(analysis.select(trace, "all"), lo, hi)
    ops = trace.ops[overlap_mask(trace.ops, lo, hi)]
    assert len(ops) and set(win.ops["id"]) == set(ops["id"])
    for by in ("group", "op", "module", "shape"):
        assert int(analysis.breakdown(trace, win, by)["total_ns"].sum()) == int(ops["self_ns"].sum())


def test_trace_start_is_the_earliest_timestamp(load):
    path = DECODER
    trace = load(path)
    events, doc = raw_events(path)
    first = min(ns(e["ts"]) for e in events if e.get("ph") == "X")
    assert analysis.trace_start(trace) == doc["baseTimeNanoseconds"] + first


def test_select_range_of_a_gpu_annotation_keeps_the_kernels_under_it(load):
    path = DECODER
    trace = load(path)
    events, doc = raw_events(path)
    base = doc["baseTimeNanoseconds"]
    r = trace.ranges
    row = r[r["kind"] == "gpu_annotation"].iloc[0]
    raw = [e for e in events if e.get("cat") == "gpu_user_annotation" and base + ns(e["ts"]) == row["ts_ns"]]
    assert len(raw) == 1
    lo, hi = ns(raw[0]["ts"]), ns(raw[0]["ts"]) + ns(raw[0]["dur"])
    under = [e for e in raw_device(path) if ns(e["ts"]) < hi and ns(e["ts"]) + ns(e["dur"]) > lo]
    win = analysis.select_range(trace, analysis.select(trace, "all"), range_id=int(row["id"]))
    assert len(under) and len(win.kernels) == len(under)
    assert int(analysis.breakdown(trace, win, "op")["total_ns"].sum()) == sum(ns(e["dur"]) for e in under)


@pytest.mark.parametrize("which", [DECODER, "with_gpu_user_annotation"])
def test_select_range_of_a_host_range_keeps_what_its_launches_started(which, load):
    trace = load(path_of(which))
    r = trace.ranges
    host = r[~r["kind"].astype(str).isin(analysis.window.GPU_RANGE_KINDS)]
    row = host.sort_values("dur_ns").iloc[len(host) // 2]
    lo, hi = int(row["ts_ns"]), int(row["ts_ns"] + row["dur_ns"])
    win = analysis.select_range(trace, analysis.select(trace, "all"), range_id=int(row["id"]))
    launches = trace.launches[overlap_mask(trace.launches, lo, hi)]
    k = trace.kernels
    known = k["launch"].isin(trace.launches["id"])
    expect = k[(known & k["launch"].isin(launches["id"])) | (~known & overlap_mask(k, lo, hi))]
    assert set(win.kernels["id"]) == set(expect["id"])
    assert set(win.ops["id"]) == set(trace.ops.loc[overlap_mask(trace.ops, lo, hi), "id"])
    assert set(win.launches["id"]) == set(launches["id"])
    assert int(analysis.breakdown(trace, win, "group")["total_ns"].sum()) == int(expect["dur_ns"].sum())


def test_select_range_by_name_is_the_exporters_selection(load):
    from tracekit.export.window import select as export_select

    trace = load(DECODER)
    r = trace.ranges
    name = r.loc[r["kind"] == "module", "name"].astype(str).value_counts().index[0]
    win = analysis.select_range(trace, analysis.select(trace, "all"), name=name)
    sel = export_select(trace, range_name=name)
    for table in ("ops", "kernels", "launches"):
        assert set(getattr(win, table)["id"]) == set(sel.tables()[table]["id"]), table
    # one range of the name: a subset of all of them
    one = analysis.select_range(trace, analysis.select(trace, "all"),
                                range_id=int(r.loc[r["name"].astype(str) == name, "id"].iloc[0]))
    assert set(one.kernels["id"]) <= set(win.kernels["id"])


def test_select_range_errors(load):
    trace = load(DECODER)
    win = analysis.select(trace, "all")
    with pytest.raises(analysis.StepError):
        analysis.select_range(trace, win, range_id=10**9)
    with pytest.raises(analysis.StepError):
        analysis.select_range(trace, win, name="no such range")
    with pytest.raises(ValueError):
        analysis.select_range(trace, win)


def test_overlapping_and_bounds():
    frame = pd.DataFrame({"ts_ns": [0, 10, 20, 30, 40], "dur_ns": [5, 0, 10, -1, 100]})
    assert analysis.overlapping(frame, 5, 31).tolist() == [False, True, True, True, True][:3] + [True, False]
    assert analysis.overlapping(frame, [0, 100], [1, 101]).tolist() == [True, False, False, False, True]
    assert analysis.overlapping(frame, [], []).tolist() == [False] * 5
    win = analysis.Selection(ops=frame, kernels=frame.iloc[:0], launches=frame.iloc[:0])
    assert win.bounds() == (0, 140)
    assert analysis.Selection(ops=frame.iloc[:0], kernels=frame.iloc[:0], launches=frame.iloc[:0]).bounds() is None


# ------------------------------------------------------------------------ breakdown by shape

@pytest.mark.parametrize("which", ALL_TRACES)
def test_breakdown_by_shape_matches_a_pandas_groupby_and_adds_up(which, load):
    trace = load(path_of(which))
    win = analysis.select(trace, "all")
    got = analysis.breakdown(trace, win, "shape")
    # the columns of the per-name table (by op adds the instance count of an op type)
    assert list(got.columns) == list(analysis.breakdown(trace, win, "node").columns)
    if len(trace.kernels):
        f = device_key_frame(trace, win)
        has = f["op"] >= 0
        shapes = f["shapes"].where(has, "").fillna("")
        names = f["name"].where(has, NO_OP)
        dur = f["dur_ns"]
    else:
        f = win.ops
        names, shapes, dur = f["name"].astype(str), f["shapes"].astype(str), f["self_ns"]
    key = names + " " + shapes.where(shapes != "", NO_SHAPE)
    expected = pd.Series(dur.to_numpy(), index=key.to_numpy()).groupby(level=0).sum()
    expected = expected[expected > 0]
    totals = got.groupby("name")["total_ns"].sum()
    assert totals.to_dict() == expected.to_dict()
    assert int(got["total_ns"].sum()) == window_total(trace, win)
    assert got["share"].sum() == pytest.approx(1.0)
    assert got["total_ns"].tolist() == sorted(got["total_ns"], reverse=True)


def test_breakdown_by_shape_counts_calls_from_the_raw_json(load):
    trace = load(CPU_SAMPLE)
    events, _ = raw_events(CPU_SAMPLE)
    win = analysis.select(trace, "all")
    got = analysis.breakdown(trace, win, "shape")
    calls = Counter()
    for e in events:
        if e.get("cat") == "cpu_op" and e.get("ph") == "X":
            dims = e.get("args", {}).get("Input Dims")
            calls[f"{e['name']} {dims if dims else NO_SHAPE}".replace("'", "")] += 1
    by_name = got.groupby("name")["calls"].sum()
    # every row that has time: as many calls as the raw file has events of that op + shapes
    for name, n in by_name.items():
        assert calls[name] == n, name


def test_cli_summary_by_shape(load, cache_dir, capsys):
    import json

    from tracekit.cli import summary as cli_summary
    from tracekit.cli.main import main

    assert cli_summary.BY == analysis.BY
    assert main(["summary", str(DECODER), "--by", "shape", "--json", "--step", "all",
                 "--cache-dir", str(cache_dir)]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["by"]["shape"]
    assert rows and all(" [" in r["name"] or r["name"].endswith(NO_SHAPE) for r in rows)
    assert out["gemm_free_speedup"] == pytest.approx(out["total_ns"] / (out["total_ns"] - out["gemm_ns"]))


# ------------------------------------------------------------------------ kernel table

@pytest.mark.parametrize("which", GPU_TRACES)
def test_kernel_table_matches_the_raw_json(which, load):
    path = path_of(which)
    trace = load(path)
    win = analysis.select(trace, "all")
    got = analysis.kernel_table(trace, win).set_index("name")
    count, total, streams, nbytes = Counter(), Counter(), defaultdict(set), Counter()
    for e in raw_device(path):
        count[e["name"]] += 1
        total[e["name"]] += ns(e.get("dur", 0))
        streams[e["name"]].add(int(e.get("args", {}).get("stream", e.get("tid"))))
        nbytes[e["name"]] += max(int(e.get("args", {}).get("bytes", 0) or 0), 0)
    assert got["count"].to_dict() == dict(count)
    assert got["total_ns"].to_dict() == dict(total)
    assert got["bytes"].to_dict() == dict(nbytes)
    assert {n: {int(s) for s in v.split(",")} for n, v in got["streams"].items()} == dict(streams)
    assert int(got["total_ns"].sum()) == window_total(trace, win)
    assert got["share"].sum() == pytest.approx(1.0)
    # the dominant op: most frequent launching op of each name (pandas here)
    f = device_key_frame(trace, win).assign(kname=win.kernels["name"].astype(str).to_numpy())
    f["opname"] = f["name"].where(f["op"] >= 0, NO_OP)
    mode = f.groupby("kname")["opname"].agg(lambda s: sorted(s.value_counts().items(),
                                                              key=lambda x: (-x[1], x[0]))[0][0])
    assert got["op"].to_dict() == mode.to_dict()


def test_kernel_table_is_empty_without_gpu_activity(load):
    trace = load(CPU_SAMPLE)
    t = analysis.kernel_table(trace, analysis.select(trace, "all"))
    assert len(t) == 0 and "streams" in t.columns


# ------------------------------------------------------------------------ drill-downs

@pytest.mark.parametrize("which", ALL_TRACES)
@pytest.mark.parametrize("by", ["op", "module", "instance", "shape"])
def test_row_calls_add_up_to_their_breakdown_rows(which, by, load):
    trace = load(path_of(which))
    win = analysis.select(trace, None)
    table = analysis.breakdown(trace, win, by)
    per_name = table.groupby("name", sort=False)["total_ns"].sum()
    device = len(trace.kernels) > 0
    seen = 0
    for name, total in per_name.head(12).items():
        r = analysis.row_calls(trace, win, by, name)
        assert (r.device_ns if device else r.self_ns) == total, name
        assert int(r.kernels["total_ns"].sum()) == r.device_ns and r.activities == int(r.kernels["count"].sum())
        assert int(r.modules["calls"].sum()) == len(r.calls) == int(r.shapes["calls"].sum())
        seen += total
    if len(per_name) <= 12:
        assert seen == window_total(trace, win)


def test_row_calls_of_one_op_match_the_raw_json(load):
    path = DECODER
    trace = load(path)
    events, _ = raw_events(path)
    win = analysis.select(trace, "all")
    r = analysis.row_calls(trace, win, "op", "aten::addmm")
    raw = sorted(e["ts"] for e in events if e.get("cat") == "cpu_op" and e["name"] == "aten::addmm")
    assert len(r.calls) == len(raw)
    _, doc = raw_events(path)
    assert r.calls["ts_ns"].tolist() == [doc["baseTimeNanoseconds"] + ns(t) for t in raw]
    assert r.groups == ["GEMM"]
    with pytest.raises(ValueError):
        analysis.row_calls(trace, win, "group", "GEMM")


def test_row_calls_of_the_no_operator_row_are_the_unattributed_activities(load):
    trace = load(DECODER)
    win = analysis.select(trace, "all")
    k = win.kernels
    for by in ("op", "module"):
        r = analysis.row_calls(trace, win, by, NO_OP)
        assert r.device_ns == int(k.loc[k["op"] < 0, "dur_ns"].sum()) > 0
        assert len(r.calls) == 0
    mod = analysis.row_calls(trace, win, "module", NO_MODULE)
    has_op = k["op"] >= 0
    no_module = trace.ops["module"].astype(str).to_numpy()[k.loc[has_op, "op"].to_numpy()] == ""
    assert mod.device_ns == int(k.loc[has_op, "dur_ns"].to_numpy()[no_module].sum())


@pytest.mark.parametrize("which", GPU_TRACES)
def test_kernel_instances_match_the_raw_json(which, load):
    path = path_of(which)
    trace = load(path)
    win = analysis.select(trace, "all")
    total = Counter()
    for e in raw_device(path):
        total[e["name"]] += ns(e.get("dur", 0))
    name, dur = total.most_common(1)[0]
    r = analysis.kernel_instances(trace, win, name)
    raw = sorted(ns(e["ts"]) for e in raw_device(path) if e["name"] == name)
    assert len(r.instances) == len(raw) and r.device_ns == dur
    off = clock_offset(trace, path)
    # (within the raw files' µs resolution: some write integer µs beside a ns base time)
    assert np.abs(r.instances["ts_ns"].to_numpy() - (np.array(raw) + off)).max() <= 1000
    assert int(r.by_op["total_ns"].sum()) == dur and int(r.by_op["count"].sum()) == len(raw)
    assert int(r.modules["calls"].sum()) == len(raw)


# ------------------------------------------------------------------------ summary and transfers

def test_gemm_free_speedup_from_the_truth_file(load):
    import json

    truth = json.loads((SAMPLES / "decoder_h100.truth.json").read_text())["selections"]["default"]
    s = analysis.summarize(load(DECODER))
    assert s["gemm_free_speedup"] == pytest.approx(truth["total_ns"] / truth["non_gemm_ns"])
    assert analysis.gemm_free_speedup(10, 10) is None and analysis.gemm_free_speedup(0, 0) is None
    assert analysis.gemm_free_speedup(10, 5) == 2.0


def test_summarize_over_a_window_and_an_empty_window(load):
    trace = load(DECODER)
    win = analysis.select(trace, "all")
    assert analysis.summarize(trace, window=win)["total_ns"] == analysis.summarize(trace, step="all")["total_ns"]
    empty = analysis.select_span(win, 0, 1)
    s = analysis.summarize(trace, window=empty)
    assert s["total_ns"] == 0 and s["gemm_free_speedup"] is None
    split = analysis.gemm_totals(trace, win)
    assert split["gemm_ns"] + split["non_gemm_ns"] == split["total_ns"] == window_total(trace, win)


def test_combined_summary_has_the_speedup(load):
    trace = load(DECODER)
    a = analysis.summarize(trace, step=3)
    b = analysis.summarize(trace, step=4)
    c = analysis.combine([a, b])
    assert c["gemm_free_speedup"] == pytest.approx(c["total_ns"] / (c["total_ns"] - c["gemm_ns"]))


def test_transfer_report_over_a_span_counts_the_raw_copies_in_it(load):
    path = DECODER
    trace = load(path)
    off = clock_offset(trace, path)
    copies = sorted((e for e in raw_device(path) if e["cat"] == "gpu_memcpy"), key=lambda e: e["ts"])
    lo = ns(copies[0]["ts"])
    hi = ns(copies[len(copies) // 2]["ts"]) + 1
    inside = [e for e in copies if ns(e["ts"]) < hi and ns(e["ts"]) + ns(e["dur"]) > lo]
    win = analysis.select_span(analysis.select(trace, "all"), lo + off, hi + off)
    rep = transfers_mod.report(trace, window=win, describe="my span")
    assert rep["window"] == "my span"
    by_dir = rep["transfers"]["by_direction"]
    assert sum(d["count"] for d in by_dir) == len(inside)
    assert sum(d["bytes"] for d in by_dir) == sum(e["args"]["bytes"] for e in inside)
    assert sum(d["time_ns"] for d in by_dir) == sum(ns(e["dur"]) for e in inside)
    # without a window: the step selection, as before
    assert transfers_mod.report(trace, None)["window"] == analysis.select(trace, None).describe()


def test_the_tui_keeps_no_analysis():
    import inspect

    from tui import queries

    source = inspect.getsource(queries)
    assert "PRIVATE ANALYSIS" not in source
    for name in (".agg(", "value_counts(", ".merge("):
        assert name not in source, name


# ------------------------------------------------------------------------ what the default steps leave out

def test_work_launched_before_the_profiler_started_is_counted_not_dropped_silently(load):
    """The DLRM rank starts profiling while the GPU still runs earlier work: 872 activities
    whose launch is not in the file. The default window (steps after the warm-up) leaves
    them out, and the summary says how much GPU time that is and why."""
    path = corpus_file("negative_queue_length")
    events, _ = raw_events(path)
    device = raw_device(path)
    launch_ts = {e["args"]["correlation"]: e["ts"] for e in events
                 if e.get("ph") == "X" and e.get("cat") == "cuda_runtime" and "correlation" in e["args"]}
    steps = sorted((e["ts"], e["ts"] + e["dur"], int(e["name"].split("#")[1])) for e in events
                   if e.get("ph") == "X" and str(e.get("name", "")).startswith("ProfilerStep#"))
    selected = {n for _, _, n in steps[1:]}

    def step_at(t):
        return next((n for lo, hi, n in steps if lo <= t < hi), -1)

    no_launch = [e for e in device if e["args"].get("correlation") not in launch_ts]
    assert len(no_launch) == 872
    left_out = [e for e in no_launch if step_at(e["ts"]) not in selected]
    warmup = [e for e in device if e["args"].get("correlation") in launch_ts
              and step_at(launch_ts[e["args"]["correlation"]]) == steps[0][2]]

    trace = load(path)
    s = trace.summary()
    out = s["window"]["outside"]
    assert out["no_launch_kernels"] == len(left_out) > 0
    assert out["no_launch_ns"] == sum(ns(e["dur"]) for e in left_out)
    assert out["warmup_ns"] == sum(ns(e["dur"]) for e in warmup)
    assert out["ns"] == sum(ns(e["dur"]) for e in device) - s["total_ns"]
    assert out["ns"] == out["no_launch_ns"] + out["warmup_ns"] + out["between_steps_ns"] + \
        out["other_steps_ns"] + out["other_ns"]
    assert out["kernels"] == len(device) - s["kernels"]
    # one line, in the warnings and on top of the text summary
    assert out["line"] in s["warnings"]
    assert f"{len(left_out):,} activities launched before the profiler started" in out["line"]
    assert f"({out['ns'] / (out['ns'] + s['total_ns']):.0%})" in out["line"]
    # and they stay visible: the whole trace has them
    everything = trace.summary(step="all")
    assert everything["kernels"] == len(device)
    assert everything["window"]["outside"]["ns"] == 0 and everything["window"]["outside"]["line"] == ""


def test_a_default_window_with_no_kernels_says_where_they_are(load):
    path = corpus_file("mi250_minitoy_train")
    device = raw_device(path)
    s = load(path).summary()
    out = s["window"]["outside"]
    assert out["kernels"] == len(device) - s["kernels"] and out["ns"] > 0
    assert out["line"].startswith(f"{out['ns'] / 1e6:,.1f} ms of")


def test_summary_is_typed_and_json_has_its_fields(load, capsys):
    """--json writes the Summary's fields; keys only some traces have are absent elsewhere."""
    import json

    from tracekit.analysis.results import Summary
    from tracekit.report import json_report

    for path, device in ((DECODER, True), (SAMPLES / "cpu_only.pt.trace.json", False)):
        s = analysis.summarize(load(path))
        assert isinstance(s, Summary)
        json_report.render(s)
        doc = json.loads(capsys.readouterr().out)
        assert doc == json.loads(json.dumps(s.to_dict()))
        assert set(doc) == set(s.keys())
        assert ("gpu" in doc) is device and ("launch_overhead" in doc) is device
        assert ("outside" in doc["window"]) is device
        assert doc["total_ns"] == s.total_ns == s["total_ns"] == sum(doc["groups"].values())
