"""tracekit compare: rows matched across traces add up to each side's summary total, the
matched share agrees with a second computation, known differences show (ONNX Runtime
folds BatchNorm into Conv, TensorRT fuses Conv + Relu), comparability reasons, the
regression gate's exit codes and lines, and --json's keys.

Real inputs only: corpus pairs read in place, and one tiny conv model collected on CPU
under PyTorch eager, torch.compile and ONNX Runtime (all optimizations and none).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

import tracekit
from tests.conftest import CORPUS, corpus_file
from tracekit.analysis import select, summarize
from tracekit.analysis.compare import BY, compare
from tracekit.cli import main as cli_main

TRT = CORPUS / "tensorrt"
NSYS = CORPUS / "nsys"


def trt_profile(fragment: str) -> Path:
    if not TRT.is_dir():
        pytest.skip(f"corpus not found at {TRT}")
    hits = [p for p in sorted(TRT.glob("*resnet*.profile.json")) if fragment in p.name]
    assert len(hits) == 1, hits
    return hits[0]


def nsys_report(n: int) -> Path:
    path = NSYS / f"NVIDIA__Fuser__report{n}.sqlite"
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    return path


PAIRS = {
    "hta-diff": lambda: [corpus_file("trace_diff__control"), corpus_file("trace_diff__test")],
    "hta-compare": lambda: [corpus_file("trace_compare__base"), corpus_file("trace_compare__test")],
    "trt-fp16-fp32-int8": lambda: [trt_profile("A100__fp16"), trt_profile("A100__fp32"),
                                   trt_profile("A100__qat__")],
    "nsys-2-3": lambda: [nsys_report(2), nsys_report(3)],
}


def raw_total(trace, window) -> int:
    """The window's time summed straight from the trace's own table."""
    if len(trace.kernels):
        k = trace.kernels
        return int(k.loc[k.index.isin(window.kernels.index), "dur_ns"].sum())
    o = trace.ops
    return int(o.loc[o.index.isin(window.ops.index), "self_ns"].sum())


def check_adds_up(traces, comparison):
    for i, (trace, side) in enumerate(zip(traces, comparison.sides)):
        column = sum(r.ns[i] for r in comparison.rows)
        window = select(trace, None)
        assert column == side.total_ns == summarize(trace, window=window).total_ns == raw_total(trace, window)
        assert side.gemm_ns + side.non_gemm_ns + side.communication_ns == side.total_ns
        assert sum(side.groups.values()) == side.total_ns


# ---------------------------------------------------------------- corpus pairs

@pytest.mark.parametrize("by", BY)
@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_each_side_adds_up_to_its_summary_total(load, pair, by):
    traces = [load(p) for p in PAIRS[pair]()]
    comparison = compare(traces, by=by)
    check_adds_up(traces, comparison)
    unknown = ("(no operator)", "(no module)")  # on every side, yet not the same work
    for i, side in enumerate(comparison.sides):  # matched share: the rows every side has
        assert side.matched_ns == sum(r.ns[i] for r in comparison.rows
                                      if all(r.present) and r.key not in unknown)


def test_range_narrows_every_side_as_a_window_does(load, capsys):
    """--range NAME: each side adds up to the summary of the same window (the default step
    rule, narrowed to the ranges of that name), from the kernel table as well."""
    from tracekit.analysis import select_range

    paths = PAIRS["hta-diff"]()
    traces = [load(p) for p in paths]
    comparison = compare(traces, by="group", range_name="## forward ##")
    for i, (trace, side) in enumerate(zip(traces, comparison.sides)):
        window = select_range(trace, select(trace, None), name="## forward ##")
        assert 0 < sum(r.ns[i] for r in comparison.rows) == side.total_ns == \
            summarize(trace, window=window).total_ns == raw_total(trace, window)
        assert side.total_ns < summarize(trace).total_ns and "range ## forward ##" in side.window
    assert cli_main.main(["compare", *map(str, paths), "--range", "no such range"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tracekit: error:") and "\n" not in err
    assert f"{paths[0]}: range 'no such range' is not in the trace" in err


def test_summary_range_totals_equal_compare_sides(capsys):
    """summary --range NAME reads the window compare's sides read: same totals, in --json."""
    paths = PAIRS["hta-diff"]()
    for name in ("## forward ##", "## backward ##"):
        assert cli_main.main(["compare", *map(str, paths), "--range", name, "--json"]) == 0
        sides = json.loads(capsys.readouterr().out)["sides"]
        for path, side in zip(paths, sides):
            assert cli_main.main(["summary", str(path), "--range", name, "--json"]) == 0
            doc = json.loads(capsys.readouterr().out)
            assert doc["total_ns"] == side["total_ns"] > 0 and doc["gemm_ns"] == side["gemm_ns"]
            assert doc["groups"] == side["groups"]
            assert cli_main.main(["summary", str(path), "--json"]) == 0
            assert json.loads(capsys.readouterr().out)["total_ns"] > doc["total_ns"]
    assert cli_main.main(["summary", str(paths[0]), "--range", "no such range"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"tracekit: error: {paths[0]}: range 'no such range' is not in the trace"


def test_op_rows_read_as_their_operators(load):
    """Op rows carry the normalized key and a name as the trace spells the operator (the
    most common spelling on the first side that has the row); kernels launched outside
    every op are rows of what was launched, not one "cudalaunchkernel" row."""
    from collections import Counter

    from tracekit.model.names import kernel_base_name

    traces = [load(p) for p in PAIRS["hta-diff"]()]
    comparison = compare(traces, by="op")
    rows = {r.key: r for r in comparison.rows}
    # second method: op names of the kernels in the first side's window, counted
    k = select(traces[0], None).kernels
    ops = traces[0].ops
    with_op = k[k["op"] >= 0]
    names = ops["name"].astype(str).to_numpy()[with_op["op"].to_numpy()]
    mm = Counter(n for n in names if re.fullmatch(r"aten::(mm|addmm|bmm|matmul|linear)", n))
    assert rows["matmul"].name == mm.most_common(1)[0][0] == "aten::mm"
    comms = Counter(n for n in names if "record_param_comms" in n)
    assert rows["recordparamcomms"].name == comms.most_common(1)[0][0]
    # launches outside every op (the parser's stand-ins): rows keyed by the kernel launched
    stand_in = ops["op_type"].astype(str).to_numpy()[with_op["op"].to_numpy()] == "launch"
    assert stand_in.any() and "cudalaunchkernel" not in rows
    launched = with_op[stand_in]
    for base, part in launched.groupby(launched["name"].astype(str).map(kernel_base_name)):
        row = rows[base]
        assert row.name.startswith(("cudaLaunchKernel → ", "cuLaunchKernel → ")) and row.name.endswith(base)
        assert row.ns[0] == int(part["dur_ns"].sum())
    assert all(r.name == r.key for r in compare(traces, by="group").rows)


@pytest.mark.parametrize("pair", ["hta-diff", "nsys-2-3"])
def test_group_matched_share_by_a_second_method(load, pair):
    """Groups every side has, counted from the kernel tables with pandas alone."""
    traces = [load(p) for p in PAIRS[pair]()]
    comparison = compare(traces, by="group")
    windows = [select(t, None) for t in traces]
    present = [set(w.kernels["group"].astype(str)) for w in windows]
    common = set.intersection(*present)
    for side, w in zip(comparison.sides, windows):
        k = w.kernels
        expected = k.loc[k["group"].astype(str).isin(common), "dur_ns"].sum() / k["dur_ns"].sum()
        assert side.matched_share == pytest.approx(expected, abs=1e-12)


def nsys_sql(path: Path) -> dict:
    """Kernel, memcpy and memset time of an Nsight report read with sqlite3 alone: totals
    per table and kernel time per demangled name (through StringIds)."""
    import sqlite3

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sums = {t: db.execute(f"SELECT COUNT(*), COALESCE(SUM(end - start), 0) "
                              f"FROM CUPTI_ACTIVITY_KIND_{t}").fetchone()
                for t in ("KERNEL", "MEMCPY", "MEMSET")}
        by_name = db.execute("SELECT s.value, SUM(k.end - k.start) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                             "JOIN StringIds s ON s.id = k.demangledName GROUP BY s.value").fetchall()
    finally:
        db.close()
    return {"sums": sums, "by_name": by_name}


def test_nsight_reports_2_and_3_against_their_sqlite_tables(load, capsys):
    """The issue's Nsight pair (nvFuser on an H100 and an H200): each side's total is its
    file's kernel + memcpy + memset time summed with SQL over the whole trace (the summary's
    window for these files: they have no steps); rows by kernel are the SQL group-by on the
    kernel names reduced to base names; cuBLAS' nvjet GEMMs are GEMM on both sides; the
    rows only one side has are listed with their time; matched share = matched rows / total."""
    from collections import Counter

    from tracekit.model.names import kernel_base_name

    paths = PAIRS["nsys-2-3"]()
    traces = [load(p) for p in paths]
    sql = [nsys_sql(p) for p in paths]
    by_kernel = compare(traces, by="kernel")
    by_group = compare(traces, by="group")
    for i, (trace, raw) in enumerate(zip(traces, sql)):
        window = select(trace, None)
        assert window.describe() == "whole trace" and list(window.steps) == []
        total = sum(ns for _, ns in raw["sums"].values())
        assert total > 0 and raw["sums"]["MEMCPY"][0] and raw["sums"]["MEMSET"][0]
        for comparison in (by_kernel, by_group):
            side = comparison.sides[i]
            assert side.total_ns == total == sum(r.ns[i] for r in comparison.rows)
            assert side.window == "whole trace"
        assert sum(r.count[i] for r in by_kernel.rows) == sum(n for n, _ in raw["sums"].values())
        # rows by kernel: the SQL group-by, names reduced to base names
        expected: Counter = Counter()
        for name, ns in raw["by_name"]:
            expected[kernel_base_name(name)] += ns
        rows = {r.key: r.ns[i] for r in by_kernel.rows if r.ns[i]}
        copies = {k: ns for k, ns in rows.items() if k.startswith(("Memcpy", "Memset"))}
        assert {k: ns for k, ns in rows.items() if k not in copies} == dict(expected)
        assert sum(ns for k, ns in copies.items() if k.startswith("Memcpy")) == raw["sums"]["MEMCPY"][1]
        assert sum(ns for k, ns in copies.items() if k.startswith("Memset")) == raw["sums"]["MEMSET"][1]
        # the GEMMs: every nvjet kernel, and nothing else, is GEMM on this side
        nvjet = sum(ns for name, ns in raw["by_name"] if name.startswith("nvjet_"))
        assert nvjet > 0
        assert by_group.sides[i].gemm_ns == by_group.sides[i].groups["GEMM"] == nvjet
        assert {r.group for r in by_kernel.rows if r.key.startswith("nvjet_") and r.ns[i]} == {"GEMM"}
        # matched share: the matched rows' time over the side's total
        for comparison in (by_kernel, by_group):
            side = comparison.sides[i]
            matched = sum(r.ns[i] for r in comparison.rows if r.matched)
            assert side.matched_ns == matched and side.matched_share == pytest.approx(matched / total, abs=1e-15)
    # the two GPUs ran cuBLAS GEMMs of different tiles: by kernel those rows are one side's
    # each, listed with their time (and the other side's zero), never dropped
    unmatched = [r for r in by_kernel.rows if not r.matched]
    assert unmatched and all(r.key.startswith("nvjet_") for r in unmatched)
    for r in unmatched:
        (side,) = [i for i in range(2) if r.present[i]]
        assert r.ns[side] == sum(ns for name, ns in sql[side]["by_name"] if kernel_base_name(name) == r.key)
        assert r.ns[1 - side] == 0
    assert by_kernel.sides[0].matched_share < 1 and by_group.sides[0].matched_share == 1.0
    assert cli_main.main(["compare", *map(str, paths), "--by", "kernel", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["key"]: r["ns"] for r in doc["rows"] if not r["matched"]} == {r.key: r.ns for r in unmatched}
    assert cli_main.main(["compare", *map(str, paths), "--by", "kernel"]) == 0
    text = capsys.readouterr().out
    listed = text[text.index(f"Unmatched rows ({len(unmatched)})"):].splitlines()[3:3 + len(unmatched)]
    for r, line in zip(unmatched, listed):
        assert f"{max(r.ns) / 1000:.1f} µs" in line and r.group in line


def test_tensorrt_fp16_vs_fp32_matches_every_fused_layer(load, capsys):
    paths = [trt_profile("A100__fp16"), trt_profile("A100__fp32")]
    traces = [load(p) for p in paths]
    comparison = compare(traces, labels=["fp16", "fp32"], by="op")
    # from the profiles themselves: the per-layer averages, and the op types (numbers
    # dropped) each fused layer name joins
    for path, side in zip(paths, comparison.sides):
        layers = [e for e in json.loads(path.read_text())[1:] if "name" in e]
        assert side.total_ns == sum(round(e["averageMs"] * 1e6) for e in layers)
    kinds = []
    for path in paths:
        names = [e["name"] for e in json.loads(path.read_text())[1:] if "name" in e]
        fused = {tuple(re.sub(r"_\d+$", "", m) for m in n.split(" + ")) for n in names
                 if " + " in n and not n.startswith("Reformatting")}
        kinds.append(fused)
    assert kinds[0] == kinds[1] and ("Conv", "Relu") in kinds[0]
    for side in comparison.sides:  # the same engine layout: everything is matched
        assert side.matched_share == 1.0
    row = next(r for r in comparison.rows if r.key.startswith("conv + relu"))
    assert "add" in row.key and row.group == "Convolution"
    n_fused = sum(1 for n in (e["name"] for e in json.loads(paths[0].read_text())[1:] if "name" in e)
                  if " + " in n and not n.startswith("Reformatting"))
    assert row.fused[0].startswith(f"{n_fused} fused layers")
    assert any(r.startswith("different precision") for r in comparison.comparable.reasons)
    # fp32 runs the convolutions about twice as long
    assert 1.5 < row.ns[1] / row.ns[0] < 3
    print(f"\nTensorRT ResNet fp16 vs fp32 by op: totals {[s.total_ns for s in comparison.sides]} ns, "
          f"matched {[round(s.matched_share, 3) for s in comparison.sides]}, "
          f"{row.key}: {row.ns} ns")


def test_quantized_engine_shows_qdq_as_its_own_row(load):
    traces = [load(trt_profile("A100__fp16")), load(trt_profile("A100__qat__"))]
    comparison = compare(traces, by="group")
    qdq = next(r for r in comparison.rows if r.key == "QDQ")
    raw = traces[1].ops
    expected = int(raw.loc[raw["group"].astype(str) == "QDQ", "self_ns"].sum())
    assert qdq.ns == [0, expected] and expected > 0 and not qdq.matched


def test_a_trace_against_itself_is_identical(load, capsys):
    path = corpus_file("trace_compare__base")
    trace = load(path)
    comparison = compare([trace, trace])
    assert comparison.comparable.identical and comparison.comparable.ok
    assert comparison.comparable.reasons[0].startswith("identical")
    assert cli_main.main(["compare", str(path), str(path)]) == 0
    out = capsys.readouterr().out
    assert "identical" in out and "Matched rows" not in out


def test_different_time_bases_are_compared_as_shares(load, capsys):
    paths = [corpus_file("trace_diff__control"), trt_profile("A100__fp16")]
    comparison = compare([load(p) for p in paths])
    assert not comparison.comparable.ok
    assert any(r.startswith("different time bases") for r in comparison.comparable.reasons)
    assert cli_main.main(["compare", *map(str, paths), "--fail-if", "GEMM:+5%"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tracekit: error:") and "\n" not in err and "+Xpt" in err


# ---------------------------------------------------------------- the text at 80 and 120 columns

TEXT_CASES = {
    "hta-diff-op": (lambda: PAIRS["hta-diff"](), "op"),
    "trt-3-sides-op": (lambda: PAIRS["trt-fp16-fp32-int8"](), "op"),
    "trt-3-sides-group": (lambda: PAIRS["trt-fp16-fp32-int8"](), "group"),
}


def _whole(line: str, parts: list[str]) -> bool:
    """Whether ``parts`` stand in ``line`` in this order, each a whole cell (spaces or the
    line's ends around it), so that a cut number ("432.98…") does not count."""
    pattern = r".*?".join(rf"(?<!\S){re.escape(p)}(?!\S)" for p in parts)
    return re.search(pattern, line) is not None


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_text_never_cuts_a_number(capsys, monkeypatch, case, columns):
    """Every number the text shows for the sides and the rows it lists (the --json's
    values through the same formatters) stands whole, on one row's line; only names are
    cut, and every line fits the terminal."""
    from tracekit.report.fmt import duration, pct

    paths, by = TEXT_CASES[case][0](), TEXT_CASES[case][1]
    argv = ["compare", *map(str, paths), "--by", by]
    assert cli_main.main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("COLUMNS", str(columns))
    assert cli_main.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= columns
    out = "\n".join(lines)
    sides = doc["sides"]
    for s in sides:
        compute = s["compute_ns"]
        for part in (duration(s["total_ns"]), duration(s["gemm_ns"]), f"({pct(s['gemm_ns'] / compute)})",
                     duration(s["non_gemm_ns"]), f"({pct(s['non_gemm_ns'] / compute)})",
                     pct(s["matched_share"])):
            assert any(_whole(line, [part]) for line in lines), (part, out)
    matched = [r for r in doc["rows"] if r["matched"]][:10]
    unmatched = [r for r in doc["rows"] if not r["matched"]][:10]
    first, last = sides[0]["total_ns"], sides[-1]["total_ns"]
    for row in matched + unmatched:
        ns, present = row["ns"], row["present"]
        times = [duration(n) if p else "—" for n, p in zip(ns, present)]
        shares = [pct(n / s["total_ns"]) if p else "—" for n, p, s in zip(ns, present, sides)]
        d = ns[-1] - ns[0]
        delta = ("+" if d > 0 else "-" if d < 0 else "") + duration(abs(d))
        ratio = f"{ns[-1] / ns[0]:.2f}×" if ns[0] and ns[-1] and ns[-1] / ns[0] >= 0.1 else None
        points = f"{(ns[-1] / last - ns[0] / first) * 100:+.1f}pt"
        on_line = times + [delta] + ([ratio] if ratio else [])
        assert any(_whole(line, on_line) for line in lines), (row["name"], on_line, out)
        # the shares: beside the times, or in the shares table with their points
        beside = [x for t, sh in zip(times, shares) for x in ((t, sh) if t != "—" else (t,))]
        assert any(_whole(line, beside) for line in lines) or \
            any(_whole(line, shares + [points]) for line in lines), (row["name"], shares, out)
    # a fused layer's note is one line, beside the row or under the table
    notes = [line for line in lines if "fused layers:" in line]
    assert all(line.count("fused layers:") == 1 for line in notes)
    if by == "op" and case.startswith("trt"):
        assert len(notes) == 1 and re.search(r"fused layers: \S+ 17, \S+ 17, \S+ 8", notes[0]), notes


# ---------------------------------------------------------------- the gate

def test_gate_exits_1_with_one_line_per_exceeded_limit(load, capsys):
    paths = [corpus_file("trace_diff__control"), corpus_file("trace_diff__test")]
    windows = [(t, select(t, None)) for t in (load(p) for p in paths)]
    # expected growth from the kernel tables alone
    gemm = [int(w.kernels.loc[w.kernels["is_gemm"], "dur_ns"].sum()) for _, w in windows]
    memory = [int(w.kernels.loc[w.kernels["group"].astype(str) == "Memory", "dur_ns"].sum())
              for _, w in windows]
    totals = [int(w.kernels["dur_ns"].sum()) for _, w in windows]
    growth = (gemm[1] - gemm[0]) / gemm[0] * 100
    points = (memory[1] / totals[1] - memory[0] / totals[0]) * 100
    grown_ms = (memory[1] - memory[0]) / 1e6
    limits = [f"GEMM:+{growth - 1:.1f}%", f"GEMM:+{growth + 1:.1f}%",
              f"memory:+{points - 0.5:.2f}pt", f"Memory:+{points + 0.5:.2f}pt",
              f"Memory:+{grown_ms + 1:.1f}ms", f"Memory:+{grown_ms - 1:.1f}ms"]
    argv = ["compare", *map(str, paths)]
    for limit in limits:
        argv += ["--fail-if", limit]
    assert cli_main.main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("tracekit: limit exceeded:") for line in lines)
    assert [line.split(": ", 2)[2].split(":", 1)[0] for line in lines] == ["GEMM", "memory", "Memory"]
    assert cli_main.main([*argv[:3], "--fail-if", limits[1], "--fail-if", limits[3],
                          "--fail-if", limits[4]]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("limit, message", [
    ("GEMM+5%", "expected NAME:+X%"), ("GEMM:+5x", "expected NAME:+X%"),
    ("NoSuchGroup:+5%", "no group 'NoSuchGroup'"),
])
def test_gate_bad_limits_are_one_line_exit_2(capsys, limit, message):
    paths = [corpus_file("trace_compare__base"), corpus_file("trace_compare__test")]
    assert cli_main.main(["compare", *map(str, paths), "--fail-if", limit]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tracekit: error:") and "\n" not in err and message in err


def test_json_carries_sides_rows_and_comparable(capsys):
    paths = [corpus_file("trace_diff__control"), corpus_file("trace_diff__test")]
    assert cli_main.main(["compare", *map(str, paths), "--label", "A", "--label", "B",
                          "--by", "kernel", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["label"] for s in doc["sides"]] == ["A", "B"]
    for i, side in enumerate(doc["sides"]):
        assert {"label", "path", "total_ns", "gemm_ns", "matched_ns"} <= set(side)
        assert sum(r["ns"][i] for r in doc["rows"]) == side["total_ns"]
    assert all({"key", "group", "ns"} <= set(r) for r in doc["rows"])
    assert set(doc["comparable"]) >= {"ok", "reasons"}


def test_one_trace_is_not_a_comparison(capsys):
    assert cli_main.main(["compare", str(corpus_file("trace_compare__base"))]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "tracekit: error: compare needs at least two traces (1 given)"


def test_labels_must_fit_the_traces(capsys):
    paths = [corpus_file("trace_compare__base"), corpus_file("trace_compare__test")]
    assert cli_main.main(["compare", *map(str, paths), "--label", "only-one"]) == 2
    assert "1 labels for 2 traces" in capsys.readouterr().err


# ---------------------------------------------------------------- collected on CPU

torch = pytest.importorskip("torch", reason="collecting needs torch (pip install '.[collect]')")


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = torch.nn.Conv2d(c, c, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(c)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class TinyConvNet(torch.nn.Module):
    """Conv-BatchNorm-ReLU blocks in a Sequential: block indices name the same layers in
    PyTorch module ranges and in ONNX node scopes."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.layers = torch.nn.Sequential(*[Block(8) for _ in range(3)])
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x):
        return self.head(self.pool(self.layers(self.stem(x))).flatten(1))


def build_tinyconv():
    torch.manual_seed(0)
    return TinyConvNet().eval(), torch.rand(1, 3, 32, 32)


MODEL = "tests.test_compare:build_tinyconv"
STEPS = ["--steps", "2", "--warmup", "1"]


def _collect(out: Path, *argv) -> Path:
    from tracekit.cli import collect as collect_cmd

    parser = argparse.ArgumentParser()
    collect_cmd.add_arguments(parser)
    args = parser.parse_args([*argv, "--model", MODEL, *STEPS, "-o", str(out)])
    assert collect_cmd.run(args) == 0
    return out


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The tiny model under eager PyTorch and ONNX Runtime at two optimization levels."""
    pytest.importorskip("onnxruntime", reason="needs onnxruntime ('.[collect]')")
    out = tmp_path_factory.mktemp("compare")
    return {"eager": _collect(out / "eager.json", "torch"),
            "ort": _collect(out / "ort.json", "onnxruntime"),
            "ort-basic": _collect(out / "ort-basic.json", "onnxruntime", "--optimization", "basic"),
            "ort-none": _collect(out / "ort-none.json", "onnxruntime", "--optimization", "disable")}


def ort_total(path: Path) -> int:
    """Node time of every run but the first (warm-up), from the profile's own JSON."""
    events = json.loads(path.read_text())
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")[1:]
    return sum(e["dur"] * 1000 for e in events if e.get("cat") == "Node"
               and e["name"].endswith("_kernel_time") and any(a <= e["ts"] <= b for a, b in runs))


def ort_op_types(path: Path) -> set[str]:
    return {e["args"]["op_name"] for e in json.loads(path.read_text()) if e.get("cat") == "Node"}


@pytest.mark.parametrize("by", BY)
def test_collected_sides_add_up(collected, by):
    names = ["eager", "ort", "ort-basic", "ort-none"]
    traces = [tracekit.load(str(collected[n]), cache=False) for n in names]
    comparison = compare(traces, labels=names, by=by)
    check_adds_up(traces, comparison)
    for name in names[1:]:
        assert comparison.sides[names.index(name)].total_ns == ort_total(collected[name])


def test_onnxruntime_folds_batchnorm_into_conv(collected):
    names = ["eager", "ort", "ort-none"]
    traces = [tracekit.load(str(collected[n]), cache=False) for n in names]
    # from the raw profiles: the optimized graph runs no BatchNormalization node
    assert "BatchNormalization" not in ort_op_types(collected["ort"])
    assert "BatchNormalization" in ort_op_types(collected["ort-none"])
    comparison = compare(traces, labels=names, by="op")
    bn = next(r for r in comparison.rows if r.key == "batchnorm")
    assert bn.present == [True, False, True] and bn.ns[0] > 0 and bn.ns[2] > 0
    assert not bn.matched
    conv = next(r for r in comparison.rows if r.key == "conv")
    assert conv.matched and conv.names[0].startswith("aten::")
    # ReLU went into the fused Conv too: no relu row on the optimized side
    assert "Relu" not in ort_op_types(collected["ort"])
    relu = next(r for r in comparison.rows if r.key == "relu")
    assert relu.present == [True, False, True]
    groups = compare(traces, labels=names, by="group")
    norm = next(r for r in groups.rows if r.key == "Normalization")
    assert norm.ns[1] == 0 and norm.ns[2] > 0


def test_sides_with_different_step_counts_show_time_per_step(collected, capsys, monkeypatch):
    paths = [collected["eager"], collected["ort"]]
    comparison = compare([tracekit.load(str(p), cache=False) for p in paths])
    steps = [len(s.steps) for s in comparison.sides]
    if steps[0] == steps[1]:
        pytest.skip("the collectors' windows hold the same number of steps here")
    assert any(r.startswith("different step counts") for r in comparison.comparable.reasons)
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: no cell is cut
    assert cli_main.main(["compare", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    from tracekit.report.fmt import duration

    assert "per step" in out
    for s in comparison.sides:
        assert f"{duration(s.total_ns / len(s.steps))} ×{len(s.steps)}" in out


def test_module_level_matches_blocks_across_pytorch_and_onnx(collected, capsys):
    names = ["eager", "ort-none"]
    traces = [tracekit.load(str(collected[n]), cache=False) for n in names]
    comparison = compare(traces, labels=names, by="module")
    assert comparison.match.startswith("indices of repeated blocks")
    shares = [s.matched_share for s in comparison.sides]
    # second method: ONNX node names carry the Sequential index ("layers.1"), module ranges
    # the entry's label ("Block_1"); time in blocks 0-2 and outside them, per side
    eager, ort = traces
    w = select(eager, None)
    blocks = w.ops["module"].astype(str).str.extract(r"Block_(\d+)")[0]
    assert set(blocks.dropna()) == {"0", "1", "2"}
    events = json.loads(collected["ort-none"].read_text())
    nodes = {re.search(r"layers\.(\d+)/", e["name"]).group(1) if "layers." in e["name"] else "-"
             for e in events if e.get("cat") == "Node"}
    assert nodes == {"0", "1", "2", "-"}
    assert shares == [1.0, 1.0]
    keys = {r.key for r in comparison.rows}
    assert {"[0]", "[1]", "[2]"} <= keys
    print(f"\nmodule-level matched share eager vs ORT (no optimization): {shares}")


def test_torch_compile_side_adds_up(collected, tmp_path):
    """torch.compile on CPU: the compiled region holds the time and no module ranges, so
    module rows cannot match and the comparison says why."""
    path = tmp_path / "compile.json"
    code = cli_main.main(["collect", "torch", "--model", MODEL, *STEPS, "--compile", "-o", str(path)])
    if code == 2:  # no C++ toolchain: the collector says so in one line
        pytest.skip("torch.compile does not run here")
    assert code == 0
    traces = [tracekit.load(str(collected["eager"]), cache=False), tracekit.load(str(path), cache=False)]
    for by in ("group", "op", "module"):
        comparison = compare(traces, labels=["eager", "compile"], by=by)
        check_adds_up(traces, comparison)
    # Inductor's C++ kernels record themselves (the collector asks for it): their time is
    # theirs, in the group their fused op names say, no longer the compiled region's own
    assert json.loads(path.read_text())["tracekit"]["compile"]["cpp_kernel_profile"] is True
    ops = select(traces[1], None).ops
    names, groups = ops["name"].astype(str), ops["group"].astype(str)
    kernels = names.str.match(r"graph_\d+_cpp_fused_")
    assert kernels.any() and "Other" not in set(groups[kernels])
    assert all(g == "Normalization" for n, g in zip(names[kernels], groups[kernels]) if "batch_norm" in n)
    assert all(g == "Activation" for n, g in zip(names[kernels], groups[kernels])
               if re.fullmatch(r"graph_\d+_cpp_fused_relu_\d+", n))
    kernel_ns = int(ops.loc[kernels, "self_ns"].sum())
    groups_of = compare(traces, labels=["eager", "compile"], by="group")
    assert kernel_ns > 0 and sum(groups_of.sides[1].groups.values()) == groups_of.sides[1].total_ns
    # what stays the region's own is the wrapper between the kernels: said with its share
    region, own = compiled_region_share(traces[1])
    dynamo = dynamo_share(traces[1])
    reasons = [r for r in groups_of.comparable.reasons if "torch.compile's own" in r]
    assert region and reasons == ([f"compile: {own + dynamo:.1%} of its time is torch.compile's own "
                                   f"(in Other): {dynamo:.1%} Dynamo's guard checks and frame set-up, "
                                   f"{own:.1%} the compiled region's own: Inductor's Python wrapper and "
                                   "allocations between its kernels, which record nothing"]
                                  if own + dynamo >= 0.05 else [])
    print(f"\ncompile side: {kernel_ns / groups_of.sides[1].total_ns:.1%} of its time in Inductor's C++ kernels, "
          f"{own:.1%} the compiled region's own; groups {groups_of.sides[1].groups}")
    # the module rows: the compiled graph's range is no module of the model
    assert comparison.sides[1].matched_share == 0.0
    assert any(r.startswith("module rows cannot match much: compile has module paths for 0%")
               for r in comparison.comparable.reasons)
    # beside it, eager and ONNX Runtime still get their block rows
    three = compare([traces[0], tracekit.load(str(collected["ort-none"]), cache=False), traces[1]],
                    labels=["eager", "ort", "compile"], by="module")
    assert three.match.startswith("indices of repeated blocks")
    blocks = [r for r in three.rows if r.key in ("[0]", "[1]", "[2]")]
    assert len(blocks) == 3 and all(r.present == [True, True, False] for r in blocks)


def compiled_region_share(trace) -> tuple[int, float]:
    """Torch-Compiled Region ops in the window and the share of the window's time that is
    their own: their duration less their children's (not the parser's self time)."""
    ops = select(trace, None).ops
    names = ops["name"].astype(str)
    regions = ops[names.str.startswith("Torch-Compiled Region")]
    children = ops[ops["parent"].isin(regions["id"])]
    own = int(regions["dur_ns"].sum() - children["dur_ns"].sum())
    return len(regions), own / int(ops["self_ns"].sum())


def dynamo_share(trace) -> float:
    """The share of the window's time in Dynamo's own records (guard checks, frame set-up)."""
    ops = select(trace, None).ops
    own = ops["name"].astype(str).isin(["TorchDynamo Cache Lookup", "Pregraph bytecode"])
    return int(ops.loc[own, "self_ns"].sum()) / int(ops["self_ns"].sum())


def test_compiled_region_without_kernel_records_is_a_reason(collected, tmp_path):
    """Compiled without Inductor's kernel records, the C++ kernels' time is the region's
    own: opaque, and the comparison says how much of the side it is."""
    import os
    import subprocess
    import sys

    path = tmp_path / "compile-plain.json"
    # the user's choice wins; a process of its own, since Inductor reuses the kernels it
    # compiled in this one (with their records) whatever the setting
    env = {**os.environ, "TORCHINDUCTOR_CPP_ENABLE_KERNEL_PROFILE": "0",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", "import sys; from tracekit.cli.main import main; "
                           "sys.exit(main(sys.argv[1:]))", "collect", "torch", "--model", MODEL, *STEPS,
                           "--compile", "--no-summary", "-o", str(path)], env=env, capture_output=True, text=True)
    if done.returncode == 2:
        pytest.skip(f"torch.compile does not run here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    assert json.loads(path.read_text())["tracekit"]["compile"]["cpp_kernel_profile"] is False
    traces = [tracekit.load(str(collected["eager"]), cache=False), tracekit.load(str(path), cache=False)]
    assert not select(traces[1], None).ops["name"].astype(str).str.contains("cpp_fused").any()
    comparison = compare(traces, labels=["eager", "compile"])
    check_adds_up(traces, comparison)
    region, own = compiled_region_share(traces[1])
    dynamo = dynamo_share(traces[1])
    reasons = [r for r in comparison.comparable.reasons if "torch.compile's own" in r]
    assert region
    if own + dynamo >= 0.05:
        assert reasons == [reasons[0]] and reasons[0].startswith(f"compile: {own + dynamo:.1%} of its time is")
        assert f"{own:.1%} the compiled region's own: Inductor's generated code recorded nothing" in reasons[0]
    else:
        assert not reasons
    print(f"\ncompile without kernel records: {own:.1%} of the side is the compiled region's own")


# ---------------------------------------------------------------- the study's tables

def test_study_quantized_engine_qdq_time_and_growth(load):
    paths = [trt_profile("A100__fp16"), trt_profile("A100__qat__")]
    comparison = compare([load(p) for p in paths], labels=["fp16", "int8"])
    (table,) = comparison.study.quantized
    # from the profile JSON: standalone QuantizeLinear layers, and the layer counts
    layers = [[e for e in json.loads(p.read_text())[1:] if "name" in e] for p in paths]
    q = [e for e in layers[1] if re.fullmatch(r"(Quantize|Dequantize)Linear_\d+", e["name"])]
    assert table.base == "fp16" and table.quantized == "int8"
    assert table.qdq_ns == sum(round(e["averageMs"] * 1e6) for e in q) and table.qdq_ops == len(q) > 0
    assert (table.ops_base, table.ops_quantized) == (len(layers[0]), len(layers[1]))
    # ONNX nodes the layers name: fused names split on " + "; weights, reformat copies and
    # what TensorRT made itself ("reshape_after_Gemm_48", "(Unnamed Layer* 306) [Shuffle]")
    # left out
    def onnx_node(m):
        return not (m.startswith(("Reformatting", "copied_", "(Unnamed Layer")) or "_after_" in m
                    or m.endswith((".weight", ".bias")))

    nodes = [len({m for e in ls for m in e["name"].split(" + ") if onnx_node(m)}) for ls in layers]
    assert (table.nodes_base, table.nodes_quantized) == tuple(nodes) and nodes[1] > nodes[0]
    assert comparison.study.tensorrt == []  # no PyTorch or ONNX Runtime side


def test_study_tensorrt_and_cpu_vs_gpu_tables(load, collected):
    traces = [tracekit.load(str(collected["eager"]), cache=False), load(trt_profile("A100__fp16")),
              load(corpus_file("trace_diff__control"))]
    # every step, so that the eager side holds several (its warm-up too)
    comparison = compare(traces, labels=["eager", "trt", "gpu"], step="all")
    summaries = [summarize(t, "all") for t in traces]
    (trt,) = comparison.study.tensorrt
    from tracekit.analysis.fusion import fusion_report

    assert trt.before == "eager" and trt.after == "trt"
    assert trt.fusion_rate == fusion_report(traces[1]).fusion_rate
    # per step: a TensorRT profile is one inference, the eager window several steps
    steps = len(summaries[0].steps)
    assert steps > 1 and not summaries[1].steps
    assert (trt.non_gemm_before_ns, trt.non_gemm_after_ns) == (round(summaries[0].non_gemm_ns / steps),
                                                               summaries[1].non_gemm_ns)
    for g in trt.groups:
        a, b = round(summaries[0].groups.get(g.group, 0) / steps), summaries[1].groups.get(g.group, 0)
        assert (g.before_ns, g.after_ns) == (a, b)
        assert g.speedup == (pytest.approx(a / b) if a and b else None)
    assert trt.total_speedup == pytest.approx(round(summaries[0].total_ns / steps) / summaries[1].total_ns)
    assert f"eager's {steps} steps averaged" in trt.note and "different clocks" in trt.note
    shifts = {s.gpu: s for s in comparison.study.cpu_vs_gpu}
    assert set(shifts) == {"trt", "gpu"} and all(s.cpu == "eager" for s in shifts.values())
    cpu_share = summaries[0].non_gemm_ns / summaries[0].compute_ns
    gpu_share = summaries[2].non_gemm_ns / summaries[2].compute_ns
    assert shifts["gpu"].shift_pt == pytest.approx((gpu_share - cpu_share) * 100)


def test_each_reason_has_a_code_and_json_keeps_the_lines(load, capsys):
    from tracekit.analysis.compare_results import REASON_CODES

    paths = [corpus_file("rank_non_gpu"), corpus_file("trace_diff__control")]
    traces = [load(p) for p in paths]
    verdict = compare(traces).comparable
    assert len(verdict.reason_codes) == len(verdict.reasons) and set(verdict.reason_codes) <= set(REASON_CODES)
    lines = dict(zip(verdict.reason_codes, verdict.reasons))
    # what the traces are, read here: a host-only trace against a GPU one, 1 step against 5
    assert not len(traces[0].kernels) and len(traces[1].kernels)
    assert lines["time_basis"].startswith("different time bases")
    assert [len(select(t, None).steps) for t in traces] == [1, 5]
    assert lines["steps"].startswith("different step counts") and "1" in lines["steps"] and "5" in lines["steps"]
    assert cli_main.main(["compare", *map(str, paths), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)["comparable"]
    assert doc["reasons"] == verdict.reasons and all(isinstance(r, str) for r in doc["reasons"])
    assert doc["reason_codes"] == verdict.reason_codes
    same = compare([traces[0], traces[0]]).comparable
    assert same.reason_codes == ["identical"] and same.reasons[0].startswith("identical")


def test_compare_takes_the_callers_summaries_instead_of_summing_again(load, monkeypatch):
    from tracekit.analysis import compare as compare_mod

    traces = [load(trt_profile("A100__fp16")), load(trt_profile("A100__fp32"))]
    plain = compare(traces, by="op")
    summaries = [summarize(t) for t in traces]
    summed = []
    real = compare_mod.breakdown
    monkeypatch.setattr(compare_mod, "breakdown", lambda *a, **kw: summed.append(a) or real(*a, **kw))
    given = compare(traces, by="op", summaries=summaries)
    assert summed == [] and given.to_dict() == plain.to_dict()
    assert [s.total_ns for s in given.sides] == [s.total_ns for s in summaries]
