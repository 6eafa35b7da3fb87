"""Bad input: one line on stderr naming the file and the problem, exit code 2, never a
traceback; a cut-off trace is read up to the cut with a warning."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import tracekit
from tests.conftest import corpus_file, raw_events

CLI = [sys.executable, "-m", "tracekit.cli.main"]


SCRATCH_CACHE = tempfile.mkdtemp(prefix="tracekit-test-cache-")


def run_cli(*args, cache_dir=None, columns=100):
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(cache_dir or SCRATCH_CACHE), COLUMNS=str(columns))
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=120)


def assert_user_error(result, path, problem):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(path) in lines[0]
    assert problem in lines[0], lines[0]
    assert result.stdout == ""


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


BAD_FILES = [
    ("empty.json", b"", "file is empty"),
    ("random.bin", bytes(range(256)) * 64, "not a trace format"),
    ("text.txt", b"hello, this is not a trace\n", "not a trace format"),
    ("object.json", b'{"foo": 1, "bar": [1, 2, 3]}', "no 'traceEvents' array"),
    ("numbers.json", b"[1, 2, 3]", "malformed trace event"),
    ("bad.json", b'{"traceEvents": [{"ph": "X", "ts": 1,,}]}', "not valid JSON"),
    ("wrongtype.json", b'{"traceEvents": {"ph": "X"}}', "not a Kineto/Chrome trace"),
    ("nested.json", b"[" * 200000 + b"]" * 200000, ""),
    ("nested_args.json", b'{"traceEvents": [{"ph": "X", "args": {"a": ' + b"[" * 100000 + b"]" * 100000 + b"}}]}", ""),
    ("badgzip.json.gz", b"\x1f\x8b\x08\x00" + os.urandom(64), "gzip"),
    ("invalid-utf8.json", b'{"traceEvents": [{"ph": "X", "name": "\xff\xfe"}]}', "not valid JSON"),
]


# ids by file name: a 200 KB parameter in the test id would end up in PYTEST_CURRENT_TEST
@pytest.mark.parametrize("name,data,problem", BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_files_give_one_line_errors(tmp_path, name, data, problem):
    path = _write(tmp_path, name, data)
    result = run_cli("summary", path, "--no-cache")
    assert_user_error(result, path, problem)


def test_missing_path_and_directory(tmp_path):
    assert_user_error(run_cli("summary", tmp_path / "nope.json"), tmp_path / "nope.json", "no such file")
    # summary reads a folder as one trace per rank; the one-trace commands want a file
    assert_user_error(run_cli("summary", tmp_path), tmp_path, "no trace files in this folder")
    assert_user_error(run_cli("fallback", tmp_path), tmp_path, "is a directory")


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can read any file")
    path = _write(tmp_path, "secret.json", b"[]")
    path.chmod(0)
    assert_user_error(run_cli("summary", path), path, "permission denied")


def test_execution_trace_gets_a_clear_error():
    path = corpus_file("execution_trace__benchmark_simple_add_et")
    assert_user_error(run_cli("summary", path, "--no-cache"), path, "not a Kineto trace")


def _cut_after_event(path, keep: int, tmp_path, gz=False):
    """Write the corpus trace with one event per line, cut right after event ``keep``
    and in the middle of the next one (as a dying profiler leaves it)."""
    events, doc = raw_events(path)
    lines = [json.dumps(e) for e in events]
    head = {k: v for k, v in doc.items() if k != "traceEvents"}
    text = json.dumps(head)[:-1] + ', "traceEvents": [\n' + ",\n".join(lines[:keep]) + ",\n" + lines[keep][: len(lines[keep]) // 2]
    out = tmp_path / ("cut.json.gz" if gz else "cut.json")
    out.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return out, events[:keep]


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_trace_reads_up_to_the_cut(tmp_path, gz):
    src = corpus_file("critical_path__alexnet")
    events, _ = raw_events(src)
    cut, kept = _cut_after_event(src, len(events) * 2 // 3, tmp_path, gz)
    with pytest.warns(tracekit.TraceWarning, match="cut off"):
        trace = tracekit.load(cut, cache=False)
    device = [e for e in kept if e.get("ph") == "X" and e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    assert len(trace.kernels) == len(device) > 0
    assert trace.meta["truncated"] is True
    result = run_cli("summary", cut, "--no-cache")
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "cut off" in result.stderr and "Traceback" not in result.stderr


def test_truncated_gzip_stream_reads_what_is_there(tmp_path):
    src = corpus_file("critical_path__alexnet")
    data = gzip.compress(src.read_bytes() if not src.name.endswith(".gz") else gzip.decompress(src.read_bytes()))
    cut = _write(tmp_path, "cut-stream.json.gz", data[: len(data) * 3 // 4])
    with pytest.warns(tracekit.TraceWarning):
        trace = tracekit.load(cut, cache=False)
    assert 0 < len(trace.kernels) < 98


def test_hostile_names_never_reach_the_terminal_raw(tmp_path):
    evil = "\x1b]0;pwned\x07[bold red]m[/bold red]\u202e"
    doc = {"traceEvents": [
        {"ph": "X", "cat": "cpu_op", "name": evil, "pid": 1, "tid": 1, "ts": 0, "dur": 10},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1, "ts": 1, "dur": 2,
         "args": {"correlation": 7}},
        {"ph": "X", "cat": "kernel", "name": evil + "_kernel", "pid": 0, "tid": 7, "ts": 5, "dur": 3,
         "args": {"correlation": 7, "device": 0, "stream": 7}},
    ]}
    path = _write(tmp_path, "evil.json", json.dumps(doc).encode())
    for by in ("group", "op", "kernel", "module"):
        result = run_cli("summary", path, "--no-cache", "--by", by, columns=400)
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
        if by == "op":
            assert "[bold red]m[/bold red]" in result.stdout
        if by == "kernel":  # tables show a kernel's base name, its escapes visible
            assert r"\x1b]0;pwned\x07m\u202e_kernel" in result.stdout
    # JSON output keeps the name, escaped by the JSON encoder
    result = run_cli("summary", path, "--no-cache", "--json", "--by", "op")
    assert json.loads(result.stdout)["by"]["op"][0]["name"] == evil


def test_bad_step_and_taxonomy_are_user_errors(tmp_path, cache_dir):
    path = corpus_file("critical_path__alexnet")
    result = run_cli("summary", path, "--step", "12345", cache_dir=cache_dir)
    assert result.returncode == 2 and "not in the trace" in result.stderr and "Traceback" not in result.stderr
    bad = _write(tmp_path, "tax.toml", b"[[ops]]\ngroup = 'Nope'\nnames = ['mm']\n")
    result = run_cli("summary", path, "--taxonomy", bad, cache_dir=cache_dir)
    assert_user_error(result, bad, "unknown group")


# ------------------------------------------------------------------ numbers and silent drops

DEVICE_CATS = ("kernel", "gpu_memcpy", "gpu_memset")


def _device_events(events):
    return [e for e in events if e.get("ph") == "X" and e.get("cat") in DEVICE_CATS]


def _summary(path, *args):
    from tests.test_safety import cli

    r = cli("summary", path, "--json", "--no-cache", "--step", "all", *args)
    assert r.returncode == 0, r.stderr
    assert "Error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    return json.loads(r.stdout), r.stderr


def _no_negative_time(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            _no_negative_time(v, k)
    elif isinstance(node, list):
        for v in node:
            _no_negative_time(v, key)
    elif key.endswith("_ns") and isinstance(node, (int, float)):
        assert node >= 0, f"{key} = {node}"


def _warned(stderr, path, text):
    """The one warning line that names ``path`` and says ``text``."""
    hits = [line for line in stderr.splitlines() if line.startswith("tracekit: warning: ")
            and str(path) in line and text in line]
    assert len(hits) == 1, (text, stderr)
    return hits[0]


def test_out_of_range_numbers_are_set_aside_and_counted(tmp_path):
    """dur past int64 once in ns, a stray ts 0 among epoch timestamps, correlation 1e308,
    tid 2**64, a ts of 1e400: each kind is one warning with its count; the rest loads."""
    src = corpus_file("critical_path__alexnet")
    events, doc = raw_events(src)
    events = [dict(e) for e in events]
    device = _device_events(events)
    k = dict(device[0], name="bad_kernel", args=dict(device[0].get("args", {})))
    bad = [
        dict(k, dur=1e16), dict(k, dur=2e16),  # durations over int64 once in ns
        dict(k, ts=0),  # one stray timestamp among epoch ones
        dict(k, ts="1e400"), dict(k, ts=None), dict(k, ts="abc"),
    ]
    odd_ids = [dict(k, name="odd_ids", args=dict(k["args"], correlation=1e308)),
               dict(k, name="odd_ids", tid=2**64)]
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps({**doc, "traceEvents": events + bad + odd_ids}).replace('"1e400"', "1e400"))
    summary, stderr = _summary(path)
    _no_negative_time(summary)
    assert sum(summary["groups"].values()) == summary["total_ns"]
    # every event set aside is a bad one; the odd ids still load
    assert summary["kernels"] == len(device) + len(odd_ids)
    assert "2 events have a duration over 2 days" in _warned(stderr, path, "duration over 2 days")
    assert "1 event lies over 2 days from the rest" in _warned(stderr, path, "from the rest")
    # "1e400" is past float64: out of range like the others, or no number at all
    assert "2 events have no numeric ts" in _warned(stderr, path, "no numeric ts")
    assert "1 event has a ts out of range" in _warned(stderr, path, "ts out of range")
    _warned(stderr, path, "correlation id out of the 64-bit range")
    _warned(stderr, path, "process/thread id out of the 64-bit range")
    # the same trace without the bad events gives the same GPU time
    clean_path = tmp_path / "clean.json"
    clean_path.write_text(json.dumps({**doc, "traceEvents": events + odd_ids}))
    expect, _ = _summary(clean_path)
    assert summary["total_ns"] == expect["total_ns"] and summary["groups"] == expect["groups"]


def test_durations_whose_sum_would_wrap_int64(tmp_path):
    """Thousands of two-day kernels add up past int64: the longest are set aside (one
    warning), what is left sums without wrapping, and --json prints it."""
    day_us = 86_400 * 10**6
    events = [{"ph": "X", "cat": "kernel", "name": f"k{i % 3}", "pid": 0, "tid": 7, "ts": i,
               "dur": 2 * day_us - i, "args": {"device": 0, "stream": 7}} for i in range(7000)]
    path = tmp_path / "wrap.json"
    path.write_text(json.dumps({"traceEvents": events}))
    summary, stderr = _summary(path)
    _no_negative_time(summary)
    line = _warned(stderr, path, "whose sum is out of range")
    set_aside = int(line.split(f"{path}: ")[1].split()[0])
    kept = sorted((e["dur"] * 1000 for e in events))[: len(events) - set_aside]
    assert summary["kernels"] == len(kept) and summary["total_ns"] == sum(kept) <= 2**60
    assert sum(summary["groups"].values()) == summary["total_ns"]


def test_stray_timestamp_no_longer_rejects_the_trace(tmp_path):
    """One op at ts 0 among epoch timestamps made nesting refuse the whole trace."""
    src = corpus_file("critical_path__alexnet")
    events, doc = raw_events(src)
    op = next(e for e in events if e.get("cat") == "cpu_op")
    path = tmp_path / "stray.json"
    path.write_text(json.dumps({**doc, "traceEvents": list(events) + [dict(op, ts=0)]}))
    summary, stderr = _summary(path)
    expect, _ = _summary(src)
    _warned(stderr, path, "1 event lies over 2 days from the rest of the trace")
    assert summary["groups"] == expect["groups"] and summary["ops"] == expect["ops"]


def test_silent_drops_are_counted_once_per_kind(tmp_path):
    """B/E pairs, ts null/"abc", negative and text durations: one warning per kind with
    its count (stderr and "warnings" in --json). A category with stray whitespace is
    read as that category; a zero-length kernel counts in its group."""
    base = {"ph": "X", "cat": "kernel", "pid": 0, "tid": 7, "args": {"device": 0, "stream": 7}}
    events = [
        dict(base, name="gemm_kernel_ok", ts=10, dur=5),
        dict(base, name="softmax_kernel_zero", ts=20, dur=0),  # a group of its own, no time
        dict(base, name="gemm_kernel_padded_cat", ts=30, dur=2, cat=" Kernel "),
        {"ph": "B", "cat": "kernel", "name": "be_kernel", "pid": 0, "tid": 7, "ts": 40},
        {"ph": "E", "cat": "kernel", "name": "be_kernel", "pid": 0, "tid": 7, "ts": 45},
        dict(base, name="null_ts", ts=None, dur=1), dict(base, name="text_ts", ts="abc", dur=1),
        dict(base, name="neg_dur", ts=50, dur=-3), dict(base, name="text_dur", ts=60, dur="long"),
        dict(base, name="neg_dur2", ts=70, dur=-1),
    ]
    path = tmp_path / "drops.json"
    path.write_text(json.dumps({"traceEvents": events}))
    summary, stderr = _summary(path)
    for text, n in (("begin/end ('B'/'E') events", 2), ("no numeric ts", 2), ("negative duration", 2),
                    ("duration that is not a number", 1)):
        line = _warned(stderr, path, text)
        assert f": {n} " in line, line
        assert line.removeprefix("tracekit: warning: ") in summary["warnings"]
    kept = [e for e in events if e["ph"] == "X" and isinstance(e["ts"], int)
            and isinstance(e["dur"], int) and e["dur"] >= 0]
    assert summary["kernels"] == len(kept) == 3
    assert summary["total_ns"] == sum(e["dur"] for e in kept) * 1000
    assert sum(summary["group_counts"].values()) == summary["kernels"]
    assert "Softmax" in summary["groups"] and summary["group_counts"]["Softmax"] == 1
    # the text report: the header's kernel count is the group table's total
    from tests.test_safety import cli

    text = cli("summary", path, "--no-cache", "--step", "all").stdout
    assert "in 3 kernels" in text and "Softmax" in text


def test_ort_numbers_out_of_range(tmp_path):
    src = json.loads((Path(__file__).parent / "fixtures" / "ort" / "cuda_ep_merged.json").read_text())
    expect, _ = _summary(Path(__file__).parent / "fixtures" / "ort" / "cuda_ep_merged.json")
    node = next(i for i, e in enumerate(src) if e.get("cat") == "Node")
    src[node] = dict(src[node], pid=1e308)
    path = tmp_path / "ort.json"
    path.write_text(json.dumps(src))
    summary, stderr = _summary(path)
    _warned(stderr, path, "pid out of the 64-bit range")
    assert summary["groups"] == expect["groups"] and summary["total_ns"] == expect["total_ns"]


def test_cut_before_trace_events(tmp_path):
    src = corpus_file("critical_path__alexnet")
    events, doc = raw_events(src)
    text = json.dumps({"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "GPU"}],
                       "traceEvents": list(events)})
    cut = _write(tmp_path, "cut-head.json", text[: text.index('"traceEvents"') + 5].encode())
    assert_user_error(run_cli("summary", cut, "--no-cache"), cut, "cut off before")
