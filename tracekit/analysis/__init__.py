"""Analyses over a loaded Trace: windows (steps, ranges, spans), breakdowns, drill-downs,
GPU busy time, summaries.

Imports the model and the taxonomy only -- never a parser or the TUI. The public names are
imported on first use, so that ``tracekit.analysis.results`` (what a stored summary is
decoded into) comes without pandas.
"""
from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from tracekit.model.lazy import lazy_getattr

if TYPE_CHECKING:
    from tracekit.analysis.breakdown import BY, breakdown, gemm_groups, time_basis
    from tracekit.analysis.busy import device_busy, union_length
    from tracekit.analysis.drill import KernelInstances, RowCalls, kernel_instances, kernel_table, row_calls
    from tracekit.analysis.results import CombinedSummary, FusionReport, Summary, TransferReport
    from tracekit.analysis.summary import combine, gemm_free_speedup, gemm_totals, summarize
    from tracekit.analysis.window import (
        Selection,
        StepError,
        Window,
        in_ranges,
        overlapping,
        range_ids,
        select,
        select_range,
        select_span,
        select_window,
        trace_start,
    )

_MODULES = {
    "breakdown": ("BY", "breakdown", "gemm_groups", "time_basis"),
    "busy": ("device_busy", "union_length"),
    "drill": ("KernelInstances", "RowCalls", "kernel_instances", "kernel_table", "row_calls"),
    "results": ("CombinedSummary", "FusionReport", "Summary", "TransferReport"),
    "summary": ("combine", "gemm_free_speedup", "gemm_totals", "summarize"),
    "window": ("Selection", "StepError", "Window", "in_ranges", "overlapping", "range_ids", "select",
               "select_range", "select_span", "select_window", "trace_start"),
}
_LAZY = {name: f"{__name__}.{module}" for module, names in _MODULES.items() for name in names}
__all__ = [
    "BY", "CombinedSummary", "FusionReport", "KernelInstances", "RowCalls", "Selection",
    "StepError", "Summary", "TransferReport", "Window", "breakdown", "combine", "device_busy",
    "gemm_free_speedup", "gemm_groups", "gemm_totals", "in_ranges",
    "kernel_instances", "kernel_table", "overlapping", "range_ids", "row_calls", "select",
    "select_range", "select_span", "select_window", "summarize", "time_basis", "trace_start",
    "union_length",
]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


class _Package(types.ModuleType):
    """``analysis.breakdown`` is the function: the import system binds a submodule to the
    package attribute of its name when it is first imported, which would shadow it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
