"""What ``tracekit report`` reads: trace files given by name, or folders; a folder written
by ``tracekit collect sweep`` has an ``index.json`` that says what each trace is (model,
runtime, batch, seq, device, dtype), any other folder is searched for trace files.

Labels of a file without an index come from what the collectors record in the trace
(the Kineto ``tracekit`` key, the ONNX Runtime ``.meta.json`` sidecar); else the model is
the file name and the runtime the tool that wrote the trace.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from tracekit.model.errors import TraceError

INDEX = "index.json"  # collectors.sweep.INDEX
# files beside traces that are not traces themselves (sidecars, TensorRT companions)
COMPANIONS = (".meta.json", ".graph.json", ".timing.json", ".times.json", ".tmp")
TRACE_ENDINGS = (".json", ".json.gz", ".sqlite", ".tar.gz")
# the collectors' runtime names, as the sweep spells them
RUNTIME_NAMES = {"pytorch-eager": "torch", "pytorch-compile": "torch-compile"}
LABEL_KEYS = ("model", "runtime", "batch", "seq", "device", "dtype")


@dataclass
class Input:
    """One trace file and what the sweep index says it is (empty when no index)."""

    path: str
    labels: dict = field(default_factory=dict)


def find_inputs(paths: list[str]) -> list[Input]:
    """Every trace to report on, in the order given (a folder's in index or name order)."""
    found: list[Input] = []
    for path in paths:
        if os.path.isdir(path):
            found.extend(_folder(path))
        elif os.path.exists(path):
            found.append(Input(path))
        else:
            raise TraceError(path, "no such file or folder")
    if not found:
        raise TraceError(", ".join(paths), "no trace files found")
    return found


def _folder(folder: str) -> list[Input]:
    index_path = os.path.join(folder, INDEX)
    if not os.path.exists(index_path):
        names = sorted(n for n in os.listdir(folder)
                       if n.endswith(TRACE_ENDINGS) and not n.endswith(COMPANIONS) and n != INDEX)
        return [Input(os.path.join(folder, n)) for n in names]
    try:
        with open(index_path) as f:
            entries = json.load(f)["traces"]
        inputs = [Input(os.path.join(folder, e["file"]), {k: e.get(k) for k in LABEL_KEYS})
                  for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TraceError(index_path, f"not a sweep index ({type(exc).__name__}: {exc})") from None
    return [i for i in inputs if os.path.exists(i.path)]


def labels_of(trace, given: dict) -> dict:
    """model, runtime, batch, seq, device, dtype of a loaded trace: the index's, else the
    collector's record, else the file name and the trace's source."""
    meta = trace.meta
    recorded = dict(meta.extras.get("collected") or _sidecar(meta.path) or {})
    out = {}
    for key in LABEL_KEYS:
        value = given.get(key)
        out[key] = value if value is not None else recorded.get(key)
    out["runtime"] = RUNTIME_NAMES.get(out["runtime"], out["runtime"]) or _source_runtime(meta)
    out["model"] = out["model"] or _stem(meta.path or "trace")
    out["device"] = out["device"] or ("gpu" if meta.devices else "cpu")
    return out


def _sidecar(path: str) -> dict | None:
    try:
        with open(path + ".meta.json") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    shape = next(iter((doc.get("inputs") or {}).values()), None)
    if doc.get("batch") is None and isinstance(shape, list) and shape:
        doc["batch"] = shape[0]
    return doc


def _source_runtime(meta) -> str:
    return {"kineto": "torch", "ort": "onnxruntime", "trt": "tensorrt", "nsys": "nsys"}.get(
        meta.source, meta.source or "trace")


def _stem(path: str) -> str:
    name = os.path.basename(path.split(":", 1)[0] if ":" in os.path.basename(path) else path)
    for ending in (".gz", ".json", ".sqlite", ".profile", ".pt.trace", ".trace"):
        name = name.removesuffix(ending)
    return name.rsplit("__", 1)[-1] or name  # corpus names: repo__path__file
