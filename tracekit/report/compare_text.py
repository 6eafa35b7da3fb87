"""Human output of ``tracekit compare``: the sides, whether they compare, the matched rows
side by side (delta and ratio from the first side to the last), then every unmatched row.

Names from traces go through ``safe_text.clean`` into ``rich.text.Text``, never markup.
"""
from __future__ import annotations

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from tracekit.analysis.compare import BASIS_FAMILY
from tracekit.analysis.compare_results import CompareRow, Comparison
from tracekit.report.fmt import duration, pct
from tracekit.safe_text import clean


def _t(text, style: str = "", limit: int | None = None, justify=None) -> Text:
    return Text(clean(text, limit), style=style, justify=justify)


def _reasons(reasons: list[str]) -> Table:
    """One bullet per reason; a long reason wraps under its own text, not under the bullet."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column()
    for reason in reasons:
        grid.add_row("  - ", _t(reason, "yellow"))
    return grid


def as_shares(comparison: Comparison) -> bool:
    """Times on different bases (device time, TensorRT averages, CPU time) are compared
    as shares of each side's total."""
    return len({BASIS_FAMILY.get(s.time_basis, s.time_basis) for s in comparison.sides}) > 1


def render(comparison: Comparison, console: Console, top: int = 20, absolute: bool = False,
           study: bool = True) -> None:
    shares = as_shares(comparison) and not absolute
    console.print(_t(f"Comparing {len(comparison.sides)} traces by {comparison.by} "
                     f"(rows matched by {comparison.match})", "bold"))
    table, at = sides_table(comparison, console.width)
    console.print(table, width=at, crop=False)
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
        console.print(_reasons(verdict.reasons))
    for note in comparison.notes:
        console.print(_t(note, "dim"))
    matched = [r for r in comparison.rows if r.matched]
    unmatched = [r for r in comparison.rows if not r.matched]
    for part, at in rows_table(comparison, matched[:top], shares, f"Matched rows ({len(matched)})",
                               totals=True, width=console.width):
        console.print(part, width=at, crop=False)
    _more(console, comparison, matched[top:], "matched")
    if unmatched:
        for part, at in rows_table(comparison, unmatched[:top], shares,
                                   f"Unmatched rows ({len(unmatched)})", width=console.width):
            console.print(part, width=at, crop=False)
        _more(console, comparison, unmatched[top:], "unmatched")
    if shares:
        console.print(_t("times are on different bases: cells are shares of each side's total "
                         "(--absolute shows times)", "dim"))
    if study and comparison.get("study"):
        from tracekit.report import compare_study_text

        compare_study_text.render(comparison.study, console)


# Numbers are never cut: a table's layout is chosen so that every number cell keeps its
# full width at the console's width; only names (rows, labels, groups) shrink, cut in the
# middle. Layouts are tried from the most to the least compact on one line.
GAP = 3  # between two columns: padding, divider, padding (SIMPLE_HEAD without edges)
NAME_MIN = 12  # a row's name is never cut below this many characters


class Col:
    """One column of a fitted table: its cells as plain strings (names) or Text, the
    width it would like, and the least it may shrink to (a number's width: never less)."""

    def __init__(self, header: str, cells: list, justify: JustifyMethod = "left", style: str = "",
                 shrink_to: int | None = None, soft: int | None = None, order: int = 0) -> None:
        self.header, self.cells, self.justify, self.style = header, cells, justify, style
        widest = max([_len(c) for c in cells] + [1])
        self.natural = max(widest, len(header))
        # a name may shrink to ``shrink_to``, or to ``soft`` before a layout is given up
        self.hard = self.natural if shrink_to is None else min(self.natural, max(shrink_to, 1))
        self.soft = self.natural if soft is None else max(self.hard, min(self.natural, soft))
        self.name = shrink_to is not None
        self.order = order  # names shrink in this order: row names, headers, groups
        self.layout: dict = {}  # the first column says which layout its table is
        if not self.name:  # a number column: wide enough for its widest cell and header
            self.natural = self.hard = self.soft = max(widest, len(header))


def _len(cell) -> int:
    return max((len(line) for line in (cell.plain if isinstance(cell, Text) else str(cell)).split("\n")),
               default=0)


def fit(columns: list[Col], width: int, soft: bool = True) -> list[int] | None:
    """Widths for ``columns`` within ``width``: names shrink (in their ``order``) to their
    soft or hard minimum; None when even that does not fit."""
    widths = [c.natural for c in columns]
    excess = sum(widths) + GAP * (len(columns) - 1) - width
    for i in sorted(range(len(columns)), key=lambda i: columns[i].order):
        if excess <= 0:
            break
        floor = columns[i].soft if soft else columns[i].hard
        cut = min(excess, widths[i] - floor)
        widths[i] -= cut
        excess -= cut
    return widths if excess <= 0 else None


