"""The numbers behind ``tracekit summary``: one :class:`~tracekit.analysis.results.Summary`
per trace, that adds up.

How the time adds up: ``total_ns`` = ``compute_ns`` + ``communication_ns`` (collectives,
the group Communication), and ``compute_ns`` = ``gemm_ns`` + ``non_gemm_ns``: the GEMM vs
non-GEMM split is a split of compute, its shares are shares of ``compute_ns``. The groups
(Communication among them) sum to ``total_ns``. ``exposed_communication_ns`` is the part
of the collectives' time when nothing else ran on their device.
"""
from __future__ import annotations

import numpy as np

from tracekit.analysis.breakdown import breakdown, time_basis
from tracekit.analysis.busy import device_busy, exposed_length, union_length
from tracekit.analysis.explain import other_warning
from tracekit.analysis.results import UNSET, CombinedSummary, Device, GpuBusy, LaunchOverhead, Row, Summary, WindowInfo
from tracekit.analysis.steps import outlier_line, step_totals
from tracekit.analysis.transfers import SYNC_CALL
from tracekit.analysis.window import Selection, outside_window, select
from tracekit.model import Trace

SHORT_KERNEL_NS = 10_000  # kernels under 10 µs are launch-overhead bound on current GPUs
COMMUNICATION = "Communication"


def gemm_totals(trace: Trace, window: Selection, groups=None) -> dict:
    """GEMM vs non-GEMM on the breakdown's time basis: ``total_ns``, ``compute_ns``,
    ``gemm_ns``, ``non_gemm_ns`` (compute that is not GEMM-based), ``communication_ns``,
    ``exposed_communication_ns`` (device basis; None otherwise), ``unattributed_ns``
    (device time of activities without an op; 0 on a host basis) and
    ``gemm_free_speedup`` -- Amdahl's law: the end-to-end speedup if GEMM time went to
    zero, total / (total - gemm); None when total == gemm (no time, or all of it GEMM).
    ``groups``: ``breakdown(trace, window, "group")`` where already computed."""
    if groups is None:
        groups = breakdown(trace, window, "group")
    # numpy, not pandas masks: a few rows each, where pandas' fixed costs would dominate
    ns, is_gemm = groups["total_ns"].to_numpy(), groups["is_gemm"].to_numpy(bool)
    total = int(ns.sum())
    gemm = int(ns[is_gemm].sum())
    comm = int(ns[(groups["name"].to_numpy(object) == COMMUNICATION) & ~is_gemm].sum())
    k = window.kernels
    device = time_basis(trace) == "device"
    unattributed = int(k["dur_ns"].to_numpy()[k["op"].to_numpy() < 0].sum()) if device else 0
    exposed = exposed_length(k, _is_comm(k)) if device else None
    return {"total_ns": total, "compute_ns": total - comm, "gemm_ns": gemm,
            "non_gemm_ns": total - comm - gemm, "communication_ns": comm,
            "exposed_communication_ns": exposed, "unattributed_ns": unattributed,
            "gemm_free_speedup": gemm_free_speedup(total, gemm)}


def _is_comm(kernels) -> np.ndarray:
    return (kernels["group"].astype(str).to_numpy() == COMMUNICATION) & ~kernels["is_gemm"].to_numpy()


def gemm_free_speedup(total_ns: int, gemm_ns: int) -> float | None:
    """Amdahl's law: total / (total - gemm), the speedup if GEMM time went to zero;
    None when total == gemm."""
    return total_ns / (total_ns - gemm_ns) if total_ns != gemm_ns else None


