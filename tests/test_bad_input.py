"""Bad input: one line on stderr naming the file and the problem, exit code 2, never a
traceback; a cut-off trace is read up to the cut with a warning."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile

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
    assert_user_error(run_cli("summary", tmp_path), tmp_path, "is a directory")


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
        if by in ("op", "kernel"):
            assert "[bold red]m[/bold red]" in result.stdout
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
