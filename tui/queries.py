"""What the screens ask of a trace: thin glue over :mod:`tracekit.analysis`.

Everything here calls ``tracekit.analysis`` and reshapes the result for display (titles,
relative times, row limits, formatting via :mod:`tracekit.report.fmt`); no analysis
lives here, so the CLI and the screens cannot disagree. The screens only call the
functions of this module.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tracekit import analysis
from tracekit.analysis import transfers as transfers_mod
from tracekit.analysis.breakdown import group_order
from tracekit.analysis.window import Selection, Window, trace_start
from tracekit.model import intervals
from tracekit.model.names import kernel_base_name
from tracekit.report import fmt

BY = ("group", "op", "node", "module", "instance", "shape", "step")  # what `g` cycles through on the Operators screen


# --------------------------------------------------------------------------- scope

# What part of the trace every screen shows: the one selection type of tracekit (a step
# selection, None = the default rule; optionally one range by row id, picked in the
# picker, or a time span [lo, hi) in absolute ns picked on the timeline).
Scope = Window


def window(trace, scope: Scope) -> Selection:
    """The rows ``scope`` keeps: ``analysis.select``."""
    return analysis.select(trace, scope)


def describe(trace, scope: Scope, win: Selection) -> str:
    return win.describe()


# --------------------------------------------------------------------------- formatting

def fmt_ms(ns) -> str:
    """A time in the unit that fits it (a microsecond-scale trace reads in µs, not 0.00 ms)."""
    return fmt.duration(ns)


fmt_duration = fmt.duration
fmt_pct = fmt.pct


fmt_bytes = fmt.size  # the reports' binary units (KiB, MiB, GiB)


# --------------------------------------------------------------------------- overview

@dataclass
class Overview:
    file: str
    source: str
    devices: list[str]
    basis: str
    scope: str
    steps: list[int]
    span_ns: int
    counts: dict
    total_ns: int
    gemm_ns: int
    unattributed_ns: int
    groups: pd.DataFrame  # name, is_gemm, total_ns, share, calls, kernels
    top_non_gemm: pd.DataFrame
    gpu: list[dict] = field(default_factory=list)  # device_busy rows (Summary.gpu.per_device)
    speedup: float | None = None  # summarize()'s gemm_free_speedup (None: all GEMM, or no time)
    transfers: dict | None = None
    warnings: list[str] = field(default_factory=list)
    # collectives apart from compute (total = compute + communication)
    communication_ns: int = 0
    exposed_communication_ns: int | None = None
    device_rows: list = field(default_factory=list)  # Summary.devices (Device results)
    outside: str = ""  # why GPU time lies outside this window (analysis.window.outside_window)

    @property
    def compute_ns(self) -> int:
        return self.total_ns - self.communication_ns

    @property
    def non_gemm_ns(self) -> int:
        return self.compute_ns - self.gemm_ns


def overview(trace, scope: Scope, top: int = 8) -> Overview:
    """The Overview of ``scope``: ``analysis.summarize``'s :class:`Summary`, reshaped."""
    win = window(trace, scope)
    summary = analysis.summarize(trace, top=top, window=win)
    bounds = win.bounds()
    gemm = analysis.gemm_groups(trace)
    total = summary.total_ns
    groups = pd.DataFrame({"name": list(summary.groups), "total_ns": list(summary.groups.values())},
                          columns=["name", "total_ns"])
    groups["is_gemm"] = groups["name"].isin(gemm)
    groups["share"] = groups["total_ns"] / total if total else 0.0
    top_rows = pd.DataFrame([r.to_dict() for r in summary.top_non_gemm_ops],
                            columns=["name", "group", "is_gemm", "calls", "kernels", "total_ns",
                                     "mean_ns", "share", "kernels_per_call", "instances"])
    gpu = summary.get("gpu")
    outside = summary.window.get("outside")
    return Overview(
        file=trace.meta.path.replace("\\", "/").rsplit("/", 1)[-1],
        source=trace.meta.format or trace.meta.source or "unknown",
        # the devices that ran something in this window, as the CLI header counts them
        devices=[str(d.get("name") or "GPU") for d in (summary.devices if gpu else trace.meta.devices)
                 if hasattr(d, "get")],
        basis=summary.time_basis, scope=win.describe(),
        steps=list(trace.meta.steps), span_ns=bounds[1] - bounds[0] if bounds else 0,
        counts={"ops": summary.ops, "kernels": summary.kernels, "launches": len(win.launches)},
        total_ns=total, gemm_ns=summary.gemm_ns, unattributed_ns=summary.unattributed_ns,
        groups=groups, top_non_gemm=top_rows,
        gpu=gpu.per_device if gpu else [],
        speedup=summary.gemm_free_speedup,
        # an outlier step first: it weighs on every figure of the overview
        warnings=[summary.step_outlier] * bool(summary.step_outlier) + list(trace.meta.warnings),
        communication_ns=summary.communication_ns,
        exposed_communication_ns=summary.exposed_communication_ns,
        device_rows=list(summary.devices) if gpu else [],
        outside=outside.line if outside else "",
    )


