"""``tracekit fusion TRACE``: what TensorRT fused, reformat layers, precision, removed nodes."""
from __future__ import annotations

import argparse

from tracekit.cli.common import (
    add_json_argument,
    add_loading_arguments,
    add_top_argument,
    add_trace_arguments,
    load_traces,
)

HELP = ("What TensorRT fused: fusion rate, non-GEMM ops fused into GEMM and non-GEMM layers, "
        "reformat layers, time by precision, ONNX nodes removed.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_trace_arguments(p, "TensorRT profile / layer info JSON (siblings are found by name)")
    add_top_argument(p, "rows in the layer tables")
    add_json_argument(p)
    add_loading_arguments(p)


def run(args) -> int:
    from tracekit.analysis.fusion import fusion_report
    from tracekit.report import json_report
    from tracekit.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy) if args.taxonomy else None
    # the report reads the regions from the model itself, showing each region's group before it
    as_built = argparse.Namespace(**{**vars(args), "onnx": None})
    results = [fusion_report(t, onnx_model=args.onnx, taxonomy=taxonomy) for t in load_traces(as_built)]
    if args.json:
        json_report.render(results[0] if len(results) == 1 else results)
        return 0
    from rich.console import Console

    from tracekit.report import fusion_text

    console = Console(highlight=False, soft_wrap=False)
    for result in results:
        fusion_text.render(result, console, args.top)
    return 0
