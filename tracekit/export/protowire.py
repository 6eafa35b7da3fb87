"""Protocol-buffer wire encoding for many messages of one shape at once, with numpy.

Building a ``TracePacket`` object per event with the protobuf runtime costs ~5 µs, which
for a million events is longer than loading the trace. The events of a Perfetto export
are all alike (a timestamp, a track, a name id, a few debug annotations), so they are
encoded column-wise instead: every field becomes a padded byte matrix (one row per
message) plus a length per row; absent fields have length 0. A whole batch of messages
is then one masked gather. Variable-length repeated fields (the flow ids of a CUDA graph
launch) are ragged parts, merged in a second pass.

The result is ordinary protobuf: the tests read it back with Perfetto's own generated
classes. :meth:`Rows.decimal` writes JSON numbers the same way (the Chrome exporter's flow
events).
"""
from __future__ import annotations

import numpy as np

VARINT, I64, LEN = 0, 1, 2


def tag(field: int, wire: int) -> bytes:
    return encode_varint(field << 3 | wire)


def encode_varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_THRESHOLDS = np.array([1 << (7 * k) for k in range(1, 10)], dtype=np.uint64)


def varints(values) -> tuple[np.ndarray, np.ndarray]:
    """Varint bytes of each value (int64 values are two's complement, as protobuf does):
    a (n, w) uint8 matrix and the length of each row."""
    v = np.asarray(values)
    v = v.view(np.uint64) if v.dtype == np.int64 else v.astype(np.uint64)
    n = len(v)
    lens = np.searchsorted(_THRESHOLDS, v, side="right").astype(np.int64) + 1
    w = int(lens.max()) if n else 1
    mat = np.empty((n, w), dtype=np.uint8)
    for j in range(w):
        byte = (v >> np.uint64(7 * j)).astype(np.uint8) & np.uint8(0x7F)
        if j + 1 < w:
            byte |= (lens > j + 1).view(np.uint8) << np.uint8(7)
        mat[:, j] = byte
    return mat, lens


_POW10 = np.array([10**k for k in range(1, 19)], dtype=np.int64)


def digits(values) -> tuple[np.ndarray, np.ndarray]:
    """Decimal digits of non-negative int64 values, left-aligned in a (n, w) matrix."""
    v = np.asarray(values, dtype=np.int64)
    n = len(v)
    lens = np.searchsorted(_POW10, v, side="right").astype(np.int64) + 1
    w = int(lens.max()) if n else 1
    mat = np.zeros((n, w), dtype=np.uint8)
    rest = v.copy()
    rows = np.arange(n)
    for j in range(w - 1, -1, -1):  # j-th digit from the right
        col = lens - 1 - (w - 1 - j)
        ok = col >= 0
        mat[rows[ok], col[ok]] = 48 + (rest[ok] % 10).astype(np.uint8)
        rest //= 10
    return mat, lens


