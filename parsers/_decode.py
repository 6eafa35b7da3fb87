"""Typed, chunked decoding of Chrome Trace Event JSON into flat numpy columns.

msgspec decodes each event into a small Struct that names only the fields tracekit uses
(everything else is skipped without being built). The event array is first split into
raw slices, then decoded chunk by chunk, and each chunk is turned into columns at once:
only one chunk of event objects is alive at any time, and strings (names, categories,
shapes) are interned into one table each, so a 2 GB trace costs columns, not objects.
"""
from __future__ import annotations

import gc
import math
import re
import sys
from collections import deque
from contextlib import contextmanager
from itertools import repeat
from multiprocessing import get_context
from typing import Any, Sequence, Union

import msgspec
import numpy as np
import pandas as pd
from msgspec.structs import astuple

from tracekit import cores
from tracekit.model import checks

# Events per decoded chunk: a chunk's event objects (~1 KB each) are the decoder's peak
# memory beyond the file's bytes; 8192 also keeps them in cache (faster than 32768).
CHUNK = 8192
# Numbers are left untyped: a typed field refuses 1e400 or 2**64 for the whole file, while
# the columns below set such values aside one by one (and count them).
Num = Any
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1


class Args(msgspec.Struct, gc=False, frozen=True):
    # numbers default to -1 (not None) so columns fill without a per-value check
    correlation: Num = -1
    external_id: Num = msgspec.field(default=-1, name="External id")
    external_id_legacy: Num = msgspec.field(default=-1, name="external id")
    device: Num = -1
    stream: Num = -1
    bytes: Num = -1
    kind: Num = ""
    direction: Num = ""  # MTIA dma_request: HOST_TO_DEVICE / DEVICE_TO_HOST
    size: Num = -1  # MTIA dma_request bytes
    grid: msgspec.Raw = msgspec.Raw()
    block: msgspec.Raw = msgspec.Raw()
    input_dims: msgspec.Raw = msgspec.field(default=msgspec.Raw(), name="Input Dims")
    input_dims_legacy: msgspec.Raw = msgspec.field(default=msgspec.Raw(), name="Input dims")
    input_type: msgspec.Raw = msgspec.field(default=msgspec.Raw(), name="Input type")
    name: Any = None  # metadata events: process/thread name
    labels: Any = None  # metadata events: "GPU 0", "CPU"


NO_ARGS = Args()


class Event(msgspec.Struct, gc=False):
    ph: str = ""
    cat: str = ""
    name: Any = ""
    pid: Num = -1
    tid: Num = -1
    ts: Num = math.nan
    dur: Num = 0.0
    id: Num = -1
    args: Args = NO_ARGS


class Header(msgspec.Struct, gc=False):
    """The top-level object of a Kineto trace, with the event array left undecoded."""

    traceEvents: Union[list[msgspec.Raw], None] = None
    schemaVersion: Any = None
    deviceProperties: Any = None
    distributedInfo: Any = None
    displayTimeUnit: Any = None
    baseTimeNanoseconds: Any = None
    traceName: Any = None
    record_shapes: Any = None
    cupti_version: Any = None
    cuda_runtime_version: Any = None
    cuda_driver_version: Any = None
    tracekit: Any = None  # what tracekit's collectors record about the run
    # other JSON documents people mistake for Kineto traces
    nodes: Any = None
    schema: Any = None


HEADER = msgspec.json.Decoder(Header)
RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
EVENTS = msgspec.json.Decoder(list[Event])


