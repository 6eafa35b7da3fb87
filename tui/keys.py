"""Every key the UI answers to, in one table: the help screen lists it, and the
bindings of the app and screens are built from the same names."""
from __future__ import annotations

# (where, keys as shown, what it does)
KEYS: list[tuple[str, str, str]] = [
    ("everywhere", "1 2 3 4 5", "Overview, Operators, Kernels, Transfers & fallback, Timeline"),
    ("everywhere", "p", "step / range picker: restrict everything to a step or range"),
    ("everywhere", "x", "clear the timeline span filter"),
    ("everywhere", "e", "export the current selection to Perfetto"),
    ("everywhere", "?", "this help"),
    ("everywhere", "q", "quit"),
    ("everywhere", "escape", "close a dialog / go back"),
    ("tables", "↑ ↓  j k", "move the cursor"),
    ("tables", "← →  h l", "scroll columns"),
    ("tables", "pgup pgdn  ctrl+u ctrl+d", "page up / down"),
    ("tables", "home end  G", "first / last row"),
    ("tables", "/", "search: filter rows by name (escape clears)"),
    ("tables", "s / S", "sort by the next column / reverse the order"),
    ("tables", "g", "group operators by group, op, module, input shape"),
    ("tables", "[ ]", "previous / next page of rows"),
    ("tables", "enter", "drill into the row: calls, kernels, module path, shapes"),
    ("timeline", "← →  h l", "move the cursor"),
    ("timeline", "↑ ↓  j k", "move the lane cursor"),
    ("timeline", "H L  shift+← shift+→", "pan"),
    ("timeline", "+ -  i o", "zoom in / out at the cursor"),
    ("timeline", "0", "show the whole window"),
    ("timeline", "m", "mark the span start at the cursor"),
    ("timeline", "enter", "filter every screen to the marked span (or the visible range)"),
]
