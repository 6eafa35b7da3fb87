"""Human output of ``tracekit compare``: the sides, whether they compare, the matched rows
side by side (delta and ratio from the first side to the last), then every unmatched row.

Names from traces go through ``safe_text.clean`` into ``rich.text.Text``, never markup.
"""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracekit.analysis.compare import BASIS_FAMILY
from tracekit.analysis.compare_results import CompareRow, Comparison
from tracekit.report.fmt import duration, pct
from tracekit.safe_text import clean

KEY_WIDTH = 48


def _t(text, style: str = "", limit: int | None = None, justify=None) -> Text:
    return Text(clean(text, limit), style=style, justify=justify)


def as_shares(comparison: Comparison) -> bool:
    """Times on different bases (device time, TensorRT averages, CPU time) are compared
    as shares of each side's total."""
    return len({BASIS_FAMILY.get(s.time_basis, s.time_basis) for s in comparison.sides}) > 1


def render(comparison: Comparison, console: Console, top: int = 20, absolute: bool = False,
           study: bool = True) -> None:
    shares = as_shares(comparison) and not absolute
    console.print(_t(f"Comparing {len(comparison.sides)} traces by {comparison.by} "
                     f"(rows matched by {comparison.match})", "bold"))
    console.print(sides_table(comparison))
    windows = [s.window for s in comparison.sides]
    if len(set(windows)) == 1:
        console.print(_t(f"window: {windows[0]}", "dim"))
    else:
        for s in comparison.sides:
            console.print(_t(f"window of {s.label}: {s.window}", "dim"))
    verdict = comparison.comparable
    if verdict.identical:
        console.print(_t(verdict.reasons[0], "bold green"))
        return
    if verdict.reasons:
        console.print(_t("doubtful comparison:", "bold yellow"))
        for reason in verdict.reasons:
            console.print(_t(f"  - {reason}", "yellow"))
    for note in comparison.notes:
        console.print(_t(note, "dim"))
    matched = [r for r in comparison.rows if r.matched]
    unmatched = [r for r in comparison.rows if not r.matched]
    console.print(rows_table(comparison, matched[:top], shares,
                             f"Matched rows ({len(matched)})", totals=True))
    _more(console, comparison, matched[top:], "matched")
    if unmatched:
        console.print(rows_table(comparison, unmatched[:top], shares,
                                 f"Unmatched rows ({len(unmatched)})"))
        _more(console, comparison, unmatched[top:], "unmatched")
    if shares:
        console.print(_t("times are on different bases: cells are shares of each side's total "
                         "(--absolute shows times)", "dim"))
    if study and comparison.get("study"):
        from tracekit.report import compare_study_text

        compare_study_text.render(comparison.study, console)


def sides_table(comparison: Comparison) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # windows with different step counts: the time per step is what compares
    per_step = len({len(s.steps) for s in comparison.sides}) > 1 and all(s.steps for s in comparison.sides)
    columns = [("side", "left"), ("source · time", "left"), ("total", "right")]
    columns += [("per step", "right")] if per_step else []
    columns += [("GEMM-based", "right"), ("non-GEMM", "right"), ("matched", "right")]
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    for s in comparison.sides:
        compute = s.compute_ns
        step = [f"{duration(s.total_ns / len(s.steps))} ×{len(s.steps)}"] if per_step else []
        table.add_row(_t(s.label, "bold", 40), _t(f"{s.source} · {s.time_basis}"),
                      duration(s.total_ns), *step,
                      f"{duration(s.gemm_ns)} ({pct(s.gemm_ns / compute if compute else None)})",
                      f"{duration(s.non_gemm_ns)} ({pct(s.non_gemm_ns / compute if compute else None)})",
                      pct(s.matched_share))
    return table


