"""The key table drives both the bindings and the help screen: every binding a screen or
widget declares comes from it, every action it names exists where it is bound, and every
help line with bindings shows the keys they bind."""
from __future__ import annotations

import re

import pytest

from tui import keys

OWNERS = {
    "app": ("tui.app", "TracekitApp"),
    "loading": ("tui.screens.loading", "LoadingScreen"),
    "help": ("tui.screens.help", "HelpScreen"),
    "picker": ("tui.screens.picker", "PickerScreen"),
    "export": ("tui.screens.export", "ExportScreen"),
    "drill": ("tui.screens.drill", "DrillScreen"),
    "overview": ("tui.screens.overview", "OverviewScreen"),
    "tables": ("tui.screens.table_base", "TableScreen"),
    "operators": ("tui.screens.operators", "OperatorsScreen"),
    "table": ("tui.widgets.table", "VimTable"),
    "timeline": ("tui.widgets.timeline", "TimelineView"),
    "compare": ("tui.screens.compare", "CompareScreen"),
    "compare_app": ("tui.compare_app", "CompareApp"),
}


def owner_class(owner):
    import importlib

    module, name = OWNERS[owner]
    return getattr(importlib.import_module(module), name)


def test_every_owner_in_the_table_is_a_class_here():
    assert {k.owner for e in keys.TABLE for k in e.binds} == set(OWNERS)


@pytest.mark.parametrize("owner", sorted(OWNERS))
def test_class_bindings_are_the_tables(owner):
    cls = owner_class(owner)
    declared = [(b.key, b.action, b.description, b.show) for b in cls.BINDINGS]
    rows = [k for e in keys.TABLE for k in e.binds if k.owner == owner]
    assert sorted(declared) == sorted((k.keys, k.action, k.label, k.footer is not None) for k in rows)
    # the footer shows the keys in the order of their footer position
    shown = [b.action for b in cls.BINDINGS if b.show]
    assert shown == [k.action for k in sorted(rows, key=lambda k: k.footer or 0) if k.footer is not None]


@pytest.mark.parametrize("owner", sorted(OWNERS))
def test_bound_actions_exist(owner):
    from tui.app import TracekitApp

    cls = owner_class(owner)
    for b in cls.BINDINGS:
        on_app = b.action.startswith("app.")
        name = re.match(r"\w+", b.action.removeprefix("app.")).group(0)
        where = TracekitApp if on_app else cls
        assert callable(getattr(where, f"action_{name}", None)), (owner, b.action)


def printable(key: str) -> set[str]:
    """The ways the help may spell a Textual key name."""
    names = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-",
             "equals_sign": "=", "right_square_bracket": "]", "left_square_bracket": "[",
             "left": "←", "right": "→", "up": "↑", "down": "↓", "escape": "escape",
             "shift+left": "shift+←", "shift+right": "shift+→"}
    return {key, names.get(key, key)}


def test_help_lines_show_the_keys_they_bind():
    for entry in keys.TABLE:
        words = set(entry.shown.replace("/", " / ").split()) | set(re.findall(r"\w+", entry.does))
        for k in entry.binds:
            first = k.keys.split(",")[0]  # the other names are aliases the help may leave out
            assert printable(first) & words, (entry.shown, k.keys)
