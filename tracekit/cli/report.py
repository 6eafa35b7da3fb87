"""``tracekit report DIR|TRACE... -o report.html [--csv DIR]``: figures and tables of many
traces in one self-contained HTML page. Needs the optional ``report`` extra (matplotlib);
without it, one line says what to install."""
from __future__ import annotations

import argparse
import sys

from tracekit.cli.common import add_loading_arguments, add_top_argument

HELP = "HTML report (inline SVG figures, offline) of a sweep folder or traces; --csv for the numbers."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a folder written by 'tracekit collect sweep' (its index.json labels the "
                        "traces), any folder of traces, or trace files")
    p.add_argument("-o", "--output", default="report.html", metavar="FILE",
                   help="HTML file to write (default report.html)")
    p.add_argument("--csv", metavar="DIR", help="also write the numbers as CSV files into DIR")
    p.add_argument("--title", default="tracekit report", help="page title")
    add_top_argument(p, "top non-GEMM operators per trace in the tables (default 10)")
    add_loading_arguments(p)


def run(args) -> int:
    from tracekit.report import svg

    if not svg.available():
        raise svg.MissingExtra("tracekit report")
    from tracekit.report import csv_report, dataset, html_report
    from tracekit.report.comparison import model_comparisons

    traces, labels = _load(args)
    entries = dataset.build(traces, labels, top=args.top)
    comparisons = model_comparisons(entries)
    page = html_report.render(entries, comparisons, title=args.title)
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(page)
        wrote = [args.output]
        if args.csv:
            wrote += csv_report.write(args.csv, entries, comparisons)
    except OSError as exc:
        from tracekit.model.errors import TraceError

        raise TraceError(exc.filename or args.output, f"cannot write: {exc.strerror or exc}") from None
    print(f"wrote {', '.join(wrote)} ({len(entries)} traces)", file=sys.stderr)
    return 0


def _load(args) -> tuple[list, list[dict]]:
    """Every input trace and its labels; a file that cannot be read is left out with one
    line saying why, and the count of such files closes the list."""
    from tracekit.cli.common import load_traces
    from tracekit.model.errors import TracekitError
    from tracekit.report.inputs import find_inputs, labels_of
    from tracekit.safe_text import clean

    traces, labels, failed = [], [], 0
    for item in find_inputs(args.paths):
        try:
            loaded = load_traces(args, [item.path])
        except TracekitError as exc:
            failed += 1
            print(f"tracekit: warning: skipped {clean(exc, limit=300)}", file=sys.stderr)
            continue
        for trace in loaded:
            traces.append(trace)
            labels.append(labels_of(trace, item.labels))
    if failed:
        print(f"tracekit: warning: {failed} input(s) could not be read and are not in the report",
              file=sys.stderr)
    if not traces:
        from tracekit.model.errors import TraceError

        raise TraceError(", ".join(args.paths), "no trace could be read")
    return traces, labels
