"""The event model every parser produces and every analysis reads (DESIGN.md)."""
from tracekit.model.errors import TraceError, TraceWarning
from tracekit.model.tables import (
    COPY_KINDS, FUSED_SEP, KERNEL_KINDS, KERNELS, LAUNCHES, LINKS, OPS, RANGE_KINDS, RANGES, SCHEMAS,
    categorical, categorical_of, constant, empty, make_table,
)
from tracekit.model.trace import Trace

__all__ = [
    "Trace", "TraceError", "TraceWarning", "OPS", "KERNELS", "LAUNCHES", "RANGES", "SCHEMAS",
    "KERNEL_KINDS", "LINKS", "FUSED_SEP", "COPY_KINDS", "RANGE_KINDS", "make_table", "empty", "categorical", "categorical_of", "constant",
]
