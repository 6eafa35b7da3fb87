"""``tracekit report`` and ``summary --plot``: the HTML page of a small CPU sweep and of
corpus traces holds every figure with its axis labels and legend, the CSV numbers equal
each trace's ``summary --json``, names from traces are escaped, the page renders in a real
headless browser, and matplotlib is optional and imported only when a figure is drawn."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest

from tests.conftest import CORPUS, corpus_file

pytest.importorskip("matplotlib", reason="figures need matplotlib (pip install '.[report]')")

FIGURES = {
    "fig-gemm-split": ["time per step (ms)", "share of total time (%)", "batch size, per model",
                       "GEMM-based", "non-GEMM"],
    "fig-non-gemm-groups": ["non-GEMM time per step (ms)", "batch size, per model", "non-GEMM group"],
    "fig-runtime-comparison": ["time per step (ms)", "runtime, per batch size", "group"],
    "fig-amdahl": ["speedup if GEMM time → 0 (×)", "batch size, per model", "runtime"],
}


def cli(*argv):
    """tracekit in this process: (exit code, stdout, stderr)."""
    from tracekit.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


class Page(HTMLParser):
    """Figures (with the text of their SVG), section ids, tables' cells and every tag."""

    def __init__(self, text: str):
        super().__init__()
        self.figures: dict[str, list[str]] = {}
        self.sections: list[str] = []
        self.cells: list[str] = []
        self.tags: set[str] = set()
        self._figure = None
        self._in = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self._in.append(tag)
        if tag == "figure":
            self._figure = attrs["id"]
            self.figures[self._figure] = []
        if tag == "section":
            self.sections.append(attrs["id"])

    def handle_endtag(self, tag):
        while self._in and self._in.pop() != tag:
            pass
        if tag == "figure":
            self._figure = None

    def handle_data(self, data):
        if self._figure and "text" in self._in:
            self.figures[self._figure].append(data.strip())
        if self._in and self._in[-1] == "td":
            self.cells.append(data)


def summary_json(path) -> dict:
    code, out, err = cli("summary", path, "--json", "--no-cache")
    assert code == 0, err
    return json.loads(out)


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_matches_summary(row: dict, doc: dict) -> None:
    """One traces.csv row against the trace's summary --json."""
    for key in ("total_ns", "compute_ns", "gemm_ns", "non_gemm_ns", "communication_ns", "unattributed_ns"):
        assert int(row[key]) == doc[key], (key, row["path"])
    if doc["gemm_free_speedup"] is None:
        assert row["gemm_free_speedup"] == ""
    else:
        assert float(row["gemm_free_speedup"]) == pytest.approx(doc["gemm_free_speedup"], rel=1e-12)
    assert row["time_basis"] == doc["time_basis"] and row["steps"] == " ".join(map(str, doc["steps"]))


@pytest.fixture(scope="module")
def sweep_report(tiny_sweep, tmp_path_factory):
    folder, _ = tiny_sweep
    out = tmp_path_factory.mktemp("report")
    start = time.perf_counter()
    code, _, err = cli("report", folder, "-o", out / "report.html", "--csv", out / "csv", "--no-cache")
    print(f"report of the tiny sweep: {time.perf_counter() - start:.1f} s")
    assert code == 0, err
    return folder, out


def test_sweep_report_has_every_figure_with_labels_and_legend(sweep_report):
    _, out = sweep_report
    page = Page((out / "report.html").read_text())
    assert set(FIGURES) <= set(page.figures)
    for fid, words in FIGURES.items():
        texts = page.figures[fid]
        for word in words:
            assert word in texts, (fid, word)
    gemm = page.figures["fig-gemm-split"]
    for name in ("gpt2", "resnet50", "torch", "onnxruntime", "b1", "b2", "s32"):
        assert name in gemm, name
    # resnet's non-GEMM groups (the study's Normalization, Activation, Pooling) in the legend
    assert {"Normalization", "Activation"} <= set(page.figures["fig-non-gemm-groups"])
    assert "Convolution" in page.figures["fig-runtime-comparison"]
    assert {"gemm", "non-gemm", "comparison", "amdahl", "provenance"} <= set(page.sections)
    assert not {"script", "link", "img", "iframe"} & page.tags  # self-contained, nothing fetched


