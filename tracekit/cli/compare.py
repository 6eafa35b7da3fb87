"""``tracekit compare A B [C...]``: the same model across runtimes, before/after, across
GPUs -- rows matched by group, operator, module or kernel, and a regression gate."""
from __future__ import annotations

import argparse

from tracekit.cli.common import (
    add_json_argument,
    add_loading_arguments,
    add_range_argument,
    add_step_argument,
    add_top_argument,
    add_trace_arguments,
    load_traces,
)

# tracekit.analysis.compare.BY, spelled out so that parsing arguments imports no pandas
BY = ("group", "op", "module", "kernel")

HELP = "Compare traces: time per group/op/module/kernel side by side, matched across runtimes."


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_trace_arguments(p, "two or more traces, any formats (first = baseline, last = new)")
    p.add_argument("--by", choices=BY, default="group",
                   help="what rows are matched by (default: group)")
    p.add_argument("--label", action="append", metavar="NAME", default=None,
                   help="name of each trace, in order (repeat: --label H100 --label MI300)")
    add_top_argument(p, "matched and unmatched rows shown (default 10; --json has all)")
    add_step_argument(p, per_trace=True)
    add_range_argument(p)
    add_json_argument(p)
    p.add_argument("--fail-if", action="append", metavar="LIMIT", default=[],
                   help="exit 1 when a group grows past LIMIT from the first trace to the last: "
                        "GROUP:+X%% (time), GROUP:+Xpt (share points), GROUP:+Xms; GROUP may be "
                        "GEMM, non-GEMM or total; repeat for several")
    p.add_argument("--absolute", action="store_true",
                   help="show times even when the traces' time bases differ (default: shares)")
    add_loading_arguments(p)


def run(args) -> int:
    import sys

    from rich.console import Console

    from tracekit.analysis.compare import compare
    from tracekit.analysis.gate import check, parse_limit
    from tracekit.report import compare_text, json_report

    limits = [parse_limit(text) for text in args.fail_if]  # bad limits fail before loading
    traces = load_traces(args)
    steps = args.step or [None]
    comparison = compare(traces, labels=args.label, by=args.by, step=steps[0],
                         side_steps=steps if len(steps) > 1 else None, range_name=args.range)
    checks = check(comparison, limits) if limits else []
    if args.json:
        doc = comparison.to_dict()
        if limits:
            doc["gate"] = [json_report.to_builtins(c) for c in checks]
        json_report.render(doc)
    else:
        console = Console(highlight=False, soft_wrap=False)
        compare_text.render(comparison, console, top=args.top, absolute=args.absolute)
        for c in checks:
            if not c.exceeded:
                console.print(compare_text.Text(f"limit ok: {c.line}", style="dim"))
    lines = compare_text.gate_lines(checks)
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0
