"""The TUI keeps its first screen's numbers beside the cached trace: reopening reads them
back instead of summarizing again, and they equal a fresh computation."""
from __future__ import annotations

import os

import pandas as pd

from tui import loader
from tui import queries as q


def _same(a: q.Overview, b: q.Overview) -> None:
    for name in vars(a):
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        else:
            assert x == y, name


def test_reopened_overview_is_read_back_and_equal(decoder, tmp_path):
    trace, first = loader.load(str(decoder), cache_dir=tmp_path)
    saved = loader.overview_file(trace, q.Scope(), None, tmp_path)
    assert saved is not None and saved.exists()
    trace2, again = loader.load(str(decoder), cache_dir=tmp_path)
    assert again is not first
    _same(again, q.overview(trace2, q.Scope()))  # the numbers a fresh summary gives
    # another scope is another file
    step = trace.meta.steps[-1]
    assert loader.overview_file(trace, q.Scope(step=str(step)), None, tmp_path) != saved


def test_a_file_others_could_write_is_not_read(decoder, tmp_path):
    trace, _ = loader.load(str(decoder), cache_dir=tmp_path)
    saved = loader.overview_file(trace, q.Scope(), None, tmp_path)
    assert loader.read_overview(saved) is not None
    os.chmod(saved, 0o666)
    assert loader.read_overview(saved) is None
    saved.write_bytes(b"not a pickle")
    os.chmod(saved, 0o600)
    assert loader.read_overview(saved) is None
    _, fresh = loader.load(str(decoder), cache_dir=tmp_path)  # recomputed and rewritten
    assert isinstance(loader.read_overview(saved), q.Overview)
    _same(fresh, q.overview(trace, q.Scope()))


def test_no_cache_writes_nothing(decoder, tmp_path):
    loader.load(str(decoder), cache=False, cache_dir=tmp_path)
    assert not (tmp_path / "overviews").exists()


def test_app_shows_the_preview_while_the_trace_loads(decoder, tmp_path, monkeypatch):
    """A second session draws the last overview at once, then the loaded trace's."""
    import asyncio
    import threading

    from tests.tui.conftest import wait_loaded, wait_until
    from tui.app import TracekitApp

    loader.load(str(decoder), cache_dir=tmp_path)  # the first session
    release, real = threading.Event(), loader.load
    monkeypatch.setattr(loader, "load", lambda *a, **kw: (release.wait(30), real(*a, **kw))[1])

    async def go():
        app = TracekitApp(str(decoder), cache_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            def drawn(a) -> bool:  # pushed is not enough: its sections must be mounted
                return (type(a.screen).__name__ == "OverviewScreen" and a.screen.is_mounted
                        and bool(a.screen.query("#ov-gemm")))

            try:
                await wait_until(pilot, drawn, "the preview", timeout=30)
                preview = app.screen
                assert preview.trace is None and app.trace is None  # the preview, before the load
                shown = preview.query_one("#ov-gemm").render().plain
                assert "GEMM" in shown
                await pilot.press("enter")  # opening a group needs the trace: nothing happens
                await pilot.press("2")  # a screen asked for now opens once the trace is in
                release.set()
                await wait_loaded(pilot)
                assert type(app.screen).__name__ == "OperatorsScreen" and app.screen.trace is app.trace
                await pilot.press("1")
                await pilot.pause()
                # the preview screen itself was handed the trace: nothing was removed
                assert app.screen is preview and preview.trace is app.trace is not None
                assert preview.query_one("#ov-gemm").render().plain == shown
                assert len(app.screen_stack) == 1
            finally:  # a failed check must not leave the load waiting
                release.set()

    asyncio.run(go())


def test_a_load_that_fails_after_the_preview_shows_why(decoder, tmp_path, monkeypatch):
    import asyncio

    from tests.tui.conftest import wait_until
    from tui.app import TracekitApp
    from tui.screens.loading import LoadingScreen

    loader.load(str(decoder), cache_dir=tmp_path)  # the first session

    def broken(*a, **kw):
        raise OSError(f"{decoder}: the disk went away")

    monkeypatch.setattr(loader, "load", broken)

    async def go():
        app = TracekitApp(str(decoder), cache_dir=tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_until(pilot, lambda a: a.error is not None, "the failure", timeout=30)
            await pilot.pause()
            assert isinstance(app.screen, LoadingScreen) and app.trace is None
            assert "the disk went away" in app.error
            await pilot.press("2")  # nothing to show: stays on the message
            assert isinstance(app.screen, LoadingScreen)

    asyncio.run(go())
