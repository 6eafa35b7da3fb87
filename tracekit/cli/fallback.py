"""``tracekit fallback TRACE``: host-device copies, synchronizations, CPU fallback."""
from __future__ import annotations

import argparse

from tracekit.cli.common import (
    add_json_argument,
    add_loading_arguments,
    add_step_argument,
    add_top_argument,
    add_trace_arguments,
    load_traces,
)

HELP = "Host<->device copies, synchronizations and the GPU idle they cause, CPU fallback."


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_trace_arguments(p)
    add_step_argument(p)
    add_top_argument(p)
    add_json_argument(p)
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
