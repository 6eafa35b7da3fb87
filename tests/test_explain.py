"""``summary --explain`` and the unknown-kernel warning on real corpus traces: the groups of
the explanation add up to the trace's total, its disagreements are the kernels whose name
alone says another group than the op, and the warning names what no rule knows."""
from __future__ import annotations

import json
import sqlite3

import pytest

import tracekit
from tracekit.analysis import select
from tracekit.analysis.explain import explain
from tracekit.cli import main as cli_main
from tracekit.taxonomy import Taxonomy

from .conftest import CORPUS, corpus_file

RESNET = "param__train__compute__python__test__data__resnet_kineto"
CLOVER = CORPUS / "nsys" / "hpcgroup__pipit__pipit__tests__data__cloverleaf-nsys__perlmutter-cloverleaf-cuda.sqlite"


def test_explain_adds_up_and_lists_disagreements(load):
    trace = load(corpus_file(RESNET))
    result = explain(trace, select(trace, "all"))
    k = trace.kernels
    assert result["total_ns"] == int(k["dur_ns"].sum())
    assert sum(g["ns"] for g in result["groups"]) == result["total_ns"]
    for g in result["groups"]:
        assert sum(r["ns"] for r in g["rules"]) == g["ns"]
    # independently: kernels whose own name has a rule that says another group than the
    # one they got (host<->device copies aside)
    tx = Taxonomy.default()
    by_name = k["name"].astype(str).map(lambda n: tx.classify("kernels", n))
    differ = (by_name != "") & (by_name != k["group"].astype(str)) & ~k["copy"].isin(["HtoD", "DtoH"])
    assert sum(r["ns"] for r in result["disagreements"]) == int(k.loc[differ, "dur_ns"].sum()) > 0
    conv = [r for r in result["disagreements"] if r["group"] == "Convolution" and r["by_kernel_name"] == "GEMM"]
    assert conv and all(r["op"] for r in conv)
    # the rules are named by file and line
    rules = [r["rule"] for g in result["groups"] for r in g["rules"]]
    assert any("default.toml:" in r for r in rules)


def test_explain_cli(capsys):
    path = corpus_file(RESNET)
    assert cli_main.main(["summary", "--explain", "--json", "--no-cache", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {g["group"] for g in result["groups"]} >= {"Convolution", "Normalization"}
    assert cli_main.main(["summary", "--explain", "--no-cache", str(path)]) == 0
    out = capsys.readouterr().out
    assert "disagreements" in out and "Convolution" in out


def test_unknown_kernels_warning_names_them():
    if not CLOVER.is_file():
        pytest.skip("corpus trace absent")
    (trace,) = tracekit.load_all(CLOVER, cache=False)
    summary = trace.summary(step="all")
    (line,) = [w for w in summary["warnings"] if "no taxonomy rule knows" in w]
    assert "par_ranged2d_kernel" in line and "void clover::" not in line
    # the share it gives: the mini-app's own kernels (clover::par_ranged*) of all kernel time,
    # straight from the export
    db = sqlite3.connect(f"file:{CLOVER}?mode=ro", uri=True)
    clover, = db.execute(
        "SELECT SUM(k.end - k.start) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s "
        "ON s.id = k.demangledName WHERE s.value LIKE '%clover::par_ranged%'").fetchone()
    assert f"{clover / summary['total_ns']:.1%}" in line


def test_no_warning_when_everything_is_known(load):
    trace = load(corpus_file(RESNET))
    assert not [w for w in trace.summary()["warnings"] if "no taxonomy rule knows" in w]
