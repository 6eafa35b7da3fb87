"""Kernels: GPU activities by name, with group, op, streams, grid/block and bytes;
Enter drills into a kernel (its instances and the ops that launched it)."""
from __future__ import annotations

from tracekit.safe_text import clean
from tui import queries as q
from tui.screens.drill import DrillScreen
from tui.screens.table_base import TableScreen


class KernelsScreen(TableScreen):
    MODE = "kernels"
    # the base name (kernel_base_name); the full name is in the drill-down
    COLUMNS = [("base_name", "kernel", "text"), ("group", "group", "text"), ("count", "count", "int"),
               ("total_ns", "total ms", "ms"), ("mean_ns", "mean", "ns"), ("share", "share", "pct"),
               ("op", "op", "text"), ("streams", "stream", "text"), ("grid", "grid", "text"),
               ("block", "block", "text"), ("bytes", "bytes", "bytes")]
    SORTS = ["total_ns", "count", "mean_ns", "bytes", "name"]
    NUMBERS_WIDTH = 54

    def compute(self):
        self.sub_title = clean(q.describe(self.trace, self.scope, q.window(self.trace, self.scope)))
        return q.kernel_table(self.trace, self.scope)

    def drill(self, row: dict) -> None:
        self.app.push_screen(DrillScreen(q.kernel_drill(self.trace, self.scope, str(row["name"]))))