@contextmanager
def gc_paused():
    """Pause the cyclic GC while millions of acyclic objects are made (2x faster decode)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# Field order of Event and Args, for the columns ``astuple`` transposes (one C call per
# event instead of one attribute lookup per field).
EVENT_FIELDS = Event.__struct_fields__
ARGS_FIELDS = Args.__struct_fields__


DIRECTIONS = {"HOST_TO_DEVICE": "HtoD", "DEVICE_TO_HOST": "DtoH", "DEVICE_TO_DEVICE": "DtoD",
              "HOST_TO_HOST": "HtoH", "PEER_TO_PEER": "PtoP"}


def _copy_hint(kind, direction) -> str:
    """Copy direction from the args: ROCm's "kind": "HtoD", MTIA's "direction"."""
    if isinstance(kind, str) and kind:
        return kind
    if isinstance(direction, str) and direction:
        return DIRECTIONS.get(direction.upper(), direction)
    return ""


def _copy_hints(kinds, directions, names: "Interner") -> np.ndarray:
    """Codes in ``names`` of each event's ``_copy_hint``; most chunks name no direction
    at all, so check that first in C instead of calling a Python function per event."""
    n = len(kinds)
    out = np.full(n, names.code(""), np.int32)
    if not any(kinds) and not any(directions):
        return out
    at = np.flatnonzero(np.fromiter(map(bool, kinds), bool, n) | np.fromiter(map(bool, directions), bool, n))
    out[at] = names.encode([_copy_hint(kinds[i], directions[i]) for i in at.tolist()])
    return out


def _bytes_column(nbytes, sizes, flags=None) -> np.ndarray:
    out = int_column(nbytes, flags, "byte count")
    missing = out < 0
    if missing.any():
        out = np.where(missing, int_column(sizes, flags, "byte count"), out)
    return out


class Interner:
    """Assigns dense int codes to hashable values; ``labels`` lists them in code order.

    ``encode`` hashes a chunk in C (pandas.factorize) and touches the Python dict only
    once per distinct value of the chunk, not once per event.
    """

    def __init__(self, first=("",)):
        self.codes: dict = {}
        for value in first:
            self.code(value)

    def code(self, value) -> int:
        return self.codes.setdefault(value, len(self.codes))

    def encode(self, values: Sequence) -> np.ndarray:
        n = len(values)
        if not n:
            return np.zeros(0, np.int32)
        # Past the first chunks nearly every value is known: one dict lookup each, in C;
        # only the new ones are hashed into the table (in order, so codes stay the same).
        try:
            out = np.fromiter(map(self.codes.get, values, repeat(-1, n)), np.int32, count=n)
        except TypeError:  # an unhashable value
            return self._add(values)
        new = np.flatnonzero(out < 0)
        if len(new):
            out[new] = self._add(list(map(values.__getitem__, new.tolist())))
        return out

    def _add(self, values: list) -> np.ndarray:
        local, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=False)
        setdefault, codes = self.codes.setdefault, self.codes
        table = np.fromiter((setdefault(u, len(codes)) for u in uniques), dtype=np.int32,
                            count=len(uniques))
        return table[local]

    @property
    def labels(self) -> list:
        return list(self.codes)


class Flags(dict):
    """Counts of values read with a caveat, by what they were ("correlation id")."""

    def add(self, what: str, n: int) -> None:
        if n:
            self[what] = self.get(what, 0) + n


def int_column(values, flags: Flags | None = None, what: str = "id") -> np.ndarray:
    """int64 column from JSON numbers/strings; -1 where missing, not a number or out of
    the int64 range (those are counted in ``flags[what]``)."""
    values = values if isinstance(values, (list, tuple)) else list(values)
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except (TypeError, ValueError, OverflowError):
        pass
    out = np.fromiter((_as_int(v) for v in values), dtype=np.int64, count=len(values))
    if flags is not None:
        flags.add(what, sum(1 for v in values if _out_of_range(v)))
    return out


OUT_OF_RANGE = object()


def _as_int(v) -> int:
    got = _int_or_none(v)
    return -1 if got is None or got is OUT_OF_RANGE else got


def _out_of_range(v) -> bool:
    return _int_or_none(v) is OUT_OF_RANGE


def _int_or_none(v):
    """The int64 a JSON value stands for; None if it is no number, OUT_OF_RANGE if it is
    one outside int64 (2**64, 1e308, inf)."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, str):
        s = v.strip()
        try:
            v = int(s, 0) if s.lower().startswith("0x") else float(s)
        except ValueError:
            return None
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if not math.isfinite(v) or not -2.0**63 <= v < 2.0**63:
            return OUT_OF_RANGE
        return int(v)
    if isinstance(v, int):
        return v if INT64_MIN <= v <= INT64_MAX else OUT_OF_RANGE
    return None


