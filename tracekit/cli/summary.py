"""``tracekit summary TRACE...``: GEMM vs non-GEMM, time per group, top ops."""
from __future__ import annotations

import argparse

from rich.console import Console

# tracekit.analysis.breakdown.BY, spelled out so that parsing arguments imports no pandas
# (tests/test_analysis.py checks they agree)
BY = ("group", "op", "kernel", "module", "shape")

HELP = "Where the time goes: GEMM vs non-GEMM, per group, top operators."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="TRACE",
                   help="trace files: Kineto .json/.json.gz (a .tar.gz of ranks gives one per rank), "
                        "Nsight Systems .sqlite, ONNX Runtime profile .json, TensorRT "
                        "profile/layer JSON; the format is read from the content")
    p.add_argument("--by", choices=BY, default="group",
                   help="what the main table breaks time down by (default: group)")
    p.add_argument("--top", type=_positive, default=10, help="rows in op/kernel/module tables")
    p.add_argument("--step", default=None,
                   help="ProfilerStep to analyse: N, A-B, A,B or 'all' "
                        "(default: every step after the first)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--explain", action="store_true",
                   help="per group: the rules that put time there, the top names, and every "
                        "op-level vs kernel-level disagreement with its time")
    add_loading_arguments(p)


def add_loading_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--taxonomy", metavar="FILE", help="TOML file extending/overriding the groups")
    p.add_argument("--no-cache", action="store_true", help="parse again, ignore the cache")
    p.add_argument("--cache-dir", metavar="DIR", help="cache folder (default ~/.cache/tracekit)")
    p.add_argument("--layers", metavar="FILE",
                   help="TensorRT layer info JSON (--exportLayerInfo) for a profile; "
                        "default: <stem>.graph.json beside it")
    p.add_argument("--max-size", metavar="SIZE", type=size_arg, default=None,
                   help="most trace text to read, after decompression (e.g. 8G, 500M; "
                        "default: a sixth of the memory available)")
    p.add_argument("--capture", metavar="FILE",
                   help="Kineto trace written while CUDA/HIP graphs were captured (vLLM, SGLang): "
                        "replayed kernels get the ops that issued them at capture")


def loading_options(args) -> dict:
    """``tracekit.load``'s keyword arguments from what :func:`add_loading_arguments`
    declared, so that every command passes every loading option on."""
    return {"taxonomy": args.taxonomy, "cache": not args.no_cache, "cache_dir": args.cache_dir,
            "layers": args.layers, "capture": args.capture, "max_size": args.max_size}


def size_arg(text: str) -> int:
    """"8G", "500M", "1.5GB", "1000000" -> bytes."""
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = t[-1:] if t[-1:] in units else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 8G, 500M)") from None
    if not value > 0 or value * units[unit] >= 2**62:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 8G, 500M)")
    return int(value * units[unit])


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def load_traces(args):
    import tracekit

    return tracekit.load_all(args.paths, progress=True, **loading_options(args))


def run(args) -> int:
    from tracekit import analysis
    from tracekit.report import json_report, summary_text

    traces = load_traces(args)
    if getattr(args, "explain", False):
        return _explain(traces, args)
    summaries, tables = [], []
    for trace in traces:
        summaries.append(analysis.summarize(trace, step=args.step, top=args.top))
        if args.by != "group":
            window = analysis.select(trace, args.step)
            tables.append(analysis.breakdown(trace, window, args.by).head(args.top))
    combined = analysis.combine(summaries) if len(summaries) > 1 else None
    if args.json:
        result = summaries[0] if combined is None else {"traces": summaries, "combined": combined}
        if args.by != "group":
            records = [t.to_dict("records") for t in tables]
            if combined is None:
                result["by"] = {args.by: records[0]}
            else:
                for s, rec in zip(summaries, records):
                    s["by"] = {args.by: rec}
        json_report.render(result)
        return 0
    console = Console(highlight=False, soft_wrap=False)
    gemm_groups = {g for t in traces for g in analysis.gemm_groups(t)}
    for i, summary in enumerate(summaries):
        summary_text.render_one(summary, console, gemm_groups,
                                tables[i] if tables else None, args.by)
    if combined is not None:
        summary_text.render_combined(combined, console, gemm_groups)
    return 0



def _explain(traces, args) -> int:
    from tracekit import analysis
    from tracekit.analysis.explain import explain
    from tracekit.report import explain_text, json_report
    from tracekit.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy) if args.taxonomy else Taxonomy.default()
    results = [explain(t, analysis.select(t, args.step), taxonomy, top=args.top) for t in traces]
    if args.json:
        json_report.render(results[0] if len(results) == 1 else results)
        return 0
    console = Console(highlight=False, soft_wrap=False)
    for r in results:
        explain_text.render(r, console)
    return 0
