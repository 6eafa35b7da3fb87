"""ONNX Runtime collector: export the PyTorch model to ONNX (TorchScript exporter, works
offline) or take ``--onnx model.onnx``, run it with ``enable_profiling`` on the requested
execution providers, and write the profile JSON.

ORT profiles are JSON arrays, so the metadata (model, shapes, providers actually used,
versions) goes to a sidecar ``<out>.meta.json``."""
from __future__ import annotations

import os
import shutil
import tempfile
import time

from collectors.run import CollectError, require, versions, write_json

PROVIDERS = {"cpu": ["CPUExecutionProvider"],
             "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def sidecar(out: str) -> str:
    return out + ".meta.json"


def collect(model: str | None, out: str, *, onnx_path=None, size=None, batch=1, seq=128,
            image_size=None, input_shape=None, steps=5, warmup=2, device="cpu",
            providers=None, keep_onnx=None, opset=17, optimization="all") -> dict:
    ort = require("onnxruntime", "the ONNX Runtime collector", extra="test")
    if not out.endswith(".json"):
        raise CollectError(out, "the output must end with .json")
    providers = list(providers or PROVIDERS.get(device.split(":")[0]) or [])
    if not providers:
        raise CollectError(device, "device must be cpu or cuda")
    missing = [p for p in providers if p not in ort.get_available_providers()]
    if missing and providers[0] in missing:
        raise CollectError(device,
                           f"execution provider {providers[0]} is not available in onnxruntime "
                           f"{ort.__version__} (available: {', '.join(ort.get_available_providers())})")
    providers = [p for p in providers if p not in missing]
    workdir = tempfile.mkdtemp(prefix="tracekit-ort-")
    try:
        if onnx_path:
            if not os.path.isfile(onnx_path):
                raise CollectError(onnx_path, "no such ONNX file")
            meta = {"model": os.path.basename(onnx_path), "onnx": os.path.abspath(onnx_path),
                    "weights": "as stored in the ONNX file"}
            path = onnx_path
        else:
            if not model:
                raise CollectError("onnxruntime", "give --model NAME or --onnx FILE")
            path = keep_onnx or os.path.join(workdir, "model.onnx")
            meta = export(model, path, size=size, batch=batch, seq=seq, image_size=image_size,
                          input_shape=input_shape, opset=opset, fold=optimization != "disable")
        opts = ort.SessionOptions()
        opts.enable_profiling = True
        opts.graph_optimization_level = _level(ort, optimization)
        opts.profile_file_prefix = os.path.join(workdir, "ort_profile")
        try:
            sess = ort.InferenceSession(path, sess_options=opts, providers=providers)
        except Exception as exc:
            raise CollectError(path, f"onnxruntime cannot load the model: {_first_line(exc)}") from None
        feeds = _feeds(sess, meta)
        start = time.time()
        for _ in range(warmup + steps):
            sess.run(None, feeds)
        wall = time.time() - start
        profile = sess.end_profiling()
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        shutil.move(profile, out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta.update(collector="onnxruntime", runtime="onnxruntime", device=device,
                providers_requested=list(providers), providers_used=sess.get_providers(),
                graph_optimization=optimization, runs=warmup + steps, warmup_runs=warmup,
                note="every run is in the profile; the first warmup_runs are warm-up, and "
                     "tracekit's default step rule drops exactly those (it reads this file)",
                wall_s=round(wall, 3), inputs={k: list(v.shape) for k, v in feeds.items()},
                versions=versions("onnxruntime", "onnx", "torch", "transformers"), trace=out)
    write_json(sidecar(out), meta)
    return meta


def _level(ort, name):
    levels = {"all": "ORT_ENABLE_ALL", "extended": "ORT_ENABLE_EXTENDED",
              "basic": "ORT_ENABLE_BASIC", "disable": "ORT_DISABLE_ALL"}
    if name not in levels:
        raise CollectError(name, f"graph optimization must be one of {', '.join(levels)}")
    return getattr(ort.GraphOptimizationLevel, levels[name])


def export(model: str, path: str, *, size=None, batch=1, seq=128, image_size=None,
           input_shape=None, opset=17, fold=True) -> dict:
    """Build a registry model and export it to ONNX at ``path``; returns its metadata.

    ``fold=False`` keeps BatchNormalization nodes (the exporter otherwise folds them into
    the preceding Conv, as a deployment would)."""
    import torch

    from collectors import models

    built = models.build(model, size=size, batch=batch, seq=seq, image_size=image_size,
                         input_shape=input_shape)
    names, args = _positional(built.inputs)
    wrapper = _Positional(built.model, names if isinstance(built.inputs, dict) else None)
    try:
        import warnings

        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapper, tuple(args), path, input_names=names,
                              output_names=["output"], opset_version=opset, dynamo=False,
                              training=torch.onnx.TrainingMode.EVAL if fold
                              else torch.onnx.TrainingMode.PRESERVE)
    except CollectError:
        raise
    except Exception as exc:
        raise CollectError(model, f"ONNX export failed: {_first_line(exc)}") from None
    return dict(built.meta, onnx_opset=opset, exporter="torch.onnx (TorchScript)",
                exporter_folds_batchnorm=fold)



def _positional(inputs):
    if isinstance(inputs, dict):
        return list(inputs), list(inputs.values())
    return [f"input_{i}" for i in range(len(inputs))], list(inputs)


def _Positional(model, names):
    import torch

    class Positional(torch.nn.Module):
        """Positional tensors -> the model's keyword inputs; first tensor output only."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            out = self.model(**dict(zip(names, args))) if names else self.model(*args)
            return _first_tensor(out)

    return Positional()


def _first_tensor(out):
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "to_tuple"):
        out = out.to_tuple()
    if isinstance(out, dict):
        out = list(out.values())
    for item in out:
        t = _first_tensor(item) if not isinstance(item, torch.Tensor) else item
        if t is not None:
            return t
    return None


def _feeds(sess, meta):
    import numpy as np

    feeds = {}
    rng = np.random.default_rng(0)
    for inp in sess.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
        if "int64" in inp.type or "int32" in inp.type:
            dt = np.int64 if "int64" in inp.type else np.int32
            if "mask" in inp.name:
                feeds[inp.name] = np.ones(shape, dt)
            else:
                feeds[inp.name] = rng.integers(0, 100, shape).astype(dt)
        elif "float16" in inp.type:
            feeds[inp.name] = rng.random(shape, dtype=np.float32).astype(np.float16)
        elif "float" in inp.type:
            feeds[inp.name] = rng.random(shape, dtype=np.float32)
        elif "bool" in inp.type:
            feeds[inp.name] = np.ones(shape, bool)
        else:
            raise CollectError(meta.get("model", "onnx"),
                               f"cannot make a synthetic input of type {inp.type} for {inp.name}")
    return feeds


def _first_line(exc) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
