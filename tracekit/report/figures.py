"""The report's figures, built with matplotlib from report entries (one per trace) and
returned as inline SVG. Each figure has axis labels with units and a legend; groups have
the TUI's colours and a hatch each, so the figures read in greyscale too.

Layout shared by the per-runtime figures: one panel per runtime, and in each panel the
models side by side, a bar per batch size (x = batch), at the same x in every panel.
"""
from __future__ import annotations

from tracekit.report import colors, dataset
from tracekit.report.dataset import Entry
from tracekit.report.svg import label, pyplot, to_svg

MS_PER_STEP = "time per step (ms)"
COMPARISON_COLUMNS = 2  # models per row of the runtime comparison
EDGE = "#1f2937"


def _slots(entries: list[Entry]) -> tuple[dict, list, list]:
    """x of every (model, point), the tick labels, and each model's (first, last, name)."""
    xs, ticks, spans, x = {}, [], [], 0.0
    for model in dataset.models(entries):
        points = list(dict.fromkeys(e.point for e in entries if e.model == model))
        first = x
        for point in points:
            xs[model, point] = x
            ticks.append((x, point))
            x += 1
        spans.append((first, x - 1, model))
        x += 0.6  # gap between models
    return xs, ticks, spans


def _panels(plt, widths: list[int], rows: int, height: float = 3.0):
    """A grid with a column per runtime, each as wide as its number of bars."""
    width = min(max(0.3 * sum(widths) + 1.4 * len(widths), 4.0), 20.0)
    fig, axes = plt.subplots(rows, len(widths), figsize=(width, height * rows), squeeze=False,
                             sharey="row", gridspec_kw={"width_ratios": [max(w, 2) for w in widths]})
    return fig, axes


def _by_runtime(entries: list[Entry]) -> list[tuple[str, list[Entry], tuple]]:
    """(runtime, its entries, its slots): each panel holds only the models it ran."""
    out = []
    for runtime in dataset.runtimes(entries):
        mine = [e for e in entries if e.runtime == runtime]
        out.append((runtime, mine, _slots(mine)))
    return out


def _stacked(point: str) -> str:
    """b4 s128 as two tick lines, so neighbouring ticks do not run into each other."""
    return "\n".join(label(part, 12) for part in point.split(" "))


