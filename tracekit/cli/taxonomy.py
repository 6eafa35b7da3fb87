"""``tracekit taxonomy``: print the rules in use (defaults plus --taxonomy FILE)."""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracekit.safe_text import clean

HELP = "Print the GEMM/non-GEMM taxonomy in use: groups and their rules."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--taxonomy", metavar="FILE", help="TOML file extending/overriding the defaults")
    p.add_argument("--classify", metavar="NAME", nargs="+",
                   help="show the group each name gets as an op, a module and a kernel")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args) -> int:
    from tracekit.report import json_report
    from tracekit.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy) if args.taxonomy else Taxonomy.default()
    if args.classify:
        rows = [{"name": n, **{kind: taxonomy.classify(kind, n) or None
                               for kind in ("modules", "ops", "kernels")}} for n in args.classify]
        if args.json:
            json_report.render(rows)
        else:
            table = Table("name", "as module", "as op", "as kernel")
            for r in rows:
                table.add_row(Text(clean(r["name"])),
                              *(Text(clean(r[k] or "-")) for k in ("modules", "ops", "kernels")))
            Console().print(table)
        return 0
    if args.json:
        json_report.render({
            "sources": taxonomy.sources,
            "groups": [{"name": g, "gemm": taxonomy.is_gemm(g)} for g in taxonomy.group_order()],
            "rules": [{"kind": r.kind, "group": r.group, "names": sorted(r.names),
                       "match": [p.pattern for p in r.patterns], "origin": r.origin}
                      for r in taxonomy.rules],
        })
        return 0
    console = Console(highlight=False)
    console.print(Text(clean(f"Taxonomy from: {', '.join(taxonomy.sources)}"), style="bold"))
    console.print(Text("Precedence: innermost classified module > op > kernel name; "
                       "host<->device copies are always Transfer.", style="dim"))
    groups = Table("group", "GEMM-based", title="Groups", title_justify="left")
    for g in taxonomy.group_order():
        groups.add_row(Text(clean(g)), "yes" if taxonomy.is_gemm(g) else "no")
    console.print(groups)
    rules = Table("kind", "group", "names / patterns", "from", title="Rules (first match wins)",
                  title_justify="left", show_lines=False)
    for r in taxonomy.rules:
        text = ", ".join(sorted(r.names)[:12]) + (" …" if len(r.names) > 12 else "")
        pats = " | ".join(p.pattern for p in r.patterns)
        rules.add_row(Text(clean(r.kind)), Text(clean(r.group)),
                      Text(clean(text + ("; " if text and pats else "") + pats)), Text(clean(r.origin)))
    console.print(rules)
    return 0
