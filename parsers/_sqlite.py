"""Read-only access to SQLite trace databases (Nsight Systems exports), in bulk.

Exports are untrusted files: opened read-only (URI ``mode=ro``, ``immutable``), every
query runs under a step budget proportional to the file's size (:class:`Budget`; a
recursive view that never ends is stopped, with a one-line error), and text that is not
valid UTF-8 is decoded with replacement characters and counted, never fatal.

Queries select only the columns they need and come back as numpy arrays, read in chunks
(``fetchmany``): the rows of one chunk are the only Python objects that exist per event,
and only until the chunk is converted. Strings stored once in a ``StringIds`` table are
looked up for the distinct ids a query returned, never per row.
"""
from __future__ import annotations

import os
import sqlite3
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from tracekit.model import TraceError

MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
CHUNK_ROWS = 1 << 16
_MAX_PARAMS = 500  # ids per "IN (...)" lookup; well under SQLITE_MAX_VARIABLE_NUMBER


def check_header(path: str, shown: str) -> None:
    """Reject a truncated database before SQLite reads pages that are not there.

    The header records the database size in pages (valid when its "version-valid-for"
    number equals the change counter); a file shorter than that was cut off.
    """
    with open(path, "rb") as f:
        head = f.read(HEADER_SIZE)
    if not head.startswith(MAGIC):
        raise TraceError(shown, "is not a SQLite database")
    if len(head) < HEADER_SIZE:
        raise TraceError(shown, f"SQLite database is truncated (only {len(head)} bytes of header)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise TraceError(shown, f"corrupt SQLite header (page size {page_size})")
    pages = int.from_bytes(head[28:32], "big")
    size = os.path.getsize(path)
    if pages and head[92:96] == head[24:28] and size < pages * page_size:
        raise TraceError(shown, f"SQLite database is truncated ({size:,} of "
                                f"{pages * page_size:,} bytes)")
    if size < page_size:
        raise TraceError(shown, f"SQLite database is truncated ({size:,} bytes, "
                                f"less than one {page_size:,}-byte page)")


BUDGET_ENV = "TRACEKIT_SQLITE_BUDGET"
STEPS_PER_BYTE = 50  # the corpus exports need under 1 SQLite VM step per byte of file
MIN_STEPS = 5_000_000
CHECK_EVERY = 10_000  # VM instructions between two progress-handler calls


class Budget:
    """SQLite progress handler: stops the running query once the connection has used
    ``steps`` VM instructions in all (``exceeded`` tells why a query was interrupted)."""

    def __init__(self, steps: int):
        self.steps, self.used, self.exceeded = steps, 0, False

    @classmethod
    def for_file(cls, path: str) -> "Budget":
        try:
            scale = float(os.environ.get(BUDGET_ENV, "1"))
        except ValueError:
            scale = 1.0
        scale = scale if scale > 0 else 1.0
        return cls(int((MIN_STEPS + STEPS_PER_BYTE * os.path.getsize(path)) * scale))

    def __call__(self) -> int:
        self.used += CHECK_EVERY
        if self.used > self.steps:
            self.exceeded = True
            return 1
        return 0

    def message(self) -> str:
        return (f"SQLite queries stopped after {self.used / 1e6:,.0f} million steps, far more than "
                f"an export of this size needs (an endless recursive view?); set {BUDGET_ENV}=10 "
                "to allow 10 times more")


class Text:
    """``text_factory``: UTF-8, with replacement characters where a value is not valid
    UTF-8; ``bad`` counts the distinct values that were not."""

    def __init__(self):
        self._bad: set[bytes] = set()

    @property
    def bad(self) -> int:
        return len(self._bad)

    def __call__(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if len(self._bad) < 1_000_000:
                self._bad.add(bytes(raw))
            return raw.decode("utf-8", "replace")


def connect(path: str, budget: Budget | None = None, text: Text | None = None) -> sqlite3.Connection:
    """Open read-only; ``immutable`` also skips locking (exports are never written to)."""
    uri = Path(path).resolve().as_uri() + "?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    if budget is not None:
        conn.set_progress_handler(budget, CHECK_EVERY)
    if text is not None:
        conn.text_factory = text
    return conn


class Database:
    """A connection plus what the schema holds: table names and their columns."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
        self.tables = {str(r[0]) for r in rows}
        self._columns: dict[str, list[str]] = {}
        self._storage: dict[tuple[str, str], str | None] = {}

    def has(self, table: str) -> bool:
        return table in self.tables

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            rows = self.conn.execute(f"PRAGMA table_info({quote(table)})").fetchall() if self.has(table) else []
            self._columns[table] = [str(r[1]) for r in rows]
        return self._columns[table]

    def has_column(self, table: str, column: str) -> bool:
        return column in self.columns(table)

    def col(self, table: str, column: str, default="-1", alias: str = "") -> str:
        """``COALESCE(alias.column, default)`` if the column exists, else ``default``."""
        if not self.has_column(table, column):
            return default
        prefix = f"{alias}." if alias else ""
        return f"COALESCE({prefix}{quote(column)}, {default})"

    def storage(self, table: str, column: str) -> str | None:
        """Storage class of the column's first non-NULL value ("integer", "text", ...)."""
        key = (table, column)
        if key not in self._storage:
            row = None
            if self.has_column(table, column):
                row = self.conn.execute(
                    f"SELECT typeof({quote(column)}) FROM {quote(table)} "
                    f"WHERE {quote(column)} IS NOT NULL LIMIT 1").fetchone()
            self._storage[key] = row[0] if row else None
        return self._storage[key]

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {quote(table)}").fetchone()[0])

    def fetch(self, sql: str, kinds: str, params=()) -> list[np.ndarray]:
        """Run ``sql``; one array per result column: "i" int64 (the query maps NULL to a
        number), "o" object (text)."""
        cur = self.conn.execute(sql, params)
        parts: list[list[np.ndarray]] = [[] for _ in kinds]
        width = len(kinds)
        while True:
            rows = cur.fetchmany(CHUNK_ROWS)
            if not rows:
                break
            if kinds == "i" * width:  # all integers: one flat pass, no per-column tuples
                try:
                    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width)
                except (TypeError, ValueError, OverflowError):
                    pass
                else:
                    flat = flat.reshape(len(rows), width)
                    for j in range(width):
                        parts[j].append(np.ascontiguousarray(flat[:, j]))
                    continue
            cols = list(zip(*rows))
            del rows
            for j, kind in enumerate(kinds):
                if kind == "i":
                    try:
                        parts[j].append(np.array(cols[j], dtype=np.int64))
                    except (TypeError, ValueError, OverflowError):
                        parts[j].append(_as_int(cols[j]))
                else:
                    parts[j].append(np.array(cols[j], dtype=object))
            del cols
        return [np.concatenate(p) if p else np.zeros(0, np.int64 if k == "i" else object)
                for p, k in zip(parts, kinds)]

    def strings(self, ids: np.ndarray, table: str = "StringIds") -> dict[int, str]:
        """``id -> value`` from the StringIds table for the distinct non-negative ``ids``."""
        wanted = np.unique(ids[ids >= 0]) if len(ids) else np.zeros(0, np.int64)
        out: dict[int, str] = {}
        if not len(wanted) or not self.has(table):
            return out
        for i in range(0, len(wanted), _MAX_PARAMS):
            chunk = [int(x) for x in wanted[i:i + _MAX_PARAMS]]
            marks = ",".join("?" * len(chunk))
            for key, value in self.conn.execute(
                    f"SELECT id, value FROM {quote(table)} WHERE id IN ({marks})", chunk):
                out[int(key)] = "" if value is None else str(value)
        return out


def _as_int(values) -> np.ndarray:
    """Slow path for a column holding odd values (REAL, text, huge ints): -1 where not an int."""
    out = np.full(len(values), -1, dtype=np.int64)
    for i, v in enumerate(values):
        try:
            out[i] = int(v)
        except (TypeError, ValueError, OverflowError):
            pass
    return out


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def categorical_from_keys(keys: np.ndarray, label_of) -> pd.Categorical:
    """Categorical whose label per row is ``label_of(key)``, called once per distinct key;
    keys that map to the same label share one category."""
    if len(keys) == 0:
        return pd.Categorical.from_codes(np.zeros(0, np.int8), categories=pd.Index([""], dtype=object))
    uniq, inverse = np.unique(keys, return_inverse=True)
    labels = np.array([label_of(k) for k in uniq.tolist()] + [""], dtype=object)
    codes, cats = pd.factorize(labels)
    return pd.Categorical.from_codes(codes[:-1][inverse.reshape(-1)], categories=pd.Index(cats, dtype=object))


def categorical_from_text(values: np.ndarray) -> pd.Categorical:
    """Categorical from an object array of strings (None -> "")."""
    if len(values) == 0:
        return pd.Categorical.from_codes(np.zeros(0, np.int8), categories=pd.Index([""], dtype=object))
    codes, cats = pd.factorize(values, use_na_sentinel=True)
    cats = [("" if c is None else str(c)) for c in cats]
    if (codes < 0).any():
        if "" not in cats:
            cats.append("")
        codes = np.where(codes < 0, cats.index(""), codes)
    labels, remap = np.unique(np.array(cats, dtype=object).astype(str), return_inverse=True)
    return pd.Categorical.from_codes(remap.reshape(-1)[codes], categories=pd.Index(labels.astype(object), dtype=object))