def summarize(trace: Trace, step=None, top: int = 10, window: Selection | None = None) -> Summary:
    """The summary of ``step`` (a step selection or a :class:`~tracekit.analysis.window.Window`,
    see :func:`~tracekit.analysis.window.select`), or of ``window`` when given. Besides the
    groups, top ops, GPU busy time and launch overhead it has the fields of
    :func:`gemm_totals`, among them ``gemm_free_speedup`` (Amdahl: the speedup if GEMM time
    went to zero; None when all the time is GEMM or there is none)."""
    window = select(trace, step) if window is None else window
    basis = time_basis(trace)
    groups = breakdown(trace, window, "group")
    split = gemm_totals(trace, window, groups)
    total, unattributed = split["total_ns"], split["unattributed_ns"]
    k = window.kernels
    ops_table = breakdown(trace, window, "op")
    non_gemm_ops = ops_table[~ops_table["is_gemm"] & (ops_table["group"] != COMMUNICATION)].head(top)
    info = WindowInfo(description=window.describe(), whole_trace=window.whole_trace,
                      all_steps=window.all_steps, dropped_steps=window.dropped_steps)
    warnings = list(trace.meta.warnings)
    per_step = step_totals(trace, window)
    device = basis == "device"
    if device:
        info.outside = outside_window(trace, window)
        if info.outside.no_launch_kernels:
            warnings.append(info.outside.line)
        unknown = other_warning(trace, k, total)
        if unknown:
            warnings.append(unknown)
    return Summary(
        path=trace.meta.path,
        source=trace.meta.source,
        time_basis=basis,
        **split,
        attributed_share=(1 - unattributed / total) if total and device else None,
        groups={g: int(ns) for g, ns in zip(groups["name"], groups["total_ns"])},
        group_counts={g: int(n) for g, n in zip(groups["name"],
                                                groups["kernels" if device else "calls"])},
        kernels=int(len(k)),
        ops=int(len(window.ops)),
        steps=[int(s) for s in window.steps] if not window.whole_trace or window.steps else [],
        window=info,
        top_non_gemm_ops=_records(non_gemm_ops),
        rank=trace.meta.rank,
        devices=devices(trace, k) if device else list(trace.meta.devices),
        warnings=warnings,
        gpu=_gpu(k) if device else UNSET,
        launch_overhead=_launch_overhead(window, ops_table, top) if device else UNSET,
        capture=dict(trace.meta.capture) if trace.meta.capture is not None else UNSET,
        step_ns={str(s): ns for s, ns in per_step.items()},
        step_outlier=outlier_line(per_step),
    )


def _gpu(kernels) -> GpuBusy:
    """Busy time: ``busy_ns`` (time at least one device was busy) of ``span_ns`` (first
    start to last end over all devices), so busy never exceeds span; per device in
    ``per_device`` and :func:`devices`; ``device_busy_ns`` sums the devices' busy time,
    against ``device_span_ns``, the sum of their own spans."""
    per_device = device_busy(kernels)
    start = kernels["ts_ns"].to_numpy()
    end = start + kernels["dur_ns"].to_numpy()
    span = int(end.max() - start.min()) if len(start) else 0
    busy_any = union_length(start, end)
    busy_sum = sum(d.busy_ns for d in per_device)
    return GpuBusy(busy_ns=busy_any, span_ns=span, idle_ns=span - busy_any, busy_any_ns=busy_any,
                   device_busy_ns=busy_sum, device_span_ns=sum(d.span_ns for d in per_device),
                   concurrent_ns=int(kernels["dur_ns"].sum()) - busy_sum, per_device=per_device)


def devices(trace: Trace, kernels) -> list[Device]:
    """One row per device that ran something: ``id``, ``name`` (from the trace's device
    list; "" when unknown), ``kernels``, ``total_ns`` (its activities' time), ``busy_ns``
    of ``span_ns`` (its own first start to last end), ``idle_ns``, ``gemm_ns`` and
    ``gemm_share`` (of its compute), ``communication_ns``, ``exposed_communication_ns``."""
    names = {}
    for d in trace.meta.devices:
        if isinstance(d, dict) and d.get("id") is not None:
            try:
                names[int(d["id"])] = str(d.get("name") or "")
            except (TypeError, ValueError):
                continue
    comm = _is_comm(kernels)
    gemm = kernels["is_gemm"].to_numpy()
    dur = kernels["dur_ns"].to_numpy()
    device = kernels["device"].to_numpy()
    rows = []
    for busy in device_busy(kernels):
        on = device == busy.device
        total = int(dur[on].sum())
        c = int(dur[on & comm].sum())
        g = int(dur[on & gemm].sum())
        rows.append(Device(id=busy.device, name=names.get(busy.device, ""),
                           kernels=int(on.sum()), total_ns=total, busy_ns=busy.busy_ns,
                           span_ns=busy.span_ns, idle_ns=busy.idle_ns,
                           streams=busy.streams, gemm_ns=g,
                           gemm_share=g / (total - c) if total - c else None,
                           communication_ns=c,
                           exposed_communication_ns=exposed_length(kernels[on], comm[on])))
    return rows


