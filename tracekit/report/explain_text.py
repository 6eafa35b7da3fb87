"""Text of ``tracekit summary --explain``: per group, the rules that put time there and the
top names; then every op-level vs kernel-level disagreement with its time."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracekit.analysis.results import Explanation
from tracekit.report.fmt import ms, pct


def render(result: Explanation, console: Console, top_disagreements: int = 50) -> None:
    console.print(Text(f"Why: {result.path or ''} ({result.time_basis} time, "
                       f"total {ms(result.total_ns)} ms)", style="bold"))
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False)
    table.add_column("group", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column("rules that put time here (kind pattern @ file:line)", overflow="fold", ratio=2)
    table.add_column("top names", overflow="fold", ratio=2)
    for g in result.groups:
        rules = "\n".join(f"{pct(r.ns / result.total_ns) if result.total_ns else '-'}  {r.rule}"
                          for r in g.rules[:6])
        names = "\n".join(f"{pct(n.ns / result.total_ns) if result.total_ns else '-'}  {n.name[:80]}"
                          for n in g.top)
        table.add_row(Text(g.group), pct(g.share), Text(rules), Text(names))
    console.print(table)
    rows = result.disagreements
    if not rows:
        console.print(Text("Op-level and kernel-level groups agree on every kernel.", style="dim"))
        return
    dis = Table(title=f"Op-level vs kernel-level disagreements ({len(rows)})", title_justify="left",
                box=box.SIMPLE_HEAD, expand=True, pad_edge=False)
    dis.add_column("kernel", overflow="fold", ratio=2)
    dis.add_column("op", overflow="fold", ratio=1)
    dis.add_column("group (op)", no_wrap=True)
    dis.add_column("by kernel name", no_wrap=True)
    dis.add_column("ms", justify="right", no_wrap=True)
    dis.add_column("share", justify="right", no_wrap=True)
    for r in rows[:top_disagreements]:
        dis.add_row(Text(r.kernel[:120]), Text(r.op[:80]), Text(r.group), Text(r.by_kernel_name),
                    ms(r.ns), pct(r.share))
    console.print(dis)
    if len(rows) > top_disagreements:
        console.print(Text(f"... {len(rows) - top_disagreements} more (see --json)", style="dim"))