def _x_axis(ax, ticks, spans, xlabel: str = "batch size, per model") -> None:
    """Batch points as ticks with the model name under each model's bars; traces without a
    batch (any trace not from a sweep) are ticked with their model name instead, slanted."""
    if all(p.split(" ")[0] == "-" for _, p in ticks):
        model = {t: m for first, last, m in spans for t, _ in ticks if first <= t <= last}
        texts = [label(model[t], 28) + (" " + p.split(" ", 1)[1] if " " in p else "") for t, p in ticks]
        ax.set_xticks([t for t, _ in ticks], texts, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_xlabel("trace (model)")
        ax.set_xlim(-0.6, max((t for t, _ in ticks), default=0) + 0.6)
        return
    ax.set_xticks([t for t, _ in ticks], [_stacked(p) for _, p in ticks], rotation=0)
    lines = max((p.count(" ") + 1 for _, p in ticks), default=1)
    for first, last, model in spans:
        ax.annotate(label(model, 24), xy=((first + last) / 2, 0), xycoords=("data", "axes fraction"),
                    xytext=(0, -8 - 12 * lines), textcoords="offset points", ha="center", va="top",
                    fontweight="bold")
    ax.set_xlabel(xlabel, labelpad=6 + 12 * lines)
    ax.set_xlim(-0.6, max((t for t, _ in ticks), default=0) + 0.6)


def _stack(ax, xs: list[float], parts: list[tuple], legend: dict) -> None:
    """Stacked bars at ``xs``: ``parts`` is (name, heights, colour, hatch) bottom up; one
    matplotlib call per part, not per bar."""
    base = [0.0] * len(xs)
    for name, heights, color, hatch in parts:
        if not any(heights):
            continue
        keep = [i for i, h in enumerate(heights) if h]  # no empty rectangles to draw
        bars = ax.bar([xs[i] for i in keep], [heights[i] for i in keep], 0.8, bottom=[base[i] for i in keep],
                      color=color, hatch=hatch, edgecolor=EDGE, linewidth=0.5, label=name)
        legend.setdefault(name, bars)
        base = [b + h for b, h in zip(base, heights)]


def gemm_split(entries: list[Entry]) -> str:
    """GEMM vs non-GEMM (and communication) per trace: ms per step on top, shares below."""
    plt = pyplot()
    panels = _by_runtime(entries)
    fig, axes = _panels(plt, [len(slots[1]) for _, _, slots in panels], 2)
    legend: dict = {}
    kinds = (("GEMM-based", "gemm_ns", colors.GEMM_COLOR, colors.GEMM_HATCH),
             ("non-GEMM", "non_gemm_ns", colors.NON_GEMM_COLOR, colors.NON_GEMM_HATCH),
             ("communication", "communication_ns", colors.COMMUNICATION_COLOR, colors.COMMUNICATION_HATCH))
    for col, (runtime, mine, (xs, ticks, spans)) in enumerate(panels):
        top, bottom = axes[0][col], axes[1][col]
        x = [xs[e.model, e.point] for e in mine]
        ns = {field: [getattr(e.summary, field) for e in mine] for _, field, _, _ in kinds}
        totals = [e.summary.total_ns or 1 for e in mine]
        _stack(top, x, [(n, [e.per_step_ms(v) for e, v in zip(mine, ns[f])], c, h) for n, f, c, h in kinds],
               legend)
        shares = {f: [100 * v / t for v, t in zip(ns[f], totals)] for _, f, _, _ in kinds}
        _stack(bottom, x, [(n, shares[f], c, h) for n, f, c, h in kinds], legend)
        gemm = shares["gemm_ns"]
        for xi, g in zip(x, gemm):  # the GEMM share, written where the bar has room
            if g >= 12:
                bottom.text(xi, g / 2, f"{g:.0f}%", ha="center", va="center", fontsize=7, color="white",
                            fontweight="bold")
        top.set_title(label(runtime))
        top.set_xticks([])
        bottom.set_ylim(0, 100)
        _x_axis(bottom, ticks, spans)
    axes[0][0].set_ylabel(MS_PER_STEP)
    axes[1][0].set_ylabel("share of total time (%)")
    fig.legend(legend.values(), legend.keys(), loc="upper center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 1.06))
    return to_svg(fig, "gemm-split")


def non_gemm_groups(entries: list[Entry]) -> str:
    """Non-GEMM time by group per trace, stacked: which non-GEMM group dominates."""
    plt = pyplot()
    panels = _by_runtime(entries)
    groups = dataset.non_gemm_groups(entries, dataset.gemm_group_names(entries))
    fig, axes = _panels(plt, [len(slots[1]) for _, _, slots in panels], 1, height=3.6)
    legend: dict = {}
    for col, (runtime, mine, (xs, ticks, spans)) in enumerate(panels):
        ax = axes[0][col]
        parts = [(label(g, 30), [e.per_step_ms(e.summary.groups.get(g, 0)) for e in mine],
                  colors.group_color(g), colors.group_hatch(g)) for g in groups]
        _stack(ax, [xs[e.model, e.point] for e in mine], parts, legend)
        ax.set_title(label(runtime))
        _x_axis(ax, ticks, spans)
    axes[0][0].set_ylabel(f"non-GEMM {MS_PER_STEP}")
    _legend_right(fig, legend, "non-GEMM group", groups)
    return to_svg(fig, "non-gemm-groups")


def _legend_right(fig, legend: dict, title: str, order: list[str]) -> None:
    """A legend in ``order`` (groups as stacked), not in the order bars were first drawn."""
    names = [n for n in dict.fromkeys(label(g, 30) for g in order) if n in legend]
    fig.legend([legend[n] for n in names], names, loc="center left", bbox_to_anchor=(1.0, 0.5),
               frameon=False, title=title)


def runtime_comparison(comparisons: list) -> str:
    """Per model, every runtime's time by group side by side at each batch size
    (``comparisons``: report.comparison.ModelComparison, one per model)."""
    plt = pyplot()
    cols = min(len(comparisons), COMPARISON_COLUMNS)
    rows = -(-len(comparisons) // cols)
    widest = max((sum(len(p.sides) for p in c.points) for c in comparisons), default=1)
    fig, axes = plt.subplots(rows, cols, figsize=(min(max(3.4, 0.35 * widest + 1.6) * cols, 20.0), 3.6 * rows),
                             squeeze=False)
    for ax in axes.flat[len(comparisons):]:
        ax.set_visible(False)
    legend: dict = {}
    for ax, comp in zip(axes.flat, comparisons):
        ticks, spans, x = [], [], 0.0
        sides = []
        for point in comp.points:
            first = x
            for side in point.sides:
                sides.append(side)
                ticks.append((x, side.runtime))
                x += 1
            spans.append((first, x - 1, point.point))
            x += 0.6
        parts = [(label(g, 30), [side.ms.get(g, 0.0) for side in sides], colors.group_color(g),
                  colors.group_hatch(g)) for g in comp.groups]
        _stack(ax, [t for t, _ in ticks], parts, legend)
        ax.set_xticks([t for t, _ in ticks], [label(r, 16) for _, r in ticks], rotation=35, ha="right")
        for first, last, point in spans:
            ax.annotate(label(point, 16).replace(" ", ", "), xy=((first + last) / 2, 1), xycoords=("data", "axes fraction"),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
        ax.set_title(label(comp.model), pad=14)
        ax.set_xlabel("runtime, per batch size")
        ax.set_ylabel(MS_PER_STEP)
    fig.subplots_adjust(hspace=0.75, wspace=0.3)  # room for slanted runtime names; no second layout pass
    _legend_right(fig, legend, "group", [g for c in comparisons for g in c.groups])
    return to_svg(fig, "runtime-comparison")


MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINES = ("-", "--", ":", "-.")


def amdahl(entries: list[Entry]) -> str:
    """Amdahl's bound per trace: the end-to-end speedup if GEMM time went to zero."""
    plt = pyplot()
    xs, ticks, spans = _slots(entries)
    fig, axes = _panels(plt, [len(ticks)], 1, height=3.2)
    ax = axes[0][0]
    for i, runtime in enumerate(dataset.runtimes(entries)):
        name = label(runtime)
        for model in dataset.models(entries):  # one line per model: no line between models
            points = [(xs[e.model, e.point], e.summary.gemm_free_speedup) for e in entries
                      if e.runtime == runtime and e.model == model and e.summary.gemm_free_speedup]
            if points:
                ax.plot(*zip(*points), marker=MARKERS[i % len(MARKERS)], linestyle=LINES[i % len(LINES)],
                        color=f"C{i}", label=name)
                name = None  # the legend lists each runtime once
    ax.axhline(1.0, color="#9ca3af", linewidth=0.8)
    ax.set_ylabel("speedup if GEMM time → 0 (×)")
    _x_axis(ax, ticks, spans)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, title="runtime", frameon=False,
              loc="center left", bbox_to_anchor=(1.0, 0.5))
    return to_svg(fig, "amdahl")


def breakdown(summary, gemm_groups: set[str], title: str) -> object:
    """One trace's time by group (horizontal bars, ms and share), for ``summary --plot``."""
    plt = pyplot("summary --plot")
    groups = [(g, ns) for g, ns in summary.groups.items() if ns]
    groups.sort(key=lambda item: item[1])
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(groups) + 1.6))
    total = summary.total_ns or 1
    for y, (group, ns) in enumerate(groups):
        ax.barh(y, ns / 1e6, color=colors.group_color(group), hatch=colors.group_hatch(group),
                edgecolor=EDGE, linewidth=0.5)
        ax.text(ns / 1e6, y, f" {ns / 1e6:,.2f} ms ({100 * ns / total:.1f}%)", va="center", fontsize=8)
    ax.set_yticks(range(len(groups)), [label(g, 30) + (" (GEMM-based)" if g in gemm_groups and g != "GEMM"
                                                       else "") for g, _ in groups])
    ax.set_xlabel(f"time in the window (ms, {summary.time_basis} basis)")
    ax.set_ylabel("group")
    speedup = summary.gemm_free_speedup
    share = summary.gemm_ns / summary.compute_ns if summary.compute_ns else 0.0
    ax.set_title(label(title, 80) + f"\nGEMM-based {100 * share:.1f}% of compute; "
                 f"speedup if GEMM → 0: {speedup:.2f}×" if speedup else label(title, 80))
    ax.margins(x=0.35)
    return fig
