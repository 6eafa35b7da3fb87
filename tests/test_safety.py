"""Hostile input and outputs: names with escape sequences on every output path, exports
that must not replace what they should not, pipes and FIFOs, bombs, and the cache."""
from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import warnings

import pytest

from tests.conftest import corpus_file, raw_events
from tracekit.model import TraceError

ESC = "\x1b"
# clear screen, clipboard write (OSC 52), hyperlink (OSC 8), a C1 CSI, right-to-left override
HOSTILE = "x\x1b[2J\x1b]52;c;cHduZWQ=\x07\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\x9b31m[bold]y[/bold]\u202e"
RAW_BYTES = ("\x1b", "\x07", "\x9b", "\u202e")


def cli(*argv, cache_dir=None, stdin=None) -> subprocess.CompletedProcess:
    """``tracekit`` in this process (``tracekit.cli.main.main``): exit code, stdout, stderr.
    Every TraceWarning is shown, however often the same text was shown before."""
    from tracekit.cli.main import main

    argv = [str(a) for a in argv]
    if cache_dir is not None:
        argv += ["--cache-dir", str(cache_dir)]
    out, err = io.StringIO(), io.StringIO()
    shown = warnings.showwarning
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        finally:
            warnings.showwarning = shown
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def assert_clean(*texts):
    for text in texts:
        for raw in RAW_BYTES:
            assert raw not in text, repr(text[:300])


def hostile_trace(tmp_path):
    """A small Kineto trace whose op, kernel and range names are all hostile."""
    events = [
        {"ph": "X", "cat": "user_annotation", "name": HOSTILE, "pid": 1, "tid": 1, "ts": 0, "dur": 50},
        {"ph": "X", "cat": "cpu_op", "name": HOSTILE + "op", "pid": 1, "tid": 1, "ts": 1, "dur": 20},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1, "ts": 2,
         "dur": 2, "args": {"correlation": 7}},
        {"ph": "X", "cat": "kernel", "name": HOSTILE + "_kernel", "pid": 0, "tid": 7, "ts": 5, "dur": 3,
         "args": {"correlation": 7, "device": 0, "stream": 7}},
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"traceEvents": events}))
    return path


def test_one_hostile_name_on_every_output_path(tmp_path, cache_dir):
    """CLI tables, JSON, taxonomy --classify, --taxonomy group names, errors, the TUI's
    titles and notices: the same hostile name never reaches the terminal raw."""
    from tracekit.safe_text import clean

    path = hostile_trace(tmp_path)
    for by in ("group", "op", "kernel", "module"):
        r = cli("summary", path, "--by", by, cache_dir=cache_dir)
        assert r.returncode == 0, r.stderr
        assert_clean(r.stdout, r.stderr)
    # JSON: escaped, and the decoded value is the exact name
    r = cli("summary", path, "--json", "--by", "op", cache_dir=cache_dir)
    assert_clean(r.stdout)
    assert HOSTILE + "op" in [row["name"] for row in json.loads(r.stdout)["by"]["op"]]
    # taxonomy --classify echoes the name; --json too
    r = cli("taxonomy", "--classify", HOSTILE)
    assert r.returncode == 0 and clean(HOSTILE)[:10] in r.stdout
    assert_clean(r.stdout)
    r = cli("taxonomy", "--classify", HOSTILE, "--json")
    assert_clean(r.stdout)
    assert json.loads(r.stdout)[0]["name"] == HOSTILE
    # a taxonomy file's group name is text, not rich markup
    toml = tmp_path / "tax.toml"
    toml.write_text('[groups]\n"[red]Evil[/red]\\u001b[2J" = { gemm = false }\n'
                    '[[ops]]\ngroup = "[red]Evil[/red]\\u001b[2J"\nnames = ["aten::foo"]\n')
    r = cli("taxonomy", "--taxonomy", toml)
    assert r.returncode == 0, r.stderr
    assert "[red]Evil[/red]" in r.stdout  # shown literally, the escape visible
    assert_clean(r.stdout)
    # errors naming a hostile file
    bad = tmp_path / ("bad" + "\x1b[2J\u202e" + ".json")
    bad.write_bytes(b"{nope")
    r = cli("summary", bad, "--no-cache")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert_clean(r.stderr)
    # the TUI: header title/sub-title and the "showing ..." notice after picking the range
    _tui_shows_no_raw_names(path)