def float_column(values) -> np.ndarray:
    """float64 column; NaN where missing or not a number (string numbers are accepted;
    numbers past float64 become +-inf, which the time checks set aside)."""
    values = values if isinstance(values, (list, tuple)) else list(values)
    try:
        return np.fromiter(values, dtype=np.float64, count=len(values))
    except (TypeError, ValueError, OverflowError):
        return np.fromiter((_as_float(v) for v in values), dtype=np.float64, count=len(values))


def _as_float(v) -> float:
    if isinstance(v, bool):
        return math.nan
    if isinstance(v, int):
        try:
            return float(v)
        except OverflowError:
            return math.inf if v > 0 else -math.inf
    if isinstance(v, float):
        return v
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return math.nan
    return math.nan


_STR_TID = re.compile(r"-?\d+")

# A JSON string token, or a run of text between string tokens.
_JSON_PIECE = re.compile(rb'"(?:[^"\\]|\\.)*"|[^"]+|"')
_SPACE = re.compile(rb"\s+")


def compact_json(raw: bytes) -> bytes:
    """One spelling for a raw JSON value, whatever the writer's indentation: Kineto's own
    (``[[16, 3], []]``, ``", "`` and ``": "`` between items, nothing else outside strings),
    so an indented trace gives the same shapes, dtypes, grid and block as a compact one."""
    out = []
    for piece in _JSON_PIECE.findall(raw):
        if piece[:1] == b'"':
            out.append(piece)
        else:
            out.append(_SPACE.sub(b"", piece).replace(b",", b", ").replace(b":", b": "))
    return b"".join(out)


class BlobInterner(Interner):
    """An :class:`Interner` of raw JSON values that codes each by its compact spelling."""

    def __init__(self):
        super().__init__(first=(b"",))
        self._raw: dict = {b"": 0}

    def encode(self, values: Sequence) -> np.ndarray:
        """Codes of raw JSON values (``msgspec.Raw``, empty where the field is absent)."""
        out = np.zeros(len(values), np.int32)  # code 0: absent, the common case
        if not any(values):
            return out
        at = np.flatnonzero(np.fromiter(map(bool, values), bool, len(values)))
        present = list(map(bytes, map(values.__getitem__, at.tolist())))
        local, uniques = pd.factorize(np.array(present, dtype=object), use_na_sentinel=False)
        raw, code = self._raw, self.code
        table = np.fromiter((raw[u] if u in raw else raw.setdefault(u, code(compact_json(u)))
                             for u in uniques), dtype=np.int32, count=len(uniques))
        out[at] = table[local]
        return out