def test_sweep_csv_equals_summary_json_of_every_trace(sweep_report):
    folder, out = sweep_report
    rows = read_csv(out / "csv" / "traces.csv")
    index = json.loads((folder / "index.json").read_text())
    assert sorted(r["path"] for r in rows) == sorted(str(folder / e["file"]) for e in index["traces"])
    groups = read_csv(out / "csv" / "groups.csv")
    for row in rows:
        doc = summary_json(row["path"])
        assert_matches_summary(row, doc)
        mine = {g["group"]: int(g["ns"]) for g in groups if g["path"] == row["path"]}
        assert mine == {k: v for k, v in doc["groups"].items()}
        assert sum(mine.values()) == int(row["total_ns"])  # the groups add up


def test_runtime_comparison_sides_add_up_to_each_trace_total(sweep_report):
    _, out = sweep_report
    traces = {r["path"]: r for r in read_csv(out / "csv" / "traces.csv")}
    sides: dict = {}
    for row in read_csv(out / "csv" / "comparison.csv"):
        sides.setdefault(row["path"], []).append(float(row["ms_per_step"]))
    assert set(sides) == set(traces)  # both models ran under both runtimes
    for path, ms in sides.items():
        steps = len(traces[path]["steps"].split())
        assert sum(ms) * steps * 1e6 == pytest.approx(int(traces[path]["total_ns"]), rel=1e-9)


def test_forked_workers_give_the_page_one_process_gives(sweep_report, monkeypatch, tmp_path):
    folder, _ = sweep_report
    gpt2 = sorted(p for p in folder.glob("gpt2-*.json") if not p.name.endswith(".meta.json"))
    assert len(gpt2) == 4
    pages = []
    for workers in ("1", "3"):
        monkeypatch.setenv("TRACEKIT_WORKERS", workers)
        code, _, err = cli("report", *gpt2, "-o", tmp_path / f"w{workers}.html", "--no-cache")
        assert code == 0, err
        pages.append((tmp_path / f"w{workers}.html").read_bytes())
    assert pages[0] == pages[1] and b'id="fig-runtime-comparison"' in pages[0]


def test_sweep_provenance_table_shows_the_summary_numbers(sweep_report):
    _, out = sweep_report
    page = Page((out / "report.html").read_text())
    for row in read_csv(out / "csv" / "traces.csv"):
        assert row["path"] in page.cells and row["total_ns"] in page.cells and row["gemm_ns"] in page.cells


def _screenshot(html_path, png_path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("no headless browser: install Debian's chromium to render the page")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1400,2400", f"--screenshot={png_path}", html_path.as_uri()],
                   check=True, capture_output=True, timeout=120)


def test_page_renders_in_a_headless_browser(sweep_report):
    from PIL import Image

    _, out = sweep_report
    png = out / "report.png"
    _screenshot(out / "report.html", png)
    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    not_white = sum(n for n, c in colours if c != (255, 255, 255))
    assert image.size == (1400, 2400)
    assert not_white > 0.03 * image.size[0] * image.size[1]  # text, bars and tables drawn
    # the GEMM blue and the non-GEMM orange of the first figure are on screen
    from tracekit.report import colors

    drawn = {c for _, c in colours}
    for hexa in (colors.GEMM_COLOR, colors.NON_GEMM_COLOR):
        assert tuple(int(hexa[i:i + 2], 16) for i in (1, 3, 5)) in drawn


# --------------------------------------------------------------------------- corpus

def corpus_inputs() -> list:
    names = ["resnet50_num_workers_0__worker0.1623143566756", "nccl_parser_config__nccl_data"]
    paths = [corpus_file(n) for n in names]
    trt = CORPUS / "tensorrt" / ("NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__"
                                 "pytorch__resnet__A100__fp16__resnet.onnx.engine.profile.json")
    if not trt.exists():
        pytest.skip(f"corpus file {trt.name} not found")
    return [*paths, trt]