def build(columns: list[Col], widths: list[int], title: str | None = None) -> Table:
    """The table with each column at its width; names cut in the middle to fit it."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)
    for c, w in zip(columns, widths):
        table.add_column(clean(c.header, w, middle=True), justify=c.justify, style=c.style,
                         no_wrap=True, width=w)
    for r in range(len(columns[0].cells) if columns else 0):
        row = []
        for c, w in zip(columns, widths):
            cell = c.cells[r]
            if isinstance(cell, Text):
                row.append(cell)
            elif c.name:  # a second line (a side's source) is dim
                first, _, rest = str(cell).partition("\n")
                text = Text(clean(first, w, middle=True))
                if rest:
                    text.append("\n" + clean(rest, w, middle=True), style="dim")
                row.append(text)
            else:
                row.append(Text(str(cell)))
        table.add_row(*row)
    return table


def choose(layouts: list, width: int) -> tuple[list[Col], list[int], int]:
    """The first layout (a list of columns, or a callable giving one) that fits at ``width``
    with names at their soft minimum, else at their hard minimum; else the last one at its
    hard minimum, wider than the console (the terminal wraps it; numbers stay whole).
    Returns the columns, their widths and the width to print at."""
    built = [layout() if callable(layout) else layout for layout in layouts]
    for soft in (True, False):
        for columns in built:
            widths = fit(columns, width, soft)
            if widths is not None:
                return columns, widths, width
    columns = built[-1]
    widths = [c.hard for c in columns]
    return columns, widths, sum(widths) + GAP * (len(columns) - 1)


def sides_table(comparison: Comparison, width: int = 200) -> tuple[Table, int]:
    """The sides' totals; the source goes under the label, then shares under the times,
    when one line per side does not fit. Returns the table and the width to print it at."""
    sides = comparison.sides
    # windows with different step counts: the time per step is what compares
    per_step = len({len(s.steps) for s in sides}) > 1 and all(s.steps for s in sides)
    labels = [clean(s.label, 40) for s in sides]
    source = [clean(f"{s.source} · {s.time_basis}") for s in sides]

    def split(ns: int, whole: int, sep: str) -> str:
        return f"{duration(ns)}{sep}({pct(ns / whole if whole else None)})"

    def columns(source_under: bool, share_under: bool) -> list[Col]:
        sep = "\n" if share_under else " "
        out = [Col("side", [f"{a}\n{b}" for a, b in zip(labels, source)] if source_under else labels,
                   style="bold", shrink_to=8, soft=16, order=1)]
        if not source_under:
            out.append(Col("source · time", source, shrink_to=8, soft=16))
        out.append(Col("total", [duration(s.total_ns) for s in sides], "right"))
        if per_step:
            out.append(Col("per step", [f"{duration(s.total_ns / len(s.steps))} ×{len(s.steps)}"
                                        for s in sides], "right"))
        out += [Col("GEMM-based", [split(s.gemm_ns, s.compute_ns, sep) for s in sides], "right"),
                Col("non-GEMM", [split(s.non_gemm_ns, s.compute_ns, sep) for s in sides], "right"),
                Col("matched", [pct(s.matched_share) for s in sides], "right")]
        return out

    cols, widths, at = choose([lambda: columns(False, False), lambda: columns(True, False),
                               lambda: columns(True, True)], width)
    return build(cols, widths), at


def rows_table(comparison: Comparison, rows: list[CompareRow], shares: bool, title: str,
               totals: bool = False, width: int = 200) -> list[tuple[object, int]]:
    """The rows side by side, then what did not fit on their line: shares of each side's
    total in a table of their own, notes as lines under the table. Returns what to print,
    each with the width to print it at."""
    sides = comparison.sides
    names = [clean(r.name) for r in rows] + (["total (every row)"] if totals else [])
    groups = [clean(r.group) for r in rows] + ([""] if totals else [])
    notes = [_note(comparison, r) for r in rows]
    # under the table, what the dashes already say (only in / not in) is left out
    labels = [clean(s.label, 24) for s in sides]
    cells = [[_cell(r.ns[i], s.total_ns, shares, r.present[i], times=True) for r in rows]
             for i, s in enumerate(sides)]
    share_cells = [[_cell(r.ns[i], s.total_ns, True, r.present[i]) for r in rows]
                   for i, s in enumerate(sides)]
    deltas = [_delta(r.ns[0], r.ns[-1], sides[0].total_ns, sides[-1].total_ns, shares) for r in rows]
    ratios = [_ratio(r.ns[0], r.ns[-1], sides[0].total_ns, sides[-1].total_ns, shares) for r in rows]
    if totals:
        for i, s in enumerate(sides):
            cells[i].append(Text(duration(s.total_ns), style="bold"))
        deltas.append(_delta(sides[0].total_ns, sides[-1].total_ns, 1, 1, False))
        ratios.append(_ratio(sides[0].total_ns, sides[-1].total_ns, 1, 1, False))

    def columns(with_shares: bool, inline_notes: bool, group: bool) -> list[Col]:
        side_cells = [[_join(t, sh) if with_shares and not shares else t for t, sh in zip(c, sc)] + c[len(rows):]
                      for c, sc in zip(cells, share_cells)]
        # notes stand beside the rows only where the names need not be cut much for them
        out = [Col(comparison.by if comparison.by != "op" else "operator", names, shrink_to=NAME_MIN,
                   soft=48 if inline_notes else 20)]
        if group:
            out.append(Col("group", groups, style="dim", shrink_to=8, soft=8, order=2))
        out += [Col(lab, c, "right", shrink_to=max(_len(x) for x in c), soft=10, order=1)
                for lab, c in zip(labels, side_cells)]
        out += [Col("delta", deltas, "right"), Col("ratio", ratios, "right")]
        if inline_notes and any(notes):
            out.append(Col("note", notes + ([""] if totals else []), style="dim"))
        out[0].layout = {"shares": with_shares or shares, "notes": inline_notes or not any(notes)}
        return out

    group = comparison.by != "group"
    layouts = [lambda: columns(True, True, group), lambda: columns(True, False, group)]
    if not shares:  # times alone on the line; the shares get a table of their own
        layouts.append(lambda: columns(False, False, group))
    if group:
        layouts.append(lambda: columns(shares, False, False))
    cols, widths, at = choose(layouts, width)
    if totals and widths[0] < len(names[-1]):
        cols[0].cells[-1] = "total"
    table = build(cols, widths, title)
    if totals:  # the totals row closes the table after a rule
        table.rows[-2].end_section = True
    out: list[tuple[object, int]] = [(table, at)]
    layout = cols[0].layout
    if not layout["shares"] and rows:
        out.append(_shares_table(comparison, rows, names, share_cells, width))
    if not layout["notes"]:
        for name, row in zip(names, rows):
            line = _note_line(comparison, row, name, width)
            if line:
                out.append((_t(line, "dim"), width))
    return out


def _shares_table(comparison: Comparison, rows: list[CompareRow], names: list[str],
                  share_cells: list[list[Text]], width: int) -> tuple[Table, int]:
    sides = comparison.sides
    deltas = [_delta(r.ns[0], r.ns[-1], sides[0].total_ns, sides[-1].total_ns, True) for r in rows]
    cols = [Col(comparison.by if comparison.by != "op" else "operator", names[:len(rows)],
                shrink_to=NAME_MIN, soft=20)]
    cols += [Col(clean(s.label, 24), c, "right", shrink_to=max(_len(x) for x in c), soft=10)
             for s, c in zip(sides, share_cells)]
    cols.append(Col("delta", deltas, "right"))
    cols, widths, at = choose([cols], width)
    return build(cols, widths, "  shares of each side's total"), at


def _cell(ns: int, total: int, shares: bool, present: bool, times: bool = False) -> Text:
    """A side's cell: its share of the side's total (``shares``), else its time alone
    (``times``; the share is joined on by :func:`_join` where it fits), else both."""
    if not present:
        return Text("—", style="dim")
    share = ns / total if total else None
    return Text(pct(share) if shares else duration(ns) if times else f"{duration(ns)} {pct(share)}")


def _join(time: Text, share: Text) -> Text:
    if time.plain == "—":
        return time
    return Text(f"{time.plain} {share.plain}")


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


def _note(comparison: Comparison, row: CompareRow, presence: bool = True, label: int = 24) -> str:
    """Which sides ran the row as fused layers (the key names the fused kinds), which
    sides lack it."""
    labels = [clean(s.label, label, middle=True) for s in comparison.sides]
    layers = [f.split(" fused", 1)[0] for f in row.fused]
    parts = []
    if any(layers):
        parts.append("fused layers: " + ", ".join(f"{labels[i]} {n}" for i, n in enumerate(layers) if n))
    if not row.matched and (presence or all(row.present)):
        have = [lab for lab, p in zip(labels, row.present) if p]
        lack = [lab for lab, p in zip(labels, row.present) if not p]
        if not lack:  # on every side, but without an op or module nothing says it is the same work
            parts.append("no op or module to match by")
        else:
            parts.append("only in " + ", ".join(have) if len(have) <= len(lack) else "not in " + ", ".join(lack))
    return "; ".join(parts)


def _note_line(comparison: Comparison, row: CompareRow, name: str, width: int) -> str:
    """A row's note under its table on one line: the side labels, then the row's name,
    shrink until it fits (the counts in it stay whole)."""
    note = ""
    for label in (24, 16, 12, 8):
        note = _note(comparison, row, presence=False, label=label)
        if not note or len(name) + len(note) + 4 <= width:
            return note and f"  {name}: {note}"
    return f"  {clean(name, max(width - len(note) - 4, NAME_MIN), middle=True)}: {note}"


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
