"""PyTorch collector: run a model under ``torch.profiler`` (CPU, plus CUDA when used)
with module annotations and a wait/warmup/active schedule; write the Kineto JSON with a
``tracekit`` key holding what was run (model, size, shapes, dtype, device, versions)."""
from __future__ import annotations

import os
import tempfile
import time

from collectors.annotate import annotate, nvtx_step
from collectors.run import CollectError, read_json, versions, write_json


def collect(model: str, out: str, *, size=None, batch=1, seq=128, image_size=None,
            input_shape=None, steps=5, warmup=2, wait=0, device="cpu", dtype="float32",
            compile=False, quantize=None, with_stack=False, annotate_modules=True) -> dict:
    """Profile ``model`` and write ``out`` (.json or .json.gz). Returns the metadata."""
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule

    from collectors import models

    if not (out.endswith(".json") or out.endswith(".json.gz")):
        raise CollectError(out, "the output must end with .json or .json.gz")
    _check_device(device)
    built = models.build(model, size=size, batch=batch, seq=seq, image_size=image_size,
                         dtype=dtype, device=device, input_shape=input_shape)
    meta = dict(built.meta, collector="torch", runtime="pytorch-eager", steps=steps,
                warmup=warmup, wait=wait, annotated=annotate_modules, with_stack=with_stack)
    if quantize:
        built.model = _quantize(built.model, quantize, device, dtype)
        meta["quantize"] = quantize
    activities = [ProfilerActivity.CPU]
    if device.startswith("cuda"):
        activities.append(ProfilerActivity.CUDA)
    meta["activities"] = [a.name for a in activities]

    if compile and annotate_modules:
        # NVTX calls inside forward break Dynamo graphs (and record_function is ignored in
        # compiled regions): compile the unannotated model, as it would be deployed
        annotate_modules = False
        meta["annotated"] = False
        meta["annotation_note"] = "per-module ranges are not recorded under --compile"
    ctx = annotate(built.model) if annotate_modules else _null()
    with ctx, torch.inference_mode():
        if compile:
            built.model = _compile(built.model, built, meta)
        tmp = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
        tmp.close()
        start = time.time()
        with profile(activities=activities, record_shapes=True, with_stack=with_stack,
                     schedule=schedule(wait=wait, warmup=warmup, active=steps, repeat=1),
                     on_trace_ready=lambda p: p.export_chrome_trace(tmp.name)) as prof:
            for i in range(wait + warmup + steps):
                with nvtx_step(i):
                    built.call()
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                prof.step()
        meta["wall_s"] = round(time.time() - start, 3)
    try:
        trace = read_json(tmp.name)
    finally:
        os.unlink(tmp.name)
    meta["versions"] = versions("torch", "transformers", "torchvision", "nvtx")
    if device.startswith("cuda"):
        meta["gpu"] = torch.cuda.get_device_name(torch.device(device))
    trace["tracekit"] = meta
    write_json(out, trace)
    return meta


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _check_device(device: str):
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CollectError(device, "CUDA is not available here (torch "
                           f"{torch.__version__}); use --device cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise CollectError(device, "device must be cpu or cuda[:N]")


def _quantize(model, kind, device, dtype):
    import torch

    if kind != "int8":
        raise CollectError(kind, "only --quantize int8 (dynamic) is supported")
    if device != "cpu" or dtype not in ("float32", "fp32"):
        raise CollectError(kind,
                           "--quantize int8 uses torch.ao dynamic quantization: CPU and float32 only")
    try:
        import warnings

        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    except Exception as exc:
        raise CollectError(kind, f"dynamic int8 quantization failed: {exc}") from None
    return q


def _compile(model, built, meta):
    import torch

    meta["runtime"] = "pytorch-compile"
    meta["compile"] = {"backend": "inductor", "cpp_kernel_profile": False}
    try:
        compiled = torch.compile(model)
        # compile (and fail) now, outside the profiled window. Inductor's C++ kernels record
        # themselves (graph_<n>_cpp_fused_<ops>_<n>) only when asked at compile time;
        # otherwise their time is the compiled region's own and names nothing
        inputs = built.inputs
        with _kernel_profile(meta):
            for _ in range(2):
                if isinstance(inputs, dict):
                    compiled(**inputs)
                else:
                    compiled(*inputs)
    except Exception as exc:
        raise CollectError("compile", f"torch.compile failed here ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}); "
                           "run without --compile") from None
    return compiled


def _kernel_profile(meta):
    """Inductor's ``cpp.enable_kernel_profile`` for the compilation, where this torch has
    it, unless TORCHINDUCTOR_CPP_ENABLE_KERNEL_PROFILE says otherwise (a choice to keep)."""
    try:
        from torch._inductor import config

        if os.environ.get("TORCHINDUCTOR_CPP_ENABLE_KERNEL_PROFILE") is not None:
            meta["compile"]["cpp_kernel_profile"] = bool(config.cpp.enable_kernel_profile)
            return _null()
        patch = config.patch({"cpp.enable_kernel_profile": True})
    except (ImportError, AttributeError, RuntimeError):
        return _null()
    meta["compile"]["cpp_kernel_profile"] = True
    return patch
