"""The event model every parser produces and every analysis reads (DESIGN.md)."""
from tracekit.model.errors import TraceError, TracekitError, TraceWarning
from tracekit.model.meta import TraceMeta
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
from tracekit.model.vocab import COPY_KINDS, KERNEL_KINDS, LINKS, RANGE_KINDS, SOURCES, TABLES, TIME_BASES

__all__ = [
    "Trace", "TraceMeta", "TraceError", "TracekitError", "TraceWarning", "OPS", "KERNELS", "LAUNCHES", "RANGES", "SCHEMAS",
    "TABLES", "SOURCES", "TIME_BASES", "KERNEL_KINDS", "LINKS", "FUSED_SEP", "COPY_KINDS",
    "RANGE_KINDS", "make_table", "empty", "categorical", "categorical_of", "constant",
]
