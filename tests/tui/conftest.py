"""Fixtures for the TUI tests: real traces read in place, a scratch cache, and a helper
that waits until the app has loaded its trace."""
from __future__ import annotations

import time

import pytest

pytest.importorskip("textual")

from tests.conftest import SAMPLES, corpus_file

RESNET = "pytorch__kineto__tb_plugin__samples__resnet50_num_workers_0__worker0.1623143089861"
DECODER = SAMPLES / "decoder_h100.pt.trace.json.gz"


@pytest.fixture(scope="session")
def resnet():
    return corpus_file(RESNET)


@pytest.fixture(scope="session")
def decoder():
    return DECODER


@pytest.fixture
def make_app(cache_dir):
    from tui.app import TracekitApp

    def _make(path, **kw):
        kw.setdefault("cache_dir", cache_dir)
        return TracekitApp(str(path), **kw)

    return _make


async def wait_until(pilot, ready, what: str, timeout: float = 60.0) -> None:
    """Until ``ready(app)`` holds or the load failed (``app.error``), then let it draw."""
    app = pilot.app
    start = time.monotonic()
    while not ready(app) and app.error is None:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} did not load")
        await pilot.pause(0.05)
    await pilot.pause()


async def wait_loaded(pilot, timeout: float = 60.0) -> None:
    """Until the first screen is up (or the load failed), then let it draw."""
    app = pilot.app
    await wait_until(pilot, lambda a: a.trace is not None, "trace", timeout)
    await app.workers.wait_for_complete()
    await pilot.pause()
