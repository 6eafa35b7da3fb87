"""Analyses over a loaded Trace: windows (steps), breakdowns, GPU busy time, summaries.

Imports the model and the taxonomy only -- never a parser or the TUI.
"""
from tracekit.analysis.breakdown import BY, breakdown, time_basis
from tracekit.analysis.busy import device_busy, union_length
from tracekit.analysis.summary import combine, summarize
from tracekit.analysis.window import StepError, Window, select

__all__ = ["BY", "breakdown", "time_basis", "device_busy", "union_length", "combine",
           "summarize", "StepError", "Window", "select"]
