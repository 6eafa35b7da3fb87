"""Why the time lands where it does: per group, the rules that put time there, the top
names, and every place where the op-level answer (module > op precedence) and the
kernel-level answer (the kernel's base name alone) disagree, with its time.

Also the one-line warning of ``summary`` when Other holds more than 1% of the time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tracekit.analysis.breakdown import time_basis
from tracekit.analysis.results import Disagreement, Explanation, GroupReasons, NameTime, RuleTime
from tracekit.analysis.window import Selection
from tracekit.model import Trace
from tracekit.model.names import kernel_base_name
from tracekit.taxonomy import OTHER, UNATTRIBUTED, Taxonomy

OTHER_WARN_SHARE = 0.01


def kernel_frame(trace: Trace, kernels: pd.DataFrame, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """One row per distinct (kernel name, op, group): its time, the group its base name
    alone gives ("" when no kernel rule matches) and the group the precedence gave."""
    taxonomy = taxonomy or Taxonomy.default()
    k = kernels
    ops = trace.ops
    op = k["op"].to_numpy()
    op_names = ops["name"].astype(str).to_numpy()
    frame = pd.DataFrame({
        "kernel": k["name"].astype(str).to_numpy(),
        "op": np.where(op >= 0, op_names[np.maximum(op, 0)] if len(op_names) else "", ""),
        "group": k["group"].astype(str).to_numpy(),
        "copy": k["copy"].astype(str).to_numpy(),
        "dur_ns": k["dur_ns"].to_numpy(),
    })
    frame = frame.groupby(["kernel", "op", "group", "copy"], observed=True, sort=False,
                          as_index=False)["dur_ns"].sum()
    names = frame["kernel"].unique()
    by_name = dict(zip(names, taxonomy.classify_many("kernels", names)))
    frame["by_name"] = frame["kernel"].map(by_name).fillna("")
    frame["base"] = frame["kernel"].map({n: kernel_base_name(n) for n in names})
    return frame


def disagreements(frame: pd.DataFrame) -> pd.DataFrame:
    """Kernels whose group differs from their base name's group (host<->device copies,
    Transfer by direction, and kernels no kernel rule knows are no disagreement)."""
    known = frame["by_name"] != ""
    copies = frame["copy"].isin(["HtoD", "DtoH"])
    d = frame[known & ~copies & (frame["by_name"] != frame["group"])]
    return d.sort_values("dur_ns", ascending=False).reset_index(drop=True)


def explain(trace: Trace, window: Selection, taxonomy: Taxonomy | None = None, top: int = 5) -> Explanation:
    """Per group: total, the rules (kind, pattern, file:line) that put time there, the top
    names; and every op-level vs kernel-level disagreement with its time."""
    taxonomy = taxonomy or Taxonomy.default()
    device = time_basis(trace) == "device"
    groups: dict[str, dict] = {}
    if device:
        frame = kernel_frame(trace, window.kernels, taxonomy)
        total = int(frame["dur_ns"].sum())
        for row in frame.itertuples(index=False):
            reason = _kernel_reason(taxonomy, row)
            _add(groups, row.group, reason, row.base, int(row.dur_ns))
        diff = disagreements(frame)
        rows = [Disagreement(kernel=r.base, full_name=r.kernel, op=r.op, group=r.group,
                             by_kernel_name=r.by_name, ns=int(r.dur_ns),
                             share=(r.dur_ns / total) if total else 0.0) for r in diff.itertuples(index=False)]
    else:
        o = window.ops
        total = int(o["self_ns"].sum())
        frame = pd.DataFrame({"name": o["name"].astype(str).to_numpy(), "group": o["group"].astype(str).to_numpy(),
                              "module_group": o["module_group"].astype(str).to_numpy(),
                              "ns": o["self_ns"].to_numpy()})
        frame = frame.groupby(["name", "group", "module_group"], observed=True, as_index=False)["ns"].sum()
        for row in frame.itertuples(index=False):
            _add(groups, row.group, _op_reason(taxonomy, row.name, row.module_group), row.name, int(row.ns))
        rows = []
    order = {g: i for i, g in enumerate(trace.meta.group_order or taxonomy.group_order())}
    out_groups = []
    for g in sorted(groups, key=lambda g: order.get(g, 1e9)):
        info = groups[g]
        out_groups.append(GroupReasons(
            group=g, ns=info["ns"], share=info["ns"] / total if total else 0.0,
            rules=[RuleTime(rule=r, ns=ns) for r, ns in sorted(info["rules"].items(), key=lambda x: -x[1])],
            top=[NameTime(name=n, ns=ns) for n, ns in sorted(info["names"].items(), key=lambda x: -x[1])[:top]],
        ))
    return Explanation(path=trace.meta.path, time_basis=time_basis(trace), total_ns=total,
                       groups=out_groups, disagreements=rows)


def other_warning(trace: Trace, kernels: pd.DataFrame, total_ns: int, top: int = 3) -> str | None:
    """One line when kernels that no rule knows (Other, or Unattributed without a kernel
    rule) hold more than 1% of the time, naming the biggest by base name."""
    if not total_ns or not len(kernels):
        return None
    vague = kernels[kernels["group"].isin([OTHER, UNATTRIBUTED])]
    if not len(vague):
        return None
    taxonomy = Taxonomy.default()
    per = vague.groupby([vague["name"].astype(str), vague["group"].astype(str)], observed=True)["dur_ns"].sum()
    unknown: dict[str, int] = {}
    for (name, group), ns in per.items():
        if group == OTHER or not taxonomy.classify("kernels", name):
            base = kernel_base_name(name)
            unknown[base] = unknown.get(base, 0) + int(ns)
    unknown_ns = sum(unknown.values())
    if unknown_ns / total_ns <= OTHER_WARN_SHARE:
        return None
    names = sorted(unknown, key=lambda n: unknown[n], reverse=True)[:top]
    listed = ", ".join(f"{n[:60]} ({unknown[n] / total_ns:.1%})" for n in names)
    return (f"{unknown_ns / total_ns:.1%} of the time is in kernels no taxonomy rule knows "
            f"(Other/Unattributed): {listed}; add rules with --taxonomy FILE")


def _add(groups: dict, group: str, reason: str, name: str, ns: int) -> None:
    g = groups.setdefault(group, {"ns": 0, "rules": {}, "names": {}})
    g["ns"] += ns
    g["rules"][reason] = g["rules"].get(reason, 0) + ns
    g["names"][name] = g["names"].get(name, 0) + ns


def _describe(d) -> str:
    rule = d.rule
    where = f"{'tracekit/taxonomy/default.toml' if rule.origin == 'default' else rule.origin}:{rule.line}"
    member = f" (member {d.member})" if d.member else ""
    return f"{rule.kind} {d.matched!s}{member} @ {where}"


def _op_reason(taxonomy: Taxonomy, op_name: str, module_group: str) -> str:
    if module_group and module_group != "nan":
        return f"enclosing module -> {module_group}"
    d = taxonomy.decide("ops", op_name)
    return _describe(d) if d.rule else "op without rule (caller's group or Other)"


def _kernel_reason(taxonomy: Taxonomy, row) -> str:
    if row.copy in ("HtoD", "DtoH"):
        return "host<->device copy -> Transfer"
    if row.op:
        d = taxonomy.decide("ops", row.op)
        if d.rule and d.group == row.group:
            return _describe(d)
        if row.by_name == row.group:
            d = taxonomy.decide("kernels", row.kernel)
            return _describe(d)
        return "enclosing module or caller of the op"
    if row.by_name:
        return _describe(taxonomy.decide("kernels", row.kernel))
    return "no operator, no kernel rule" if row.group == UNATTRIBUTED else "no rule"
