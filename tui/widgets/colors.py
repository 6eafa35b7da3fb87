"""Colours of the taxonomy groups: the palette lives in tracekit.report.colors, which the
HTML report's figures use too, so the terminal and the figures agree."""
from __future__ import annotations

from tracekit.report.colors import GEMM_COLOR, GROUP_COLORS, NON_GEMM_COLOR, group_color

__all__ = ["GEMM_COLOR", "GROUP_COLORS", "NON_GEMM_COLOR", "group_color"]
