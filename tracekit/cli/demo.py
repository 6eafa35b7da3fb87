"""``tracekit demo``: the summary of a trace that ships inside the package, so a new user
sees a real result before they have a trace of their own."""
from __future__ import annotations

import argparse

from tracekit.cli.common import add_json_argument

HELP = "Summarize the bundled demo trace (synthetic, made by tracekit's generator)."

ABOUT = ("Demo trace: synthetic, made by tracekit's own generator (samples/generate.py), not "
         "measured: a one-layer decoder in fp16 on one H100, PyTorch profiler (Kineto) format, "
         "three ProfilerSteps.")


def demo_path() -> str:
    """Where the bundled demo trace lies (package data, so a plain pip install has it)."""
    from importlib import resources  # ~15 ms: only the demo needs it, not --help

    return str(resources.files("tracekit").joinpath("data", "demo.pt.trace.json.gz"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--path", action="store_true", help="print the demo trace's path and stop")
    add_json_argument(p, "print the summary as JSON")


def run(args) -> int:
    from tracekit.cli import summary as summary_cmd

    path = demo_path()
    if args.path:
        print(path)
        return 0
    # summary's own defaults, so that an option added to summary needs nothing here
    summary_parser = argparse.ArgumentParser(prog="tracekit summary")
    summary_cmd.add_arguments(summary_parser)
    summary_args = summary_parser.parse_args([path, *(["--json"] if args.json else [])])
    if not args.json:
        print(ABOUT, end="\n\n")
    code = summary_cmd.run(summary_args)
    if not args.json:
        quoted = '"$(tracekit demo --path)"'
        print("\nNext, try on the same trace:")
        print(f"  tracekit summary {quoted} --by op       # time per operator")
        print(f"  tracekit tui {quoted}                   # explore it in the terminal")
        print(f"  tracekit export {quoted} -o demo.pftrace  # open in ui.perfetto.dev")
        print(f"  tracekit compare {quoted} {quoted} --step 2 --step 3-4 "
              "--label warm-up --label steady   # warm-up vs steady state")
    return code
