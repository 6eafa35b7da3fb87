"""``tracekit summary`` over ranks: a folder of per-rank corpus traces summarized on local
processes and on a Dask LocalCluster, checked against each rank summarized on its own and
against the step times read from the raw JSON."""
from __future__ import annotations

import json
import re
import statistics
import tarfile

import pytest

import tracekit
from tests.conftest import SAMPLES, corpus_file, raw_events
from tracekit import cache, cores, ranks
from tracekit.cli.main import main

RANKS = ("timeline_analysis__sampled_rank-0", "trace_filter__sampled_rank-1")


@pytest.fixture(scope="module")
def rank_dir(tmp_path_factory):
    """A job's folder of ranks: links to the corpus files (read in place) plus a stray file."""
    folder = tmp_path_factory.mktemp("ranks")
    for fragment in RANKS:
        path = corpus_file(fragment)
        (folder / path.name).symlink_to(path)
    (folder / "notes.txt").write_text("not a trace")
    return folder


def _summary_json(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["summary", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _selected_step_means(path) -> float:
    """Mean ProfilerStep duration (ns) under the default rule (all but the first of
    several steps), from the raw events."""
    events, _ = raw_events(path)
    steps = sorted((int(m.group(1)), e["dur"]) for e in events
                   if e.get("ph") == "X" and (m := re.fullmatch(r"ProfilerStep#(\d+)", str(e.get("name")))))
    chosen = steps[1:] if len(steps) > 1 else steps
    return statistics.mean(d for _, d in chosen) * 1000


def test_folder_of_ranks_in_parallel(rank_dir, tmp_path, capsys):
    out = _summary_json(capsys, rank_dir, "--cache-dir", tmp_path)
    paths = [corpus_file(f) for f in RANKS]
    assert [t["path"] for t in out["traces"]] == [str(rank_dir / p.name) for p in paths]
    for doc, path in zip(out["traces"], paths):
        alone = tracekit.load(path, cache=False).summary()
        assert doc["total_ns"] == alone.total_ns and doc["groups"] == alone.groups
    combined = out["combined"]
    assert combined["total_ns"] == sum(t["total_ns"] for t in out["traces"])
    rows = out["ranks"]["rows"]
    assert [r["rank"] for r in rows] == [0, 1]
    for row, doc, path in zip(rows, out["traces"], paths):
        assert row["step_ns"] == pytest.approx(_selected_step_means(path), abs=1)
        assert row["busy_ns"] == doc["gpu"]["busy_ns"] and row["idle_ns"] == doc["gpu"]["idle_ns"]
        assert row["communication_ns"] == doc["communication_ns"] > 0
    med = statistics.median(r["step_ns"] for r in rows)
    assert out["ranks"]["stragglers"] == [r["rank"] for r in rows if r["step_ns"] > med * 1.05]
    assert [r["straggler"] for r in rows] == [r["step_ns"] > med * 1.05 for r in rows]
    assert out["ranks"]["repeated"] == []
    assert out["ranks"]["slowest"] == max(rows, key=lambda r: r["step_ns"])["rank"]
    assert out["ranks"]["slowest_row"] == max(range(len(rows)), key=lambda i: rows[i]["step_ns"])
    assert all(r["named"] for r in rows)
    # the ranks were normalized once and cached as Arrow: a worker reads them back
    for path in paths:
        assert cache.load(str(rank_dir / path.name), tmp_path, parser="kineto:1") is not None


def test_dask_cluster_gives_the_same_result(rank_dir, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    local = _summary_json(capsys, rank_dir, "--cache-dir", tmp_path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        on_dask = _summary_json(capsys, rank_dir, "--cache-dir", tmp_path,
                                "--scheduler", cluster.scheduler_address)
    assert on_dask == local


def test_rank_table_text(rank_dir, tmp_path, capsys):
    assert main(["summary", str(rank_dir), "--cache-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "Ranks (2)" in text and "Combined over 2 traces" in text and "slowest rank: " in text


def test_a_rank_in_two_files_is_warned_about(tmp_path, capsys):
    """Two runs' traces in one folder: both files say rank 0; each is kept and counted, and
    one warning line names them."""
    first, other = corpus_file(RANKS[0]), corpus_file(RANKS[1])
    folder = tmp_path / "job"
    folder.mkdir()
    for name, target in (("a-rank0.json.gz", first), ("b-rank1.json.gz", other), ("c-rank0.json.gz", first)):
        (folder / name).symlink_to(target)
    capsys.readouterr()
    assert main(["summary", str(folder), "--json", "--cache-dir", str(tmp_path / "cache")]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    rows = out["ranks"]["rows"]
    assert [r["rank"] for r in rows] == [0, 1, 0] and out["ranks"]["repeated"] == [0]
    assert out["combined"]["total_ns"] == sum(t["total_ns"] for t in out["traces"])
    assert out["traces"][0]["total_ns"] == out["traces"][2]["total_ns"]
    warning = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "rank 0" in warning[0]
    assert str(folder / "a-rank0.json.gz") in warning[0] and str(folder / "c-rank0.json.gz") in warning[0]
    assert main(["summary", str(folder), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "rank 0 is claimed by rows 1, 3: a-rank0.json.gz, c-rank0.json.gz" in capsys.readouterr().out
    # two members of one archive that share a rank: the loader's warning, not a second one
    archive = tmp_path / "job.tar"
    with tarfile.open(archive, "w") as tar:
        for name in ("a-rank0.json.gz", "c-rank0.json.gz"):
            tar.add(first, arcname=name)
    assert main(["summary", str(archive), str(other), "--cache-dir", str(tmp_path / "cache")]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "2 traces claim rank 0" in warning[0]


def test_a_trace_without_a_rank_claims_none(tmp_path, capsys):
    """A trace that names no rank stands in by its position (here 0), which is not a claim on
    the rank 0 another file names: no warning, and the table marks it #0."""
    folder = tmp_path / "job"
    folder.mkdir()
    unnamed = SAMPLES / "decoder_h100_legacy.pt.trace.json"
    assert "distributedInfo" not in json.loads(unnamed.read_text())
    (folder / "a.json").symlink_to(unnamed)
    (folder / "b.json.gz").symlink_to(corpus_file(RANKS[0]))
    capsys.readouterr()
    assert main(["summary", str(folder), "--json", "--cache-dir", str(tmp_path / "cache")]) == 0
    captured = capsys.readouterr()
    table = json.loads(captured.out)["ranks"]
    assert [(r["rank"], r["named"]) for r in table["rows"]] == [(0, False), (0, True)]
    assert table["repeated"] == [] and "warning" not in captured.err
    slowest = max(range(2), key=lambda i: table["rows"][i]["step_ns"])
    assert table["slowest_row"] == slowest
    assert main(["summary", str(folder), "--cache-dir", str(tmp_path / "cache")]) == 0
    text = capsys.readouterr().out
    assert "#0 " in text and "#N: the trace names no rank; N is its place among the inputs" in text
    assert f"slowest rank: {'#0' if slowest == 0 else '0'};" in text


def test_workers_setting_caps_the_ranks_processes(rank_dir, tmp_path, monkeypatch):
    """$TRACEKIT_WORKERS=1 keeps every rank in this process, as it keeps the decoder."""
    seen = []
    monkeypatch.setattr(ranks, "_on_cores", lambda paths, job, workers: seen.append(workers) or [])
    monkeypatch.setenv("TRACEKIT_WORKERS", "1")
    ranks.summarize_all(ranks.expand([rank_dir]), ranks.Job(options={}))
    monkeypatch.delenv("TRACEKIT_WORKERS")
    ranks.summarize_all(ranks.expand([rank_dir]), ranks.Job(options={}))
    assert seen == [1, cores.usable_cores()]


def test_bad_rank_is_one_line(tmp_path, capsys):
    (tmp_path / "rank0.json").write_text('{"traceEvents": [')
    good = corpus_file(RANKS[0])
    assert main(["summary", str(tmp_path / "rank0.json"), str(good), "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rank0.json" in err[0] and "Traceback" not in err[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["summary", str(empty)]) == 2
    assert "no trace files" in capsys.readouterr().err


def test_unreachable_scheduler_is_one_line(capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(ranks, "CONNECT_TIMEOUT", "1s")
    good = corpus_file(RANKS[0])
    assert main(["summary", str(good), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