def transfer_report(trace, scope: Scope, top: int = 10) -> dict:
    """``tracekit.analysis.transfers.report`` for the current scope."""
    win = window(trace, scope)
    return transfers_mod.report(trace, top=top, window=win, describe=describe(trace, scope, win))


# --------------------------------------------------------------------------- tables

def op_table(trace, scope: Scope, by: str) -> pd.DataFrame:
    """Rows for the Operators screen: ``analysis.breakdown(by)``, with the ``label`` to
    show (a module class path with its instance count: ``Encoder.Layer.Attention ×16``)."""
    table = analysis.breakdown(trace, window(trace, scope), by)
    names = table["name"].astype(str)
    if "instances" in table:
        return table.assign(label=[f"{n} ×{c}" if c > 1 else n for n, c in zip(names, table["instances"])])
    return table.assign(label=names)


def kernel_table(trace, scope: Scope) -> pd.DataFrame:
    """Rows for the Kernels screen: ``analysis.kernel_table``, with each kernel's base name
    (``base_name``) to show; ``name`` stays the full name the drill-down and filter use."""
    table = analysis.kernel_table(trace, window(trace, scope))
    return table.assign(base_name=[kernel_base_name(n) for n in table["name"].astype(str)])


# --------------------------------------------------------------------------- drill-down

@dataclass
class Drill:
    """What a drill-down shows: a title, a few lines, and titled tables (columns ending
    in ``_ns`` are durations)."""

    title: str
    lines: list[str]
    tables: list[tuple[str, pd.DataFrame]]


LIST_LIMIT = 20  # rows of the module-path and shape lists


def _relative(frame: pd.DataFrame, t0: int, columns: list[str]) -> pd.DataFrame:
    """``frame`` with ``ts_ns`` shown as ``start_ns`` from the trace start."""
    out = frame.assign(start_ns=frame["ts_ns"].to_numpy() - t0)
    return out[columns]


def drill(trace, scope: Scope, by: str, row: dict, limit: int = 200) -> Drill:
    """Enter on an Operators row: ``analysis.row_calls``."""
    win = window(trace, scope)
    r = analysis.row_calls(trace, win, by, str(row["name"]))
    # which op each call is, where a row holds several (a module; an op type's nodes)
    named = by in ("module", "instance") or (by == "op" and r.calls["op"].nunique() > 1)
    columns = ["start_ns", "dur_ns", "self_ns", "step"] + (["op"] if named else []) \
        + ["module", "shapes", "dtypes"]
    # each call's own GPU time: its activities in the window
    k = win.kernels
    gpu = k.groupby("op")["dur_ns"].sum() if len(k) else pd.Series(dtype="int64")
    with_gpu = r.calls.assign(gpu_ns=r.calls["id"].map(gpu).fillna(0).astype("int64"))
    columns = columns[:2] + ["gpu_ns"] + columns[2:]
    calls = _relative(with_gpu, trace_start(trace), columns)
    lines = [_calls_line(analysis.time_basis(trace), len(calls), r)]
    if r.groups:
        lines.append("group: " + ", ".join(r.groups))
    kernels = r.kernels[["name", "group", "count", "total_ns", "mean_ns", "streams", "grid", "block"]]
    tables = [("Kernels", kernels),
              ("Module paths", r.modules.head(LIST_LIMIT)),
              ("Input shapes", r.shapes.head(LIST_LIMIT)),
              (f"Calls (first {min(limit, len(calls))} of {len(calls):,})", calls.head(limit))]
    return Drill(title=f"{by}: {row['name']}", lines=lines, tables=tables)


def _calls_line(basis: str, n: int, r) -> str:
    """How many calls and what their time is, in the words of the trace's time basis: a
    TensorRT layer profile has layers and their average time, not GPU activities."""
    if basis == "trt_layer":
        return f"{fmt.count(n, 'layer')}, {fmt_duration(r.self_ns)} layer time (average per inference)"
    if basis == "ort_node":
        return f"{fmt.count(n, 'node call')}, {fmt_duration(r.self_ns)} node time"
    line = f"{fmt.count(n, 'call')}, {fmt.count(r.activities, 'GPU activity', 'GPU activities')}"
    if r.activities:
        line += f", {fmt_duration(r.device_ns)} device time"
        if n:
            line += f" ({fmt_duration(r.device_ns / n)} GPU time per call)"
    if n:
        line += f", {fmt_duration(r.self_ns)} host self time"
    return line


def kernel_drill(trace, scope: Scope, name: str, limit: int = 200) -> Drill:
    """Enter on a Kernels row: ``analysis.kernel_instances``."""
    r = analysis.kernel_instances(trace, window(trace, scope), name)
    inst = _relative(r.instances, trace_start(trace),
                     ["start_ns", "dur_ns", "stream", "op", "grid", "block", "bytes", "link"])
    lines = [f"{fmt.count(len(inst), 'activity', 'activities')}, {fmt_duration(r.device_ns)} device time",
             "group: " + ", ".join(r.groups)]
    return Drill(title=f"kernel: {name}", lines=lines, tables=[
        ("Operators that launched it", r.by_op),
        ("Module paths", r.modules.head(LIST_LIMIT)),
        (f"Instances (first {min(limit, len(inst))} of {len(inst):,})", inst.head(limit)),
    ])


