"""``tracekit summary FILE`` keeps its result beside the cached traces: a second run prints
the same bytes (stdout and warnings) without loading the trace, so without pandas or
pyarrow, and anything that decides the numbers (the file, the window, the taxonomy file,
tracekit's code) makes it compute again."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests.conftest import CORPUS, SAMPLES, corpus_file

# main() in a fresh interpreter, then whether the heavy libraries came in, on a last line
_CODE = ("import sys; from tracekit.cli.main import main; rc = main(sys.argv[1:]); "
         "sys.stdout.flush(); print('HEAVY', *sorted(m for m in ('pandas', 'pyarrow') "
         "if m in sys.modules), file=sys.stderr); sys.exit(rc)")


def summary(*args, cache):
    """(stdout, stderr without the marker line, heavy libraries imported) of one run."""
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(cache), COLUMNS="120")
    r = subprocess.run([sys.executable, "-c", _CODE, "summary", *map(str, args)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    err, marker = r.stderr.rsplit("HEAVY", 1)
    return r.stdout, err, marker.split()


def kept(cache) -> list:
    return sorted((cache / "summaries").glob("*.json")) if (cache / "summaries").is_dir() else []


@pytest.mark.parametrize("name", ["cpu_only.pt.trace.json", "decoder_h100.pt.trace.json.gz",
                                  "decoder_h100_truncated.pt.trace.json", "corpus alexnet"])
def test_second_run_prints_the_same_bytes_without_pandas(name, tmp_path):
    path = corpus_file("critical_path__alexnet") if name.startswith("corpus") else SAMPLES / name
    text_cache, json_cache = tmp_path / "a", tmp_path / "b"
    first = summary(path, cache=text_cache)
    assert {"pandas", "pyarrow"} <= set(first[2]) and len(kept(text_cache)) == 1
    second = summary(path, cache=text_cache)
    assert second[2] == [], "a warm summary loaded the trace"
    fresh = summary(path, "--no-cache", cache=text_cache)
    assert "pandas" in fresh[2]  # --no-cache computes again
    assert first[:2] == second[:2] == fresh[:2]
    assert "GEMM-based" in first[0] and "Time by group" in first[0]
    if "truncated" in name:  # the load's warning comes again from the kept summary
        assert "tracekit: warning:" in second[1] and "cut off" in second[1]
    # --json: the same entry, and no rich either
    json_first = summary(path, "--json", cache=json_cache)
    json_warm = summary(path, "--json", cache=text_cache)
    json_fresh = summary(path, "--json", "--no-cache", cache=json_cache)
    assert json_warm[2] == []
    assert json_first[:2] == json_warm[:2] == json_fresh[:2]
    doc = json.loads(json_warm[0])
    assert sum(doc["groups"].values()) == doc["total_ns"]


def _with_longer_kernel(src, dst) -> None:
    """``src`` rewritten to ``dst`` with the last kernel twice as long."""
    with gzip.open(src, "rt") as f:
        doc = json.load(f)
    kernel = [e for e in doc["traceEvents"] if e.get("cat") == "kernel"][-1]
    kernel["dur"] *= 2
    with gzip.open(dst, "wt") as f:
        json.dump(doc, f)


def test_a_changed_file_window_or_taxonomy_computes_again(tmp_path):
    path = tmp_path / "decoder.pt.trace.json.gz"
    shutil.copy(SAMPLES / "decoder_h100.pt.trace.json.gz", path)
    cache = tmp_path / "cache"

    def doc(*args):
        out, _, heavy = summary(path, "--json", *args, cache=cache)
        return json.loads(out), bool(heavy)

    base, computed = doc()
    assert computed and doc() == (base, False)
    # another window
    three, computed = doc("--step", "3")
    assert computed and three["steps"] == [3] != base["steps"]
    assert doc("--step", "3") == (three, False)
    # the same bytes under a new mtime: computed again, the same numbers
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert doc() == (base, True)
    # other contents: the kernel's extra time is in the new total
    _with_longer_kernel(SAMPLES / "decoder_h100.pt.trace.json.gz", path)
    longer, computed = doc()
    assert computed and longer["total_ns"] > base["total_ns"]
    assert longer == json.loads(summary(path, "--json", "--no-cache", cache=cache)[0])
    # a taxonomy file, then the same file with other rules
    mine = tmp_path / "mine.toml"
    rule = '[groups]\nMine = { gemm = false }\n\n[[modules]]\ngroup = "Mine"\nmatch = [%r]\n'
    mine.write_text(rule % "gelutanh$")
    gelu, computed = doc("--taxonomy", mine)
    assert computed and gelu["groups"]["Mine"] == longer["groups"]["Activation"]
    assert "Activation" not in gelu["groups"]
    assert doc("--taxonomy", mine) == (gelu, False)
    mine.write_text(rule % "rmsnorm$")
    norm, computed = doc("--taxonomy", mine)
    assert computed and 0 < norm["groups"]["Mine"] < longer["groups"]["Normalization"]
    assert norm["groups"]["Mine"] + norm["groups"]["Normalization"] == longer["groups"]["Normalization"]
    assert norm == json.loads(summary(path, "--json", "--no-cache", "--taxonomy", mine, cache=cache)[0])


def test_a_tensorrt_profile_is_kept_while_the_files_beside_it_stay(tmp_path):
    """A TensorRT profile's numbers depend on the layer info read beside it (or named by
    --layers): the kept summary serves while those files and the folder are as they were,
    and a layer-info file written later, or edited, makes the next run compute again."""
    engine = CORPUS / "tensorrt" / ("NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__"
                                    "examples__pytorch__resnet__A100__fp16__resnet.onnx.engine")
    if not engine.with_suffix(".engine.profile.json").is_file():
        pytest.skip(f"corpus not found at {engine.parent}")
    run, info, cache = tmp_path / "run", tmp_path / "info", tmp_path / "cache"
    run.mkdir()
    info.mkdir()
    profile = shutil.copy(engine.with_suffix(".engine.profile.json"), run / "m.engine.profile.json")

    def twice(*args):
        """The first run's output, after checking a second prints the same without loading."""
        first = summary(profile, *args, cache=cache)
        second = summary(profile, *args, cache=cache)
        assert "pandas" in first[2] and second[2] == [] and first[:2] == second[:2]
        assert first[:2] == summary(profile, *args, "--no-cache", cache=cache)[:2]
        return first

    alone = twice()
    assert "no layer info" in alone[1]
    graph = shutil.copy(engine.with_suffix(".engine.graph.json"), run / "m.engine.graph.json")
    with_layers = twice()  # the layer info written beside the profile is read
    assert "no layer info" not in with_layers[1] and with_layers[0] != alone[0]
    st = os.stat(graph)
    os.utime(graph, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert twice()[:2] == with_layers[:2]  # computed again (an edit), the same numbers
    os.unlink(graph)
    elsewhere = shutil.copy(engine.with_suffix(".engine.graph.json"), info / "layers.json")
    assert twice("--layers", elsewhere)[0] == with_layers[0]
    assert twice()[:2] == alone[:2]


def _args(path, **over):
    args = dict(paths=[str(path)], no_cache=False, by="group", layers=None, capture=None,
                onnx=None, explain=False, plot=None, taxonomy=None, step=None, range=None,
                top=10, max_size=None, cache_dir=None)
    args.update(over)
    return SimpleNamespace(**args)


def test_the_name_follows_the_code_and_what_is_not_kept(tmp_path, monkeypatch):
    import parsers
    import tracekit
    from tracekit.cli import summary_cache

    path = SAMPLES / "cpu_only.pt.trace.json"
    name = summary_cache.entry_file(_args(path))
    assert name is not None and name == summary_cache.entry_file(_args(path))
    assert summary_cache.entry_file(_args(path, top=5)) != name
    # a parser edited (its VERSION bumped): a copy of the parsers with kineto.py one line longer
    copy = tmp_path / "parsers"
    shutil.copytree(os.path.dirname(parsers.__file__), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "kineto.py", "a") as f:
        f.write("\n")
    monkeypatch.setattr(parsers, "__file__", str(copy / "__init__.py"))
    assert summary_cache.entry_file(_args(path)) != name
    monkeypatch.undo()
    monkeypatch.setattr(tracekit, "__version__", "0.0.0-other")
    assert summary_cache.entry_file(_args(path)) != name
    assert summary_cache.entry_file(_args(path, layers=str(path))) not in (None, name)
    for over in ({"no_cache": True}, {"by": "op"}, {"explain": True}, {"plot": "x.svg"},
                 {"paths": [str(path), str(path)]}, {"capture": str(path)}, {"onnx": str(path)}):
        assert summary_cache.entry_file(_args(path, **over)) is None, over
    assert summary_cache.entry_file(_args(tmp_path / "missing.json")) is None
    # --no-cache neither reads nor writes a kept summary
    summary(path, "--no-cache", cache=tmp_path / "cache")
    assert kept(tmp_path / "cache") == []
