"""tracekit: where inference time goes in GPU profiler traces, GEMM versus non-GEMM.

    >>> trace = tracekit.load("run.pt.trace.json.gz")
    >>> trace.breakdown(by="group")
"""
from tracekit.api import Trace
from tracekit.loading import load, load_all
from tracekit.model import TraceError, TraceWarning
from tracekit.taxonomy import Taxonomy

__version__ = "0.1.0"
__all__ = ["load", "load_all", "Trace", "TraceError", "TraceWarning", "Taxonomy"]
