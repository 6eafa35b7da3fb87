"""Analyses over a loaded Trace: windows (steps, ranges, spans), breakdowns, drill-downs,
GPU busy time, summaries.

Imports the model and the taxonomy only -- never a parser or the TUI.
"""
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

__all__ = [
                                     "BY",
                                     "CombinedSummary",
                                     "FusionReport",
                                     "Summary",
                                     "TransferReport",
                                     "KernelInstances",
                                     "RowCalls",
                                     "Selection",
                                     "StepError",
                                     "Window",
                                     "breakdown",
                                     "combine",
                                     "device_busy",
                                     "gemm_free_speedup",
                                     "gemm_groups",
                                     "gemm_totals",
                                     "in_ranges",
                                     "kernel_instances",
                                     "kernel_table",
                                     "overlapping",
                                     "range_ids",
                                     "row_calls",
                                     "select",
                                     "select_range",
                                     "select_span",
                                     "select_window",
                                     "summarize",
                                     "time_basis",
                                     "trace_start",
                                     "union_length",
]
