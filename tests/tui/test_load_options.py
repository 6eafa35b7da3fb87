"""The TUI takes the same loading options as the other commands (--layers reaches the loader)."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from tests.conftest import CORPUS
from tests.tui.conftest import wait_loaded

STEM = ("NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__pytorch__resnet__"
        "A100__qat-residual__resnet-qat-residual.onnx.engine")


def test_tui_loads_a_profile_with_layers_from_elsewhere(make_app, tmp_path):
    src = CORPUS / "tensorrt" / f"{STEM}.profile.json"
    if not src.is_file():
        pytest.skip(f"corpus not found at {src.parent}")
    (tmp_path / "run").mkdir()
    profile = shutil.copy(src, tmp_path / "run" / "engine.profile.json")
    graph = shutil.copy(src.with_name(f"{STEM}.graph.json"), tmp_path / "renamed.json")

    async def go(**kw):
        app = make_app(profile, cache_dir=tmp_path / "cache", **kw)
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_loaded(pilot)
            assert app.error is None
            meta = app.screen.query_one("#ov-meta").render().plain
            await pilot.press("q")
        return app.trace, meta

    bare, _ = asyncio.run(go())
    assert bare.meta["files"]["layers"] is None
    assert set(bare.ops["precision"].astype(str)) == {""}
    trace, meta = asyncio.run(go(layers=str(graph)))
    assert trace.meta["files"]["layers"] == str(graph)
    assert {"INT8", "FP32"} <= set(trace.ops["precision"].astype(str))
    assert "TensorRT layer time" in meta
