"""The numbers of a report: one :class:`Entry` per trace, holding its labels and its
typed :class:`~tracekit.analysis.results.Summary` (the same numbers as ``summary --json``),
plus the fusion and transfer results where the trace has them. Figures, tables and CSV
read entries only, so every output shows the same numbers."""
from __future__ import annotations

from dataclasses import dataclass, field

from tracekit.analysis.results import FusionReport, Summary, TransferReport

TOP_OPS = 10


@dataclass
class Entry:
    path: str
    model: str
    runtime: str
    batch: int | None
    seq: int | None
    device: str
    dtype: str | None
    format: str
    source: str
    summary: Summary
    fusion: FusionReport | None = None
    transfers: TransferReport | None = None
    gemm_groups: frozenset = frozenset()
    trace: object = field(default=None, repr=False)  # the loaded trace, for compare
    repeat: int = 0  # how many entries before this one have the same model, runtime and point

    @property
    def steps(self) -> int:
        """Steps (or runs) the summary's window holds; 1 when the trace has none."""
        return max(len(self.summary.steps), 1)

    def per_step_ms(self, ns: int | float | None) -> float:
        return (ns or 0) / self.steps / 1e6

    @property
    def point(self) -> str:
        """Where the trace sits on a batch axis: b4, b4 s128; - without a batch; a second
        run of the same configuration gets #2."""
        point = "-" if self.batch is None else f"b{self.batch}" + (f" s{self.seq}" if self.seq else "")
        return point + (f" #{self.repeat + 1}" if self.repeat else "")

    @property
    def sort_key(self) -> tuple:
        return (self.model, self.batch or 0, self.seq or 0, self.repeat, self.runtime, self.path)


def build(traces: list, labels: list[dict], top: int = TOP_OPS) -> list[Entry]:
    """One entry per loaded trace (``labels``: each trace's, from report.inputs.labels_of),
    in model, batch, seq, runtime order. Traces are summarized in parallel."""
    from tracekit.report.parallel import map_forked

    entries = map_forked(lambda i: _entry(traces[i], labels[i], top), range(len(traces)))
    seen: dict[tuple, int] = {}
    for entry, trace in zip(entries, traces):
        entry.trace = trace
        key = (entry.model, entry.runtime, entry.point)  # two runs of one configuration: two bars
        entry.repeat = seen.get(key, 0)
        seen[key] = entry.repeat + 1
    return sorted(entries, key=lambda e: e.sort_key)


def _entry(trace, lab: dict, top: int) -> Entry:
    from tracekit.analysis import gemm_groups, select, summarize

    summary = summarize(trace, top=top, window=select(trace, None))
    meta = trace.meta
    return Entry(path=meta.path, model=str(lab["model"]), runtime=str(lab["runtime"]),
                 batch=_int(lab.get("batch")), seq=_int(lab.get("seq")), device=str(lab.get("device") or ""),
                 dtype=lab.get("dtype"), format=meta.format,
                 source=meta.source, summary=summary, fusion=_fusion(trace),
                 transfers=_transfers(trace, summary), gemm_groups=frozenset(gemm_groups(trace)))


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _fusion(trace) -> FusionReport | None:
    if trace.meta.source != "trt":
        return None
    from tracekit.analysis.fusion import fusion_report

    return fusion_report(trace)


def _transfers(trace, summary: Summary) -> TransferReport | None:
    """Copies and CPU fallback: for traces with copies and ONNX Runtime sessions with a GPU
    provider (CPU fallback and Memcpy nodes need one)."""
    gpu_session = any(p != "CPUExecutionProvider" for p in trace.meta.extras.get("providers") or [])
    if not (trace.meta.source == "ort" and gpu_session) and not summary.groups.get("Transfer"):
        return None
    from tracekit.analysis.transfers import report

    result = report(trace, step=None)
    empty = not (result.transfers.by_direction or result.fallback.applies
                 or result.transfers.ort_memcpy_nodes)
    return None if empty else result


def models(entries: list[Entry]) -> list[str]:
    return list(dict.fromkeys(e.model for e in entries))


def runtimes(entries: list[Entry]) -> list[str]:
    order = ("torch", "torch-compile", "onnxruntime", "tensorrt")
    found = list(dict.fromkeys(e.runtime for e in entries))
    return sorted(found, key=lambda r: (order.index(r) if r in order else len(order), r))


def non_gemm_groups(entries: list[Entry], gemm: set[str]) -> list[str]:
    """Non-GEMM groups with time anywhere, largest total first (Communication apart)."""
    totals: dict[str, float] = {}
    for e in entries:
        for group, ns in e.summary.groups.items():
            if group not in gemm and group != "Communication" and ns:
                totals[group] = totals.get(group, 0) + e.per_step_ms(ns)
    return sorted(totals, key=lambda g: -totals[g])


def gemm_group_names(entries: list[Entry]) -> set[str]:
    """Groups that are GEMM-based in any of these traces (their time is in gemm_ns)."""
    return {g for e in entries for g in e.gemm_groups}