def test_corpus_report_shows_fusion_communication_and_devices(tmp_path, cache_dir):
    paths = corpus_inputs()
    code, _, err = cli("report", *paths, "-o", tmp_path / "r.html", "--csv", tmp_path / "csv",
                       "--cache-dir", cache_dir)
    assert code == 0, err
    page = Page((tmp_path / "r.html").read_text())
    assert {"fusion", "communication", "devices", "provenance"} <= set(page.sections)
    assert set(FIGURES) - {"fig-runtime-comparison"} <= set(page.figures)
    rows = read_csv(tmp_path / "csv" / "traces.csv")
    assert len(rows) == 3
    for row in rows:
        doc = summary_json(row["path"])
        assert_matches_summary(row, doc)
    nccl = next(r for r in rows if "nccl" in r["path"])
    assert int(nccl["communication_ns"]) > 0
    trt = next(r for r in rows if r["source"] == "trt")
    assert trt["runtime"] == "tensorrt"


# --------------------------------------------------------------------------- safety

HOSTILE = '<script>alert(1)</script>$x$\x1b[2J&amp;"'


def hostile_trace(tmp_path):
    events = [
        {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 0, "dur": 30},
        {"ph": "X", "cat": "cpu_op", "name": HOSTILE, "pid": 1, "tid": 1, "ts": 40, "dur": 20},
    ]
    path = tmp_path / f"{HOSTILE[:8]}$m$.json"
    path.write_text(json.dumps({"traceEvents": events}))
    return path


def test_names_from_traces_are_escaped_on_the_page_and_in_csv(tmp_path):
    path = hostile_trace(tmp_path)
    code, _, err = cli("report", path, "-o", tmp_path / "r.html", "--csv", tmp_path / "csv", "--no-cache")
    assert code == 0, err
    text = (tmp_path / "r.html").read_text()
    assert "<script" not in text and "\x1b" not in text
    page = Page(text)
    assert any(HOSTILE[:25] in c for c in page.cells)  # shown as text, escaped
    top = read_csv(tmp_path / "csv" / "top_ops.csv")
    assert any(r["name"].startswith("<script>") and "\x1b" not in r["name"] for r in top)


def test_two_runs_of_one_configuration_get_a_bar_each(tmp_path):
    first = hostile_trace(tmp_path)
    (tmp_path / "again").mkdir()
    second = tmp_path / "again" / first.name  # the same model name, runtime and batch
    second.write_text(first.read_text().replace('"dur": 30', '"dur": 60'))
    code, _, err = cli("report", first, second, "-o", tmp_path / "r.html", "--csv", tmp_path / "csv",
                       "--no-cache")
    assert code == 0, err
    page = Page((tmp_path / "r.html").read_text())
    ticks = [t for t in page.figures["fig-gemm-split"] if t.endswith("#2")]
    assert ticks and ticks[0].startswith("<script>")  # the model name, shown as text
    assert len(read_csv(tmp_path / "csv" / "traces.csv")) == 2
    # the same inputs give the same page, byte for byte (no dates, no random ids)
    assert cli("report", first, second, "-o", tmp_path / "again.html", "--no-cache")[0] == 0
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "r.html").read_bytes()


def steps_trace(path, durations_us):
    """A Kineto trace of profiler steps, each an aten::mm and an aten::layer_norm."""
    events, t = [], 0
    for step, dur in enumerate(durations_us, start=1):
        events += [{"ph": "X", "cat": "user_annotation", "name": f"ProfilerStep#{step}", "pid": 1,
                    "tid": 1, "ts": t, "dur": dur + 2},
                   {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": t + 1,
                    "dur": dur * 0.6},
                   {"ph": "X", "cat": "cpu_op", "name": "aten::layer_norm", "pid": 1, "tid": 1,
                    "ts": t + 1 + dur * 0.6, "dur": dur * 0.4}]
        t += dur + 10
    path.write_text(json.dumps({"traceEvents": events}))
    return path


