"""The Trace users get from ``tracekit.load``: the model plus analysis methods."""
from __future__ import annotations

import pandas as pd

from tracekit import analysis
from tracekit.model import trace as model


class Trace(model.Trace):
    """A normalized trace. Tables: ``ops``, ``kernels``, ``launches``, ``ranges``."""

    def window(self, step=None) -> analysis.Selection:
        """The rows of ``step`` (or of an :class:`analysis.Window`: steps, ranges by id, span)."""
        return analysis.select(self, step)

    def breakdown(self, by: str = "group", step=None) -> pd.DataFrame:
        """Time per group / op / kernel / module for ``step`` (default: steps after the
        first; "all": everything). ``total_ns`` sums to the window's total."""
        return analysis.breakdown(self, analysis.select(self, step), by)

    def summary(self, step=None, top: int = 10) -> analysis.Summary:
        return analysis.summarize(self, step, top)

    def export(self, path, **options) -> dict:
        """Write the timeline (``.pftrace``, ``.json``) or a table (``.parquet``, ``.csv``);
        options as :func:`tracekit.export.export` (``format``, ``table``, ``step``,
        ``range``, ``start``, ``end``, ``bucket``). Returns what was written."""
        from tracekit.export import export

        return export(self, path, **options)

    def to_parquet(self, path, table: str | None = None, **window) -> dict:
        """One normalized table as Parquet (default: kernels; ops for traces without GPU
        activity); ``step``/``range``/``start``/``end`` select a window."""
        from tracekit.export import export

        return export(self, path, format="parquet", table=table, **window)
