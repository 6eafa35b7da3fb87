"""``tracekit export TRACE -o OUT``: write the timeline or a normalized table.

The output format follows OUT's name (or --format):

  .pftrace (.perfetto-trace, .pb)  Perfetto protobuf: open in https://ui.perfetto.dev
  .json (.json.gz)                 Chrome Trace Event JSON (chrome://tracing, Perfetto)
  .parquet / .csv                  one table for pandas, DuckDB or spreadsheets (--table;
                                   default kernels, or ops when the trace has no GPU activity)

Timelines never drop a slice: activities that overlap without nesting on one thread or
stream go to extra "overlap" tracks. Window options: --step N (or A-B, A,B), --range NAME
(every range with that exact name: annotation, NVTX, step, module, model_run), --from /
--to (nanoseconds, or with a unit: 12.5ms, 800us, 2s; relative to the trace's first
event). Together they intersect.
"""
from __future__ import annotations

import argparse
import sys

from tracekit.cli.common import add_loading_arguments, add_step_argument, add_trace_argument, load_traces

# tracekit.model.vocab.TABLES, spelled out so that parsing arguments imports no pandas (the
# model package loads it; tests/test_errors.py checks they agree)
TABLES = ("ops", "kernels", "launches", "ranges")

HELP = "Write the timeline (Perfetto .pftrace, Chrome .json) or a table (.parquet, .csv)."
FORMATS = ("perfetto", "json", "parquet", "csv")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = HELP + "\n\n" + __doc__.split("\n", 2)[2].strip()
    add_trace_argument(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file: .pftrace, .json, .json.gz, .parquet or .csv")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from OUT's name)")
    p.add_argument("--table", choices=TABLES,
                   help="table for .parquet/.csv (default: kernels; ops without GPU activity)")
    add_step_argument(p, "only ProfilerStep", "the whole trace")
    p.add_argument("--range", metavar="NAME", default=None,
                   help="only the time of the range(s) named NAME (annotation, NVTX, step, ...)")
    p.add_argument("--from", dest="start", metavar="TIME", default=None,
                   help="window start, relative to the trace start: ns, or 12.5ms, 800us, 2s")
    p.add_argument("--to", dest="end", metavar="TIME", default=None,
                   help="window end, relative to the trace start (same units as --from)")
    p.add_argument("--bucket", metavar="TIME", default=None,
                   help="counter bucket width (default 1ms; finer for short traces)")
    p.add_argument("--rank", type=int, default=None,
                   help="which trace of a multi-rank archive (its rank, else its position)")
    add_loading_arguments(p)


def run(args) -> int:
    from tracekit.export import ExportError, check_output, export, format_of, parse_time
    from tracekit.safe_text import clean

    # everything about the output and the options is checked before the (slow) load
    check_output(args.output, inputs=[args.path, *filter(None, [args.layers, args.capture])])
    fmt = format_of(args.output, args.format)
    if args.table and fmt not in ("parquet", "csv"):
        raise ExportError(f"--table {args.table}", "only applies to .parquet and .csv output")
    for value in (args.start, args.end, args.bucket):
        if value is not None:
            parse_time(value)
    traces = load_traces(args, [args.path])
    trace = _pick(traces, args.rank, args.path)
    info = export(trace, args.output, format=fmt, table=args.table, step=args.step,
                  range=args.range, start=args.start, end=args.end, bucket=args.bucket)
    print(clean(describe(info)))
    if info.get("slices", info.get("rows")) == 0 and not info["window"].startswith("whole trace"):
        print(clean(f"tracekit: warning: {info['window']} selects nothing in this trace"),
              file=sys.stderr)
    return 0


def _pick(traces, rank, path):
    from tracekit.export import ExportError

    if rank is None:
        if len(traces) != 1:
            ranks = [i if t.meta.rank is None else t.meta.rank for i, t in enumerate(traces)]
            raise ExportError(path, f"holds {len(traces)} traces (ranks {', '.join(map(str, ranks))}); "
                                    "pick one with --rank")
        return traces[0]
    for t in traces:
        if t.meta.rank == rank:
            return t
    if 0 <= rank < len(traces):
        return traces[rank]
    raise ExportError(path, f"has no rank {rank} ({len(traces)} traces)")


def describe(info: dict) -> str:
    """One line saying what was written."""
    where = f"wrote {info['path']}"
    if info["format"] in ("parquet", "csv"):
        return (f"{where}: {info['table']} table, {info['rows']:,} rows x {info['columns']} "
                f"columns ({info['window']})")
    kind = "Perfetto protobuf" if info["format"] == "perfetto" else "Chrome trace JSON"
    per = info["per_table"]
    extra = info["overlap_tracks"]
    lanes = f" (+{extra} overlap track{'s' if extra != 1 else ''})" if extra else ""
    return (f"{where} ({kind}, {info['window']}): {info['slices']:,} slices "
            f"({per['ops']:,} ops, {per['kernels']:,} GPU activities, {per['launches']:,} runtime "
            f"calls, {per['ranges']:,} ranges) on {info['slice_tracks']} tracks{lanes}, "
            f"{info['flows']:,} flows, {info['counter_tracks']} counter tracks "
            f"({_fmt_ns(info['bucket_ns'])} buckets)")


def _fmt_ns(ns: int) -> str:
    from tracekit.export.tracks import _fmt_ns as fmt

    return fmt(ns)

