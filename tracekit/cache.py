"""Cache of normalized traces: Arrow IPC files under a directory keyed by the input file.

The key is a hash of the file's size, modification time and first and last MiB, which
identifies a trace file without reading all of it (hashing 2 GB would cost more than the
cache saves). Tables are stored before classification, so a different taxonomy reuses them.
The key leaves out the file's name (a moved file is still cached); the path shown is always
the one given now. Whatever is read back is checked, and any mismatch means a new parse.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from tracekit.model.meta import TraceMeta, jsonable
from tracekit.model.vocab import TABLES as _TABLES

FORMAT_VERSION = 9  # bump when parsers or the model change what they produce
_EDGE = 1 << 20

if TYPE_CHECKING:
    from tracekit.model import Trace


def default_dir() -> Path:
    env = os.environ.get("TRACEKIT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tracekit"


def key(paths, parser: str = "") -> str:
    """Key for a trace read from one file, or from several (a TensorRT profile and the
    layer-info and times files beside it): every file's size, mtime and edges count, and
    ``parser`` (its name and version: a parser that changes reparses)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{FORMAT_VERSION}:{parser}".encode())
    for path in paths:
        st = os.stat(path)
        h.update(f":{os.path.abspath(path) if len(paths) > 1 else ''}:{st.st_size}:{st.st_mtime_ns}".encode())
        with open(path, "rb") as f:
            h.update(f.read(_EDGE))
            if st.st_size > _EDGE:
                f.seek(max(_EDGE, st.st_size - _EDGE))
                h.update(f.read(_EDGE))
    return h.hexdigest()


def load(path, cache_dir=None, parser: str = "") -> list[Trace] | None:
    """The traces cached for ``path`` (one file, or the list of files a trace is read
    from, the trace file first), shown under the path given now; None on a miss or on
    anything unexpected in the entry."""
    # here, not above: a key alone (a stored summary's) needs neither pyarrow nor pandas
    import pyarrow as pa
    import pyarrow.feather as feather

    from tracekit.model import SCHEMAS, Trace

    try:
        folder = Path(cache_dir or default_dir()) / key(path, parser)
    except OSError:
        return None
    index = folder / "index.json"
    try:
        doc = msgspec.json.decode(index.read_bytes(), type=_Index)  # checks every field's type
        if not doc.traces:
            return None
        new = os.fspath(path if isinstance(path, (str, os.PathLike)) else path[0])
        traces = []
        for i, meta in enumerate(doc.traces):
            tables = {}
            for name in _TABLES:
                table = feather.read_table(folder / f"{i}.{name}.arrow", memory_map=True)
                if table.column_names != list(SCHEMAS[name]):
                    return None
                tables[name] = table.to_pandas(split_blocks=True, self_destruct=True)
            traces.append(Trace(**tables, meta=_renamed(meta, doc.input, new)))
        return traces
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None


class _Index(msgspec.Struct):
    """index.json: the input path the traces were parsed under and each trace's meta."""

    input: str
    traces: list[TraceMeta]


def _renamed(meta: TraceMeta, old: str, new: str) -> TraceMeta:
    """The cached meta with the path it was parsed under replaced by the one given now
    (in "path", "archive.tar:member" names and warnings)."""
    if old == new:
        return meta

    def swap(text: str) -> str:
        return new + text[len(old):] if text == old or text.startswith(old + ":") else text

    meta.path = swap(meta.path)
    meta.warnings = [swap(w) for w in meta.warnings]
    return meta


def store(path, traces: list[Trace], cache_dir=None, parser: str = "") -> None:
    """Write atomically (temp dir + rename), so a crash never leaves half an entry.
    A cache that cannot be written (read-only home, full disk) is skipped silently."""
    import pyarrow as pa
    import pyarrow.feather as feather

    root = Path(cache_dir or default_dir())
    tmp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        final = root / key(path, parser)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
        for i, trace in enumerate(traces):
            for name, table in trace.tables().items():
                feather.write_feather(table, tmp / f"{i}.{name}.arrow", compression="lz4")
        source = os.fspath(path if isinstance(path, (str, os.PathLike)) else path[0])
        (tmp / "index.json").write_bytes(msgspec.json.encode(
            _Index(input=source, traces=[t.meta for t in traces]), enc_hook=jsonable))
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    except (OSError, pa.ArrowException, msgspec.EncodeError):
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
