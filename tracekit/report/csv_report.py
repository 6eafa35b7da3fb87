"""``tracekit report --csv DIR``: the report's numbers as CSV files, one row per trace
(``traces.csv``, the numbers of ``summary --json``), per trace and group (``groups.csv``),
per top non-GEMM op (``top_ops.csv``) and per runtime comparison side and group
(``comparison.csv``). Names from traces are cleaned of control characters, and a cell
that would start a spreadsheet formula gets a leading quote."""
from __future__ import annotations

import csv
import os

from tracekit.report.dataset import Entry
from tracekit.safe_text import clean

LABELS = ("path", "model", "runtime", "batch", "seq", "device", "dtype")
TOTALS = ("total_ns", "compute_ns", "gemm_ns", "non_gemm_ns", "communication_ns",
          "exposed_communication_ns", "unattributed_ns", "gemm_free_speedup", "attributed_share",
          "kernels", "ops")
TRACE_COLUMNS = (*LABELS, "format", "source", "time_basis", "window", "steps", *TOTALS)


def cell(value):
    if value is None:
        return ""
    if isinstance(value, str):
        text = clean(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@") else text
    return value


def _labels(e: Entry) -> list:
    return [e.path, e.model, e.runtime, e.batch, e.seq, e.device, e.dtype]


def trace_rows(entries: list[Entry]) -> list[list]:
    rows = []
    for e in entries:
        s = e.summary
        rows.append([*_labels(e), e.format, e.source, s.time_basis, s.window.description,
                     " ".join(map(str, s.steps)), *(getattr(s, k) for k in TOTALS)])
    return rows


def group_rows(entries: list[Entry]) -> list[list]:
    rows = []
    for e in entries:
        total = e.summary.total_ns
        for group, ns in e.summary.groups.items():
            rows.append([*_labels(e), group, group in e.gemm_groups, ns,
                         ns / total if total else None, e.per_step_ms(ns)])
    return rows


def top_op_rows(entries: list[Entry]) -> list[list]:
    return [[*_labels(e), rank, r.name, r.group, r.calls, r.total_ns, r.share]
            for e in entries for rank, r in enumerate(e.summary.top_non_gemm_ops, 1)]


def comparison_rows(comparisons) -> list[list]:
    return [[c.model, p.point, side.runtime, side.path, group, side.ms.get(group, 0.0)]
            for c in comparisons for p in c.points for side in p.sides for group in c.groups]


def write(folder: str, entries: list[Entry], comparisons) -> list[str]:
    """Write the CSV files into ``folder``; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    tables = {
        "traces.csv": (TRACE_COLUMNS, trace_rows(entries)),
        "groups.csv": ((*LABELS, "group", "is_gemm", "ns", "share", "ms_per_step"), group_rows(entries)),
        "top_ops.csv": ((*LABELS, "rank", "name", "group", "calls", "total_ns", "share"), top_op_rows(entries)),
        "comparison.csv": (("model", "point", "runtime", "path", "group", "ms_per_step"),
                           comparison_rows(comparisons)),
    }
    paths = []
    for name, (header, rows) in tables.items():
        path = os.path.join(folder, name)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([cell(v) for v in row] for row in rows)
        paths.append(path)
    return paths
