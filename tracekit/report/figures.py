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


def _panels(plt, n: int, rows: int, slots: int, height: float = 3.0):
    width = min(max(3.2, 0.42 * slots + 1.4), 11.0)
    fig, axes = plt.subplots(rows, n, figsize=(min(width * n, 26.0), height * rows),
                             squeeze=False, sharey="row")
    return fig, axes


def _stacked(point: str) -> str:
    """b4 s128 as two tick lines, so neighbouring ticks do not run into each other."""
    return "\n".join(label(part, 12) for part in point.split(" "))


def _x_axis(ax, ticks, spans, xlabel: str = "batch size, per model") -> None:
    ax.set_xticks([t for t, _ in ticks], [_stacked(p) for _, p in ticks], rotation=0)
    lines = max((p.count(" ") + 1 for _, p in ticks), default=1)
    for first, last, model in spans:
        ax.annotate(label(model, 24), xy=((first + last) / 2, 0), xycoords=("data", "axes fraction"),
                    xytext=(0, -8 - 12 * lines), textcoords="offset points", ha="center", va="top",
                    fontweight="bold")
    ax.set_xlabel(xlabel, labelpad=6 + 12 * lines)
    ax.set_xlim(-0.6, max((t for t, _ in ticks), default=0) + 0.6)


def _bar(ax, x, height, bottom, color, hatch, name, legend: dict) -> None:
    bars = ax.bar(x, height, 0.8, bottom=bottom, color=color, hatch=hatch, edgecolor=EDGE,
                  linewidth=0.5, label=name)
    legend.setdefault(name, bars)


def gemm_split(entries: list[Entry]) -> str:
    """GEMM vs non-GEMM (and communication) per trace: ms per step on top, shares below."""
    plt = pyplot()
    runtimes = dataset.runtimes(entries)
    xs, ticks, spans = _slots(entries)
    fig, axes = _panels(plt, len(runtimes), 2, len(ticks))
    legend: dict = {}
    for col, runtime in enumerate(runtimes):
        top, bottom = axes[0][col], axes[1][col]
        for e in (e for e in entries if e.runtime == runtime):
            s, x = e.summary, xs[e.model, e.point]
            parts = [("GEMM-based", s.gemm_ns, colors.GEMM_COLOR, colors.GEMM_HATCH),
                     ("non-GEMM", s.non_gemm_ns, colors.NON_GEMM_COLOR, colors.NON_GEMM_HATCH),
                     ("communication", s.communication_ns, colors.COMMUNICATION_COLOR,
                      colors.COMMUNICATION_HATCH)]
            base_ms = base_share = 0.0
            for name, ns, color, hatch in parts:
                if not ns:
                    continue
                share = 100 * ns / s.total_ns if s.total_ns else 0.0
                _bar(top, x, e.per_step_ms(ns), base_ms, color, hatch, name, legend)
                _bar(bottom, x, share, base_share, color, hatch, name, legend)
                if share >= 12:
                    bottom.text(x, base_share + share / 2, f"{share:.0f}%", ha="center", va="center",
                                fontsize=7, bbox=dict(boxstyle="round,pad=0.15", fc="white", lw=0))
                base_ms += e.per_step_ms(ns)
                base_share += share
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
    runtimes = dataset.runtimes(entries)
    groups = dataset.non_gemm_groups(entries, dataset.gemm_group_names(entries))
    xs, ticks, spans = _slots(entries)
    fig, axes = _panels(plt, len(runtimes), 1, len(ticks), height=3.6)
    legend: dict = {}
    for col, runtime in enumerate(runtimes):
        ax = axes[0][col]
        for e in (e for e in entries if e.runtime == runtime):
            base = 0.0
            for group in groups:
                ms = e.per_step_ms(e.summary.groups.get(group, 0))
                if ms:
                    _bar(ax, xs[e.model, e.point], ms, base, colors.group_color(group),
                         colors.group_hatch(group), label(group, 30), legend)
                    base += ms
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
    n = len(comparisons)
    widest = max((sum(len(p.sides) for p in c.points) for c in comparisons), default=1)
    fig, axes = plt.subplots(1, n, figsize=(min(max(3.4, 0.5 * widest + 1.6) * n, 26.0), 3.8),
                             squeeze=False)
    legend: dict = {}
    for ax, comp in zip(axes[0], comparisons):
        ticks, spans, x = [], [], 0.0
        for point in comp.points:
            first = x
            for side in point.sides:
                base = 0.0
                for group in comp.groups:
                    ms = side.ms.get(group, 0.0)
                    if ms:
                        _bar(ax, x, ms, base, colors.group_color(group), colors.group_hatch(group),
                             label(group, 30), legend)
                        base += ms
                ticks.append((x, side.runtime))
                x += 1
            spans.append((first, x - 1, point.point))
            x += 0.6
        ax.set_xticks([t for t, _ in ticks], [label(r, 16) for _, r in ticks], rotation=35, ha="right")
        for first, last, point in spans:
            ax.annotate(label(point, 16).replace(" ", ", "), xy=((first + last) / 2, 1), xycoords=("data", "axes fraction"),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
        ax.set_title(label(comp.model), pad=14)
        ax.set_xlabel("runtime, per batch size")
    axes[0][0].set_ylabel(MS_PER_STEP)
    _legend_right(fig, legend, "group", [g for c in comparisons for g in c.groups])
    return to_svg(fig, "runtime-comparison")


MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINES = ("-", "--", ":", "-.")


def amdahl(entries: list[Entry]) -> str:
    """Amdahl's bound per trace: the end-to-end speedup if GEMM time went to zero."""
    plt = pyplot()
    xs, ticks, spans = _slots(entries)
    fig, axes = _panels(plt, 1, 1, len(ticks), height=3.2)
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
