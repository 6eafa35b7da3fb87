"""One module per input format, each turning a file into tracekit.model.Trace objects.

Parsers import ``tracekit.model`` only. ``detect`` picks the parser for a file from its
first bytes, so a wrongly named file still reads, and a file no parser knows gets a clear
error rather than a guess.
"""
from __future__ import annotations

import importlib

# (module name, human description); tried in order by ``detect``.
FORMATS = [
    ("nsys", "Nsight Systems SQLite export"),
    ("tensorrt", "TensorRT trtexec profile / layer info JSON"),
    ("onnxruntime", "ONNX Runtime profiling JSON"),
    ("kineto", "PyTorch profiler / Kineto / Chrome trace JSON"),  # last: takes any JSON
]


def get(name: str):
    return importlib.import_module(f"parsers.{name}")


def detect(head: bytes):
    """Parser module for a file whose (decompressed) first bytes are ``head``, or None."""
    for name, _ in FORMATS:
        try:
            module = get(name)
        except ModuleNotFoundError as exc:
            if exc.name == f"parsers.{name}":
                continue  # a format this checkout does not have yet
            raise
        if module.sniff(head):
            return module
    return None
