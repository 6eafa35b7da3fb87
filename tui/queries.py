"""What the screens ask of a trace: thin glue over :mod:`tracekit.analysis`.

Everything here either calls ``tracekit.analysis`` and reshapes the result for display,
or is marked ``# PRIVATE ANALYSIS`` -- a minimal stand-in for an analysis that
``tracekit.analysis`` does not offer yet, kept here until the lead moves it there (the
screens only call the functions of this module, so moving one changes one import).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from tracekit import analysis
from tracekit.analysis import transfers as transfers_mod
from tracekit.analysis.breakdown import NO_MODULE, NO_OP, group_order
from tracekit.analysis.window import Window

BY = ("group", "op", "module", "shape")  # operator table keys ("shape" = op + input shapes)
NO_SHAPE = "(no shapes)"


# --------------------------------------------------------------------------- scope

@dataclass(frozen=True)
class Scope:
    """What part of the trace every screen shows: a step selection (None = the default
    rule, "all", or a step number), optionally narrowed to one range (row id in
    ``trace.ranges``) or a time span [lo, hi) in absolute ns picked on the timeline."""

    step: object = None
    range_id: int | None = None
    range_label: str = ""
    span: tuple[int, int] | None = None

    def with_step(self, step) -> Scope:
        return replace(self, step=step, range_id=None, range_label="", span=None)

    def with_range(self, range_id: int, label: str) -> Scope:
        return replace(self, step="all", range_id=range_id, range_label=label, span=None)

    def with_span(self, span) -> Scope:
        return replace(self, span=span)


def step_arg(scope: Scope):
    return scope.step


def window(trace, scope: Scope) -> Window:
    """The analysis window for ``scope``: ``analysis.select`` for the step, then the
    range / span narrowing."""
    win = analysis.select(trace, scope.step)
    if scope.range_id is not None:
        win = _range_window(trace, win, scope.range_id)
    if scope.span is not None:
        win = _span_window(win, *scope.span)
    return win


def describe(trace, scope: Scope, win: Window) -> str:
    if scope.range_id is not None:
        text = f"range {scope.range_label}"
    else:
        text = win.describe()
    if scope.span is not None:
        t0 = trace_start(trace)
        text += f", span {fmt_duration(scope.span[0] - t0)} – {fmt_duration(scope.span[1] - t0)}"
    return text


def _overlaps(frame: pd.DataFrame, lo: int, hi: int) -> np.ndarray:
    s = frame["ts_ns"].to_numpy()
    e = s + np.maximum(frame["dur_ns"].to_numpy(), 0)
    return (s < hi) & (e > lo) | ((s >= lo) & (s < hi))


# PRIVATE ANALYSIS: belongs in tracekit.analysis.window as
# ``select_span(window, lo, hi) -> Window`` (rows of every table overlapping [lo, hi)).
def _span_window(win: Window, lo: int, hi: int) -> Window:
    return Window(ops=win.ops[_overlaps(win.ops, lo, hi)],
                  kernels=win.kernels[_overlaps(win.kernels, lo, hi)],
                  launches=win.launches[_overlaps(win.launches, lo, hi)],
                  steps=win.steps, all_steps=win.all_steps, dropped_steps=[],
                  whole_trace=False)


# PRIVATE ANALYSIS: belongs in tracekit.analysis.window as
# ``select_range(trace, range_id) -> Window``: host rows overlapping the range, the GPU
# activities they launched (activities without a launch: by time overlap), as
# tracekit.export.select does for --range.
def _range_window(trace, win: Window, range_id: int) -> Window:
    r = trace.ranges
    row = r[r["id"] == range_id]
    if not len(row):
        return win
    lo = int(row["ts_ns"].iloc[0])
    hi = lo + max(int(row["dur_ns"].iloc[0]), 0)
    kind = str(row["kind"].iloc[0])
    ops = win.ops[_overlaps(win.ops, lo, hi)]
    launches = win.launches[_overlaps(win.launches, lo, hi)]
    k = win.kernels
    if kind == "gpu_annotation":
        keep = _overlaps(k, lo, hi)
    else:
        launched = np.isin(k["launch"].to_numpy(), launches["id"].to_numpy())
        by_op = np.isin(k["op"].to_numpy(), ops["id"].to_numpy())
        orphan = (k["launch"].to_numpy() < 0) & (k["op"].to_numpy() < 0) & _overlaps(k, lo, hi)
        keep = launched | by_op | orphan
    return Window(ops=ops, kernels=k[keep], launches=launches, steps=win.steps,
                  all_steps=win.all_steps, dropped_steps=[], whole_trace=False)


def trace_start(trace) -> int:
    starts = [int(t["ts_ns"].min()) for t in trace.tables().values() if len(t)]
    return min(starts) if starts else 0


# --------------------------------------------------------------------------- formatting

def fmt_ms(ns) -> str:
    return "-" if ns is None else f"{ns / 1e6:,.2f} ms"


def fmt_duration(ns) -> str:
    if ns is None:
        return "-"
    ns = float(ns)
    if abs(ns) < 1e3:
        return f"{ns:.0f} ns"
    if abs(ns) < 1e6:
        return f"{ns / 1e3:.1f} µs"
    if abs(ns) < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def fmt_pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def fmt_bytes(n) -> str:
    if n is None or n < 0:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


# --------------------------------------------------------------------------- overview

def gemm_groups(trace) -> set[str]:
    frame = trace.kernels if len(trace.kernels) else trace.ops
    return set(frame.loc[frame["is_gemm"], "group"].astype(str).unique())


# PRIVATE ANALYSIS: belongs in tracekit.analysis.summary (e.g. a "gemm_bound_speedup"
# field of summarize): end-to-end speedup if GEMM time went to zero, Amdahl's law on the
# time basis of the breakdown: total / (total - gemm).
def amdahl_speedup(total_ns: int, gemm_ns: int) -> float | None:
    rest = total_ns - gemm_ns
    if total_ns <= 0:
        return None
    return float("inf") if rest <= 0 else total_ns / rest


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
    gpu: list[dict] = field(default_factory=list)  # device_busy rows
    speedup: float | None = None
    transfers: dict | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def non_gemm_ns(self) -> int:
        return self.total_ns - self.gemm_ns


def overview(trace, scope: Scope, top: int = 8) -> Overview:
    win = window(trace, scope)
    basis = analysis.time_basis(trace)
    groups = analysis.breakdown(trace, win, "group")
    total = int(groups["total_ns"].sum())
    gemm = int(groups.loc[groups["is_gemm"], "total_ns"].sum())
    ops = analysis.breakdown(trace, win, "op")
    k = win.kernels
    unattributed = int(k.loc[k["op"] < 0, "dur_ns"].sum()) if basis == "device" else 0
    frames = [f for f in (win.ops, win.kernels) if len(f)]
    if frames:
        lo = min(int(f["ts_ns"].min()) for f in frames)
        hi = max(int((f["ts_ns"] + f["dur_ns"]).max()) for f in frames)
        span = hi - lo
    else:
        span = 0
    devices = [str(d.get("name", d.get("id", "?"))) for d in trace.meta.get("devices", [])]
    return Overview(
        file=str(trace.meta.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1],
        source=str(trace.meta.get("format") or trace.meta.get("source") or "unknown"),
        devices=devices, basis=basis, scope=describe(trace, scope, win),
        steps=list(trace.meta.get("steps") or []), span_ns=span,
        counts={"ops": len(win.ops), "kernels": len(win.kernels), "launches": len(win.launches)},
        total_ns=total, gemm_ns=gemm, unattributed_ns=unattributed, groups=groups,
        top_non_gemm=ops[~ops["is_gemm"]].head(top),
        gpu=analysis.device_busy(k) if basis == "device" else [],
        speedup=amdahl_speedup(total, gemm),
        warnings=list(trace.meta.get("warnings", [])),
    )


def transfer_report(trace, scope: Scope, top: int = 10) -> dict:
    """``tracekit.analysis.transfers.report`` for the current scope (its parts take a
    Window, so a range or span narrows them too)."""
    win = window(trace, scope)
    if scope.range_id is None and scope.span is None:
        return transfers_mod.report(trace, scope.step, top)
    return {
        "path": trace.meta.get("path"), "source": trace.meta.get("source"),
        "window": describe(trace, scope, win),
        "transfers": transfers_mod.transfers(trace, win, top),
        "synchronizations": transfers_mod.synchronizations(trace, win),
        "fallback": transfers_mod.fallback(trace, win, top),
    }


# --------------------------------------------------------------------------- tables

def op_table(trace, scope: Scope, by: str) -> pd.DataFrame:
    """Rows for the Operators screen: breakdown(by) with the same columns."""
    win = window(trace, scope)
    if by == "shape":
        return _shape_breakdown(trace, win)
    return analysis.breakdown(trace, win, by)


# PRIVATE ANALYSIS: belongs in tracekit.analysis.breakdown as BY "shape": one row per
# (op name, input shapes), same columns and same exact-sum guarantee as breakdown().
def _shape_breakdown(trace, win: Window) -> pd.DataFrame:
    basis = analysis.time_basis(trace)
    ops = trace.ops
    if basis == "device":
        k = win.kernels
        op = k["op"].to_numpy()
        has = op >= 0
        names = np.full(len(k), NO_OP, dtype=object)
        shapes = np.full(len(k), "", dtype=object)
        if has.any():
            names[has] = ops["name"].astype(str).to_numpy()[op[has]]
            shapes[has] = ops["shapes"].astype(str).to_numpy()[op[has]]
        frame = pd.DataFrame({"op": names, "shapes": shapes, "group": k["group"].astype(str).to_numpy(),
                              "dur_ns": k["dur_ns"].to_numpy(), "is_kernel": 1,
                              "call": np.where(has, op, -1 - np.arange(len(k)))})
    else:
        o = win.ops
        frame = pd.DataFrame({"op": o["name"].astype(str).to_numpy(),
                              "shapes": o["shapes"].astype(str).to_numpy(),
                              "group": o["group"].astype(str).to_numpy(),
                              "dur_ns": o["self_ns"].to_numpy(), "is_kernel": 0,
                              "call": o["id"].to_numpy()})
    total = int(frame["dur_ns"].sum())
    t = frame.groupby(["op", "shapes", "group"], sort=False).agg(
        total_ns=("dur_ns", "sum"), kernels=("is_kernel", "sum"), calls=("call", "nunique")
    ).reset_index()
    shp = t["shapes"].where(t["shapes"] != "", NO_SHAPE)
    t["name"] = t["op"] + " " + shp
    t = t.sort_values(["total_ns", "name"], ascending=[False, True])
    if total > 0:
        t = t[t["total_ns"] > 0]
    gemm = gemm_groups(trace)
    t["is_gemm"] = t["group"].isin(gemm)
    t["mean_ns"] = (t["total_ns"] / t["calls"].clip(lower=1)).astype(np.int64)
    t["share"] = t["total_ns"] / total if total else 0.0
    t["kernels_per_call"] = t["kernels"] / t["calls"].clip(lower=1)
    t["op_name"] = t["op"]
    t["shapes_key"] = t["shapes"]
    return t[["name", "group", "is_gemm", "calls", "kernels", "total_ns", "mean_ns", "share",
              "kernels_per_call", "op_name", "shapes_key"]].reset_index(drop=True)


# PRIVATE ANALYSIS: belongs in tracekit.analysis.breakdown as a richer by="kernel":
# per kernel name the dominant op, streams, grid/block and bytes.
def kernel_table(trace, scope: Scope) -> pd.DataFrame:
    win = window(trace, scope)
    k = win.kernels
    cols = ["name", "kind", "group", "is_gemm", "op", "streams", "grid", "block", "count",
            "total_ns", "mean_ns", "share", "bytes"]
    if not len(k):
        return pd.DataFrame({c: [] for c in cols})
    op = k["op"].to_numpy()
    names = np.full(len(k), NO_OP, dtype=object)
    if (op >= 0).any():
        names[op >= 0] = trace.ops["name"].astype(str).to_numpy()[op[op >= 0]]
    f = pd.DataFrame({"name": k["name"].astype(str).to_numpy(), "kind": k["kind"].astype(str).to_numpy(),
                      "group": k["group"].astype(str).to_numpy(), "op": names,
                      "stream": k["stream"].to_numpy(), "grid": k["grid"].astype(str).to_numpy(),
                      "block": k["block"].astype(str).to_numpy(), "dur_ns": k["dur_ns"].to_numpy(),
                      "bytes": np.maximum(k["bytes"].to_numpy(), 0)})
    total = int(f["dur_ns"].sum())
    g = f.groupby("name", sort=False)
    t = g.agg(kind=("kind", "first"), group=("group", "first"), count=("dur_ns", "size"),
              total_ns=("dur_ns", "sum"), bytes=("bytes", "sum")).reset_index()
    t["op"] = _mode(f, "name", "op", t["name"])
    t["grid"] = _mode(f, "name", "grid", t["name"])
    t["block"] = _mode(f, "name", "block", t["name"])
    streams = f.groupby("name", sort=False)["stream"].unique()
    t["streams"] = t["name"].map(lambda n: ",".join(str(s) for s in sorted(streams[n])))
    t["is_gemm"] = t["group"].isin(gemm_groups(trace))
    t["mean_ns"] = (t["total_ns"] / t["count"].clip(lower=1)).astype(np.int64)
    t["share"] = t["total_ns"] / total if total else 0.0
    t = t.sort_values(["total_ns", "name"], ascending=[False, True]).reset_index(drop=True)
    return t[cols]


def _mode(frame: pd.DataFrame, key: str, col: str, order: pd.Series) -> pd.Series:
    counts = frame.groupby([key, col], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["n", col], ascending=[False, True]).drop_duplicates(key)
    return order.map(dict(zip(counts[key], counts[col]))).fillna("")


# --------------------------------------------------------------------------- drill-down

@dataclass
class Drill:
    """What a drill-down shows: a title, a few lines, and titled tables (columns ending
    in ``_ns`` are durations)."""

    title: str
    lines: list[str]
    tables: list[tuple[str, pd.DataFrame]]


def _value_counts(values: pd.Series, empty: str, label: str, limit: int = 20) -> pd.DataFrame:
    vc = values.replace("", empty).value_counts()
    rows = sorted(vc.items(), key=lambda x: (-x[1], str(x[0])))[:limit]
    return pd.DataFrame({label: [r[0] for r in rows], "calls": [int(r[1]) for r in rows]})


# PRIVATE ANALYSIS: belongs in tracekit.analysis as ``drill(trace, window, by, name)``:
# the calls behind one breakdown row and the GPU activities they launched.
def drill(trace, scope: Scope, by: str, row: dict, limit: int = 200) -> Drill:
    win = window(trace, scope)
    ops = win.ops
    k = win.kernels
    name = str(row.get("op_name") or row["name"])
    if by == "module":
        sel = ops[ops["module"].astype(str) == ("" if name == NO_MODULE else name)]
    elif by == "shape":
        sel = ops[(ops["name"].astype(str) == name)
                  & (ops["shapes"].astype(str) == str(row.get("shapes_key", "")))]
    else:
        sel = ops[ops["name"].astype(str) == name]
    if by == "module" and len(k):
        # the ops under a module that launched GPU work (the module's time), else all
        with_kernels = sel[np.isin(sel["id"].to_numpy(), k["op"].to_numpy())]
        sel = with_kernels if len(with_kernels) else sel
    kk = k[np.isin(k["op"].to_numpy(), sel["id"].to_numpy())]
    t0 = trace_start(trace)
    calls = pd.DataFrame({
        "start_ns": sel["ts_ns"].to_numpy() - t0, "dur_ns": sel["dur_ns"].to_numpy(),
        "self_ns": sel["self_ns"].to_numpy(), "step": sel["step"].to_numpy(),
        "op": sel["name"].astype(str).to_numpy(), "module": sel["module"].astype(str).to_numpy(),
        "shapes": sel["shapes"].astype(str).to_numpy(), "dtypes": sel["dtypes"].astype(str).to_numpy(),
    })
    if by != "module":
        calls = calls.drop(columns=["op"])
    kt = _kernel_summary(kk)
    lines = [f"{len(sel):,} calls, {len(kk):,} GPU activities"
             + (f", {fmt_ms(int(kk['dur_ns'].sum()))} device time" if len(kk) else "")
             + (f", {fmt_ms(int(sel['self_ns'].sum()))} host self time" if len(sel) else "")]
    groups = sorted(set(sel["group"].astype(str)))
    if groups:
        lines.append("group: " + ", ".join(groups))
    tables = [("Kernels", kt),
              ("Module paths", _value_counts(calls["module"], NO_MODULE, "module")),
              ("Input shapes", _value_counts(calls["shapes"], NO_SHAPE, "shapes")),
              (f"Calls (first {min(limit, len(calls))} of {len(calls):,})", calls.head(limit))]
    return Drill(title=f"{by}: {row['name']}", lines=lines, tables=tables)


def _kernel_summary(kk: pd.DataFrame) -> pd.DataFrame:
    cols = ("name", "group", "count", "total_ns", "mean_ns", "streams", "grid", "block")
    if not len(kk):
        return pd.DataFrame({c: [] for c in cols})
    kf = pd.DataFrame({"name": kk["name"].astype(str).to_numpy(), "dur": kk["dur_ns"].to_numpy(),
                       "stream": kk["stream"].to_numpy(), "grid": kk["grid"].astype(str).to_numpy(),
                       "block": kk["block"].astype(str).to_numpy(),
                       "group": kk["group"].astype(str).to_numpy()})
    kt = kf.groupby("name", sort=False).agg(
        group=("group", "first"), count=("dur", "size"), total_ns=("dur", "sum"),
        grid=("grid", "first"), block=("block", "first")).reset_index()
    kt["mean_ns"] = (kt["total_ns"] / kt["count"].clip(lower=1)).astype(np.int64)
    streams = kf.groupby("name", sort=False)["stream"].unique()
    kt["streams"] = kt["name"].map(lambda n: ",".join(str(s) for s in sorted(streams[n])))
    kt = kt.sort_values(["total_ns", "name"], ascending=[False, True]).reset_index(drop=True)
    return kt[list(cols)]


# PRIVATE ANALYSIS: with drill() above: one kernel name's instances and the ops behind it.
def kernel_drill(trace, scope: Scope, name: str, limit: int = 200) -> Drill:
    win = window(trace, scope)
    k = win.kernels
    kk = k[k["name"].astype(str) == name]
    op = kk["op"].to_numpy()
    ops = trace.ops
    op_names = np.full(len(kk), NO_OP, dtype=object)
    modules = np.full(len(kk), "", dtype=object)
    if (op >= 0).any():
        op_names[op >= 0] = ops["name"].astype(str).to_numpy()[op[op >= 0]]
        modules[op >= 0] = ops["module"].astype(str).to_numpy()[op[op >= 0]]
    t0 = trace_start(trace)
    inst = pd.DataFrame({"start_ns": kk["ts_ns"].to_numpy() - t0, "dur_ns": kk["dur_ns"].to_numpy(),
                         "stream": kk["stream"].to_numpy(), "op": op_names,
                         "grid": kk["grid"].astype(str).to_numpy(), "block": kk["block"].astype(str).to_numpy(),
                         "bytes": kk["bytes"].to_numpy(), "link": kk["link"].astype(str).to_numpy()})
    by_op = inst.groupby("op", sort=False).agg(count=("dur_ns", "size"), total_ns=("dur_ns", "sum"))
    by_op = by_op.reset_index().sort_values(["total_ns", "op"], ascending=[False, True])
    lines = [f"{len(kk):,} activities, {fmt_ms(int(kk['dur_ns'].sum()))} device time",
             "group: " + ", ".join(sorted(set(kk["group"].astype(str))))]
    return Drill(title=f"kernel: {name}", lines=lines, tables=[
        ("Operators that launched it", by_op),
        ("Module paths", _value_counts(pd.Series(modules, dtype=object), NO_MODULE, "module")),
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
    for s in trace.meta.get("steps") or []:
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
    for (dev, stream), sub in k.groupby(["device", "stream"], sort=True):
        lanes.append(_lane(f"GPU{dev} s{stream}", sub, codes))
    ops = win.ops
    if len(ops):
        parents = np.unique(trace.ops["parent"].to_numpy())
        leaves = ops[~np.isin(ops["id"].to_numpy(), parents)]
        for (pid, tid), sub in leaves.groupby(["pid", "tid"], sort=True):
            lanes.append(_lane(f"tid {tid}", sub, codes))
    frames = [f for f in (k, ops) if len(f)]
    if frames:
        lo = min(int(f["ts_ns"].min()) for f in frames)
        hi = max(int((f["ts_ns"] + f["dur_ns"]).max()) for f in frames)
    else:
        lo, hi = 0, 1
    return TimelineData(lo=lo, hi=max(hi, lo + 1), t0=trace_start(trace), groups=order, lanes=lanes)


def _lane(label: str, frame: pd.DataFrame, codes: dict) -> Lane:
    frame = frame.sort_values("ts_ns", kind="stable")
    s = frame["ts_ns"].to_numpy()
    e = s + np.maximum(frame["dur_ns"].to_numpy(), 0)
    g = frame["group"].astype(str).map(codes).fillna(len(codes) - 1).to_numpy().astype(np.int64)
    return Lane(label, s, e, g, frame["name"].astype(str).to_numpy())


def bucket_groups(lane: Lane, lo: int, hi: int, width: int, n_groups: int):
    """Per bucket of [lo, hi): the group covering most time (-1 if idle) and the busy
    fraction. Coverage via prefix sums (events on a lane do not overlap, nearly)."""
    edges = lo + (np.arange(width + 1, dtype=np.float64) * (hi - lo) / width).astype(np.int64)
    cover = np.zeros((n_groups, width), dtype=np.float64)
    i0 = np.searchsorted(lane.end, lo, side="right")
    i1 = np.searchsorted(lane.start, hi, side="left")
    s, e, g = lane.start[i0:i1], lane.end[i0:i1], lane.group[i0:i1]
    for code in np.unique(g):
        m = g == code
        cover[code] = np.diff(_covered_upto(s[m], e[m], edges))
    best = cover.argmax(axis=0)
    busy = cover.sum(axis=0) / np.maximum(np.diff(edges), 1)
    best[cover.max(axis=0) <= 0] = -1
    return best, np.minimum(busy, 1.0)


def _covered_upto(s: np.ndarray, e: np.ndarray, t: np.ndarray) -> np.ndarray:
    """F(t) = sum over intervals of their length before t
    = sum_{s_i <= t} (t - s_i) - sum_{e_i <= t} (t - e_i)."""
    if not len(s):
        return np.zeros(len(t))
    base = t[0]
    s = np.sort(s - base).astype(np.float64)
    e = np.sort(e - base).astype(np.float64)
    tt = (t - base).astype(np.float64)
    cs = np.concatenate(([0.0], np.cumsum(s)))
    ce = np.concatenate(([0.0], np.cumsum(e)))
    ns = np.searchsorted(s, tt, side="right")
    ne = np.searchsorted(e, tt, side="right")
    return (ns * tt - cs[ns]) - (ne * tt - ce[ne])


def under_cursor(lane: Lane, t: int, tolerance: int) -> int:
    """Index of the event at time t on the lane (or the nearest within tolerance), -1."""
    if not len(lane.start):
        return -1
    i = int(np.searchsorted(lane.start, t, side="right")) - 1
    if i >= 0 and lane.end[i] > t:
        return i
    best, dist = -1, tolerance + 1
    for j in (i, i + 1):
        if 0 <= j < len(lane.start):
            d = max(lane.start[j] - t, t - lane.end[j], 0)
            if d < dist:
                best, dist = j, d
    return best if dist <= tolerance else -1


# --------------------------------------------------------------------------- export

class ExportUnavailable(RuntimeError):
    pass


def _find_writer():
    """``tracekit.export.export(trace, path, *, step, range, start, end)`` (issue 5),
    imported lazily; None where the export code is not there."""
    import importlib

    try:
        mod = importlib.import_module("tracekit.export")
    except ImportError:
        return None
    writer = getattr(mod, "export", None)
    return writer if callable(writer) else None


def export_available() -> bool:
    return _find_writer() is not None


def export_selection(trace, scope: Scope, path: str):
    """Write the current selection (step / range / span) to Perfetto with tracekit.export;
    returns what the exporter reports."""
    writer = _find_writer()
    if writer is None:
        raise ExportUnavailable("export not available")
    kw = {}
    if scope.step is None:  # the default rule (warm-up dropped), as the screens show it
        win = analysis.select(trace, None)
        if not win.whole_trace:
            kw["step"] = ",".join(str(s) for s in win.steps)
    elif str(scope.step) != "all":
        kw["step"] = str(scope.step)
    if scope.range_id is not None:
        kw["range"] = scope.range_label
    if scope.span is not None:
        t0 = trace_start(trace)
        kw["start"], kw["end"] = int(scope.span[0] - t0), int(scope.span[1] - t0)
    return writer(trace, path, **kw)
