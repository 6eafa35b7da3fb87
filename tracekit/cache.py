"""Cache of normalized traces: Arrow IPC files under a directory keyed by the input file.

The key is a hash of the file's size, modification time and first and last MiB, which
identifies a trace file without reading all of it (hashing 2 GB would cost more than the
cache saves). Tables are stored before classification, so a different taxonomy reuses them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather

from tracekit.model import Trace

FORMAT_VERSION = 6  # bump when parsers or the model change what they produce
_TABLES = ("ops", "kernels", "launches", "ranges")
_EDGE = 1 << 20


def default_dir() -> Path:
    env = os.environ.get("TRACEKIT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tracekit"


def key(paths) -> str:
    """Key for a trace read from one file, or from several (a TensorRT profile and the
    layer-info and times files beside it): every file's size, mtime and edges count."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{FORMAT_VERSION}".encode())
    for path in paths:
        st = os.stat(path)
        h.update(f":{os.path.abspath(path) if len(paths) > 1 else ''}:{st.st_size}:{st.st_mtime_ns}".encode())
        with open(path, "rb") as f:
            h.update(f.read(_EDGE))
            if st.st_size > _EDGE:
                f.seek(max(_EDGE, st.st_size - _EDGE))
                h.update(f.read(_EDGE))
    return h.hexdigest()


def load(path, cache_dir=None) -> list[Trace] | None:
    try:
        folder = Path(cache_dir or default_dir()) / key(path)
    except OSError:
        return None
    index = folder / "index.json"
    try:
        entries = json.loads(index.read_text())
        traces = []
        for i, meta in enumerate(entries):
            tables = {name: feather.read_table(folder / f"{i}.{name}.arrow", memory_map=True)
                      .to_pandas(split_blocks=True, self_destruct=True) for name in _TABLES}
            traces.append(Trace(**tables, meta=meta))
        return traces
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None


def store(path, traces: list[Trace], cache_dir=None) -> None:
    """Write atomically (temp dir + rename), so a crash never leaves half an entry.
    A cache that cannot be written (read-only home, full disk) is skipped silently."""
    root = Path(cache_dir or default_dir())
    tmp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        final = root / key(path)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
        for i, trace in enumerate(traces):
            for name, table in trace.tables().items():
                feather.write_feather(table, tmp / f"{i}.{name}.arrow", compression="lz4")
        (tmp / "index.json").write_text(json.dumps([_jsonable(t.meta) for t in traces]))
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    except (OSError, pa.ArrowException):
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _jsonable(meta: dict) -> dict:
    return json.loads(json.dumps(meta, default=str))
