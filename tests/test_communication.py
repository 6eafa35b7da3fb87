"""Collectives apart from the GEMM / non-GEMM split of compute, with their exposed part,
checked against a brute-force sweep over the raw JSON of real NCCL traces."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import corpus_file, raw_events

DEVICE_CATS = {"kernel", "gpu_memcpy", "gpu_memset"}
NCCL = re.compile("nccl", re.I)
TRACES = ["nccl_parser_config", "negative_queue_length", "trace_diff__test", "timeline_analysis__sampled_rank-0"]


def _device_events(path):
    events, _ = raw_events(path)
    out = []
    for e in events:
        if e.get("ph") == "X" and e.get("cat") in DEVICE_CATS:
            start = round(e["ts"] * 1000)
            out.append((e["args"].get("device", e["pid"]), start, start + round(e["dur"] * 1000),
                        bool(NCCL.search(e["name"]))))
    return out


def _exposed_by_sweep(events) -> int:
    """Sum over devices of the time when a collective runs and nothing else does: a sweep
    over start/end points counting what runs."""
    total = 0
    for device in {d for d, *_ in events}:
        points = sorted((t, step, c) for d, s, e, c in events if d == device
                        for t, step in ((s, 1), (e, -1)))
        running = {True: 0, False: 0}
        last = None
        for t, step, c in points:
            if last is not None and running[True] and not running[False]:
                total += t - last
            running[c] += step
            last = t
    return total


@pytest.mark.parametrize("fragment", TRACES)
def test_communication_is_apart_from_compute_and_its_exposed_part_matches_a_sweep(fragment, load):
    path = corpus_file(fragment)
    events = _device_events(path)
    trace = load(path)
    s = trace.summary(step="all")
    comm_ns = sum(e - st for _, st, e, c in events if c)
    assert comm_ns > 0
    # the collectives are the NCCL kernels, by name, here
    k = trace.kernels
    assert ((k["group"].astype(str) == "Communication") ==
            k["name"].astype(str).str.contains("nccl", case=False)).all()
    assert s["communication_ns"] == comm_ns == s["groups"]["Communication"]
    assert s["exposed_communication_ns"] == _exposed_by_sweep(events)
    assert 0 < s["exposed_communication_ns"] <= s["communication_ns"]
    # how it adds up: total = compute + communication, compute = GEMM-based + non-GEMM
    assert s["total_ns"] == sum(e - st for _, st, e, _ in events) == sum(s["groups"].values())
    assert s["compute_ns"] + s["communication_ns"] == s["total_ns"]
    assert s["gemm_ns"] + s["non_gemm_ns"] == s["compute_ns"]
    assert all(r["group"] != "Communication" for r in s["top_non_gemm_ops"])


def test_overlapped_collectives_are_not_all_exposed(load):
    """trace_diff's test rank overlaps most of its all-reduce time with compute."""
    s = load(corpus_file("trace_diff__test")).summary(step="all")
    assert s["exposed_communication_ns"] < 0.5 * s["communication_ns"]


def test_summary_text_and_json_show_both(tmp_path):
    path = corpus_file("nccl_parser_config")
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(tmp_path), COLUMNS="300")
    cli = [sys.executable, "-m", "tracekit.cli.main", "summary", str(path), "--step", "all"]
    data = json.loads(subprocess.run([*cli, "--json"], capture_output=True, text=True, env=env,
                                     timeout=300, check=True).stdout)
    text = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=300, check=True).stdout
    events = _device_events(path)
    assert data["exposed_communication_ns"] == _exposed_by_sweep(events)
    line = next(x for x in text.splitlines() if x.startswith("Communication"))
    assert f"{data['communication_ns'] / 1e6:,.2f} ms" in line
    assert f"exposed {data['exposed_communication_ns'] / 1e6:,.2f} ms" in line
    share = data["gemm_ns"] / data["compute_ns"]
    gemm_line = next(x for x in text.splitlines() if x.startswith("GEMM-based"))
    assert f"{share:.1%}" in gemm_line


def test_tui_overview_shows_communication_and_its_exposed_part(load):
    from tui import queries as q
    from tui.screens.overview import draw_gemm

    trace = load(corpus_file("nccl_parser_config"))
    ov = q.overview(trace, q.Scope(step="all"))
    s = trace.summary(step="all")
    text = draw_gemm(ov, 100).plain
    assert f"of compute {q.fmt_ms(s['compute_ns'])}" in text
    assert f"communication {q.fmt_ms(s['communication_ns'])}" in text
    assert f"exposed {q.fmt_ms(s['exposed_communication_ns'])}" in text
    assert ov.gemm_ns + ov.non_gemm_ns + ov.communication_ns == ov.total_ns == s["total_ns"]
