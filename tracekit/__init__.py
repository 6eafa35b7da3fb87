"""tracekit: where inference time goes in GPU profiler traces, GEMM versus non-GEMM.

    >>> trace = tracekit.load("run.pt.trace.json.gz")
    >>> trace.breakdown(by="group")

The public names are imported on first use, so that ``import tracekit.model`` (what the
parsers do) does not pull in the analyses.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"
_PUBLIC = {
    "load": "tracekit.loading", "load_all": "tracekit.loading", "Trace": "tracekit.api",
    "TraceError": "tracekit.model", "TracekitError": "tracekit.model",
    "TraceWarning": "tracekit.model",
    "Taxonomy": "tracekit.taxonomy",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tracekit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PUBLIC))