class Columns:
    """Flat columns for every event of a trace, built chunk by chunk."""

    def __init__(self):
        self.names = Interner()
        self.cats = Interner()
        self.phs = Interner()
        self.blobs = BlobInterner()  # shapes, dtypes, grid, block as compact JSON text
        self.threads = Interner()  # string pids/tids such as "stream 7", "Spans"
        self.meta_names: list[tuple] = []  # (ph M name, pid, tid, args.name, args.labels)
        self._parts: dict[str, list[np.ndarray]] = {}
        self.flags = Flags()

    def warn(self, path: str) -> None:
        """One warning per kind of value read with a caveat."""
        warn_flags(path, self.flags)

    def add(self, events: list[Event]) -> None:
        n = len(events)
        if n == 0:
            return
        e = dict(zip(EVENT_FIELDS, zip(*map(astuple, events))))
        a = dict(zip(ARGS_FIELDS, zip(*map(astuple, e["args"]))))
        blob = self.blobs.encode
        names = e["name"]
        if set(map(type, names)) != {str}:
            names = [x if isinstance(x, str) else str(x) for x in names]
        flags = self.flags
        ext = int_column(a["external_id"], flags, "External id")
        legacy = int_column(a["external_id_legacy"], flags, "External id")
        dims = a["input_dims"]
        if any(a["input_dims_legacy"]):
            dims = [d or legacy_dims for d, legacy_dims in zip(dims, a["input_dims_legacy"])]
        part = {
            "ph": self.phs.encode(e["ph"]),
            "cat": self.cats.encode(e["cat"]),
            "name": self.names.encode(names),
            "pid": self._ids(e["pid"]),
            "tid": self._ids(e["tid"]),
            "ts": float_column(e["ts"]),
            "dur": float_column(e["dur"]),
            "flow_id": int_column(e["id"], flags, "flow id"),
            "correlation": int_column(a["correlation"], flags, "correlation id"),
            "external_id": np.where(ext >= 0, ext, legacy),
            "device": int_column(a["device"], flags, "device number"),
            "stream": int_column(a["stream"], flags, "stream number"),
            "bytes": _bytes_column(a["bytes"], a["size"], flags),
            "kind": _copy_hints(a["kind"], a["direction"], self.names),
            "grid": blob(a["grid"]),
            "block": blob(a["block"]),
            "dims": blob(dims),
            "types": blob(a["input_type"]),
        }
        for key, arr in part.items():
            self._parts.setdefault(key, []).append(_narrow(arr) if arr.dtype.kind == "i" else arr)
        m_code = self.phs.codes.get("M")
        if m_code is not None:
            for i in np.flatnonzero(part["ph"] == m_code):
                ev = events[i]
                self.meta_names.append((ev.name, ev.pid, ev.tid, ev.args.name, ev.args.labels))

    def _ids(self, values: Sequence) -> np.ndarray:
        """pid/tid as int64. Strings that hold a number become it ("4093687616");
        other strings ("Spans", "stream 7 ") and numbers past int64 get a stable negative
        code: they still name one thread each."""
        return ids_column(values, self.threads, self.flags)

    def finish(self) -> dict[str, np.ndarray]:
        out = {}
        for key in list(self._parts):
            parts = self._parts.pop(key)
            wide = np.int64 if key in WIDE else np.int32 if parts[0].dtype.kind == "i" else None
            out[key] = np.concatenate(parts, dtype=wide)
        return out

    def export(self) -> dict:
        """This slice's columns with the labels its codes refer to, for :meth:`merge`."""
        return {"columns": self.finish() if self._parts else {}, "flags": dict(self.flags),
                "meta_names": self.meta_names,
                **{f: getattr(self, f).labels for f in ("names", "cats", "phs", "blobs", "threads")}}

    def merge(self, part: dict) -> None:
        """Append the next slice's :meth:`export`, its codes turned into this one's.

        Labels are coded in the slice's order of first appearance, and slices arrive in
        file order, so every label gets the code a single pass would have given it."""
        table = {f: np.fromiter(map(getattr(self, f).code, part[f]), np.int64, len(part[f]))
                 for f in ("names", "cats", "phs", "blobs", "threads")}
        interner = {"ph": "phs", "cat": "cats", "name": "names", "kind": "names", "grid": "blobs",
                    "block": "blobs", "dims": "blobs", "types": "blobs"}
        for key, arr in part["columns"].items():
            if key in interner:
                arr = table[interner[key]][arr].astype(np.int32)
            elif key in ("pid", "tid") and (arr < -1).any():
                named = arr < -1  # -2 - code of a named thread
                arr = np.where(named, -2 - table["threads"][np.where(named, -2 - arr, 0)], arr)
            self._parts.setdefault(key, []).append(arr)
        self.meta_names.extend(part["meta_names"])
        for what, n in part["flags"].items():
            self.flags.add(what, n)


# Integer columns are kept in the narrowest type their values fit while the file's bytes
# are alive (codes, devices and streams mostly fit 8 or 16 bits, ids 32), and widened by
# ``finish``: these to int64, the codes to int32.
WIDE = frozenset({"pid", "tid", "flow_id", "correlation", "external_id", "device", "stream", "bytes"})
_NARROW = [(t, np.iinfo(t)) for t in (np.int8, np.int16, np.int32)]


