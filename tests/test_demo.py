"""``tracekit demo``: the bundled trace is the generator's sample and its summary is the
generator's ground truth."""
from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SAMPLES
from tests.test_bad_input import run_cli
from tracekit.cli.demo import demo_path


def test_bundled_trace_is_the_generated_sample():
    # package data cannot drift from what samples/generate.py writes (tests/test_samples.py
    # checks that file against the recipe)
    assert Path(demo_path()).read_bytes() == (SAMPLES / "decoder_h100.pt.trace.json.gz").read_bytes()


def test_demo_summary_matches_the_ground_truth(tmp_path):
    truth = json.loads((SAMPLES / "decoder_h100.truth.json").read_text())["selections"]["default"]
    result = run_cli("demo", "--json", cache_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["total_ns"] == truth["total_ns"] and summary["gemm_ns"] == truth["gemm_ns"]
    assert {g: ns for g, ns in summary["groups"].items() if ns} == truth["groups"]


def test_demo_text_says_it_is_synthetic_and_what_to_try(tmp_path):
    result = run_cli("demo", cache_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Demo trace: synthetic")
    assert "GEMM-based" in result.stdout and "tracekit tui" in result.stdout
    assert run_cli("demo", "--path").stdout.strip() == demo_path()
