"""Every key the UI answers to, in one table: the bindings of the app, its screens and
widgets are built from it (``bindings(owner)``) and the help screen lists it (``KEYS``),
so a key cannot be bound without being documented or documented without being bound."""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    """One binding: Textual key names (comma-separated), the action, its label, and where
    the footer shows it (``footer``: position among the owner's shown keys; None hides it)."""

    owner: str  # app, tables, operators, table (the widget), timeline, or a dialog
    keys: str
    action: str
    label: str
    footer: int | None = None


@dataclass(frozen=True)
class Entry:
    """One line of the help screen and the bindings it describes."""

    where: str
    shown: str  # the keys as the help shows them
    does: str
    binds: tuple[Key, ...] = ()


def _k(owner: str, keys: str, action: str, label: str, footer: int | None = None) -> Key:
    return Key(owner, keys, action, label, footer)


TABLE: tuple[Entry, ...] = (
    Entry("everywhere", "1 2 3 4 5", "Overview, Operators, Kernels, Transfers & fallback, Timeline", (
        _k("app", "1", "show('overview')", "Overview"),
        _k("app", "2", "show('operators')", "Operators"),
        _k("app", "3", "show('kernels')", "Kernels"),
        _k("app", "4", "show('transfers')", "Transfers"),
        _k("app", "5", "show('timeline')", "Timeline"),
    )),
    Entry("everywhere", "p", "step / range picker: restrict everything to a step or range",
          (_k("app", "p", "picker", "Step/range", footer=3),)),
    Entry("everywhere", "x", "clear the timeline span filter",
          (_k("app", "x", "clear_span", "Clear span"),)),
    Entry("everywhere", "e", "export the current selection to Perfetto",
          (_k("app", "e", "export", "Export", footer=4),)),
    Entry("everywhere", "?", "this help", (
        _k("app", "question_mark", "help", "Help", footer=2),
        _k("compare_app", "question_mark", "help", "Help", footer=2),
    )),
    Entry("everywhere", "q", "quit", (
        _k("app", "q", "quit", "Quit", footer=1),
        _k("compare_app", "q", "quit", "Quit", footer=1),
        _k("loading", "q,escape", "app.quit", "Quit", footer=1),
    )),
    Entry("everywhere", "escape", "close a dialog / go back", (
        _k("help", "escape,question_mark,q", "app.pop_screen", "Close", footer=1),
        _k("picker", "escape", "dismiss_none", "Cancel", footer=1),
        _k("export", "escape", "cancel", "Cancel", footer=1),
        _k("drill", "escape,backspace", "app.pop_screen", "Back", footer=1),
    )),
    Entry("overview", "j k", "select a group or one of the top operators", (
        _k("overview", "j", "select(1)", "Next"),
        _k("overview", "k", "select(-1)", "Previous"),
    )),
    Entry("overview", "enter", "a group: its operators; an operator: its kernels",
          (_k("overview", "enter", "open", "Open", footer=1),)),
    # up/down, left/right, pgup/pgdn, home/end are DataTable's own keys
    Entry("tables", "↑ ↓  j k", "move the cursor", (
        _k("table", "j", "cursor_down", "Down"),
        _k("table", "k", "cursor_up", "Up"),
    )),
    Entry("tables", "← →  h l", "scroll columns", (
        _k("table", "h", "cursor_left", "Left"),
        _k("table", "l", "cursor_right", "Right"),
    )),
    Entry("tables", "pgup pgdn  ctrl+u ctrl+d", "page up / down", (
        _k("table", "ctrl+d", "page_down", "Page down"),
        _k("table", "ctrl+u", "page_up", "Page up"),
    )),
    Entry("tables", "home end  G", "first / last row",
          (_k("table", "G", "scroll_bottom", "Last"),)),
    Entry("tables", "/", "search: filter rows by name or group (escape clears)", (
        _k("tables", "slash", "search", "Search", footer=1),
        _k("tables", "escape", "clear", "Clear filter"),
    )),
    Entry("tables", "s / S", "sort by the next column / reverse the order", (
        _k("tables", "s", "sort", "Sort", footer=2),
        _k("tables", "S", "reverse", "Reverse"),
    )),
    Entry("tables", "g", "group operators by group, op, node, module class or instance, input shape, step",
          (_k("operators", "g", "group_by", "Group by", footer=1),)),
    Entry("tables", "[ ]", "previous / next page of rows", (
        _k("tables", "right_square_bracket", "page(1)", "Next page"),
        _k("tables", "left_square_bracket", "page(-1)", "Prev page"),
    )),
    # a DataTable row selection (enter) opens the drill-down
    Entry("tables", "enter", "drill into the row: calls, kernels, module path, shapes"),
    # tracekit tui A B ...: the compare screen (its table takes the table keys above)
    Entry("compare", "a", "absolute times / shares of each side's total",
          (_k("compare", "a", "toggle_share", "Abs/share", footer=1),)),
    Entry("compare", "enter", "drill into a group: its operators matched across the traces"),
    Entry("compare", "escape backspace", "back from a group to the group table",
          (_k("compare", "escape,backspace", "back", "Back", footer=2),)),
    Entry("timeline", "← →  h l", "move the cursor", (
        _k("timeline", "left,h", "move(-1)", "Cursor left"),
        _k("timeline", "right,l", "move(1)", "Cursor right"),
    )),
    Entry("timeline", "↑ ↓  j k", "move the lane cursor", (
        _k("timeline", "up,k", "lane(-1)", "Lane up"),
        _k("timeline", "down,j", "lane(1)", "Lane down"),
    )),
    Entry("timeline", "H L  shift+← shift+→", "pan", (
        _k("timeline", "H,shift+left", "pan(-1)", "Pan left"),
        _k("timeline", "L,shift+right", "pan(1)", "Pan right"),
    )),
    Entry("timeline", "+ -  i o", "zoom in / out at the cursor", (
        _k("timeline", "plus,equals_sign,i", "zoom(0.5)", "Zoom in", footer=1),
        _k("timeline", "minus,o", "zoom(2.0)", "Zoom out", footer=2),
    )),
    Entry("timeline", "g", "highlight one group (again: the next; after the last: all)",
          (_k("timeline", "g", "highlight", "Highlight", footer=5),)),
    Entry("timeline", "0", "show the whole window",
          (_k("timeline", "0", "reset", "Whole"),)),
    Entry("timeline", "m", "mark the span start at the cursor",
          (_k("timeline", "m", "mark", "Mark", footer=3),)),
    Entry("timeline", "enter", "filter every screen to the marked span (or the visible range)",
          (_k("timeline", "enter", "select", "Filter to span", footer=4),)),
)

# (where, keys as shown, what it does): what the help screen lists
KEYS: list[tuple[str, str, str]] = [(e.where, e.shown, e.does) for e in TABLE]


def bindings(owner: str) -> list[Binding]:
    """The Textual bindings of ``owner``: footer keys first, in footer order (the footer
    lists bindings in declaration order), then the hidden ones in table order."""
    keys = [k for e in TABLE for k in e.binds if k.owner == owner]
    if not keys:
        raise KeyError(f"no keys for {owner!r}")
    shown = sorted((k for k in keys if k.footer is not None), key=lambda k: k.footer)
    hidden = [k for k in keys if k.footer is None]
    return [Binding(k.keys, k.action, k.label, show=k.footer is not None) for k in shown + hidden]
