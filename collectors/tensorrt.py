"""TensorRT collector: build an engine from an ONNX model (exported from the registry
when ``--model`` is given) with detailed profiling verbosity, profile it, and write
trtexec's ``--exportProfile`` / ``--exportLayerInfo`` / ``--exportTimes`` formats
(``<stem>.profile.json``, ``<stem>.graph.json``, ``<stem>.timing.json``) so that
tracekit's TensorRT parser reads them unchanged.

Uses the TensorRT Python API when ``import tensorrt`` works (buffers on the GPU through
torch), else ``trtexec`` when it is on PATH. Both are imported/looked up lazily.
NOTE: written against the TensorRT 10 API; not run in CI (no GPU there)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from collectors.run import CollectError, versions, write_json


def available() -> str | None:
    """'python' or 'trtexec' when a TensorRT backend is usable here, else None."""
    try:
        import tensorrt  # noqa: F401
        return "python"
    except Exception:
        pass
    return "trtexec" if shutil.which("trtexec") else None


def unavailable_reason() -> str:
    return ("TensorRT is not available: neither the 'tensorrt' Python package imports nor "
            "'trtexec' is on PATH (install TensorRT on a machine with an NVIDIA GPU)")


def collect(model: str | None, outdir: str, *, onnx_path=None, size=None, batch=1, seq=128,
            image_size=None, input_shape=None, fp16=False, int8=False, steps=20, warmup=5,
            backend=None) -> dict:
    backend = backend or available()
    if backend is None:
        raise CollectError("tensorrt", unavailable_reason())
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="tracekit-trt-")
    try:
        if onnx_path:
            if not os.path.isfile(onnx_path):
                raise CollectError(onnx_path, "no such ONNX file")
            meta = {"model": os.path.basename(onnx_path), "onnx": os.path.abspath(onnx_path)}
            stem = os.path.splitext(os.path.basename(onnx_path))[0]
        else:
            if not model:
                raise CollectError("tensorrt", "give --model NAME or --onnx FILE")
            from collectors.onnxruntime import export

            onnx_path = os.path.join(work, "model.onnx")
            meta = export(model, onnx_path, size=size, batch=batch, seq=seq,
                          image_size=image_size, input_shape=input_shape)
            stem = model.replace(":", "_").replace("/", "_")
        base = os.path.join(outdir, stem)
        files = {"profile": base + ".profile.json", "layers": base + ".graph.json",
                 "times": base + ".timing.json"}
        if backend == "trtexec":
            _trtexec(onnx_path, base, files, fp16, int8, steps, warmup)
        else:
            _python(onnx_path, base, files, fp16, int8, steps, warmup)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta.update(collector="tensorrt", runtime="tensorrt", backend=backend, fp16=fp16, int8=int8,
                steps=steps, warmup=warmup, files=files,
                versions=versions("tensorrt", "torch", "onnx"))
    write_json(base + ".meta.json", meta)
    return meta


def _trtexec(onnx_path, base, files, fp16, int8, steps, warmup):
    cmd = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={base}.engine",
           "--profilingVerbosity=detailed", "--separateProfileRun", "--dumpProfile",
           f"--exportProfile={files['profile']}", f"--exportLayerInfo={files['layers']}",
           f"--exportTimes={files['times']}", f"--iterations={steps}", f"--warmUp={warmup * 10}"]
    if fp16:
        cmd.append("--fp16")
    if int8:
        cmd.append("--int8")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = " | ".join(result.stdout.strip().splitlines()[-3:])
        raise CollectError(onnx_path, f"trtexec failed (exit {result.returncode}): {tail}")


def _python(onnx_path, base, files, fp16, int8, steps, warmup):  # pragma: no cover - GPU only
    import tensorrt as trt
    import torch

    if not torch.cuda.is_available():
        raise CollectError("tensorrt", "the TensorRT Python API needs a CUDA GPU visible to torch")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as f:
        if not parser.parse(f.read()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise CollectError(onnx_path, f"TensorRT cannot parse the ONNX model: {errors}")
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if int8:
        config.set_flag(trt.BuilderFlag.INT8)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise CollectError(onnx_path, "TensorRT could not build an engine")
    with open(base + ".engine", "wb") as f:
        f.write(serialized)
    engine = trt.Runtime(logger).deserialize_cuda_engine(serialized)
    context = engine.create_execution_context()
    buffers = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        shape = tuple(max(d, 1) for d in engine.get_tensor_shape(name))
        dtype = _torch_dtype(trt.nptype(engine.get_tensor_dtype(name)))
        if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
            context.set_input_shape(name, shape)
            t = (torch.randint(0, 100, shape, dtype=dtype, device="cuda") if not dtype.is_floating_point
                 else torch.rand(shape, dtype=dtype, device="cuda"))
        else:
            t = torch.empty(tuple(max(d, 1) for d in context.get_tensor_shape(name)), dtype=dtype,
                            device="cuda")
        buffers[name] = t
        context.set_tensor_address(name, t.data_ptr())
    stream = torch.cuda.Stream()
    for _ in range(warmup):
        context.execute_async_v3(stream.cuda_stream)
    stream.synchronize()
    # per-inference times (exportTimes format)
    times = []
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(steps):
        start.record(stream)
        context.execute_async_v3(stream.cuda_stream)
        end.record(stream)
        stream.synchronize()
        times.append(start.elapsed_time(end))
    # per-layer times (exportProfile format), a separate run as trtexec --separateProfileRun
    profiler = _LayerProfiler(trt)
    context.profiler = profiler
    for _ in range(steps):
        context.execute_async_v3(stream.cuda_stream)
        stream.synchronize()
    write_json(files["profile"], profiler.export(steps))
    inspector = engine.create_engine_inspector()
    inspector.execution_context = context
    info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    write_json(files["layers"], info)
    t0 = 0.0
    rows = []
    for ms in times:
        rows.append({"startEnqMs": t0, "endEnqMs": t0, "startComputeMs": t0,
                     "endComputeMs": t0 + ms, "startOutMs": t0 + ms, "endOutMs": t0 + ms,
                     "inMs": 0.0, "computeMs": ms, "outMs": 0.0, "latencyMs": ms,
                     "endToEndMs": ms})
        t0 += ms
    write_json(files["times"], rows)


def _torch_dtype(np_type):
    import numpy as np
    import torch

    return {np.float32: torch.float32, np.float16: torch.float16, np.int32: torch.int32,
            np.int64: torch.int64, np.bool_: torch.bool, np.int8: torch.int8}.get(np_type, torch.float32)


class _LayerProfiler:  # pragma: no cover - GPU only
    def __new__(cls, trt):
        class Profiler(trt.IProfiler):
            def __init__(self):
                trt.IProfiler.__init__(self)
                self.times = {}
                self.order = []

            def report_layer_time(self, name, ms):
                if name not in self.times:
                    self.order.append(name)
                    self.times[name] = []
                self.times[name].append(ms)

            def export(self, count):
                rows = [{"count": count}]
                total = sum(sum(v) for v in self.times.values()) or 1.0
                for name in self.order:
                    v = sorted(self.times[name])
                    rows.append({"name": name, "timeMs": sum(v), "averageMs": sum(v) / len(v),
                                 "medianMs": v[len(v) // 2],
                                 "percentage": 100.0 * sum(v) / total})
                return rows
        return Profiler()