class Rows:
    """Fields of ``n`` messages, in order. Each part is a padded matrix with row lengths,
    or a ragged byte run (flat bytes with row lengths)."""

    def __init__(self, n: int):
        self.n = n
        self.parts: list[tuple[str, np.ndarray, np.ndarray]] = []

    # ------------------------------------------------------------------ fields
    def raw(self, data: bytes, present=None) -> Rows:
        mat = np.broadcast_to(np.frombuffer(data, dtype=np.uint8), (self.n, len(data)))
        lens = np.full(self.n, len(data), dtype=np.int64)
        return self._add("mat", mat, self._mask(lens, present))

    def varint(self, field: int, values, present=None) -> Rows:
        t = tag(field, VARINT)
        mat, lens = varints(values)
        if len(t) and self.n:
            mat = np.hstack([np.broadcast_to(np.frombuffer(t, np.uint8), (self.n, len(t))), mat])
        return self._add("mat", mat, self._mask(lens + len(t), present))

    def fixed64(self, field: int, values, present=None) -> Rows:
        t = tag(field, I64)
        v = np.ascontiguousarray(np.asarray(values).astype("<u8") if np.asarray(values).dtype != np.float64
                                 else np.asarray(values, dtype="<f8"))
        body = v.view(np.uint8).reshape(self.n, 8)
        mat = np.hstack([np.broadcast_to(np.frombuffer(t, np.uint8), (self.n, len(t))), body])
        lens = np.full(self.n, len(t) + 8, dtype=np.int64)
        return self._add("mat", mat, self._mask(lens, present))

    def submessage_varint(self, field: int, prefix: bytes, value_field: int, values,
                          present=None) -> Rows:
        """A small sub-message ``{prefix fields..., value_field: varint}`` in one part
        (e.g. a DebugAnnotation: name id + value), for rows where ``present``."""
        head = np.frombuffer(tag(field, LEN), np.uint8)
        vt = tag(value_field, VARINT)
        fixed = np.frombuffer(prefix + vt, np.uint8)
        vmat, vlens = varints(values)
        size = len(fixed) + vlens
        if int(size.max(initial=0)) > 127:
            raise ValueError("sub-message too long for a one-byte length")
        w = len(head) + 1 + len(fixed) + vmat.shape[1]
        mat = np.empty((self.n, w), dtype=np.uint8)
        mat[:, :len(head)] = head
        mat[:, len(head)] = size.astype(np.uint8)
        mat[:, len(head) + 1:len(head) + 1 + len(fixed)] = fixed
        mat[:, len(head) + 1 + len(fixed):] = vmat
        return self._add("mat", mat, self._mask(len(head) + 1 + size, present))

    def decimal(self, values, present=None, prefix: bytes = b"", milli: bool = False) -> Rows:
        """Text of integers (JSON numbers) after a constant ``prefix``; ``milli``:
        value/1000 with exactly three decimals (ns written as "µs.nnn")."""
        v = np.asarray(values, dtype=np.int64)
        if prefix:
            self.raw(prefix, present)
        neg = v < 0
        if neg.any():
            self.raw(b"-", neg if present is None else neg & np.asarray(present, dtype=bool))
            v = np.abs(v)
        whole = v // 1000 if milli else v
        dmat, dlens = digits(whole)
        if not milli:
            return self._add("mat", dmat, self._mask(dlens, present))
        frac = v % 1000
        w = dmat.shape[1] + 4
        mat = np.zeros((self.n, w), dtype=np.uint8)
        mat[:, :dmat.shape[1]] = dmat
        rows = np.arange(self.n)
        mat[rows, dlens] = ord(".")
        mat[rows, dlens + 1] = 48 + frac // 100
        mat[rows, dlens + 2] = 48 + frac // 10 % 10
        mat[rows, dlens + 3] = 48 + frac % 10
        return self._add("mat", mat, self._mask(dlens + 4, present))

    def ragged(self, data: np.ndarray, lens: np.ndarray) -> Rows:
        return self._add("rag", np.asarray(data, dtype=np.uint8), np.asarray(lens, dtype=np.int64))

    def message(self, field: int, inner: Rows, present=None) -> Rows:
        """A length-delimited sub-message; absent rows drop the header and the body."""
        if present is not None:
            present = np.asarray(present, dtype=bool)
            for kind, _data, lens in inner.parts:
                if kind == "rag" and (lens[~present] > 0).any():
                    raise ValueError("ragged bytes in an absent sub-message")
            inner_parts = [(k, d, np.where(present, l, 0)) for k, d, l in inner.parts]
        else:
            inner_parts = inner.parts
        size = sum((l for _, _, l in inner_parts), np.zeros(self.n, dtype=np.int64))
        t = tag(field, LEN)
        mat, lens = varints(size)
        mat = np.hstack([np.broadcast_to(np.frombuffer(t, np.uint8), (self.n, len(t))), mat])
        self._add("mat", mat, self._mask(lens + len(t), present))
        self.parts.extend(inner_parts)
        return self

    # ------------------------------------------------------------------ output
    def lengths(self) -> np.ndarray:
        return sum((l for _, _, l in self.parts), np.zeros(self.n, dtype=np.int64))

    def tobytes(self) -> tuple[np.ndarray, np.ndarray]:
        """(flat bytes of all rows, length of each row)."""
        blocks: list[tuple[np.ndarray, np.ndarray]] = []
        run: list[tuple[np.ndarray, np.ndarray]] = []
        for kind, data, lens in self.parts:
            if kind == "mat":
                run.append((data, lens))
                continue
            if run:
                blocks.append(_gather(run))
                run = []
            blocks.append((data, lens))
        if run:
            blocks.append(_gather(run))
        if len(blocks) == 1:
            return blocks[0]
        return _merge(blocks, self.n)

    # ------------------------------------------------------------------ helpers
    def _add(self, kind, data, lens) -> Rows:
        self.parts.append((kind, data, lens))
        return self

    @staticmethod
    def _mask(lens: np.ndarray, present) -> np.ndarray:
        if present is None:
            return lens
        return np.where(np.asarray(present, dtype=bool), lens, 0)


def _gather(run) -> tuple[np.ndarray, np.ndarray]:
    n = len(run[0][1])
    width = sum(m.shape[1] for m, _ in run)
    big = np.empty((n, width), dtype=np.uint8)
    mask = np.empty((n, width), dtype=bool)
    col = 0
    total = np.zeros(n, dtype=np.int64)
    for m, l in run:
        w = m.shape[1]
        big[:, col:col + w] = m
        np.less(np.arange(w), l[:, None], out=mask[:, col:col + w])
        total += l
        col += w
    return big[mask], total


def _merge(blocks, n) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise concatenation of ragged blocks."""
    total_lens = sum((l for _, l in blocks), np.zeros(n, dtype=np.int64))
    row_start = np.cumsum(total_lens) - total_lens
    out = np.empty(int(total_lens.sum()), dtype=np.uint8)
    before = np.zeros(n, dtype=np.int64)
    for data, lens in blocks:
        if len(data):
            src_start = np.cumsum(lens) - lens
            dest = np.repeat(row_start + before - src_start, lens) + np.arange(len(data))
            out[dest] = data
        before += lens
    return out, total_lens


def interleave(groups, n: int) -> np.ndarray:
    """Bytes of ``n`` rows encoded in groups: ``groups`` holds (row positions, flat bytes,
    row lengths) per group; returns all rows' bytes in row order."""
    lens = np.zeros(n, dtype=np.int64)
    for pos, _, l in groups:
        lens[pos] = l
    start = np.cumsum(lens) - lens
    out = np.empty(int(lens.sum()), dtype=np.uint8)
    for pos, data, l in groups:
        if len(data):
            src_start = np.cumsum(l) - l
            out[np.repeat(start[pos] - src_start, l) + np.arange(len(data))] = data
    return out