def _tui_shows_no_raw_names(path):
    pytest.importorskip("textual")
    import asyncio

    from tests.tui.conftest import wait_loaded
    from tui.app import TracekitApp

    async def drive():
        app = TracekitApp(str(path), cache=False)
        seen = []
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_loaded(pilot)
            original = app.notify

            def spy(message, *a, **k):
                seen.append(str(message))
                return original(message, *a, **k)

            app.notify = spy
            ranges = app.trace.ranges
            (rid,) = ranges.index[ranges["name"].astype(str) == HOSTILE]
            app.set_scope(app.scope.with_range(int(ranges["id"][rid]), HOSTILE))
            for key in ("1", "2", "3", "4", "5"):
                await pilot.press(key)
                await pilot.pause()
                seen += [str(app.title), str(app.sub_title), str(app.screen.title), str(app.screen.sub_title)]
        return seen

    seen = asyncio.run(drive())
    assert any("showing" in s for s in seen) and any("range" in s for s in seen)
    assert_clean(*seen)


# ------------------------------------------------------------------ export safety

def test_export_never_replaces_special_files_or_its_input(tmp_path, cache_dir):
    src = tmp_path / "in.json"
    src.write_bytes(hostile_trace(tmp_path).read_bytes())
    before = src.read_bytes()
    # the input itself, directly and through a symlink
    r = cli("export", src, "-o", src, cache_dir=cache_dir)
    assert r.returncode == 2 and "is the input trace" in r.stderr
    link_in = tmp_path / "alias.json"
    link_in.symlink_to(src)
    r = cli("export", src, "-o", link_in, cache_dir=cache_dir)
    assert r.returncode == 2 and "is the input trace" in r.stderr
    assert src.read_bytes() == before and link_in.is_symlink()
    # a FIFO and a device node stay what they are
    fifo = tmp_path / "out.fifo.json"
    os.mkfifo(fifo)
    r = cli("export", src, "-o", fifo, cache_dir=cache_dir)
    assert r.returncode == 2 and "not a regular file" in r.stderr
    assert not fifo.is_file() and fifo.exists()
    r = cli("export", src, "-o", "/dev/null", "--format", "json", cache_dir=cache_dir)
    assert r.returncode == 2 and "not a regular file" in r.stderr
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    # a symlink is followed: the target is written, the link stays a link
    target = tmp_path / "target.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    r = cli("export", src, "-o", link, cache_dir=cache_dir)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["traceEvents"]


# ------------------------------------------------------------------ special input files

def test_fifo_without_writer_does_not_hang(tmp_path):
    fifo = tmp_path / "trace.json"
    os.mkfifo(fifo)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", cli("summary", fifo, "--no-cache")),
                              daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "reading a FIFO nobody writes to hangs"
    r = result["r"]
    assert r.returncode == 2 and str(fifo) in r.stderr and "empty" in r.stderr


def test_pipes_are_read_once_and_sniffed_from_what_was_read(tmp_path, cache_dir):
    src = corpus_file("critical_path__alexnet")
    raw = src.read_bytes()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    expect = json.loads(cli("summary", src, "--json", cache_dir=cache_dir).stdout)
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(cache_dir))
    cmd = [sys.executable, "-m", "tracekit.cli.main", "summary", "/dev/stdin", "--json"]
    piped = subprocess.run(cmd, input=raw, capture_output=True, env=env, timeout=120)
    assert piped.returncode == 0, piped.stderr
    got = json.loads(piped.stdout)
    assert got["groups"] == expect["groups"] and got["total_ns"] == expect["total_ns"] > 0
    # a FIFO with a writer (what <(cat t.json) gives): plain and gzip
    for name, data in (("p.json", raw), ("p.json.gz", gzip.compress(raw))):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        writer = threading.Thread(target=lambda f=fifo, d=data: f.write_bytes(d), daemon=True)
        writer.start()
        r = cli("summary", fifo, "--json", cache_dir=cache_dir)
        writer.join(10)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["groups"] == expect["groups"]


