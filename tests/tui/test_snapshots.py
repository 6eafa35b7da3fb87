"""Looks: SVG snapshots (pytest-textual-snapshot) of the Overview and Operators screens
at 80x24 and 140x45, on a real corpus trace (ResNet-50 on V100) and on the project's
decoder sample. Update with ``pytest tests/tui --snapshot-update`` after a deliberate
change (and a pinned textual upgrade); review the SVGs in the report it writes."""
from __future__ import annotations

import pytest

from tests.tui.conftest import wait_loaded

SIZES = {"80x24": (80, 24), "140x45": (140, 45)}


async def _overview(pilot):
    await wait_loaded(pilot)


async def _operators(pilot):
    await wait_loaded(pilot)
    await pilot.press("2")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", ["overview", "operators"])
@pytest.mark.parametrize("trace", ["resnet", "decoder"])
def test_snapshot(snap_compare, make_app, request, trace, screen, size):
    path = request.getfixturevalue(trace)
    app = make_app(path)
    run_before = _overview if screen == "overview" else _operators
    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