def _launch_overhead(window: Selection, ops_table, top: int) -> LaunchOverhead:
    """Launch calls (runtime calls that put work on the GPU) with their median and p90 per
    call, so one slow first launch (module loading) does not read as overhead of every
    launch; blocking calls that also put work there (``cudaMemcpy``) are counted apart,
    since their time is waiting for the device, not launching."""
    k = window.kernels
    launched = np.unique(k["launch"].to_numpy()[k["launch"].to_numpy() >= 0])
    launches = window.launches[window.launches["id"].isin(launched)]
    blocking_names = [c for c in launches["name"].cat.categories if SYNC_CALL.search(str(c))]
    blocking = launches["name"].isin(blocking_names).to_numpy()
    plain = launches["dur_ns"].to_numpy()[~blocking]
    dur = k["dur_ns"].to_numpy()
    attributed = k["op"].to_numpy() >= 0
    calls = int(np.unique(k["op"].to_numpy()[attributed]).size)
    heavy = ops_table[(ops_table["name"] != "(no operator)") & (ops_table["calls"] > 0)]
    heavy = heavy.sort_values(["kernels_per_call", "total_ns"], ascending=False).head(top)
    return LaunchOverhead(
        launch_calls=int(len(plain)),
        launch_api_ns=int(plain.sum()),
        kernels_per_op_call=(int(attributed.sum()) / calls) if calls else None,
        mean_kernel_ns=float(dur.mean()) if len(dur) else None,
        short_kernels=int((dur < SHORT_KERNEL_NS).sum()),
        short_kernel_share=float((dur < SHORT_KERNEL_NS).mean()) if len(dur) else None,
        most_kernels_per_call=_records(heavy),
        launch_median_ns=float(np.median(plain)) if len(plain) else None,
        launch_p90_ns=float(np.percentile(plain, 90)) if len(plain) else None,
        blocking_calls=int(blocking.sum()),
        blocking_api_ns=int(launches["dur_ns"].to_numpy()[blocking].sum()),
        blocking_names=sorted(set(launches["name"].astype(str).to_numpy()[blocking])),
    )


def _records(table) -> list[Row]:
    return [Row(name=r.name, group=r.group, is_gemm=bool(r.is_gemm), calls=int(r.calls),
                kernels=int(r.kernels), total_ns=int(r.total_ns), mean_ns=int(r.mean_ns),
                share=float(r.share), kernels_per_call=float(r.kernels_per_call),
                instances=int(r.instances) if "instances" in table else UNSET)
            for r in table.itertuples(index=False)]


def combine(summaries: list[Summary]) -> CombinedSummary:
    """One summary over several traces (e.g. ranks): totals and groups add up."""
    bases = {s.time_basis for s in summaries}
    groups: dict[str, int] = {}
    for s in summaries:
        for g, ns in s.groups.items():
            groups[g] = groups.get(g, 0) + ns
    total = sum(s.total_ns for s in summaries)
    gemm = sum(s.gemm_ns for s in summaries)
    comm = sum(s.communication_ns for s in summaries)
    exposed = [s.exposed_communication_ns for s in summaries]
    return CombinedSummary(
        path=[s.path for s in summaries],
        source=",".join(sorted({str(s.source) for s in summaries})),
        time_basis=bases.pop() if len(bases) == 1 else "mixed",
        total_ns=total, compute_ns=total - comm, gemm_ns=gemm,
        non_gemm_ns=total - comm - gemm, communication_ns=comm,
        exposed_communication_ns=None if None in exposed else sum(e or 0 for e in exposed),
        unattributed_ns=sum(s.unattributed_ns for s in summaries),
        gemm_free_speedup=gemm_free_speedup(total, gemm),
        groups=groups,
        kernels=sum(s.kernels for s in summaries),
        ops=sum(s.ops for s in summaries),
        steps=sorted({st for s in summaries for st in s.steps}),
        traces=len(summaries),
        ranks=[s.rank for s in summaries],
    )