def _narrow(arr: np.ndarray) -> np.ndarray:
    if not len(arr):
        return arr
    lo, hi = arr.min(), arr.max()
    for dtype, info in _NARROW:
        if info.min <= lo and hi <= info.max:
            return arr.astype(dtype)
    return arr


def ids_column(values: Sequence, threads: Interner, flags: Flags | None = None) -> np.ndarray:
    """pid/tid column (see ``Columns._ids``); out-of-range numbers counted in ``flags``."""
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except (TypeError, ValueError, OverflowError):
        pass
    out = np.empty(len(values), dtype=np.int64)
    big = 0
    for i, v in enumerate(values):  # rare: only traces with string pids/tids get here
        if isinstance(v, int) and not isinstance(v, bool) and INT64_MIN <= v <= INT64_MAX:
            out[i] = v
        elif isinstance(v, float) and v.is_integer() and -2.0**63 <= v < 2.0**63:
            out[i] = int(v)
        elif isinstance(v, str) and _STR_TID.fullmatch(v.strip()) and INT64_MIN <= int(v) <= INT64_MAX:
            out[i] = int(v)
        elif v is None:
            out[i] = -1
        else:
            big += _out_of_range(v)
            out[i] = -2 - threads.code(str(v)[:200])
    if flags is not None:
        flags.add("process/thread id", big)
    return out


FLAG_ACTIONS = {"process/thread id": "each read as a named thread"}


def warn_flags(path: str, flags: Flags) -> None:
    for what, n in flags.items():
        checks.warn_count(path, f"{what}{'s' if n != 1 else ''} out of the 64-bit range", n,
                          FLAG_ACTIONS.get(what, "read as missing"))


def split_events(data: bytes, path: str):
    """(header, raw event slices, truncated?) for a Kineto document or bare event array."""
    start = _first_byte(data)
    if start == ord("{"):
        header = HEADER.decode(data)
        return header, header.traceEvents, False
    if start == ord("["):
        return Header(), RAW_LIST.decode(data), False
    raise ValueError("not JSON")


def _first_byte(data: bytes) -> int:
    for i in range(min(len(data), 4096)):
        b = data[i]
        if b not in b" \t\r\n\xef\xbb\xbf":
            return b
    return -1


def decode_events(raws: list, columns, progress=None, decoder=EVENTS, since=None) -> None:
    """Decode raw event slices chunk by chunk into ``columns.add(events)``, so only one
    chunk of event objects is alive at a time; ``progress(done, total)`` after each.
    ``raws`` is consumed: each slice is set to None once decoded.

    A large Kineto event array is cut into one run of chunks per idle core, decoded in
    parallel (``parallel_decode``); ``since``: a :func:`tracekit.cores.cpu_ticks`
    snapshot from before the array was split, to tell which cores stayed idle meanwhile."""
    if type(columns) is Columns and decoder is EVENTS:
        workers = worker_count(len(raws), since)
        if workers > 1:
            parallel_decode(raws, columns, workers, progress)
            return
    _decode_serial(raws, columns, progress, decoder)


def _decode_serial(raws: list, columns, progress=None, decoder=EVENTS) -> None:
    total = len(raws)
    for lo in range(0, total, CHUNK):
        hi = min(lo + CHUNK, total)
        text = b"[" + b",".join(raws[lo:hi]) + b"]"
        # released once copied: their memory holds the next chunks' events (peak memory)
        raws[lo:hi] = repeat(None, hi - lo)
        try:
            events = decoder.decode(text)
        except msgspec.ValidationError:
            # numbers past float64 (1e400) are refused even untyped; read them as +-inf
            events = _tolerant(decoder).decode(text)
        columns.add(events)
        if progress is not None:
            progress(min(lo + CHUNK, total), total)


# Below this many events a pool costs more to start than it saves.
PARALLEL_MIN_EVENTS = 1 << 17


