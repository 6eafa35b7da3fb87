"""``tracekit taxonomy``: print the rules in use (defaults plus --taxonomy FILE)."""
from __future__ import annotations

import argparse

from tracekit.cli.common import add_json_argument, add_taxonomy_argument

HELP = "Print the GEMM/non-GEMM taxonomy in use: groups and their rules."


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_taxonomy_argument(p)
    p.add_argument("--classify", metavar="NAME", nargs="+",
                   help="show the group each name gets as a module, an op and a kernel, and the "
                        "rule that decided it (kind, pattern, file:line)")
    add_json_argument(p)


def classify_row(taxonomy, name: str) -> dict:
    """What each kind of rule says about ``name`` and which rule says it (the same
    Taxonomy.decide that loading uses)."""
    from tracekit.model.names import kernel_base_name

    row = {"name": name, "base_name": kernel_base_name(name), "rules": {}}
    for kind in ("modules", "ops", "kernels"):
        d = taxonomy.decide(kind, name)
        rule = d.rule
        row[kind] = d.group or None
        row["rules"][kind] = {"group": d.group or None, "kind": rule.kind if rule else None,
                     "matched": d.matched or None, "member": d.member or None,
                     "file": _file(rule.origin) if rule else None, "line": rule.line if rule else None,
                     "note": (rule.note or None) if rule else None}
    return row


def _file(origin: str) -> str:
    from tracekit.taxonomy import DEFAULT_ORIGIN

    return "tracekit/taxonomy/default.toml" if origin == DEFAULT_ORIGIN else origin


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tracekit.report import json_report
    from tracekit.safe_text import clean
    from tracekit.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy) if args.taxonomy else Taxonomy.default()
    if args.classify:
        rows = [classify_row(taxonomy, n) for n in args.classify]
        if args.json:
            json_report.render(rows)
        else:
            table = Table("name", "as", "group", "rule (kind, pattern, file:line)", title_justify="left")
            for r in rows:
                for kind in ("modules", "ops", "kernels"):
                    d = r["rules"][kind]
                    rule = (f"{d['kind']} {d['matched']} ({d['file']}:{d['line']})"
                            + (f" via member {d['member']}" if d["member"] else "")) if d["group"] else "no rule"
                    label = kind[:-1] + (f" [{r['base_name']}]" if kind == "kernels" and r["base_name"] != r["name"] else "")
                    table.add_row(Text(clean(r["name"])), Text(clean(label)), Text(clean(d["group"] or "-")),
                                  Text(clean(rule)))
            Console(highlight=False).print(table)
        return 0
    if args.json:
        json_report.render({
            "sources": taxonomy.sources,
            "groups": [{"name": g, "gemm": taxonomy.is_gemm(g)} for g in taxonomy.group_order()],
            "rules": [{"kind": r.kind, "group": r.group, "names": sorted(r.names),
                       "match": [p.pattern for p in r.patterns], "origin": r.origin,
                       "file": _file(r.origin), "line": r.line}
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