def rows_table(comparison: Comparison, rows: list[CompareRow], shares: bool, title: str,
               totals: bool = False) -> Table:
    sides = comparison.sides
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)
    table.add_column(comparison.by, no_wrap=True, max_width=KEY_WIDTH)
    if comparison.by != "group":
        table.add_column("group", style="dim", no_wrap=True, max_width=14)
    for s in sides:
        table.add_column(clean(s.label, 24), justify="right", no_wrap=True)
    table.add_column("delta", justify="right", no_wrap=True)
    table.add_column("ratio", justify="right", no_wrap=True)
    table.add_column("note", style="dim", overflow="fold")
    for row in rows:
        cells = [_t(row.key, "", KEY_WIDTH)]
        if comparison.by != "group":
            cells.append(_t(row.group))
        cells += [_cell(row.ns[i], s.total_ns, shares, row.present[i]) for i, s in enumerate(sides)]
        cells += [_delta(row.ns[0], row.ns[-1], sides[0].total_ns, sides[-1].total_ns, shares),
                  _ratio(row.ns[0], row.ns[-1], sides[0].total_ns, sides[-1].total_ns, shares),
                  _t(_note(comparison, row))]
        table.add_row(*cells)
    if totals:
        cells = [Text("total (every row)", style="bold")]
        if comparison.by != "group":
            cells.append(Text(""))
        cells += [Text(duration(s.total_ns), style="bold") for s in sides]
        cells += [_delta(sides[0].total_ns, sides[-1].total_ns, 1, 1, False),
                  _ratio(sides[0].total_ns, sides[-1].total_ns, 1, 1, False), Text("")]
        table.add_row(*cells, end_section=False)
    return table


def _cell(ns: int, total: int, shares: bool, present: bool) -> Text:
    if not present:
        return Text("—", style="dim")
    share = ns / total if total else None
    return Text(pct(share) if shares else f"{duration(ns)} {pct(share)}")


def _delta(a: int, b: int, ta: int, tb: int, shares: bool) -> Text:
    if shares:
        d = ((b / tb if tb else 0.0) - (a / ta if ta else 0.0)) * 100
        return Text(f"{d:+.1f}pt", style="red" if d > 0 else "green" if d < 0 else "")
    d = b - a
    return Text(("+" if d > 0 else "-" if d < 0 else "") + duration(abs(d)),
                style="red" if d > 0 else "green" if d < 0 else "")


def _ratio(a: int, b: int, ta: int, tb: int, shares: bool) -> Text:
    """last / first: of times, or of shares when the sides' times are on different bases."""
    if not a or not b:
        return Text("new" if b else "gone" if a else "-")
    r = (b / tb) / (a / ta) if shares and ta and tb else b / a
    return Text(f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×")


def _note(comparison: Comparison, row: CompareRow) -> str:
    """Which sides ran the row as fused layers (the key names the fused kinds), which
    sides lack it."""
    labels = [s.label for s in comparison.sides]
    layers = [f.split(" fused", 1)[0] for f in row.fused]
    parts = []
    if any(layers):
        parts.append("fused layers: " + ", ".join(f"{labels[i]} {n}" for i, n in enumerate(layers) if n))
    if not row.matched:
        have = [lab for lab, p in zip(labels, row.present) if p]
        lack = [lab for lab, p in zip(labels, row.present) if not p]
        if not lack:  # on every side, but without an op or module nothing says it is the same work
            parts.append("no op or module to match by")
        else:
            parts.append("only in " + ", ".join(have) if len(have) <= len(lack) else "not in " + ", ".join(lack))
    return "; ".join(parts)


def _more(console: Console, comparison: Comparison, rows: list[CompareRow], what: str) -> None:
    if not rows:
        return
    sums = [sum(r.ns[i] for r in rows) for i in range(len(comparison.sides))]
    console.print(_t(f"... {len(rows)} more {what} rows ("
                     + ", ".join(f"{clean(s.label, 24)}: {duration(ns)}"
                                 for s, ns in zip(comparison.sides, sums))
                     + "; --top to show more, --json for all)", "dim"))


def gate_lines(checks) -> list[str]:
    """One line per exceeded limit."""
    return [clean(f"tracekit: limit exceeded: {c.line}") for c in checks if c.exceeded]
