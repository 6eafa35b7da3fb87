"""HTML tables of the report: top non-GEMM ops per model, the sections that appear when a
trace has the data (TensorRT fusion, ONNX Runtime fallback and copies, communication,
per-device time) and the provenance of every input. Every name from a trace is escaped."""
from __future__ import annotations

import html

from tracekit.report import dataset, fmt
from tracekit.report.dataset import Entry
from tracekit.safe_text import clean


def esc(value, limit: int | None = 300) -> str:
    return html.escape(clean("" if value is None else value, limit=limit), quote=True)


def table(headers: list[str], rows: list[list], numeric_from: int = 1, cls: str = "") -> str:
    """A table; cells are escaped here (pass raw values), columns from ``numeric_from`` on
    are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if i >= numeric_from else ""}">{esc(v)}</td>'
                         for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _trace(e: Entry) -> str:
    return f"{e.runtime} {e.point}"


def top_ops(entries: list[Entry], top: int = 5) -> str:
    """Per model, each trace's top non-GEMM ops: time per step and share of the trace."""
    parts = []
    for model in dataset.models(entries):
        rows = []
        for e in (e for e in entries if e.model == model):
            for r in e.summary.top_non_gemm_ops[:top]:
                n = r.get("instances") or 1
                rows.append([_trace(e), f"{r.name} ×{n}" if n > 1 else r.name, r.group, r.calls, f"{e.per_step_ms(r.total_ns):,.3f}",
                             fmt.pct(r.share)])
        if rows:
            parts.append(f"<h3>{esc(model)}</h3>" + table(
                ["trace", "op", "group", "calls", "ms per step", "share of trace"], rows, numeric_from=3))
    return "".join(parts)


def fusion(entries: list[Entry]) -> str:
    rows = []
    for e in entries:
        f = e.fusion
        if f is None:
            continue
        rows.append([e.model, _trace(e), f.layers, fmt.pct(f.fusion_rate), sum(f.fused_into_gemm.values()),
                     sum(f.fused_into_non_gemm.values()), sum(f.standalone_non_gemm.values()),
                     f"{f.total_ns / 1e6:,.3f}"])
    if not rows:
        return ""
    return table(["model", "trace", "layers", "fusion rate", "ops fused into GEMM", "ops fused into non-GEMM",
                  "standalone non-GEMM ops", "layer time (ms)"], rows, numeric_from=2)


def fallback(entries: list[Entry]) -> str:
    rows = []
    for e in entries:
        t = e.transfers
        if t is None:
            continue
        fb, tr = t.fallback, t.transfers
        rows.append([e.model, _trace(e), ", ".join(fb.providers) or "-", "yes" if fb.applies else "no",
                     len(fb.nodes), f"{fb.fallback_ns / 1e6:,.3f}", f"{fb.memcpy_ns / 1e6:,.3f}",
                     f"{sum(d.time_ns for d in tr.by_direction) / 1e6:,.3f}",
                     fmt.size(sum(d.bytes for d in tr.by_direction))])
    if not rows:
        return ""
    return table(["model", "trace", "providers", "CPU fallback applies", "fallback nodes",
                  "fallback (ms)", "ORT memcpy (ms)", "device copies (ms)", "bytes copied"], rows, numeric_from=3)


def communication(entries: list[Entry]) -> str:
    rows = [[e.model, _trace(e), f"{e.summary.communication_ns / 1e6:,.3f}",
             f"{(e.summary.exposed_communication_ns or 0) / 1e6:,.3f}",
             fmt.pct(e.summary.communication_ns / e.summary.total_ns if e.summary.total_ns else None)]
            for e in entries if e.summary.communication_ns]
    if not rows:
        return ""
    return table(["model", "trace", "communication (ms)", "exposed (ms)", "share of total"], rows, numeric_from=2)


def devices(entries: list[Entry]) -> str:
    rows = []
    for e in entries:
        if e.summary.time_basis != "device":
            continue
        for d in e.summary.devices:
            rows.append([e.model, _trace(e), d.id, d.name, d.kernels, f"{d.total_ns / 1e6:,.3f}",
                         f"{d.busy_ns / 1e6:,.3f}", f"{d.span_ns / 1e6:,.3f}", fmt.pct(d.gemm_share)])
    if not rows:
        return ""
    return table(["model", "trace", "device", "name", "kernels", "kernel time (ms)", "busy (ms)",
                  "span (ms)", "GEMM share"], rows, numeric_from=4)


def provenance(entries: list[Entry]) -> str:
    """Every input with the numbers of its ``summary --json`` (nanoseconds, unrounded)."""
    rows = []
    for e in entries:
        s = e.summary
        rows.append([e.path, e.format, e.model, e.runtime, e.batch, e.seq, e.device or "-", e.dtype or "-",
                     s.window.description, s.time_basis, s.total_ns, s.gemm_ns, s.non_gemm_ns,
                     s.communication_ns, s.unattributed_ns,
                     f"{s.gemm_free_speedup:.4f}" if s.gemm_free_speedup else "-"])
    return table(["file", "format", "model", "runtime", "batch", "seq", "device", "dtype", "steps used",
                  "time basis", "total_ns", "gemm_ns", "non_gemm_ns", "communication_ns", "unattributed_ns",
                  "gemm_free_speedup"], rows, numeric_from=10, cls="provenance")