# --------------------------------------------------------------------------- picker

def pick_options(trace, limit: int = 500) -> list[tuple[str, object]]:
    """(label, value) for the step/range picker; value is ("step", x) or ("range", id)."""
    out: list[tuple[str, object]] = [
        ("Default: steps after the first (warm-up dropped)", ("step", None)),
        ("All events", ("step", "all")),
    ]
    r = trace.ranges
    for s in trace.meta.steps:
        rows = r[(r["kind"] == "step") & (r["step"] == s)]
        dur = fmt_duration(int(rows["dur_ns"].iloc[0])) if len(rows) else ""
        out.append((f"ProfilerStep#{s}  {dur}".rstrip(), ("step", int(s))))
    kinds = ("model_run", "nvtx", "annotation", "gpu_annotation", "module")
    sel = r[r["kind"].isin(kinds)].sort_values(["ts_ns", "id"]).head(limit)
    t0 = trace_start(trace)
    for rid, name, kind, ts, dur in zip(sel["id"], sel["name"].astype(str), sel["kind"].astype(str),
                                        sel["ts_ns"], sel["dur_ns"]):
        out.append((f"{kind}: {name}  @{fmt_duration(ts - t0)}  {fmt_duration(dur)}",
                    ("range", int(rid), name)))
    return out


# --------------------------------------------------------------------------- timeline

@dataclass
class Lane:
    label: str
    start: np.ndarray  # sorted
    end: np.ndarray
    group: np.ndarray  # group codes (index into groups)
    names: np.ndarray  # object array of names (parallel to start)
    ops: np.ndarray | None = None  # the op of each (a kernel's launching op; an op itself)
    modules: np.ndarray | None = None  # the module path of that op ("" when none)


@dataclass
class TimelineData:
    lo: int
    hi: int
    t0: int
    groups: list[str]
    lanes: list[Lane]


def timeline(trace, scope: Scope) -> TimelineData:
    """One lane per GPU (device, stream) and per op thread (leaf ops, so nothing nests)."""
    win = window(trace, scope)
    order = group_order(trace)
    codes = {g: i for i, g in enumerate(order)}
    lanes: list[Lane] = []
    k = win.kernels
    op_names = trace.ops["name"].astype(str).to_numpy()
    op_modules = trace.ops["module"].astype(str).to_numpy()
    for (dev, stream), sub in k.groupby(["device", "stream"], sort=True):
        lanes.append(_lane(f"GPU{dev} s{stream}", sub, codes, op_names, op_modules))
    ops = win.ops
    if len(ops):
        parents = np.unique(trace.ops["parent"].to_numpy())
        leaves = ops[~np.isin(ops["id"].to_numpy(), parents)]
        for (_pid, tid), sub in leaves.groupby(["pid", "tid"], sort=True):
            lanes.append(_lane(f"tid {tid}", sub.assign(op=sub["id"]), codes, op_names, op_modules))
    lo, hi = win.bounds() or (0, 1)
    return TimelineData(lo=lo, hi=max(hi, lo + 1), t0=trace_start(trace), groups=order, lanes=lanes)


def _lane(label: str, frame: pd.DataFrame, codes: dict, op_names=None, op_modules=None) -> Lane:
    frame = frame.sort_values("ts_ns", kind="stable")
    s = frame["ts_ns"].to_numpy()
    e = s + np.maximum(frame["dur_ns"].to_numpy(), 0)
    g = frame["group"].astype(str).map(codes).fillna(len(codes) - 1).to_numpy().astype(np.int64)
    ops = modules = None
    if op_names is not None and "op" in frame:
        op = frame["op"].to_numpy()
        ops = np.where(op >= 0, op_names[np.maximum(op, 0)] if len(op_names) else "", "")
        modules = np.where(op >= 0, op_modules[np.maximum(op, 0)] if len(op_modules) else "", "")
    return Lane(label, s, e, g, frame["name"].astype(str).to_numpy(), ops, modules)


def bucket_groups(lane: Lane, lo: int, hi: int, width: int, n_groups: int):
    """Per terminal cell of [lo, hi): the dominant group code (-1 idle) and busy fraction."""
    return intervals.bucket_groups(lane.start, lane.end, lane.group, lo, hi, width, n_groups)


def under_cursor(lane: Lane, t: int, tolerance: int) -> int:
    """Index of the event at time t on the lane (or the nearest within tolerance), -1."""
    return intervals.at_or_near(lane.start, lane.end, t, tolerance)


# --------------------------------------------------------------------------- export

def export_selection(trace, scope: Scope, path: str):
    """Write what the screens show (the scope's steps, its ranges by id, its span) to
    Perfetto; returns what the exporter reports. The exporter is imported on first use:
    the TUI starts without it."""
    from tracekit.export import export

    return export(trace, path, window=scope)
