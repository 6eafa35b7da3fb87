"""Several GPUs in one trace: per-device name, busy, span, total and GEMM share, and no busy
figure above its own span. No corpus trace runs kernels on more than one device, so the
test joins the eight ranks of the real DLRM training run (one V100 each, one clock) into
one Kineto trace, as a single-process multi-GPU job writes it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest

import tracekit
from tests.conftest import corpus_file

DEVICE_CATS = {"kernel", "gpu_memcpy", "gpu_memset"}


@pytest.fixture(scope="module")
def eight_gpus(tmp_path_factory):
    path = corpus_file("dlrm_kineto.tar.gz")
    events, header = [], None
    with tarfile.open(path) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.endswith(".json"):
                doc = json.load(tar.extractfile(member))
                header = header or doc
                events.extend(doc["traceEvents"])
    out = tmp_path_factory.mktemp("devices") / "dlrm_8gpu.json"
    out.write_text(json.dumps({**header, "traceEvents": events}))
    return out, events, header


def _union(intervals) -> int:
    """Covered length, by a sweep that counts open intervals."""
    points = sorted((t, step) for s, e in intervals for t, step in ((s, 1), (e, -1)))
    covered, depth, last = 0, 0, None
    for t, step in points:
        if depth > 0:
            covered += t - last
        depth += step
        last = t
    return covered


def test_each_device_has_its_own_busy_span_total_and_gemm_share(eight_gpus):
    path, events, header = eight_gpus
    raw = {}
    for e in events:
        if e.get("ph") == "X" and e.get("cat") in DEVICE_CATS:
            s = round(e["ts"] * 1000)
            raw.setdefault(e["args"]["device"], []).append((s, s + round(e["dur"] * 1000)))
    assert len(raw) == 8
    names = {p["id"]: p["name"] for p in header["deviceProperties"]}

    trace = tracekit.load(path, cache=False)
    s = trace.summary(step="all")
    rows = {d["id"]: d for d in s["devices"]}
    assert sorted(rows) == sorted(raw)
    k = trace.kernels
    for device, intervals in raw.items():
        d = rows[device]
        assert d["name"] == names[device]
        assert d["kernels"] == len(intervals)
        assert d["total_ns"] == sum(e - b for b, e in intervals)
        assert d["busy_ns"] == _union(intervals)
        assert d["span_ns"] == max(e for _, e in intervals) - min(b for b, _ in intervals)
        assert d["busy_ns"] <= d["span_ns"]
        on = k[k["device"] == device]
        comm = on["group"].astype(str) == "Communication"
        assert d["gemm_ns"] == int(on.loc[on["is_gemm"], "dur_ns"].sum())
        assert d["gemm_share"] == pytest.approx(d["gemm_ns"] / (d["total_ns"] - int(on.loc[comm, "dur_ns"].sum())))
    assert sum(d["total_ns"] for d in rows.values()) == s["total_ns"]
    gpu = s["gpu"]
    everything = [iv for ivs in raw.values() for iv in ivs]
    assert gpu["span_ns"] == max(e for _, e in everything) - min(b for b, _ in everything)
    assert gpu["busy_ns"] == _union(everything) <= gpu["span_ns"]
    # summed over devices, busy time exceeds the global span: the figure that must not be
    # printed as "busy of span"
    assert gpu["device_busy_ns"] > gpu["span_ns"]
    assert gpu["device_busy_ns"] <= gpu["device_span_ns"]


def test_text_has_one_line_per_device(eight_gpus, tmp_path):
    path, _, _ = eight_gpus
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(tmp_path), COLUMNS="300")
    cli = [sys.executable, "-m", "tracekit.cli.main", "summary", str(path), "--step", "all"]
    data = json.loads(subprocess.run([*cli, "--json"], capture_output=True, text=True, env=env,
                                     timeout=300, check=True).stdout)
    text = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=300, check=True).stdout
    lines = [x.strip() for x in text.splitlines() if x.strip().startswith("GPU ") and not x.startswith("GPU time")]
    for d in data["devices"]:
        line = next(x for x in lines if x.startswith(f"GPU {d['id']} {d['name']}:"))
        assert f"{d['kernels']:,} kernels" in line
        assert f"{d['gemm_share']:.1%}" in line
    assert len(lines) == len(data["devices"]) == 8
    totals = next(x for x in text.splitlines() if x.startswith("GPU time"))
    assert "busy (any GPU of 8)" in totals


def test_tui_overview_lists_the_devices(eight_gpus):
    from tui import queries as q
    from tui.screens.overview import draw_meta

    path, _, _ = eight_gpus
    trace = tracekit.load(path, cache=False)
    ov = q.overview(trace, q.Scope(step="all"))
    text = draw_meta(ov, 200).plain
    rows = [x.strip() for x in text.splitlines() if x.strip().startswith("GPU ") and "span," in x]
    assert len(rows) == 8
    for d in trace.summary(step="all")["devices"]:
        row = next(x for x in rows if x.startswith(f"GPU {d['id']} {d['name']}"))
        assert f"busy {q.fmt_ms(d['busy_ns'])} of {q.fmt_ms(d['span_ns'])} span" in row
