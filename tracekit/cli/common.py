"""What the commands declare alike: the trace arguments, the loading options, --step, --top,
--json, and the argument types (counts, sizes).

Declared once so that a loading option added here reaches every command that loads a
trace, and a flag means the same everywhere. Imports nothing heavy: building the parser
(``tracekit --help``, a usage error) must not load pandas or rich.
"""
from __future__ import annotations

import argparse

TRACES_HELP = ("trace files: Kineto .json/.json.gz (a .tar.gz of ranks gives one per rank), "
               "Nsight Systems .sqlite, ONNX Runtime profile .json, TensorRT "
               "profile/layer JSON; the format is read from the content")


# ---------------------------------------------------------------- argument types

def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


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


# ---------------------------------------------------------------- arguments

def add_trace_arguments(p: argparse.ArgumentParser, help: str = TRACES_HELP) -> None:
    """``TRACE...`` (``args.paths``): the commands that read one or more traces."""
    p.add_argument("paths", nargs="+", metavar="TRACE", help=help)


def add_trace_argument(p: argparse.ArgumentParser,
                       help: str = "trace file (any format tracekit reads)") -> None:
    """``TRACE`` (``args.path``): the commands that work on one trace."""
    p.add_argument("path", metavar="TRACE", help=help)


def add_step_argument(p: argparse.ArgumentParser, what: str = "ProfilerStep to analyse",
                      default: str = "every step after the first", per_trace: bool = False) -> None:
    """``--step`` as the analyses read it (a string: the trace decides what exists);
    ``per_trace``: repeatable, one value for every trace or one per trace in order."""
    if per_trace:
        p.add_argument("--step", action="append", default=None,
                       help=f"{what}: N, A-B, A,B or 'all' (default: {default}); once for every "
                            "trace, or once per trace in order (--step 2 --step 3-4)")
        return
    p.add_argument("--step", default=None, help=f"{what}: N, A-B, A,B or 'all' (default: {default})")


def add_range_argument(p: argparse.ArgumentParser) -> None:
    """``--range NAME``: the time inside the ranges (NVTX, annotations) called NAME."""
    p.add_argument("--range", metavar="NAME", default=None,
                   help="only the time inside the range(s) named NAME (NVTX, user annotations), "
                        "in every trace, within the --step window")


def add_top_argument(p: argparse.ArgumentParser, help: str = "rows per table") -> None:
    p.add_argument("--top", type=positive_int, default=10, help=help)


def add_json_argument(p: argparse.ArgumentParser, help: str = "print machine-readable JSON") -> None:
    p.add_argument("--json", action="store_true", help=help)


def add_taxonomy_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--taxonomy", metavar="FILE",
                   help="TOML file extending/overriding the default groups and rules")


def add_loading_arguments(p: argparse.ArgumentParser) -> None:
    """Every option of ``tracekit.load``; :func:`loading_options` passes them all on."""
    add_taxonomy_argument(p)
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
    p.add_argument("--onnx", metavar="MODEL",
                   help="ONNX model a TensorRT engine was built from: compiled (Myelin) regions "
                        "are grouped by its nodes between their ends, and fusion lists removed nodes")


# ---------------------------------------------------------------- loading

def loading_options(args: argparse.Namespace) -> dict:
    """``tracekit.load``'s keyword arguments from what :func:`add_loading_arguments`
    declared, so that every command passes every loading option on."""
    return {"taxonomy": args.taxonomy, "cache": not args.no_cache, "cache_dir": args.cache_dir,
            "layers": args.layers, "capture": args.capture, "max_size": args.max_size,
            "onnx": args.onnx}


def load_traces(args: argparse.Namespace, paths=None) -> list:
    """Every trace in ``paths`` (default ``args.paths``; an archive of ranks gives one per
    rank), loaded with the command's loading options and a progress line."""
    import tracekit

    return tracekit.load_all(args.paths if paths is None else paths, progress=True,
                             **loading_options(args))
