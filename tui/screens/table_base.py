"""A screen around one aggregated table: sort, filter, page; Enter drills in.

Tables are aggregated first (tracekit.analysis.breakdown) and shown a page at a time,
so a 500k-event trace never becomes a 500k-row DataTable."""
from __future__ import annotations

import pandas as pd
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from tui import keys
from tui.screens.base import TraceScreen
from tui.widgets.table import VimTable, fill

PAGE = 200


class TableScreen(TraceScreen):
    BINDINGS = keys.bindings("tables")
    # [(key, label, kind)] and the keys `s` cycles through
    COLUMNS: list[tuple[str, str, str]] = []
    SORTS: list[str] = ["total_ns"]
    AUTO_FOCUS = "#table"
    NUMBERS_WIDTH = 52  # what the columns after the name need

    def __init__(self, trace, scope) -> None:
        super().__init__(trace, scope)
        self.frame = pd.DataFrame()
        self.view = pd.DataFrame()
        self.sort_key = self.SORTS[0]
        self.descending = True
        self.search = ""
        self.group_filter = ""
        self.page = 0

    def compose_body(self) -> ComposeResult:
        yield Static(id="table-info")
        yield Input(placeholder="filter by name or group (enter: done, escape: clear)", id="search")
        yield VimTable(id="table")

    # data ---------------------------------------------------------------------
    def compute(self) -> pd.DataFrame:
        raise NotImplementedError

    def reload(self) -> None:
        self.frame = self.compute()
        self.page = 0
        self.refilter()

    def refilter(self) -> None:
        f = self.frame
        if self.group_filter and len(f):
            f = f[f["group"].astype(str) == self.group_filter]
        if self.search and len(f):
            # a name or a group: "/softmax" finds the Softmax group's rows too
            hit = f["name"].astype(str).str.contains(self.search, case=False, regex=False)
            if "group" in f:
                hit |= f["group"].astype(str).str.contains(self.search, case=False, regex=False)
            f = f[hit]
        if len(f) and self.sort_key in f:
            kind = "mergesort"
            f = f.sort_values(self.sort_key, ascending=not self.descending, kind=kind)
        self.view = f.reset_index(drop=True)
        pages = max((len(self.view) - 1) // PAGE + 1, 1)
        self.page = min(max(self.page, 0), pages - 1)
        self.redraw()

    def redraw(self) -> None:
        table = self.query_one("#table", VimTable)
        start = self.page * PAGE
        page = self.view.iloc[start:start + PAGE]
        fill(table, page, self.COLUMNS, name_limit=self.name_limit())
        self.query_one("#table-info", Static).update(self.info())

    def info(self) -> Text:
        label = dict((k, lab) for k, lab, _ in self.COLUMNS).get(self.sort_key, self.sort_key)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append_text(self.info_prefix())
        t.append(f"sort: {label} {'↓' if self.descending else '↑'}  ")
        if self.group_filter:
            t.append("group: ")
            t.append(self.group_filter, style="bold")
            t.append("  ")
        if self.search:
            t.append("filter: ")
            t.append(self.search, style="bold")
            t.append("  ")
        n = len(self.view)
        pages = max((n - 1) // PAGE + 1, 1)
        t.append(f"{n:,} rows" + (f"  page {self.page + 1}/{pages}" if pages > 1 else ""), style="dim")
        return t

    def name_limit(self) -> int:
        """Names get what the other columns leave (long kernel names would push every
        number off an 80-column screen)."""
        return max(self.app.size.width - self.NUMBERS_WIDTH, 20)

    def info_prefix(self) -> Text:
        return Text()

    def current_row(self) -> dict | None:
        table = self.query_one("#table", VimTable)
        i = self.page * PAGE + table.cursor_row
        if not len(self.view) or i >= len(self.view) or table.cursor_row < 0:
            return None
        return self.view.iloc[i].to_dict()

    # actions --------------------------------------------------------------------
    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.value = self.search
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            self.search = event.value
            self.page = 0
            self.refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            event.input.display = bool(self.search)
            self.query_one("#table", VimTable).focus()

    def action_clear(self) -> None:
        box = self.query_one("#search", Input)
        if self.search or self.group_filter:
            self.search, self.group_filter = "", ""
            box.value = ""
            self.refilter()
        box.display = False
        self.query_one("#table", VimTable).focus()

    def action_sort(self) -> None:
        i = self.SORTS.index(self.sort_key) if self.sort_key in self.SORTS else -1
        self.sort_key = self.SORTS[(i + 1) % len(self.SORTS)]
        self.descending = self.sort_key != "name"
        self.refilter()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.refilter()

    def action_page(self, step: int) -> None:
        self.page += step
        self.refilter()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.current_row()
        if row is not None:
            self.drill(row)

    def drill(self, row: dict) -> None:
        """Enter on a row."""
