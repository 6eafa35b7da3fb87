"""``tracekit fallback TRACE``: host-device copies, synchronizations, CPU fallback."""
from __future__ import annotations

import argparse

from tracekit.cli.summary import add_loading_arguments, load_traces

HELP = "Host<->device copies, synchronizations and the GPU idle they cause, CPU fallback."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="TRACE")
    p.add_argument("--step", default=None, help="step(s) to analyse (default: all but the first)")
    p.add_argument("--top", type=int, default=10, help="rows per table")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    add_loading_arguments(p)


def run(args) -> int:
    from rich.console import Console

    from tracekit.analysis.transfers import report
    from tracekit.report import fallback_text, json_report

    results = [report(t, step=args.step, top=args.top) for t in load_traces(args)]
    if args.json:
        json_report.render(results[0] if len(results) == 1 else results)
        return 0
    console = Console(highlight=False)
    for result in results:
        fallback_text.render(result, console)
    return 0
