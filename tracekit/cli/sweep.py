"""``tracekit collect sweep``: collect models x batch sizes (x sequence lengths) x runtimes
into one folder with an index that ``tracekit report`` reads. Torch and onnxruntime are
imported only when the sweep runs."""
from __future__ import annotations

import argparse
import sys

from tracekit.cli.common import non_negative_int, positive_int

RUNTIMES = ("torch", "torch-compile", "onnxruntime", "tensorrt")  # collectors.sweep.RUNTIMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", type=_names, required=True,
                   help="comma-separated registered models (see collect --list)")
    p.add_argument("--batch", type=_counts, default=[1], help="comma-separated batch sizes (default 1)")
    p.add_argument("--seq", type=_counts, default=[128],
                   help="comma-separated sequence lengths for text models (default 128)")
    p.add_argument("--runtimes", type=_names, default=["torch", "onnxruntime"],
                   help=f"comma-separated, of {', '.join(RUNTIMES)} (default torch,onnxruntime)")
    p.add_argument("--size", default="tiny", help="model size (default tiny: seconds on a CPU)")
    p.add_argument("--image-size", type=positive_int, help="image side (vision models)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--steps", type=positive_int, default=5, help="profiled steps / runs per trace")
    p.add_argument("--warmup", type=non_negative_int, default=2, help="warm-up steps / runs")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for the traces and index.json (a rerun resumes)")


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one name")
    return names


def _counts(text: str) -> list[int]:
    try:
        return [positive_int(t) for t in text.split(",") if t.strip()] or [positive_int("")]
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"comma-separated positive integers, not {text!r}") from None


def run(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.text import Text

    from collectors import sweep

    cells = sweep.plan(args.models, args.batch, args.seq, args.runtimes, args.device, args.dtype)
    options = sweep.Options(size=args.size, image_size=args.image_size, steps=args.steps,
                            warmup=args.warmup)
    console = Console(file=sys.stderr, highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("sweep", total=len(cells))

        def started(cell):
            progress.update(task, description=_label(cell))

        def finished(outcome):
            if outcome.status in ("skipped", "failed"):
                console.print(Text(f"{outcome.status}: {_label(outcome.cell)}: {outcome.reason}"))
            progress.advance(task)

        outcomes = sweep.sweep(cells, args.output, options, on_cell=finished, on_start=started)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "reused", "skipped", "failed")}
    seconds = sum(o.seconds for o in outcomes)
    console.print(Text(f"sweep: {counts['done']} collected, {counts['reused']} already there, "
                       f"{counts['skipped']} skipped, {counts['failed']} failed in {seconds:.1f} s; "
                       f"index: {args.output}/{sweep.INDEX}"))
    return 1 if counts["failed"] else 0


def _label(cell) -> str:
    seq = f" seq {cell.seq}" if cell.seq else ""
    return f"{cell.model} {cell.runtime} batch {cell.batch}{seq}"
