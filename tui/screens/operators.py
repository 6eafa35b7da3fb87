"""Operators: time per group / op / module / input shape, sortable and filterable;
Enter drills into a row (its calls, kernels, module paths, shapes)."""
from __future__ import annotations

from rich.text import Text

from tracekit.safe_text import clean
from tui import keys
from tui import queries as q
from tui.screens.drill import DrillScreen
from tui.screens.table_base import TableScreen


class OperatorsScreen(TableScreen):
    MODE = "operators"
    BINDINGS = keys.bindings("operators")
    COLUMNS = [("label", "name", "text"), ("group", "group", "text"), ("calls", "calls", "int"),
               ("total_ns", "total ms", "ms"), ("mean_ns", "mean", "ns"), ("share", "share", "pct"),
               ("kernels_per_call", "kern/call", "float")]
    SORTS = ["total_ns", "calls", "mean_ns", "kernels_per_call", "name"]

    def __init__(self, trace, scope, by: str = "op") -> None:
        super().__init__(trace, scope)
        self.by = by

    def compute(self):
        return q.op_table(self.trace, self.scope, self.by)

    def reload(self) -> None:
        self.sub_title = clean(q.describe(self.trace, self.scope, q.window(self.trace, self.scope)))
        super().reload()

    def info_prefix(self) -> Text:
        t = Text()
        t.append("by: ")
        t.append(self.by, style="bold")
        t.append("  ")
        return t

    def action_group_by(self) -> None:
        self.by = q.BY[(q.BY.index(self.by) + 1) % len(q.BY)]
        self.reload()

    def drill(self, row: dict) -> None:
        name = str(row["name"])
        if self.by == "step":
            # a step's group: that step's operators of the group
            if name.startswith("step "):
                self.group_filter, self.by = str(row["group"]), "op"
                self.app.set_scope(self.scope.with_step(int(name.split()[1])))
            return
        if self.by == "group":
            # a group drills into its operators
            self.group_filter = str(row["name"])
            self.by = "op"
            self.reload()
            return
        self.app.push_screen(DrillScreen(q.drill(self.trace, self.scope, self.by, row)))
