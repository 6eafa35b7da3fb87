"""A DataTable with vim keys and rows filled from a DataFrame page."""
from __future__ import annotations

from textual.widgets import DataTable

from tui import keys
from tui import queries as q
from tui.widgets.text import num, safe


class VimTable(DataTable):
    BINDINGS = keys.bindings("table")

    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)


NAME_KEYS = ("name", "base_name", "label")  # the column that takes the room the numbers leave


# column kinds -> how a cell is shown
def cell(kind: str, value, limit: int = 80):
    if kind == "text":
        return safe(value, limit=limit, middle=True)
    if kind == "ns":
        return num(q.fmt_duration(int(value)))
    if kind == "ms":
        return num(f"{int(value) / 1e6:,.3f}")
    if kind == "pct":
        return num(q.fmt_pct(float(value)))
    if kind == "int":
        return num(f"{int(value):,}")
    if kind == "float":
        return num(f"{float(value):.2f}")
    if kind == "bytes":
        return num(q.fmt_bytes(int(value)) if int(value) > 0 else "-")
    return safe(value)


def kind_of(column: str, dtype) -> str:
    if column.endswith("_ns"):
        return "ns"
    if column == "bytes":
        return "bytes"
    if column == "share":
        return "pct"
    kind = getattr(dtype, "kind", "O")
    if kind in "iu":
        return "int"
    if kind == "f":
        return "float"
    return "text"


def fill(table: DataTable, frame, columns=None, name_limit: int = 80) -> None:
    """Put a (small) DataFrame into a DataTable; ``columns``: [(key, label, kind)]."""
    table.clear(columns=True)
    if columns is None:
        columns = [(c, c.removesuffix("_ns"), kind_of(c, frame[c].dtype)) for c in frame.columns]
    for key, label, _ in columns:
        table.add_column(label, key=key)
    for values in zip(*(frame[key].tolist() for key, _, _ in columns)) if len(frame) else []:
        table.add_row(*(cell(kind, v, name_limit if key in NAME_KEYS else 40)
                        for (key, _, kind), v in zip(columns, values)))
