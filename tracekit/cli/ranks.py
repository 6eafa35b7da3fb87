"""``tracekit summary`` over many ranks: a folder of traces or several files, loaded in
parallel (local cores, or a Dask cluster with ``--scheduler``); one summary per rank, the
combined one and the ranks side by side."""
from __future__ import annotations

import argparse
import os
import warnings

from tracekit.cli.common import loading_options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask distributed scheduler (tcp://host:8786) to load and summarize the "
                        "ranks on (needs tracekit[cluster]); default: this machine's cores")


def wanted(args: argparse.Namespace) -> bool:
    """Ranks mode: a folder, several files or a scheduler, for what a worker can compute."""
    if getattr(args, "explain", False) or getattr(args, "plot", None):
        return False
    many = len(args.paths) > 1 or any(os.path.isdir(p) for p in args.paths)
    return bool(getattr(args, "scheduler", None) or many)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from tracekit import analysis, ranks
    from tracekit.analysis.ranks import rank_table
    from tracekit.report import json_report, ranks_text, summary_text

    job = ranks.Job(options=loading_options(args), step=args.step, top=args.top, by=args.by,
                    range_name=getattr(args, "range", None))
    results = ranks.summarize_all(ranks.expand(args.paths), job, scheduler=args.scheduler)
    summaries = [s for r in results for s in r.summaries]
    tables = [t for r in results for t in r.tables]
    table = rank_table([row for r in results for row in r.rows])
    _warn_repeated(table, results)
    combined = analysis.combine(summaries) if len(summaries) > 1 else None
    if args.json:
        docs = [s.to_dict() for s in summaries]
        for doc, t in zip(docs, tables):
            if t is not None:
                doc["by"] = {args.by: t.to_dict("records")}
        json_report.render(docs[0] if combined is None else
                           {"traces": docs, "combined": combined, "ranks": table})
        return 0
    console = Console(highlight=False, soft_wrap=False)
    gemm_groups = set().union(*(r.gemm_groups for r in results))
    for summary, t in zip(summaries, tables):
        summary_text.render(summary, console, gemm_groups=gemm_groups, table=t, by=args.by)
    if combined is not None:
        summary_text.render(combined, console, gemm_groups=gemm_groups)
    ranks_text.render(table, console)
    return 0


def _warn_repeated(table, results) -> None:
    """One line for the ranks that several input files claim: the combined summary counts
    each. (Traces of one archive that share a rank were warned about when it was read.)"""
    from tracekit.model import TraceWarning

    files_of: dict = {}
    for i, result in enumerate(results):
        for row in result.rows:
            if row.named:
                files_of.setdefault(row.rank, set()).add(i)
    across = [rank for rank in table.repeated if len(files_of[rank]) > 1]
    if not across:
        return
    claims = "; ".join(f"rank {rank} in " + ", ".join(r.path for r in table.rows
                                                       if r.named and r.rank == rank)
                       for rank in across)
    warnings.warn(TraceWarning(f"{claims}: one rank in several files (traces of different runs?); "
                               "the combined summary counts every file"), stacklevel=2)