def worker_count(n_events: int, since: dict | None = None) -> int:
    """Processes to decode ``n_events`` with (:func:`tracekit.cores.process_count`: the
    idle cores, ``since`` a :func:`tracekit.cores.cpu_ticks` snapshot); 1 for small arrays
    and where fork is not the safe default."""
    if n_events < PARALLEL_MIN_EVENTS or not sys.platform.startswith("linux"):
        return 1
    return max(1, min(cores.process_count(since), -(-n_events // CHUNK)))


# Chunks this process decodes for each one a worker does: measured 1.3 on 2 cores.
OWN_SHARE = 1.3
_SHARED: list = []  # the raw slices, inherited by the forked workers (never pickled)


def parallel_decode(raws: list, columns: "Columns", workers: int, progress=None) -> None:
    """Decode ``raws`` into ``columns`` with ``workers`` processes: this one decodes the
    first run of chunks while forked workers decode the others into their own
    :class:`Columns`, whose columns come back as numpy arrays and are merged in order."""
    from concurrent.futures import ProcessPoolExecutor  # only large files pay its import

    total = len(raws)
    chunks = -(-total // CHUNK)
    # Whole chunks per run (the chunking of one pass). A worker's chunk costs more than
    # this process's (copy-on-write faults, columns sent back), so this process takes the
    # first and larger run, to finish about when the workers' results arrive.
    weights = np.array([OWN_SHARE] + [1.0] * (workers - 1))
    cuts = np.unique(np.round(np.cumsum(weights) / weights.sum() * chunks).astype(np.int64))
    ends = np.minimum(cuts[cuts > 0] * CHUNK, total)
    bounds = list(zip([0, *ends[:-1].tolist()], ends.tolist()))
    if len(bounds) < 2:
        _decode_serial(raws, columns, progress)
        return
    _SHARED[:] = [raws]
    try:
        with ProcessPoolExecutor(len(bounds) - 1, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_decode_run, lo, hi) for lo, hi in bounds[1:]]
            done = bounds[0][1]
            mine = raws[:done]
            raws[:done] = repeat(None, done)  # outside every worker's run, forked or not
            _decode_serial(mine, columns)
            if progress is not None:
                progress(done, total)
            for future, (lo, hi) in zip(futures, bounds[1:]):
                columns.merge(future.result())
                done += hi - lo
                if progress is not None:
                    progress(done, total)
    finally:
        _SHARED.clear()


def _decode_run(lo: int, hi: int) -> dict:
    columns = Columns()
    with gc_paused():
        _decode_serial(_SHARED[0][lo:hi], columns)
    return columns.export()


_TOLERANT: dict = {}


def _tolerant(decoder):
    if decoder.type not in _TOLERANT:
        _TOLERANT[decoder.type] = msgspec.json.Decoder(decoder.type, float_hook=float)
    return _TOLERANT[decoder.type]


_EVENT_GAP = re.compile(rb"\}\s*,\s*\{")


def recover_truncated(data: bytes, attempts: int = 32):
    """Close a cut-off trace after its last complete event (the Trace Event Format
    allows a missing closing bracket). Returns (header, raws) or None.

    Tries the last ``}`` first (the cut fell between events), then the last ``}, {``
    boundary before it (the cut fell inside an event that holds nested objects)."""
    start = _first_byte(data)
    closers = (b"]}", b"]") if start == ord("{") else (b"]",)
    cut = len(data)
    for _ in range(attempts):
        pos = data.rfind(b"}", 0, cut)
        if pos < 0:
            return None
        # the last event boundary before the cut
        last = deque(_EVENT_GAP.finditer(data, max(0, pos - (1 << 20)), pos + 1), maxlen=1)
        boundary = last[0] if last else None
        ends = [pos + 1]
        if boundary is not None and boundary.start() + 1 != pos + 1:
            ends.append(boundary.start() + 1)
        for end in ends:
            head = data[:end]
            for closer in closers:
                try:
                    header, raws, _ = split_events(head + closer, "")
                except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
                    continue
                if raws is None:
                    return None  # cut before "traceEvents": there is no event to read
                return header, raws
        cut = ends[-1] - 1
    return None
