"""Every registered format keeps the parser contract (parsers.Parser) on a real file of its
own: it is recognised from its first bytes, declares what it accepts, and produces the four
tables with the model's columns, dtypes and vocabulary, and the core meta keys."""
from __future__ import annotations

import inspect
import warnings

import msgspec
import numpy as np
import pandas as pd
import pytest

import parsers
from parsers import _io
from tests.conftest import CORPUS, ROOT, SAMPLES
from tracekit.model import SCHEMAS, Trace, TraceMeta
from tracekit.model.vocab import CORE_META, FIXED, SOURCES, TABLES, TIME_BASES

TRT = CORPUS / "tensorrt"
# (format, file, in the repository?): one real file per registered format, both trtexec inputs
SAMPLE_FILES = [
    ("kineto", SAMPLES / "decoder_h100.pt.trace.json.gz", True),
    ("onnxruntime", ROOT / "tests" / "fixtures" / "ort" / "cuda_ep_merged.json", True),
    ("tensorrt", TRT / ("NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__"
                        "pytorch__resnet__A100__fp16__resnet.onnx.engine.profile.json"), False),
    ("tensorrt", TRT / "ModelACC__trt2022_levit__LeViT__result-FP32.txt", False),
    ("nsys", CORPUS / "nsys" / "hpcgroup__pipit__pipit__tests__data__saxpy-mpi-cuda_nsys_perlmutter0.sqlite",
     False),
]
DTYPES = {"int64": np.dtype("int64"), "int32": np.dtype("int32"), "bool": np.dtype("bool")}


def test_every_registered_format_has_a_sample_here():
    assert sorted({name for name, _, _ in SAMPLE_FILES}) == sorted(parsers.REGISTRY)


def _sample(path, in_repo: bool):
    if not path.is_file():
        if in_repo:
            pytest.fail(f"sample {path} is missing from the repository")
        pytest.skip(f"corpus file not found at {path} (../shared is absent)")
    return str(path)


@pytest.fixture(scope="module")
def parsed():
    memo = {}

    def get(name, path):
        if path not in memo:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                memo[path] = parsers.get(name).parse(path)
        return memo[path]

    return get


CASES = [pytest.param(name, path, in_repo, id=f"{name}-{path.name[-40:]}")
         for name, path, in_repo in SAMPLE_FILES]


@pytest.mark.parametrize("name", parsers.REGISTRY)
def test_declares_the_contract(name):
    parser = parsers.get(name)
    assert isinstance(parser, parsers.Parser)
    assert parser.NAME == name and parser.DESCRIPTION
    assert isinstance(parser.VERSION, int) and parser.VERSION >= 1
    assert isinstance(parser.OPTIONS, tuple) and all(isinstance(o, str) for o in parser.OPTIONS)
    # every declared option is a keyword parse takes, and parse takes no undeclared one
    params = inspect.signature(parser.parse).parameters
    assert set(parser.OPTIONS) == set(params) - {"path", "progress"}
    assert "path" in inspect.signature(parser.sniff).parameters
    companions = getattr(parser, "companions", None)
    if companions is not None:
        assert set(parser.OPTIONS) <= set(inspect.signature(companions).parameters)


@pytest.mark.parametrize("name,path,in_repo", CASES)
def test_sniffs_its_own_sample(name, path, in_repo):
    path = _sample(path, in_repo)
    head = _io.read_head(path)
    assert parsers.get(name).sniff(head, path)
    assert parsers.detect(head, path) is parsers.get(name)
    # the formats tried before it do not claim it
    for other in parsers.REGISTRY[: parsers.REGISTRY.index(name)]:
        assert not parsers.get(other).sniff(head, path), other


@pytest.mark.parametrize("name,path,in_repo", CASES)
def test_tables_have_the_model_schema(name, path, in_repo, parsed):
    traces = parsed(name, _sample(path, in_repo))
    assert traces and all(isinstance(t, Trace) for t in traces)
    for trace in traces:
        for table in TABLES:
            frame = getattr(trace, table)
            assert list(frame.columns) == list(SCHEMAS[table]), table
            for col, kind in SCHEMAS[table].items():
                if kind == "cat":
                    assert isinstance(frame[col].dtype, pd.CategoricalDtype), (table, col)
                else:
                    assert frame[col].dtype == DTYPES[kind], (table, col, frame[col].dtype)
            assert (frame["id"].to_numpy() == np.arange(len(frame))).all(), table
        assert len(trace.ops) or len(trace.kernels)  # a sample with something in it


@pytest.mark.parametrize("name,path,in_repo", CASES)
def test_values_are_inside_the_vocabulary(name, path, in_repo, parsed):
    for trace in parsed(name, _sample(path, in_repo)):
        for table, columns in FIXED.items():
            frame = getattr(trace, table)
            for col, allowed in columns.items():
                values = set(frame[col].astype(str).unique())
                assert values <= set(allowed), (table, col, values - set(allowed))
                assert list(frame[col].cat.categories) == list(allowed), (table, col)
        source = trace.meta.source
        assert source in SOURCES
        assert set(trace.ops["source"].astype(str).unique()) <= {source}
        if trace.meta.time_basis is not None:
            assert trace.meta.time_basis in TIME_BASES
        # the copy column says a direction exactly for copies
        k = trace.kernels
        copy = k["copy"].astype(str).to_numpy()
        assert not (copy != "")[k["kind"].astype(str).to_numpy() != "memcpy"].any()


@pytest.mark.parametrize("name,path,in_repo", CASES)
def test_core_meta_is_typed_and_set(name, path, in_repo, parsed):
    path = _sample(path, in_repo)
    for trace in parsed(name, path):
        meta = trace.meta
        assert isinstance(meta, TraceMeta)
        # the core fields are fields, typed, and no format key hides them in extras
        assert set(CORE_META) <= set(TraceMeta.__struct_fields__)
        assert not set(meta.extras) & set(TraceMeta.__struct_fields__), set(meta.extras)
        assert msgspec.convert(msgspec.to_builtins(meta), TraceMeta) == meta
        assert meta.source in SOURCES and meta.format and isinstance(meta.format, str)
        assert meta.path == path or meta.path.startswith(path + ":")
        assert all(type(s) is int for s in meta.steps)
        assert all(isinstance(d, dict) and "id" in d for d in meta.devices)
        assert meta.rank is None or type(meta.rank) is int
        assert all(isinstance(w, str) for w in meta.warnings)
        steps = meta.steps
        assert list(steps) == sorted(set(steps))
        used = set()
        for table in ("ops", "kernels", "launches"):
            used |= set(getattr(trace, table)["step"].to_numpy().tolist())
        # every step an event is in is a listed step
        assert used - {-1} <= set(steps)

