"""One module per input format, each turning a file into tracekit.model.Trace objects.

Parsers import ``tracekit.model`` only. ``detect`` picks the parser for a file from its
first bytes, so a wrongly named file still reads, and a file no parser knows gets a clear
error rather than a guess.
"""
from __future__ import annotations

import importlib

# (module name, human description); tried in order by ``detect``.
FORMATS = [
    ("kineto", "PyTorch profiler / Kineto / Chrome trace JSON"),
]


def get(name: str):
    return importlib.import_module(f"parsers.{name}")


def detect(head: bytes):
    """Parser module for a file whose (decompressed) first bytes are ``head``, or None."""
    for name, _ in FORMATS:
        module = get(name)
        if module.sniff(head):
            return module
    return None