def test_a_step_outlier_is_named_on_the_page_and_numbers_never_wrap(tmp_path):
    """A step far off the others (a noisy neighbour on a shared CPU) weighs on every per-step
    figure: the page names it with the summary's line, for that trace only. The inputs
    table breaks long paths anywhere but never a number."""
    import html
    import re

    # step 4 takes 9x the others; the warm-up step 1 is dropped by the window
    odd = steps_trace(tmp_path / "odd.json", [500, 100, 110, 900, 105, 95])
    even = steps_trace(tmp_path / "even.json", [500, 100, 110, 104, 105, 95])
    code, _, err = cli("report", odd, even, "-o", tmp_path / "r.html", "--no-cache")
    assert code == 0, err
    text = (tmp_path / "r.html").read_text()
    line = summary_json(odd)["step_outlier"]
    assert line.startswith("step 4 is an outlier") and summary_json(even)["step_outlier"] == ""
    block = re.search(r"id=step-outliers>(.*?)</ul>", text, re.S)
    assert block, "no step-outlier note on the page"
    items = [html.unescape(i) for i in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]
    assert len(items) == 1 and items[0].endswith(": " + line)
    assert text.index("id=step-outliers") < text.index('id="gemm"')  # before the figures it weighs on
    assert ".provenance td.num{white-space:nowrap}" in text and "break-all" not in text
    page = Page(text)
    assert str(summary_json(odd)["total_ns"]) in page.cells
    assert re.search(r'<td class="num">%d</td>' % summary_json(odd)["total_ns"], text)


def test_bad_inputs_and_outputs_are_one_line(tmp_path):
    trace = hostile_trace(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "index.json").write_text("{not json")
    cases = [(["report", tmp_path / "missing.json"], "no such file or folder"),
             (["report", tmp_path / "empty"], "no trace files found"),
             (["report", tmp_path / "bad"], "not a sweep index"),
             (["report", trace, "-o", tmp_path / "no" / "dir" / "r.html"], "cannot write")]
    for argv, words in cases:
        code, _, err = cli(*argv, "--no-cache")
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, (argv, err)


# --------------------------------------------------------------------------- summary --plot

def test_summary_plot_writes_an_svg_with_groups_and_axis_label(tmp_path, tiny_sweep):
    folder, _ = tiny_sweep
    trace = next(folder.glob("resnet50-torch-b1*.json"))
    code, _, err = cli("summary", trace, "--plot", tmp_path / "b.svg", "--no-cache")
    assert code == 0, err
    svg = (tmp_path / "b.svg").read_text()
    doc = summary_json(trace)
    assert svg.startswith("<svg") and "time in the window (ms, cpu_self basis)" in svg
    for group, ns in doc["groups"].items():
        if ns:
            assert f"{ns / 1e6:,.2f} ms" in svg and group in svg


# --------------------------------------------------------------------------- optional extra

def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_without_matplotlib_report_says_what_to_install(tmp_path):
    path = hostile_trace(tmp_path)
    done = _run("import sys; sys.modules['matplotlib'] = None\n"
                "from tracekit.cli.main import main\n"
                f"sys.exit(main(['report', {str(path)!r}, '-o', {str(tmp_path / 'r.html')!r}]))")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("tracekit: error: tracekit report needs matplotlib, which is not "
                                   'installed (pip install "tracekit[report]")')
    assert not (tmp_path / "r.html").exists()


def test_matplotlib_is_imported_only_to_draw(tmp_path):
    path = hostile_trace(tmp_path)
    done = _run("import sys, contextlib, io\n"
                "from tracekit.cli.main import build_parser, main\n"
                "build_parser()\n"
                "with contextlib.redirect_stdout(io.StringIO()):\n"
                f"    main(['summary', {str(path)!r}, '--no-cache'])\n"
                "print('matplotlib' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_runtime_comparison_leaves_out_the_caveats_its_figure_handles(load):
    """Reasons are picked by code: the figure divides each side by its own steps, so a
    step-count difference is no caveat; a time-basis difference is."""
    from tracekit.analysis.compare import compare
    from tracekit.report import dataset
    from tracekit.report.comparison import model_comparisons

    traces = [load(corpus_file("rank_non_gpu")), load(corpus_file("trace_diff__control"))]
    labels = [{"model": "m", "runtime": r, "batch": 1} for r in ("torch", "onnxruntime")]
    entries = dataset.build(traces, labels)
    (point,) = model_comparisons(entries)[0].points
    verdict = compare(traces, labels=["torch", "onnxruntime"]).comparable
    lines = dict(zip(verdict.reason_codes, verdict.reasons))
    assert {"time_basis", "steps", "warmup"} <= set(lines)
    assert point.reasons == [lines["time_basis"], lines["warmup"]]
