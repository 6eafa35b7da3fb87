"""``tracekit summary TRACE...``: GEMM vs non-GEMM, time per group, top ops."""
from __future__ import annotations

import argparse
from contextlib import nullcontext

from tracekit.cli import ranks
from tracekit.cli.common import (
    add_json_argument,
    add_loading_arguments,
    add_range_argument,
    add_step_argument,
    add_top_argument,
    add_trace_arguments,
    load_traces,
)

# tracekit.analysis.breakdown.BY, spelled out so that parsing arguments imports no pandas
# (tests/test_analysis.py checks they agree); rich too is imported only to print
BY = ("group", "op", "node", "kernel", "module", "instance", "shape", "step")

HELP = "Where the time goes: GEMM vs non-GEMM, per group, top operators."


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_trace_arguments(p)
    p.add_argument("--by", choices=BY, default="group",
                   help="what the main table breaks time down by (default: group; op: what each op "
                        "is, the ONNX op type or TensorRT layer type of a node or layer, with "
                        "how many it holds; node: one row per op name, node or layer; module: "
                        "every instance of a module class on one row, instance: one row per "
                        "module path, step: groups x steps)")
    add_top_argument(p, "rows in op/kernel/module tables")
    add_step_argument(p)
    add_range_argument(p)
    add_json_argument(p)
    p.add_argument("--plot", metavar="FILE.svg",
                   help="also draw the time per group as an SVG figure (needs tracekit[report])")
    p.add_argument("--explain", action="store_true",
                   help="per group: the rules that put time there, the top names, and every "
                        "op-level vs kernel-level disagreement with its time")
    add_loading_arguments(p)
    ranks.add_arguments(p)


def run(args) -> int:
    from tracekit import analysis
    from tracekit.cli import summary_cache

    if ranks.wanted(args):  # a folder or several files: one rank per process or worker
        return ranks.run(args)
    if getattr(args, "explain", False):
        return _explain(load_traces(args), args)
    # run before with the same file and options: print what it kept, without loading the trace
    kept = summary_cache.entry_file(args)
    saved = summary_cache.read(kept, args.paths[0]) if kept else None
    if saved is not None:
        summary_cache.replay(saved.warnings)
        return _show(args, [saved.summary], [], set(saved.gemm_groups))
    # the warnings printed on the way are kept with the summary, to be printed again
    with summary_cache.recorded() if kept else nullcontext() as printed:
        traces = load_traces(args)
        summaries, tables = [], []
        for trace in traces:
            # None: every step but the warm-up; --range narrows it as compare's sides are
            window = analysis.select_window(trace, args.step, getattr(args, "range", None))
            summaries.append(analysis.summarize(trace, top=args.top, window=window))
            if args.by != "group":
                table = analysis.breakdown(trace, window, args.by)  # every step: groups x steps
                tables.append(table if args.by == "step" else table.head(args.top))
    gemm_groups = {g for t in traces for g in analysis.gemm_groups(t)}
    if printed is not None and len(traces) == 1 and printed.replayable:
        summary_cache.store(kept, args.paths[0], args.layers, summaries[0], gemm_groups, printed.lines)
    combined = analysis.combine(summaries) if len(summaries) > 1 else None
    if getattr(args, "plot", None):
        _plot(args.plot, combined or summaries[0], gemm_groups)
    return _show(args, summaries, tables, gemm_groups, combined)


def _show(args, summaries: list, tables: list, gemm_groups: set[str], combined=None) -> int:
    """Print the summaries (JSON, or rich tables on the terminal)."""
    if args.json:
        from tracekit.report import json_report

        docs = [s.to_dict() for s in summaries]
        for doc, table in zip(docs, tables):
            doc["by"] = {args.by: table.to_dict("records")}
        json_report.render(docs[0] if combined is None else {"traces": docs, "combined": combined})
        return 0
    from rich.console import Console

    from tracekit.report import summary_text

    console = Console(highlight=False, soft_wrap=False)
    for i, summary in enumerate(summaries):
        summary_text.render(summary, console, gemm_groups=gemm_groups,
                            table=tables[i] if tables else None, by=args.by)
    if combined is not None:
        summary_text.render(combined, console, gemm_groups=gemm_groups)
    return 0


def _plot(path: str, summary, gemm_groups: set[str]) -> None:
    """The time per group of one trace (or of several combined) as an SVG file."""
    import os
    import sys

    from tracekit.report import figures, svg

    title = ", ".join(os.path.basename(str(p)) for p in (summary.path if isinstance(summary.path, list)
                                                        else [summary.path]))
    svg.write(figures.breakdown(summary, gemm_groups, title), path)
    print(f"wrote {path}", file=sys.stderr)


def _explain(traces, args) -> int:
    from rich.console import Console

    from tracekit import analysis
    from tracekit.analysis.explain import explain
    from tracekit.report import explain_text, json_report
    from tracekit.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy) if args.taxonomy else Taxonomy.default()
    results = [explain(t, analysis.select_window(t, args.step, getattr(args, "range", None)), taxonomy,
                       top=args.top) for t in traces]
    if args.json:
        json_report.render(results[0] if len(results) == 1 else results)
        return 0
    console = Console(highlight=False, soft_wrap=False)
    for r in results:
        explain_text.render(r, console)
    return 0
