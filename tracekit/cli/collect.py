"""``tracekit collect torch|onnxruntime|tensorrt|nsys ...``: run a model under a profiler
and write the raw trace that ``tracekit summary`` reads; ``tracekit collect --list``
shows the registered models. Heavy imports (torch, onnxruntime) happen in run()."""
from __future__ import annotations

import argparse
import sys

from tracekit.cli.common import non_negative_int, positive_int

HELP = "Run a model under a profiler (PyTorch, ONNX Runtime, TensorRT, Nsight) and write a trace."
COLLECTORS = ("torch", "onnxruntime", "tensorrt", "nsys", "sweep")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list", action="store_true", help="list the registered models and exit")
    subs = p.add_subparsers(dest="collector", metavar="COLLECTOR")

    t = subs.add_parser("torch", help="torch.profiler (Kineto JSON)",
                        description="Profile a model with torch.profiler; writes Kineto JSON.")
    _model_arguments(t)
    t.add_argument("-o", "--output", required=True, help="trace file (.json or .json.gz)")
    t.add_argument("--wait", type=non_negative_int, default=0, help="profiler schedule: steps skipped")
    t.add_argument("--compile", action="store_true", help="torch.compile the model first")
    t.add_argument("--quantize", choices=["int8"], help="dynamic int8 quantization (CPU)")
    t.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    t.add_argument("--with-stack", action="store_true", help="record Python stacks")
    t.add_argument("--no-annotate", action="store_true",
                   help="do not wrap every nn.Module.forward in NVTX/record_function ranges")

    o = subs.add_parser("onnxruntime", help="ONNX Runtime profiling (exports to ONNX first)",
                        description="Export to ONNX (or take --onnx) and profile with ONNX Runtime.")
    _model_arguments(o, required=False)
    o.add_argument("--onnx", metavar="FILE", help="profile this ONNX model instead of exporting")
    o.add_argument("--keep-onnx", metavar="FILE", help="keep the exported ONNX model here")
    o.add_argument("--providers", help="comma-separated execution providers "
                                       "(default: from --device)")
    o.add_argument("--opset", type=int, default=17)
    o.add_argument("--optimization", choices=["all", "extended", "basic", "disable"],
                   default="all",
                   help="ORT graph optimization level (default all, as deployed); 'disable' "
                        "also keeps BatchNormalization unfolded in the export, so every "
                        "operator of the model is timed on its own")
    o.add_argument("-o", "--output", required=True, help="profile JSON (.json); metadata goes "
                                                          "to <output>.meta.json")

    r = subs.add_parser("tensorrt", help="TensorRT engine profile + layer info",
                        description="Build a TensorRT engine and write trtexec-format profiles.")
    _model_arguments(r, required=False)
    r.add_argument("--onnx", metavar="FILE", help="build from this ONNX model")
    r.add_argument("--fp16", action="store_true")
    r.add_argument("--int8", action="store_true")
    r.add_argument("-o", "--output", required=True, help="output folder")

    n = subs.add_parser("nsys", help="nsys profile + export to SQLite",
                        description="Run a command under Nsight Systems and export SQLite.")
    n.add_argument("-o", "--output", required=True, help="report path without extension")
    n.add_argument("--trace", default="cuda,nvtx,osrt", help="nsys --trace value")
    _no_summary(n)
    n.add_argument("cmd", nargs=argparse.REMAINDER, help="-- command to profile")

    from tracekit.cli import sweep

    w = subs.add_parser("sweep", help="models x batch (x seq) x runtimes into one folder + index",
                        description="Collect every model at every batch size (and sequence length "
                                    "for text models) under every runtime; writes the traces and "
                                    "index.json, which tracekit report reads. A rerun resumes.")
    sweep.add_arguments(w)


def _model_arguments(p, required=True):
    p.add_argument("--model", required=required,
                   help="registered model (see --list) or module:callable")
    p.add_argument("--size", help="model size (tiny runs in seconds on a CPU)")
    p.add_argument("--batch", type=positive_int, default=1)
    p.add_argument("--seq", type=positive_int, default=128, help="sequence length (text models)")
    p.add_argument("--image-size", type=positive_int, help="image side (vision models)")
    p.add_argument("--input-shape", type=_shape, help="e.g. 1,3,224,224 (custom models)")
    p.add_argument("--steps", type=positive_int, default=5, help="profiled steps / runs")
    p.add_argument("--warmup", type=non_negative_int, default=2, help="warm-up steps / runs")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    _no_summary(p)


