"""Export a trace: Perfetto timelines, Chrome JSON, and the tables for pandas.

    >>> from tracekit.export import export
    >>> export(trace, "run.pftrace")                 # Perfetto UI (ui.perfetto.dev)
    >>> export(trace, "run.json", step=3)            # chrome://tracing, one step
    >>> export(trace, "kernels.parquet", table="kernels")

The format follows the file name (``.pftrace``/``.perfetto-trace``/``.pb``: Perfetto
protobuf; ``.json``/``.json.gz``: Chrome Trace Event JSON; ``.parquet``; ``.csv``) or
``format=``. Window options (:mod:`tracekit.export.window`) limit any of them. Timelines
never drop or clip a slice: overlapping activities move to extra tracks
(:mod:`tracekit.export.lanes`). Files are written to a temporary name next to the target
and renamed when complete.
"""
from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

from tracekit.export.window import ExportError, Selection, parse_time, select
from tracekit.model.vocab import TABLES

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "ExportError",
    "Selection",
    "check_output",
    "export",
    "format_of",
    "parse_time",
    "select",
]

SUFFIXES = {".pftrace": "perfetto", ".perfetto-trace": "perfetto", ".pb": "perfetto",
            ".json": "json", ".json.gz": "json", ".parquet": "parquet", ".csv": "csv"}
FORMATS = ("perfetto", "json", "parquet", "csv")


def format_of(path, fmt: str | None = None) -> str:
    if fmt:
        fmt = fmt.lower()
        aliases = {"pftrace": "perfetto", "proto": "perfetto", "chrome": "json"}
        fmt = aliases.get(fmt, fmt)
        if fmt not in FORMATS:
            raise ExportError(f"--format {fmt}", f"unknown format (choose from {', '.join(FORMATS)})")
        return fmt
    name = Path(path).name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    raise ExportError(path, "unknown output format: name the file .pftrace, .json, .json.gz, "
                            ".parquet or .csv (or pass a format)")


def check_output(path, inputs=()) -> Path:
    """Fail early, before loading anything, if ``path`` cannot be written: the path to
    write (a symlink's target, so the link survives). Never replaces anything but a
    regular file, nor one of the ``inputs``."""
    p = Path(os.fspath(path))
    if str(p) == "" or p.name == "":
        raise ExportError(path, "no output file name")
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    if p.is_dir():
        raise ExportError(p, "is a directory; give a file name")
    if p.exists() and not p.is_file():
        raise ExportError(p, "is not a regular file (a device, FIFO or socket); "
                             "tracekit only writes regular files")
    for source in inputs:
        try:
            same = p.exists() and os.path.samefile(p, source)
        except OSError:
            same = False
        if same:
            raise ExportError(p, "is the input trace; choose another output file")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise ExportError(p, f"cannot write: folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise ExportError(p, f"cannot write: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(p, f"cannot write: no permission to write in {str(parent)!r}")
    if p.exists() and not os.access(p, os.W_OK):
        raise ExportError(p, "cannot write: the file is read-only")
    return p


def export(trace, path, *, format: str | None = None, table: str | None = None,
           step=None, range: str | None = None, start=None, end=None,
           bucket=None, window=None) -> dict:
    """Write ``trace`` (or the window the options select) to ``path``; returns what was
    written (counts of slices, tracks, flows, counters; or rows for a table). ``window``
    (a :class:`tracekit.analysis.window.Window`, ranges by id) replaces ``step``,
    ``range``, ``start`` and ``end``: what a screen shows is what is written."""
    source = trace.meta.path
    out = check_output(path, [source] if source else [])
    fmt = format_of(path, format)
    if table is not None and table not in TABLES:
        raise ExportError(f"--table {table}", f"unknown table (choose from {', '.join(TABLES)})")
    if table is not None and fmt not in ("parquet", "csv"):
        raise ExportError(f"--table {table}", "only applies to .parquet and .csv output")
    selection = select(trace, step=step, range_name=range, start=start, end=end, window=window)
    info = {"path": str(out), "format": fmt, "window": selection.describe()}
    if fmt in ("parquet", "csv"):
        from tracekit.export import tables

        table = table or tables.default_table(trace)
        frame = tables.frame_of(selection, table)
        with _atomic(out, binary=True) as f:
            tables.write(frame, f, fmt)
        info.update(table=table, rows=len(frame), columns=len(frame.columns))
        return info
    from tracekit.export import tracks

    bucket_ns = parse_time(bucket) if bucket is not None else None
    if bucket_ns is not None and bucket_ns <= 0:
        raise ExportError(f"--bucket {bucket}", "must be longer than 0 ns")
    layout = tracks.build(selection, bucket_ns=bucket_ns)
    gz = out.name.lower().endswith(".gz")
    with _atomic(out, binary=True, gz=gz) as f:
        if fmt == "perfetto":
            from tracekit.export import perfetto

            info.update(perfetto.write(layout, f))
        else:
            from tracekit.export import chrome

            meta = {"source": trace.meta.path, "format": trace.meta.format,
                    "window": selection.describe()}
            info.update(chrome.write(layout, f, meta))
    info.update(layout.summary())
    return info


class _atomic:
    """Write to a temporary file next to ``path``; rename over it once complete."""

    def __init__(self, path: Path, binary: bool = True, gz: bool = False):
        self.path, self.gz = path, gz
        self.tmp = None
        self.f = None

    def __enter__(self):
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent or ".", prefix=f".{self.path.name}.",
                                       suffix=".tmp")
        except OSError as exc:
            raise ExportError(self.path, f"cannot write ({exc.strerror or exc})") from None
        self.tmp = tmp
        raw = os.fdopen(fd, "wb", buffering=1 << 20)
        self.raw = raw
        self.f = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3, mtime=0) if self.gz else raw
        return self.f

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.gz:
                self.f.close()
            self.raw.close()
            if exc_type is None:
                mode = 0o666 & ~_umask()
                os.chmod(self.tmp, mode)
                os.replace(self.tmp, self.path)
                return False
        except OSError as err:
            _remove(self.tmp)
            raise ExportError(self.path, f"cannot write ({err.strerror or err})") from None
        _remove(self.tmp)
        if exc_type is not None and issubclass(exc_type, OSError):
            raise ExportError(self.path, f"cannot write ({exc.strerror or exc})") from None
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
