"""Loading a trace for the UI, run in a worker thread: tracekit.load (cache first), then
the numbers of the first screen, so the UI thread only draws."""
from __future__ import annotations

import warnings

from tracekit.safe_text import clean


def load(path: str, *, cache: bool = True, cache_dir=None, taxonomy=None, scope=None, stage=None,
         **options):
    """(trace, overview). ``stage(text)`` is called between steps (from the worker);
    ``options`` (layers, capture, max_size, onnx) go to ``tracekit.load``."""
    import tracekit
    from tui import queries as q

    stage = stage or (lambda text: None)
    stage("reading the trace (normalized traces come from the cache)…")
    with warnings.catch_warnings():
        # TraceWarnings are kept in trace.meta.warnings and shown on the overview;
        # printed here they would tear the screen.
        warnings.simplefilter("ignore")
        trace = tracekit.load(path, taxonomy=taxonomy, cache=cache, cache_dir=cache_dir, **options)
    stage("computing the overview…")
    overview = q.overview(trace, scope or q.Scope())
    return trace, overview


def error_text(exc: BaseException) -> str:
    """One readable message for any failure: user errors as they are, bugs with their
    type (the traceback stays out of the UI; TRACEKIT_DEBUG=1 re-raises in the CLI)."""
    from tracekit.model import TracekitError

    if isinstance(exc, TracekitError):
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = "not enough memory to load this trace"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return clean(" ".join(text.split()), limit=500)
