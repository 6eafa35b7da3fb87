"""The event model every parser produces and every analysis reads (DESIGN.md).

The tables and the Trace (pandas) are imported on first use, so that what needs only the
words, the errors or the meta (rendering a stored summary, ``--help``) starts without pandas.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tracekit.model.errors import TraceError, TracekitError, TraceWarning
from tracekit.model.lazy import lazy_getattr
from tracekit.model.meta import TraceMeta
from tracekit.model.vocab import COPY_KINDS, KERNEL_KINDS, LINKS, RANGE_KINDS, SOURCES, TABLES, TIME_BASES

if TYPE_CHECKING:
    from tracekit.model.tables import (
        FUSED_SEP,
        KERNELS,
        LAUNCHES,
        OPS,
        RANGES,
        SCHEMAS,
        categorical,
        categorical_of,
        constant,
        empty,
        make_table,
    )
    from tracekit.model.trace import Trace

_LAZY = {"Trace": "tracekit.model.trace",
         **{name: "tracekit.model.tables" for name in (
             "FUSED_SEP", "KERNELS", "LAUNCHES", "OPS", "RANGES", "SCHEMAS", "categorical",
             "categorical_of", "constant", "empty", "make_table")}}

__all__ = [
    "Trace", "TraceMeta", "TraceError", "TracekitError", "TraceWarning", "OPS", "KERNELS", "LAUNCHES", "RANGES", "SCHEMAS",
    "TABLES", "SOURCES", "TIME_BASES", "KERNEL_KINDS", "LINKS", "FUSED_SEP", "COPY_KINDS",
    "RANGE_KINDS", "make_table", "empty", "categorical", "categorical_of", "constant",
]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
