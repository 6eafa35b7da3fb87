"""The parallel Kineto decoder gives exactly what one pass gives, table for table.

Chunks are made small here so that real corpus traces of a few thousand events are cut
into several runs, each decoded by its own forked worker (three, whatever the cores)."""
from __future__ import annotations

import json
import os
import sys

import pandas as pd
import pytest

import parsers._decode as decode
import parsers.kineto as kineto
from tests.conftest import SAMPLES, corpus_file
from tracekit.cores import usable_cores
from tracekit.model import TraceError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the parallel decoder forks (Linux only)")

TRACES = (
    "vllm_decode_full__graph_execution",  # python_function events (with_stack)
    "mi250_minitoy_train_ROCm6_2",  # ROCm copy kinds in args, string pids
    "step_based_trace_2543932",  # steps, GPU user annotations
    "mtia_inference_rank_0",  # MTIA: copy directions, device events
)

REAL = decode.parallel_decode


def _parse(path, workers: int, monkeypatch):
    monkeypatch.setattr(decode, "CHUNK", 64)
    monkeypatch.setattr(decode, "PARALLEL_MIN_EVENTS", 128)
    monkeypatch.setenv("TRACEKIT_WORKERS", str(workers))
    forks = []
    monkeypatch.setattr(decode, "parallel_decode",
                        lambda raws, cols, n, progress=None: (forks.append(n), REAL(raws, cols, n, progress)))
    (trace,) = kineto.parse(path)
    return trace, forks


@pytest.mark.parametrize("fragment", TRACES)
def test_parallel_equals_single_pass(fragment, monkeypatch):
    path = corpus_file(fragment)
    single, forks_1 = _parse(path, 1, monkeypatch)
    parallel, forks_3 = _parse(path, 3, monkeypatch)
    assert forks_1 == [] and forks_3 == [3]
    for name, table in single.tables().items():
        pd.testing.assert_frame_equal(parallel.tables()[name], table, check_exact=True)
    assert parallel.meta == single.meta


def test_small_files_stay_single_process():
    with open(SAMPLES / "cpu_only.pt.trace.json", "rb") as f:
        n = len(json.load(f)["traceEvents"])
    assert decode.worker_count(n) == 1
    assert decode.worker_count(decode.PARALLEL_MIN_EVENTS - 1) == 1


def test_bad_event_in_a_worker_is_the_same_one_line_error(tmp_path, monkeypatch):
    """A malformed event in the last run (a worker's) fails as it does in one pass."""
    events = [{"ph": "X", "cat": "cpu_op", "name": f"op{i}", "pid": 1, "tid": 1, "ts": i, "dur": 1}
              for i in range(500)]
    events[450]["args"] = 5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"traceEvents": events}))
    messages = []
    for workers in (1, 3):
        with pytest.raises(TraceError) as err:
            _parse(path, workers, monkeypatch)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "malformed trace event" in messages[0]


def test_workers_follow_idle_cores(monkeypatch):
    """By default only idle cores get a worker; TRACEKIT_WORKERS overrides."""
    monkeypatch.delenv("TRACEKIT_WORKERS", raising=False)
    cores = usable_cores()
    many = decode.PARALLEL_MIN_EVENTS * 64
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert decode.worker_count(many) == cores
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 3.0, 0.0, 0.0))
    assert decode.worker_count(many) == 1
    monkeypatch.setenv("TRACEKIT_WORKERS", "3")
    assert decode.worker_count(many) == 3
