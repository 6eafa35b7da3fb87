"""Reading trace files: plain, gzip (also cut-off gzip) and tar archives of traces."""
from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import tarfile
import warnings
import zlib
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


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, decompressed if gzip. A cut-off gzip is read up to the cut."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise TraceError(path, "no such file") from None
    except IsADirectoryError:
        raise TraceError(path, "is a directory, not a trace file") from None
    except PermissionError:
        raise TraceError(path, "permission denied") from None
    except OSError as exc:
        raise TraceError(path, f"cannot read: {exc.strerror or exc}") from None
    if not raw:
        raise TraceError(path, "file is empty")
    if raw[:2] == GZIP_MAGIC:
        return gunzip(raw, path)
    return raw


def gunzip(raw: bytes, path: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error):
        pass
    # A cut-off or corrupt stream: decompress what is there, member by member.
    parts = []
    data = raw
    d = zlib.decompressobj(wbits=31)
    try:
        while data:
            parts.append(d.decompress(data))
            data = d.unused_data
            if not d.eof or data[:2] != GZIP_MAGIC:
                break
            d = zlib.decompressobj(wbits=31)
    except zlib.error as exc:
        got = sum(map(len, parts))
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
    try:
        with open(path, "rb") as f:
            raw = f.read(size)
    except OSError as exc:
        raise TraceError(path, f"cannot read: {exc.strerror or exc}") from None
    if not raw:
        raise TraceError(path, "file is empty")
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        with gzip.open(path, "rb") as f:
            return f.read(size)
    except (OSError, EOFError, zlib.error):
        d = zlib.decompressobj(wbits=31)
        try:
            return d.decompress(raw)
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
    with archive:
        for info in sorted(archive.getmembers(), key=lambda m: m.name):
            if not info.isfile() or not info.name.endswith(suffixes):
                continue
            if os.path.basename(info.name).startswith("._"):
                continue  # macOS resource forks
            blob = archive.extractfile(info).read()
            if blob[:2] == GZIP_MAGIC:
                blob = gunzip(blob, f"{path}:{info.name}")
            members.append(Member(f"{path}:{info.name}", blob))
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
