"""``tracekit demo``: the bundled trace is the generator's sample and its summary is the
generator's ground truth."""
from __future__ import annotations

import json
import shlex
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


def test_every_suggested_command_runs_on_the_demo_trace(tmp_path):
    """The demo's "next, try" lines are commands a newcomer pastes: each must work as printed
    (the TUI's line is exercised by the TUI tests; here it must at least parse)."""
    text = run_cli("demo", cache_dir=tmp_path).stdout
    lines = text.split("Next, try on the same trace:")[1].strip().splitlines()
    assert any(" compare " in line for line in lines)
    for line in lines:
        command = shlex.split(line.split("#")[0].replace('"$(tracekit demo --path)"', demo_path()))
        assert command[0] == "tracekit"
        args = command[1:]
        if args[0] == "tui":
            args = [*args, "--help"]
        if args[0] == "export":
            args = [a if a != "demo.pftrace" else str(tmp_path / "demo.pftrace") for a in args]
        result = run_cli(*args, cache_dir=tmp_path)
        assert result.returncode == 0, (line, result.stderr)


def test_warm_up_vs_steady_state_sides_are_their_step_summaries(tmp_path):
    """compare with one --step per trace: each side is that trace's summary of its step."""
    path = demo_path()
    doc = json.loads(run_cli("compare", path, path, "--step", "2", "--step", "3-4", "--json",
                             cache_dir=tmp_path).stdout)
    for side, step in zip(doc["sides"], ("2", "3-4")):
        summary = json.loads(run_cli("summary", path, "--step", step, "--json", cache_dir=tmp_path).stdout)
        assert side["total_ns"] == summary["total_ns"] and side["gemm_ns"] == summary["gemm_ns"]
    assert doc["sides"][0]["total_ns"] != doc["sides"][1]["total_ns"]
    assert not doc["comparable"].get("identical")
    bad = run_cli("compare", path, path, "--step", "2", "--step", "3", "--step", "4", cache_dir=tmp_path)
    assert bad.returncode == 2 and "3 step selections for 2 traces" in bad.stderr


def test_one_file_at_two_steps_reads_at_80_columns(tmp_path):
    """Without labels, one file's sides are named by their steps; a reason too long for the
    line wraps under its own text, never back to the first column."""
    path = demo_path()
    text = run_cli("compare", path, path, "--step", "2", "--step", "3-4", cache_dir=tmp_path,
                   columns=80).stdout
    lines = text.splitlines()
    assert lines[3].startswith("step 2 ") and lines[5].startswith("step 3-4 ")
    start = lines.index("doubtful comparison:") + 1
    reason = lines[start:lines.index(next(x for x in lines[start:] if not x.startswith("  ")))]
    assert reason[0].startswith("  - different step counts") and len(reason) > 1
    assert all(x.startswith("    ") and x.strip() for x in reason[1:])
    assert all(len(x) <= 80 for x in lines)