def _no_summary(p) -> None:
    p.add_argument("--no-summary", action="store_true",
                   help="do not print the summary of the trace written")


def _shape(text):
    try:
        dims = tuple(int(x) for x in text.replace("x", ",").split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("comma-separated integers, e.g. 1,3,224,224") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError("comma-separated positive integers")
    return dims


def run(args) -> int:
    if args.list:
        return _list()
    if not args.collector:
        from collectors.run import CollectError

        raise CollectError("collect", f"name a collector ({', '.join(COLLECTORS)}) or give --list")
    if args.collector == "sweep":
        from tracekit.cli import sweep

        return sweep.run(args)
    from collectors.run import quiet_stderr

    with quiet_stderr():
        written = _collect(args)
    if written and not args.no_summary:
        _summary(written)
    return 0


def _collect(args) -> str | None:
    """Run the chosen collector; the trace file to summarize (None: nothing tracekit reads)."""
    if args.collector == "torch":
        from collectors.torch import collect

        meta = collect(args.model, args.output, size=args.size, batch=args.batch, seq=args.seq,
                       image_size=args.image_size, input_shape=args.input_shape,
                       steps=args.steps, warmup=args.warmup, wait=args.wait, device=args.device,
                       dtype=args.dtype, compile=args.compile, quantize=args.quantize,
                       with_stack=args.with_stack, annotate_modules=not args.no_annotate)
        print(f"wrote {args.output} ({meta['model']} {meta['size']}, {meta['runtime']}, "
              f"{args.steps} profiled steps)", file=sys.stderr)
        return args.output
    if args.collector == "onnxruntime":
        from collectors.onnxruntime import collect, sidecar

        providers = args.providers.split(",") if args.providers else None
        meta = collect(args.model, args.output, onnx_path=args.onnx, size=args.size,
                       batch=args.batch, seq=args.seq, image_size=args.image_size,
                       input_shape=args.input_shape, steps=args.steps, warmup=args.warmup,
                       device=args.device, providers=providers, keep_onnx=args.keep_onnx,
                       opset=args.opset, optimization=args.optimization)
        print(f"wrote {args.output} and {sidecar(args.output)} "
              f"(providers used: {', '.join(meta['providers_used'])})", file=sys.stderr)
        return args.output
    if args.collector == "tensorrt":
        from collectors.tensorrt import collect

        meta = collect(args.model, args.output, onnx_path=args.onnx, size=args.size,
                       batch=args.batch, seq=args.seq, image_size=args.image_size,
                       input_shape=args.input_shape, fp16=args.fp16, int8=args.int8,
                       steps=args.steps, warmup=args.warmup)
        print(f"wrote {', '.join(meta['files'].values())}", file=sys.stderr)
        return meta["files"].get("profile")
    from collectors.nsys import collect

    meta = collect(args.output, list(args.cmd), trace=args.trace)
    print(f"wrote {meta['report']} and {meta['sqlite']}", file=sys.stderr)
    return meta["sqlite"]


def _summary(path: str) -> None:
    """What ``tracekit summary`` says of the trace just written, so a run ends with its result."""
    from tracekit.cli import summary as summary_cmd

    parser = argparse.ArgumentParser(prog="tracekit summary")
    summary_cmd.add_arguments(parser)
    print(f"\n$ tracekit summary {path}", flush=True)
    summary_cmd.run(parser.parse_args([path]))


def _list() -> int:
    from collectors.models import list_models

    rows = list_models()
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        note = f"  ({r['note']})" if r["note"] else ""
        print(f"{r['name']:<{width}}  {r['task']:<9}  {r['backend']:<12}  sizes: "
              f"{', '.join(r['sizes'])} (default {r['default']}){note}")
    print("custom: module:callable returning (model, example_inputs)")
    return 0
