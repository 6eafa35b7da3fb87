"""Shared fixtures: the real-trace corpus in ../shared/corpus (read in place, never copied)."""
from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
KINETO = CORPUS / "kineto"
SAMPLES = ROOT / "samples"


def corpus_file(fragment: str) -> Path:
    """The one corpus Kineto file whose name contains ``fragment``."""
    if not KINETO.is_dir():
        pytest.skip(f"corpus not found at {KINETO}")
    hits = [p for p in sorted(KINETO.iterdir()) if fragment in p.name]
    assert len(hits) == 1, f"{fragment!r} matches {len(hits)} corpus files"
    return hits[0]


def kineto_files() -> list[Path]:
    if not KINETO.is_dir():
        return []
    return sorted(p for p in KINETO.iterdir() if p.name.endswith((".json", ".json.gz")))


@lru_cache(maxsize=None)
def raw_events(path: Path) -> tuple:
    """The file's events decoded with the standard library (independent of tracekit)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        doc = json.loads(f.read())
    events = doc if isinstance(doc, list) else doc["traceEvents"]
    return tuple(events), (doc if isinstance(doc, dict) else {})


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tracekit-cache")


@pytest.fixture(scope="session")
def load(cache_dir):
    """tracekit.load with a session cache: each corpus trace is parsed once per run."""
    import tracekit

    memo = {}

    def _load(path, **kw):
        key = (str(path), tuple(sorted(kw.items())))
        if key not in memo:
            memo[key] = tracekit.load(path, cache_dir=cache_dir, **kw)
        return memo[key]

    return _load


# A small CPU sweep (two tiny models, two batch sizes, torch and ONNX Runtime), collected
# once per session for the sweep and report tests.
TINY_SWEEP = ["--models", "gpt2,resnet50", "--batch", "1,2", "--seq", "32", "--image-size", "64",
              "--runtimes", "torch,onnxruntime", "--size", "tiny", "--steps", "2", "--warmup", "1"]


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    """(folder, seconds the sweep took) of ``tracekit collect sweep`` over TINY_SWEEP."""
    import time

    pytest.importorskip("torch", reason="the sweep collects with torch (pip install '.[collect]')")
    pytest.importorskip("onnxruntime", reason="the sweep collects with onnxruntime ('.[collect]')")
    from tracekit.cli.main import main

    folder = tmp_path_factory.mktemp("sweep") / "runs"
    start = time.perf_counter()
    assert main(["collect", "sweep", *TINY_SWEEP, "-o", str(folder)]) == 0
    return folder, time.perf_counter() - start
