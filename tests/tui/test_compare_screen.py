"""The compare screen (``tracekit tui A B``), driven with Pilot on the TensorRT ResNet
fp16 and fp32 engines: the group table side by side with each side's summary numbers,
``a`` switches to shares, Enter on a group shows its operators matched across the
engines, escape goes back."""
from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import CORPUS
from tests.tui.conftest import wait_until
from tracekit.report.fmt import duration, pct

TRT = CORPUS / "tensorrt"


def engines():
    if not TRT.is_dir():
        pytest.skip(f"corpus not found at {TRT}")
    return [next(TRT.glob(f"*resnet__A100__{p}__resnet.onnx.engine.profile.json")) for p in ("fp16", "fp32")]


async def wait_compared(pilot, timeout: float = 60.0) -> None:
    await wait_until(pilot, lambda app: app.comparison is not None, "traces", timeout)


def table_rows(app) -> list[list[str]]:
    table = app.screen.query_one("#cmp-table")
    return [[c.plain if hasattr(c, "plain") else str(c) for c in table.get_row_at(i)]
            for i in range(table.row_count)]


def test_compare_screen_groups_shares_and_drill(cache_dir):
    import tracekit
    from tui.compare_app import CompareApp

    paths = engines()
    summaries = [tracekit.load(str(p), cache_dir=cache_dir).summary() for p in paths]
    # fused layers per engine, from the profiles: names joining nodes, reformat copies aside
    fused = [sum(1 for e in json.loads(p.read_text())[1:]
                 if " + " in e.get("name", "") and not e["name"].startswith("Reformatting")) for p in paths]

    async def go():
        app = CompareApp(paths, labels=["fp16", "fp32"], cache_dir=cache_dir)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_compared(pilot)
            assert app.error is None and type(app.screen).__name__ == "CompareScreen"
            info = app.screen.query_one("#cmp-info").render().plain
            assert "fp16" in info and "fp32" in info and "absolute times" in info
            rows = table_rows(app)
            groups = set(summaries[0].groups) | set(summaries[1].groups)
            assert {r[0] for r in rows} == groups
            for r in rows:  # each side's cell shows that side's summary time for the group
                for i, s in enumerate(summaries):
                    if r[0] in s.groups:
                        assert r[1 + i].endswith(duration(s.groups[r[0]]))
            await pilot.press("a")
            await pilot.pause()
            assert "shares of each side's total" in app.screen.query_one("#cmp-info").render().plain
            for r in table_rows(app):
                for i, s in enumerate(summaries):
                    if r[0] in s.groups:
                        assert r[1 + i].endswith(pct(s.groups[r[0]] / s.total_ns))
            await pilot.press("a")
            # drill into Convolution: its operators, the fused conv + relu + add layers
            names = [r[0] for r in table_rows(app)]
            table = app.screen.query_one("#cmp-table")
            table.move_cursor(row=names.index("Convolution"))
            await pilot.press("enter")
            await pilot.pause()
            ops = table_rows(app)
            conv = next(r for r in ops if r[0].startswith("conv + relu"))
            assert conv[-1] == f"fp16 {fused[0]}, fp32 {fused[1]}"  # fused layers per engine
            assert "operators of Convolution" in app.screen.query_one("#cmp-info").render().plain
            await pilot.press("escape")
            await pilot.pause()
            assert [r[0] for r in table_rows(app)] == names
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(go())


def test_cli_opens_the_compare_screen_for_several_traces():
    import argparse

    from tracekit.cli import tui as tui_cmd

    p = argparse.ArgumentParser()
    tui_cmd.add_arguments(p)
    args = p.parse_args(["a.json", "b.json", "c.json"])
    assert args.path == "a.json" and args.others == ["b.json", "c.json"]


def test_a_missing_trace_is_a_message_not_a_traceback(cache_dir, tmp_path):
    from tui.compare_app import CompareApp

    async def go():
        app = CompareApp([engines()[0], tmp_path / "missing.json"], cache_dir=cache_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_compared(pilot)
            assert app.error and "missing.json" in app.error and "no such file" in app.error
            await pilot.press("q")

    asyncio.run(go())


async def _compared(pilot):
    await wait_compared(pilot)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (140, 45)], ids=["80x24", "140x45"])
def test_snapshot(snap_compare, cache_dir, size):
    """Looks of the group table (update with --snapshot-update after a deliberate change)."""
    from tui.compare_app import CompareApp

    app = CompareApp(engines(), labels=["fp16", "fp32"], cache_dir=cache_dir)
    assert snap_compare(app, terminal_size=size, run_before=_compared)
