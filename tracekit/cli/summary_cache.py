"""A summary kept beside the cached traces: ``tracekit summary FILE`` run again with the same
options prints it without loading the trace, so without pandas or pyarrow (msgspec decodes
it; rich prints text).

The entry's name hashes what the numbers depend on: the file as the trace cache knows it
(size, mtime, first and last MiB), the path shown, the window (``--step``, ``--range``),
``--top``, ``--max-size``, the ``--taxonomy`` file's bytes, tracekit's version and the size
and mtime of every source file of tracekit and its parsers, which covers a parser's
VERSION, the analyses and the packaged taxonomy. A format whose parser also reads files
beside the trace (a TensorRT profile's layer info and times, an ONNX Runtime profile's
sidecar) keeps those files' names with the state they and the trace's folder were in: a
file edited, or written beside the trace later, makes the next run compute again. The
warnings that loading and summarizing printed are kept and printed again.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from tracekit import cache
from tracekit.analysis.results import Device, Summary
from tracekit.model.errors import TraceError, TraceWarning
from tracekit.model.meta import jsonable

VERSION = 2  # bump when what is kept, or how it is named, changes


class Entry(msgspec.Struct):
    summary: Summary
    gemm_groups: list[str]
    warnings: list[str]  # the one-line warnings the first run printed, in order
    beside: list[str] | None = None  # the files read beside the trace; None: it alone
    beside_state: str = ""  # what they and the trace's folder were (_state)


def entry_file(args: argparse.Namespace) -> Path | None:
    """Where the summary for these arguments is kept; None when they are not kept (several
    traces, --by other than group, --explain, --plot, --no-cache, options that read other
    files, a pipe, a file that cannot be read)."""
    if (args.no_cache or args.by != "group" or len(args.paths) != 1
            or args.capture or args.onnx or getattr(args, "explain", False)
            or getattr(args, "plot", None)):
        return None
    path = os.fspath(args.paths[0])
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe is read once, never kept
            return None
        h = hashlib.blake2b(cache.key(path, "summary").encode(), digest_size=16)
        h.update(Path(args.taxonomy).read_bytes() if args.taxonomy else b"")
        _hash_code(h)
    except OSError:
        return None
    from tracekit import __version__

    options = (VERSION, __version__, path, args.taxonomy, args.step, getattr(args, "range", None),
               args.top, args.max_size, args.layers)
    h.update(repr(options).encode())
    return Path(args.cache_dir or cache.default_dir()) / "summaries" / f"{h.hexdigest()}.json"


def _hash_code(h: Any) -> None:
    """Every source file of tracekit and the parsers (name, size, mtime): changed code may
    change the numbers."""
    import parsers
    import tracekit

    for package in (tracekit, parsers):
        root = os.path.dirname(os.path.abspath(package.__file__ or ""))
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".toml")):
                    st = os.stat(os.path.join(folder, name))
                    h.update(f"{os.path.relpath(folder, root)}/{name}:{st.st_size}:{st.st_mtime_ns};".encode())


def read(file: Path, path: str) -> Entry | None:
    """The entry kept in ``file`` for the trace ``path``; None when there is none, it does
    not decode, or the files read beside the trace are not as they were."""
    try:
        entry = _decode(file.read_bytes())
        if entry.beside is not None and _state(path, entry.beside) != entry.beside_state:
            return None
        return entry
    except (OSError, msgspec.DecodeError):
        return None


def _decode(data: bytes) -> Entry:
    entry = msgspec.json.decode(data, type=Entry)
    summary = entry.summary
    if summary.time_basis == "device":  # Device rows there; the trace's own dicts otherwise
        summary.devices = msgspec.convert(summary.devices, list[Device])
    return entry


def store(file: Path, path: str, layers: str | None, summary: Summary, gemm_groups: set[str],
          printed: list[str]) -> None:
    """Keep ``summary`` of the trace ``path`` (read with ``--layers`` ``layers``) if it
    decodes back to the same values and types (else it would print differently); written
    whole or not at all, and skipped silently if it cannot be."""
    try:
        beside = _beside(path, layers)
        state = _state(path, beside) if beside is not None else ""
    except (OSError, ValueError, TraceError):
        return
    data = msgspec.json.encode(Entry(summary, sorted(gemm_groups), printed, beside, state),
                               enc_hook=jsonable)
    try:
        if not _same(_decode(data).summary, summary):
            return
    except msgspec.DecodeError:  # a NaN, which JSON writes as null
        return
    tmp = file.with_name(f".tmp-{os.getpid()}-{file.name}")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, file)
    except OSError:
        tmp.unlink(missing_ok=True)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, msgspec.Struct) or isinstance(b, msgspec.Struct):
        return type(a) is type(b) and all(_same(getattr(a, f), getattr(b, f))
                                          for f in a.__struct_fields__)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(_same, a, b))
    if a is msgspec.UNSET or b is msgspec.UNSET:
        return a is b
    # numbers by their JSON text: an int where a float was would print as another number
    return msgspec.json.encode(a, enc_hook=jsonable) == msgspec.json.encode(b, enc_hook=jsonable)


def _beside(path: str, layers: str | None) -> list[str] | None:
    """The files besides ``path`` that its parser reads (maybe none found now); None for a
    format read from the one file."""
    import parsers
    from parsers import _io
    from tracekit.loading import companion_files

    module = parsers.detect(_io.read_head(path), path)
    if module is None:
        raise ValueError(f"{path}: no parser")
    if getattr(module, "companions", None) is None:
        return None
    return [f for f in companion_files(module, path, {"layers": layers} if layers else {}) if f != path]


def _state(path: str, beside: list[str]) -> str:
    """The files read beside the trace as they are now, and the mtime of the trace's folder
    (it changes when a file is written there, which the next run may read)."""
    folder = os.stat(os.path.dirname(os.path.abspath(path))).st_mtime_ns
    return f"{folder}:{cache.key(beside) if beside else ''}"


class Printed:
    """The warnings printed while loading and summarizing: ``lines`` the one-line trace
    warnings; ``replayable`` False once another kind came, which a kept summary could not
    print again the same way."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.replayable = True


@contextmanager
def recorded() -> Iterator[Printed]:
    """Note the warnings raised inside; they are printed when it ends, as they would have
    been (the filters were applied when they were raised)."""
    printed = Printed()
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield printed
    finally:  # an error too comes after the warnings it followed
        for w in caught:
            if issubclass(w.category, TraceWarning):
                printed.lines.append(str(w.message))
            else:
                printed.replayable = False
            warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)


def replay(lines: list[str]) -> None:
    """Print a kept summary's warnings as the run that computed it printed them."""
    for line in lines:
        warnings.showwarning(TraceWarning(line), TraceWarning, __file__, 0)
