"""Loading options reach the loader from every command, are checked against what the file's
parser declares, and a parser's own failures are never mistaken for the user's."""
from __future__ import annotations

import csv
import json
import re
import shutil

import pytest

import parsers
import tracekit
from tests.conftest import CORPUS, SAMPLES
from tests.test_safety import cli
from tracekit import cache as trace_cache
from tracekit.model import TraceError

DECODER = SAMPLES / "decoder_h100.pt.trace.json.gz"
TRT = CORPUS / "tensorrt"
QAT = "NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__pytorch__resnet__A100__qat-residual__resnet-qat-residual.onnx.engine"


def trt_file(kind: str):
    path = TRT / f"{QAT}.{kind}.json"
    if not path.is_file():
        pytest.skip(f"corpus not found at {TRT}")
    return path


def test_an_option_the_format_does_not_take_is_a_usage_error(tmp_path):
    graph = tmp_path / "graph.json"
    graph.write_text('{"Layers": []}')
    result = cli("summary", DECODER, "--layers", graph, cache_dir=tmp_path / "c")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(DECODER) in lines[0]
    assert "--layers does not apply to this file (kineto)" in lines[0]


def test_a_type_error_inside_a_parser_is_a_parser_bug_not_a_usage_error(tmp_path, monkeypatch):
    """Even one whose text reads like a wrong keyword, raised while the option is given."""
    profile = trt_file("profile")

    def broken(*args, **kwargs):
        raise TypeError("f() got an unexpected keyword argument 'x'")

    monkeypatch.setattr(parsers.get("tensorrt"), "_join", broken)
    with pytest.raises(TraceError) as err:
        tracekit.load(profile, layers=trt_file("graph"), cache=False)
    message = str(err.value)
    assert "does not apply" not in message
    assert "could not be parsed (TypeError: f() got an unexpected keyword" in message
    monkeypatch.setenv("TRACEKIT_DEBUG", "1")
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        tracekit.load(profile, layers=trt_file("graph"), cache=False)


def test_the_parser_version_is_part_of_the_cache_key(tmp_path, monkeypatch):
    kineto = parsers.get("kineto")
    calls = []
    parse = kineto.parse

    def counting(*args, **kwargs):
        calls.append(1)
        return parse(*args, **kwargs)

    monkeypatch.setattr(kineto, "parse", counting)
    first = tracekit.load(DECODER, cache_dir=tmp_path)
    tracekit.load(DECODER, cache_dir=tmp_path)
    assert len(calls) == 1  # the second load came from the cache
    monkeypatch.setattr(kineto, "VERSION", kineto.VERSION + 1)
    again = tracekit.load(DECODER, cache_dir=tmp_path)
    assert len(calls) == 2  # a new parser version parses again
    assert len(again.kernels) == len(first.kernels)
    assert trace_cache.key(DECODER, "kineto:1") != trace_cache.key(DECODER, "kineto:2")
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 2


def _first_input_precision(layer: dict) -> str:
    """The precision word in the layer's first tensor format (read from the raw file)."""
    for tensor in layer.get("Inputs", []) + layer.get("Outputs", []):
        fmt = tensor.get("Format/Datatype", "")
        for word, name in (("Int8", "INT8"), ("FP16", "FP16"), ("Half", "FP16"), ("FP32", "FP32"),
                           ("Float", "FP32"), ("Int32", "INT32")):
            if re.search(rf"(?<![A-Za-z0-9]){word}(?![A-Za-z0-9])", fmt, re.IGNORECASE):
                return name
    return ""


def test_export_passes_layers_to_the_loader(tmp_path):
    """A profile whose layer info sits elsewhere under another name: with --layers the
    exported ops carry what only the layer info says (each layer's precision)."""
    (tmp_path / "run").mkdir()
    profile = shutil.copy(trt_file("profile"), tmp_path / "run" / "engine.profile.json")
    (tmp_path / "info").mkdir()
    graph = shutil.copy(trt_file("graph"), tmp_path / "info" / "renamed.json")
    raw = {layer["Name"]: layer for layer in json.loads(trt_file("graph").read_text())["Layers"]}

    def export(*extra):
        out = tmp_path / f"ops{len(extra)}.csv"
        result = cli("export", profile, "-o", out, "--table", "ops", *extra, cache_dir=tmp_path / "c")
        assert result.returncode == 0, result.stderr
        with open(out, newline="") as f:
            return list(csv.DictReader(f)), result.stderr

    rows, err = export()
    assert "no layer info" in err and {r["precision"] for r in rows} == {""}
    rows, err = export("--layers", graph)
    assert "no layer info" not in err
    names = [r["name"] for r in rows]
    profiled = [e["name"] for e in json.loads(trt_file("profile").read_text())[1:]]
    assert names == profiled
    expected = [_first_input_precision(raw[n]) for n in names]
    assert {"INT8", "FP32"} <= set(expected)
    assert [r["precision"] for r in rows] == expected


def test_export_passes_capture_to_the_loader(tmp_path):
    """--capture reaches the loader: a capture file it cannot use is reported, not ignored."""
    out = tmp_path / "k.csv"
    result = cli("export", DECODER, "-o", out, "--capture", tmp_path / "missing.json",
                 cache_dir=tmp_path / "c")
    assert result.returncode == 2
    assert "missing.json" in result.stderr and "no such file" in result.stderr


@pytest.mark.parametrize("command", ["summary", "fallback", "fusion", "export", "tui", "report"])
def test_every_command_that_loads_declares_every_loading_option(command):
    import argparse

    from tracekit.cli.main import SUBCOMMANDS

    sub = argparse.ArgumentParser()
    SUBCOMMANDS[command].add_arguments(sub)
    options = {a.dest for a in sub._actions}
    assert {"taxonomy", "no_cache", "cache_dir", "layers", "capture", "max_size", "onnx"} <= options
