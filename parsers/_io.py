"""Reading trace files: plain, gzip (also cut-off gzip) and tar archives of traces."""
from __future__ import annotations

import codecs
import io
import os
import re
import stat
import tarfile
import warnings
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import orjson

from tracekit.model import TraceError, TraceWarning

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Member:
    """One trace inside a file: the file itself, or one entry of an archive."""

    name: str  # path shown to the user, "archive.tar.gz:member.json" for archive members
    data: bytes


def first_line(exc: BaseException) -> str:
    """An exception's message cut to one short line, for a one-line TraceError."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_UTF8_CHUNK = 1 << 24


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked in chunks so no full copy is made."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for lo in range(0, len(data), _UTF8_CHUNK):
            decoder.decode(data[lo:lo + _UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def is_cut_off(data: bytes) -> bool:
    """Whether a JSON document ends before its outermost brackets close (strings are
    skipped, so brackets inside names do not count)."""
    bare = _JSON_STRING.sub(b"", data)
    if b'"' in bare:  # a string that never ends: cut inside it
        return True
    opened = bare.count(b"{") + bare.count(b"[")
    return opened > bare.count(b"}") + bare.count(b"]")


def json_problem(data: bytes) -> str:
    """Why a JSON decoder refused ``data``, decided from the bytes themselves: decoders
    reword their messages between releases, tracekit's own must not follow them.
    Returns "not UTF-8", "cut off" or "malformed"."""
    if not is_utf8(data):
        return "not UTF-8"
    if is_cut_off(data):
        return "cut off"
    return "malformed"


def json_error(path: str, data: bytes) -> TraceError:
    """The one-line error for a JSON document that is not UTF-8 or not well-formed."""
    problem = json_problem(data)
    if problem == "not UTF-8":
        return TraceError(path, "not valid JSON (text is not UTF-8)")
    if problem == "cut off":
        return TraceError(path, "JSON is cut off before the first complete event")
    return TraceError(path, f"not valid JSON (a syntax error{_where(data)})")


def _where(data: bytes) -> str:
    """", at line L, column C" of the first syntax error, from orjson's structured error
    (not its text); skipped for large documents, where it would mean decoding them again."""
    if len(data) > _UTF8_CHUNK:
        return ""
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return f" at line {exc.lineno}, column {exc.colno}"
    return ""


READ_CHUNK = 1 << 20
MAX_TAR_TRACES = 256  # one trace per rank; thousands of tiny members are a bomb, not ranks
_limit: ContextVar = ContextVar("tracekit_max_size", default=None)
_preread: ContextVar = ContextVar("tracekit_preread", default=None)


def default_max_size() -> int:
    """Bytes of (decompressed) trace text read at most: loading needs several times the
    text's size, so a sixth of the memory available now, and at least 256 MiB."""
    available = None
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 8 << 30
    return max(256 << 20, available // 6)


def max_size() -> int:
    return _limit.get() or default_max_size()


def set_limits(max_bytes: int | None = None, preread: dict | None = None) -> None:
    """Bound what is read (``max_bytes`` of decompressed text; None: from the memory
    available) and serve inputs that can be read only once (pipes) from ``preread``
    {path: raw bytes}. Set by the loader before each file."""
    _limit.set(max_bytes)
    _preread.set(preread)


@contextmanager
def limits(max_bytes: int | None = None, preread: dict | None = None):
    """:func:`set_limits` for the duration of a ``with`` block."""
    t1 = _limit.set(max_bytes)
    t2 = _preread.set(preread)
    try:
        yield
    finally:
        _limit.reset(t1)
        _preread.reset(t2)


def is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # let the reader say what is wrong


def size_text(n: int) -> str:
    # binary units, spelled as tracekit.report.fmt.size spells them everywhere else
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def too_big(path: str, what: str, limit: int) -> TraceError:
    if _limit.get():
        return TraceError(path, f"{what} more than {size_text(limit)} (--max-size)")
    return TraceError(path, f"{what} more than {size_text(limit)} (the limit set by the memory "
                            "available); raise it with --max-size if the machine has the memory")


def _open_error(path: str, exc: OSError) -> TraceError:
    if isinstance(exc, FileNotFoundError):
        return TraceError(path, "no such file")
    if isinstance(exc, IsADirectoryError):
        return TraceError(path, "is a directory, not a trace file")
    if isinstance(exc, PermissionError):
        return TraceError(path, "permission denied")
    return TraceError(path, f"cannot read: {exc.strerror or exc}")


def read_once(path: str) -> bytes:
    """All bytes of an input that may not be read twice (a pipe, a FIFO, /dev/stdin),
    bounded by :func:`max_size`. A FIFO nobody writes to gives "empty", never a hang."""
    limit = max_size()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        os.set_blocking(fd, True)
        parts, got = [], 0
        while True:
            block = os.read(fd, READ_CHUNK)
            if not block:
                break
            parts.append(block)
            got += len(block)
            if got > limit:
                raise too_big(path, "input is", limit)
    except OSError as exc:
        raise _open_error(path, exc) from None
    finally:
        os.close(fd)
    raw = b"".join(parts)
    if not raw:
        raise TraceError(path, "file is empty (or a pipe nobody wrote to)")
    return raw


def _raw(path: str) -> bytes:
    """The file's bytes as stored (compressed or not), bounded by :func:`max_size`."""
    pre = _preread.get()
    if pre is not None and path in pre:
        return pre[path]
    limit = max_size()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise too_big(path, "file is", limit)
            raw = f.read(limit + 1)
    except OSError as exc:
        raise _open_error(path, exc) from None
    if len(raw) > limit:
        raise too_big(path, "file is", limit)
    if not raw:
        raise TraceError(path, "file is empty")
    return raw


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, decompressed if gzip. A cut-off gzip is read up to the cut."""
    path = os.fspath(path)
    raw = _raw(path)
    if raw[:2] == GZIP_MAGIC:
        return gunzip(raw, path)
    return raw


def gunzip(raw: bytes, path: str, limit: int | None = None) -> bytes:
    """Decompress member by member, a chunk at a time, stopping as soon as the output
    passes ``limit`` (a gzip bomb is refused before it fills memory). A cut-off or
    corrupt stream is read up to the damage, with a warning."""
    limit = max_size() if limit is None else limit
    parts: list[bytes] = []
    got = 0
    data = raw
    d = zlib.decompressobj(wbits=31)
    try:
        while True:
            block = d.decompress(data, READ_CHUNK)
            data = d.unconsumed_tail
            if block:
                parts.append(block)
                got += len(block)
                if got > limit:
                    raise too_big(path, "decompresses to", limit)
            if d.eof:
                rest = d.unused_data
                if rest[:2] != GZIP_MAGIC:
                    break
                data = rest
                d = zlib.decompressobj(wbits=31)
            elif not data and not block:
                break
    except zlib.error as exc:
        if not got:
            raise TraceError(path, f"corrupt gzip data ({exc})") from None
        warnings.warn(TraceWarning(f"{path}: gzip data is corrupt after {got} bytes; "
                                   "reading up to there"), stacklevel=2)
        return b"".join(parts)
    out = b"".join(parts)
    if not out:
        raise TraceError(path, "gzip file holds no data (cut off or corrupt)")
    if not d.eof:
        warnings.warn(TraceWarning(f"{path}: gzip stream is cut off; reading up to the cut"),
                      stacklevel=2)
    return out


def read_head(path: str, size: int = 1 << 16) -> bytes:
    """First bytes of a file after gzip decompression (for format detection)."""
    pre = _preread.get()
    if pre is not None and path in pre:
        raw = pre[path][:size]
    else:
        try:
            with open(path, "rb") as f:
                raw = f.read(size)
        except OSError as exc:
            raise _open_error(path, exc) from None
    if not raw:
        raise TraceError(path, "file is empty")
    if raw[:2] != GZIP_MAGIC:
        return raw
    d = zlib.decompressobj(wbits=31)
    try:
        return d.decompress(raw, size)  # the head only: never the whole (maybe huge) stream
    except zlib.error as exc:
        raise TraceError(path, f"corrupt gzip data ({exc})") from None


def is_tar(data: bytes) -> bool:
    return len(data) > 262 and data[257:262] == b"ustar"


def tar_members(data: bytes, path: str, suffixes=(".json", ".json.gz")) -> list[Member]:
    """Trace files inside a tar archive, in name order."""
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except tarfile.TarError as exc:
        raise TraceError(path, f"unreadable tar archive ({exc})") from None
    members = []
    limit = max_size()
    got = 0
    with archive:
        try:
            infos = archive.getmembers()
        except tarfile.TarError as exc:
            raise TraceError(path, f"unreadable tar archive ({exc})") from None
        infos = [info for info in sorted(infos, key=lambda m: m.name)
                 if info.isfile() and info.name.endswith(suffixes)
                 and not os.path.basename(info.name).startswith("._")]  # macOS resource forks
        if len(infos) > MAX_TAR_TRACES:
            raise TraceError(path, f"tar archive holds {len(infos):,} trace files; tracekit reads "
                                   f"at most {MAX_TAR_TRACES} per archive (one per rank)")
        for info in infos:
            name = f"{path}:{info.name}"
            try:
                blob = archive.extractfile(info).read()
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise TraceError(name, f"unreadable tar member ({first_line(exc)})") from None
            if blob[:2] == GZIP_MAGIC:
                blob = gunzip(blob, name, limit - got)
            got += len(blob)
            if got > limit:
                raise too_big(path, "archive holds", limit)
            members.append(Member(name, blob))
    if not members:
        raise TraceError(path, "tar archive holds no .json trace files")
    return members


def members(path: str | os.PathLike) -> list[Member]:
    """The traces a path holds: one for a plain or gzip file, several for a tar archive."""
    data = read_bytes(path)
    path = os.fspath(path)
    if is_tar(data):
        return tar_members(data, path)
    return [Member(path, data)]
