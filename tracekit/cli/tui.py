"""``tracekit tui TRACE``: explore a trace in the terminal (Textual app in ``tui/``)."""
from __future__ import annotations

import argparse

from tracekit.cli.common import add_loading_arguments, add_step_argument, add_trace_argument, loading_options

HELP = ("Explore a trace in a terminal UI: overview, operators, kernels, transfers, timeline; "
        "with several traces, compare them side by side.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_trace_argument(p)
    p.add_argument("others", nargs="*", metavar="TRACE",
                   help="more traces: open the compare screen (groups side by side) instead")
    add_step_argument(p, "ProfilerStep to start with",
                      "every step after the first; the picker `p` changes it")
    add_loading_arguments(p)


def run(args) -> int:
    try:
        from tui.app import run as run_app
        from tui.compare_app import run as run_compare
    except ImportError as exc:  # textual missing: one line, exit 2
        from tracekit.model import TraceError

        raise TraceError("tracekit tui", f"needs the 'textual' package ({exc})") from None
    if getattr(args, "others", None):
        return run_compare([args.path, *args.others], step=args.step, **loading_options(args))
    return run_app(args.path, step=args.step, **loading_options(args))