# ------------------------------------------------------------------ resource bombs

def test_gzip_bomb_is_refused_while_streaming(tmp_path):
    import tracemalloc

    from parsers import _io

    body = b'{"traceEvents": [' + b" " * (64 << 20) + b"]}"
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(body, 9))
    assert bomb.stat().st_size < (1 << 20)
    r = cli("summary", bomb, "--no-cache", "--max-size", "8M")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "decompresses to more than 8.0 MiB" in r.stderr and "--max-size" in r.stderr
    # streaming: the refusal costs about the limit, not the 64 MB the bomb expands to
    tracemalloc.start()
    with pytest.raises(TraceError), _io.limits(8 << 20):
        _io.read_bytes(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 32 << 20, peak
    # and --max-size raises the bound: the same file now reads (as an empty trace)
    r = cli("summary", bomb, "--no-cache", "--max-size", "100M")
    assert r.returncode == 0, r.stderr


def test_max_size_bounds_plain_files_too(tmp_path):
    src = corpus_file("critical_path__alexnet")
    size = len(src.read_bytes() if not src.name.endswith(".gz") else gzip.decompress(src.read_bytes()))
    r = cli("summary", src, "--no-cache", "--max-size", str(size // 2))
    assert r.returncode == 2 and "more than" in r.stderr and str(src) in r.stderr


def test_archive_of_too_many_traces_is_refused_quickly(tmp_path):
    from parsers import _io

    archive = tmp_path / "many.tar"
    with tarfile.open(archive, "w") as tar:
        for i in range(_io.MAX_TAR_TRACES + 1):
            data = b'{"traceEvents": []}'
            info = tarfile.TarInfo(f"rank{i}.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    r = cli("summary", archive, "--no-cache")
    assert r.returncode == 2 and f"{_io.MAX_TAR_TRACES + 1:,} trace files" in r.stderr


def test_memory_errors_anywhere_are_one_line(tmp_path, monkeypatch):
    import pyarrow as pa

    from tracekit import analysis

    path = corpus_file("critical_path__alexnet")
    for exc in (MemoryError(), pa.ArrowMemoryError("malloc of size 123 failed")):
        def boom(*a, exc=exc, **k):
            raise exc
        monkeypatch.setattr(analysis, "summarize", boom)
        # a cache of its own: a summary kept by another test would be printed, not computed
        r = cli("summary", path, cache_dir=tmp_path / "cache")
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().splitlines() == [r.stderr.strip()]
        assert "not enough memory" in r.stderr and str(path) in r.stderr


# ------------------------------------------------------------------ cache

def test_cache_shows_the_path_given_now(tmp_path):
    cache = tmp_path / "cache"
    old = tmp_path / "old.json"
    events, doc = raw_events(corpus_file("critical_path__alexnet"))
    old.write_text(json.dumps({**doc, "traceEvents": list(events) + [
        {"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": None, "dur": 1}]}))
    first = cli("summary", old, "--json", cache_dir=cache)
    assert json.loads(first.stdout)["path"] == str(old)
    new = tmp_path / "new.json"
    old.rename(new)
    second = cli("summary", new, "--json", cache_dir=cache)
    got = json.loads(second.stdout)
    assert got["path"] == str(new)
    assert got["warnings"] and all(str(old) not in w for w in got["warnings"])
    assert str(old) not in second.stderr and str(new) in second.stderr
    assert list(cache.iterdir()), "the moved file was served from the cache"


@pytest.mark.parametrize("index", ["[1]", "[]", '[{"warnings": 7}]', "{}", '{"input": 3}',
                                   '{"input": "x", "traces": [{"path": "x", "warnings": [7]}]}',
                                   "not json"])
def test_cache_entry_of_the_wrong_shape_is_parsed_again(tmp_path, index):
    cache = tmp_path / "cache"
    path = corpus_file("critical_path__alexnet")
    expect = json.loads(cli("summary", path, "--json", cache_dir=cache).stdout)
    (entry,) = [p for p in cache.iterdir() if not p.name.startswith(".") and p.name != "summaries"]
    (entry / "index.json").write_text(index)
    for extra in (["--json"], []):
        # the summary kept beside would be printed: remove it, so that the index is read
        shutil.rmtree(cache / "summaries", ignore_errors=True)
        r = cli("summary", path, *extra, cache_dir=cache)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        assert r.stdout.strip()
    assert json.loads(cli("summary", path, "--json", cache_dir=cache).stdout)["groups"] == expect["groups"]


# ------------------------------------------------------------------ every format: times in range

def test_nsight_times_out_of_range_are_set_aside_without_numpy_warnings(tmp_path):
    """Kernels with start = INT64_MIN in an Nsight export: set aside by the model's check
    behind every parser, counted in one warning, no numpy warning."""
    import shutil
    import sqlite3

    from tests.conftest import CORPUS

    src = CORPUS / "nsys" / "NVIDIA__Fuser__report3.sqlite"
    if not src.exists():
        pytest.skip("Nsight corpus file missing")
    clean = cli("summary", src, "--json", "--no-cache")
    assert clean.returncode == 0, clean.stderr
    path = tmp_path / "bad.sqlite"
    shutil.copyfile(src, path)
    con = sqlite3.connect(path)
    rows = [r[0] for r in con.execute("SELECT rowid FROM CUPTI_ACTIVITY_KIND_KERNEL ORDER BY start LIMIT 2")]
    con.executemany("UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = ? WHERE rowid = ?",
                    [(-2**63, r) for r in rows[:2]])
    con.commit()
    con.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy overflow warnings fail the test
        r = cli("summary", path, "--json", "--no-cache")
    assert r.returncode == 0, r.stderr
    assert "RuntimeWarning" not in r.stderr and "overflow" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert all(line.startswith("tracekit: warning: ") for line in lines), lines
    got, expect = json.loads(r.stdout), json.loads(clean.stdout)
    assert got["kernels"] == expect["kernels"] - 2
    assert sum(got["groups"].values()) == got["total_ns"] >= 0
    assert any("2 events have a ts out of range" in line for line in lines), lines


def test_tensorrt_times_past_int64_are_set_aside(tmp_path):
    """A TensorRT layer timed at 1e16 ms wrapped int64 into a negative total."""
    from tests.conftest import CORPUS

    src = CORPUS / "tensorrt" / ("NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__"
                                 "pytorch__resnet__A100__fp32__resnet.onnx.engine.profile.json")
    if not src.exists():
        pytest.skip("TensorRT corpus file missing")
    doc = json.loads(src.read_text())
    layers = [e for e in doc if isinstance(e, dict) and "name" in e]
    layers[1].update(timeMs=1e16, averageMs=1e16, medianMs=1e16)
    path = tmp_path / "big.profile.json"
    path.write_text(json.dumps(doc))
    r = cli("summary", path, "--json", "--no-cache")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert sum(got["groups"].values()) == got["total_ns"] >= 0
    lines = r.stderr.strip().splitlines()
    assert all(line.startswith("tracekit: warning: ") for line in lines), lines
    assert sum("1 layer timed over 2 days (out of range); set aside" in line for line in lines) == 1
    # the other layers keep their time: the total is theirs, independently summed
    others = [e for e in layers if e is not layers[1]]
    assert got["ops"] == len(others)
    assert got["total_ns"] == sum(round(e["averageMs"] * 1e6) for e in others)
