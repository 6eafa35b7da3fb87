"""Human output of the ranks of a job side by side: step time, GPU busy and idle time and
communication per rank, with the stragglers marked (each rank's file heads its summary)."""
from __future__ import annotations

import os

from rich import box
from rich.console import Console
from rich.table import Table

from tracekit.analysis.results import RankTable
from tracekit.report.fmt import duration, ms
from tracekit.safe_text import clean


def render(result: RankTable, console: Console) -> None:
    table = Table(title=f"Ranks ({len(result.rows)}); * straggler: its mean step lags the median by "
                        f"more than {result.threshold:.0%}", box=box.SIMPLE_HEAD, title_justify="left")
    for name in ("rank", "steps", "step ms", "vs med.", "busy ms", "idle ms", "comm ms", "exp. ms"):
        table.add_column(name, justify="left" if name == "rank" else "right", no_wrap=True)
    for r in result.rows:
        vs = (f"{r.step_ns / result.median_step_ns - 1:+.1%}"
              if r.step_ns is not None and result.median_step_ns else "-")
        mark = " *" if r.straggler else ""
        table.add_row(_label(r) + mark, str(r.steps), ms(r.step_ns), vs,
                      ms(r.busy_ns), ms(r.idle_ns), ms(r.communication_ns),
                      ms(r.exposed_communication_ns),
                      style="bold" if mark else None)
    console.print(table)
    console.print("exp.: communication with nothing else running on its device")
    if not all(r.named for r in result.rows):
        console.print("#N: the trace names no rank; N is its place among the inputs")
    for rank in result.repeated:  # rows are in the order of the files, as the summaries above
        rows = [i for i, r in enumerate(result.rows, 1) if r.named and r.rank == rank]
        console.print(f"rank {clean(rank, 12)} is claimed by rows {', '.join(map(str, rows))}: "
                      + ", ".join(clean(os.path.basename(result.rows[i - 1].path), 60, middle=True)
                                  for i in rows))
    if result.slowest_row is not None:
        console.print(f"slowest rank: {_label(result.rows[result.slowest_row])}; median step "
                      f"{duration(result.median_step_ns)}, median busy {duration(result.median_busy_ns)}")


def _label(row) -> str:
    return clean(row.rank, 12) if row.named else f"#{row.rank}"
