"""The ``tracekit`` command on real traces: summary (table and JSON), --by, --step,
several files, taxonomy, and the cache."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import tracekit
from tests.conftest import corpus_file

CLI = [sys.executable, "-m", "tracekit.cli.main"]
REQUIRED_KEYS = {"source", "time_basis", "total_ns", "gemm_ns", "non_gemm_ns", "unattributed_ns",
                 "groups", "kernels", "steps"}


def run(*args, cache_dir, columns=120):
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(cache_dir), COLUMNS=str(columns))
    result = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_summary_json_has_the_documented_keys_and_adds_up(cache_dir):
    path = corpus_file("with_gpu_user_annotation")
    out = json.loads(run("summary", path, "--json", "--step", "all", cache_dir=cache_dir).stdout)
    assert REQUIRED_KEYS <= set(out)
    assert out["source"] == "kineto" and out["time_basis"] == "device"
    assert sum(out["groups"].values()) == out["total_ns"] == out["gemm_ns"] + out["non_gemm_ns"]
    assert out["kernels"] == len(tracekit.load(path, cache_dir=cache_dir).kernels)


def test_summary_table_shows_the_gemm_split_groups_and_top_ops(cache_dir):
    path = corpus_file("critical_path__alexnet")
    text = run("summary", path, cache_dir=cache_dir).stdout
    for needle in ("GEMM-based", "non-GEMM", "Time by group", "Convolution", "total",
                   "Top non-GEMM ops", "100.0%"):
        assert needle in text, needle
    summary = tracekit.load(path, cache_dir=cache_dir).summary()
    assert f"{summary['total_ns'] / 1e6:,.2f}" in text


@pytest.mark.parametrize("by", ["op", "kernel", "module"])
def test_by_tables(by, cache_dir):
    path = corpus_file("critical_path__alexnet")
    out = json.loads(run("summary", path, "--json", "--by", by, "--top", "5", cache_dir=cache_dir).stdout)
    rows = out["by"][by]
    assert 0 < len(rows) <= 5
    assert rows == sorted(rows, key=lambda r: -r["total_ns"])
    full = tracekit.load(path, cache_dir=cache_dir).breakdown(by=by)
    assert int(full["total_ns"].sum()) == out["total_ns"]
    text = run("summary", path, "--by", by, "--top", "5", cache_dir=cache_dir).stdout
    assert f"Time by {by}" in text


def test_step_selection(cache_dir):
    path = corpus_file("ns_resolution_trace")
    steps = tracekit.load(path, cache_dir=cache_dir).meta["steps"]
    one = json.loads(run("summary", path, "--json", "--step", steps[2], cache_dir=cache_dir).stdout)
    assert one["steps"] == [steps[2]]
    rng = json.loads(run("summary", path, "--json", "--step", f"{steps[1]}-{steps[2]}", cache_dir=cache_dir).stdout)
    assert rng["steps"] == steps[1:3] and rng["total_ns"] >= one["total_ns"]


def test_several_files_give_one_summary_each_and_a_combined_one(cache_dir):
    a, b = corpus_file("trace_filter__sampled_rank-1"), corpus_file("timeline_analysis__sampled_rank-0")
    out = json.loads(run("summary", a, b, "--json", cache_dir=cache_dir).stdout)
    assert len(out["traces"]) == 2
    combined = out["combined"]
    assert combined["total_ns"] == sum(t["total_ns"] for t in out["traces"])
    for group, ns in combined["groups"].items():
        assert ns == sum(t["groups"].get(group, 0) for t in out["traces"])
    assert sorted(combined["ranks"]) == [0, 1]
    text = run("summary", a, b, cache_dir=cache_dir).stdout
    assert "Combined over 2 traces" in text


def test_rank_tarball_summary(cache_dir):
    out = json.loads(run("summary", corpus_file("dlrm_kineto.tar.gz"), "--json", cache_dir=cache_dir).stdout)
    assert len(out["traces"]) == 8 and out["combined"]["traces"] == 8


def test_cpu_only_summary(cache_dir):
    out = json.loads(run("summary", corpus_file("rank_non_gpu"), "--json", cache_dir=cache_dir).stdout)
    assert out["time_basis"] == "cpu_self" and out["kernels"] == 0 and out["total_ns"] > 0


def test_taxonomy_command_and_user_override(tmp_path, cache_dir):
    text = run("taxonomy", cache_dir=cache_dir).stdout
    assert "Normalization" in text and "Precedence" in text
    rules = json.loads(run("taxonomy", "--json", cache_dir=cache_dir).stdout)
    assert {g["name"] for g in rules["groups"]} >= {"GEMM", "Normalization", "Unattributed"}
    user = tmp_path / "mine.toml"
    user.write_text('[groups]\nBatchNorm = { gemm = false }\n\n[[ops]]\ngroup = "BatchNorm"\n'
                    'names = ["cudnn_batch_norm"]\n')
    out = json.loads(run("taxonomy", "--taxonomy", user, "--classify", "aten::cudnn_batch_norm",
                         "--json", cache_dir=cache_dir).stdout)
    assert out[0]["ops"] == "BatchNorm"
    path = corpus_file("critical_path__alexnet")
    default = json.loads(run("summary", path, "--json", cache_dir=cache_dir).stdout)
    mine = json.loads(run("summary", path, "--json", "--taxonomy", user, cache_dir=cache_dir).stdout)
    assert mine["total_ns"] == default["total_ns"]
    if default["groups"].get("Normalization"):
        assert "BatchNorm" in mine["groups"]


def test_cache_is_reused_and_invalidated(tmp_path):
    src = corpus_file("critical_path__alexnet")
    path = tmp_path / src.name
    shutil.copy(src, path)
    cache = tmp_path / "cache"
    first = tracekit.load(path, cache_dir=cache)
    assert any(cache.iterdir())
    again = tracekit.load(path, cache_dir=cache)
    for name, table in first.tables().items():
        other = again.tables()[name]
        assert list(table.columns) == list(other.columns), name
        assert table.reset_index(drop=True).astype(str).equals(other.reset_index(drop=True).astype(str)), name
    assert again.summary() == first.summary()
    assert again.meta == first.meta  # the typed meta round-trips, extras included
    # an index whose meta has the wrong types is a miss: the file is parsed again
    import parsers
    from tracekit import cache as trace_cache

    tag = parsers.cache_tag(parsers.kineto)
    assert trace_cache.load(str(path), cache, tag) is not None
    (index,) = cache.glob("*/index.json")
    doc = json.loads(index.read_text())
    doc["traces"][0]["steps"] = ["1"]
    index.write_text(json.dumps(doc))
    assert trace_cache.load(str(path), cache, tag) is None
    assert tracekit.load(path, cache_dir=cache).meta.steps == first.meta.steps
    # a changed file is parsed again
    time.sleep(0.01)
    path.write_bytes(b'{"traceEvents": []}')
    assert len(tracekit.load(path, cache_dir=cache).kernels) == 0
    # --no-cache never writes
    empty = tmp_path / "nocache"
    tracekit.load(path, cache=False, cache_dir=empty)
    assert not empty.exists()
