"""``tracekit collect sweep``: a small CPU sweep (tests/conftest.py TINY_SWEEP) writes one
trace per model x batch (x seq) x runtime and an index whose labels agree with what the
collectors recorded in each file; cells this machine cannot run are skipped with a reason,
a failing cell does not stop the sweep, and a rerun collects nothing that is there."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from tests.conftest import TINY_SWEEP


def cli(*argv):
    """tracekit in this process: (exit code, stderr)."""
    from tracekit.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def recorded(path) -> dict:
    """What the collector wrote about the run: the Kineto file's ``tracekit`` key, or the
    ONNX Runtime sidecar, read with the standard library."""
    if path.with_name(path.name + ".meta.json").exists():
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
        meta["batch"] = next(iter(meta["inputs"].values()))[0]
        return meta
    return json.loads(path.read_text())["tracekit"]


def test_sweep_writes_every_cell_and_an_index_that_matches_the_files(tiny_sweep):
    folder, seconds = tiny_sweep
    print(f"tiny sweep: {seconds:.1f} s")
    index = json.loads((folder / "index.json").read_text())
    cells = {(e["model"], e["runtime"], e["batch"], e["seq"]) for e in index["traces"]}
    expected = {(m, r, b, 32 if m == "gpt2" else None)
                for m in ("gpt2", "resnet50") for r in ("torch", "onnxruntime") for b in (1, 2)}
    assert cells == expected
    assert index["failed"] == [] and index["skipped"] == []
    for entry in index["traces"]:
        path = folder / entry["file"]
        meta = recorded(path)
        assert meta["model"] == entry["model"] and meta["batch"] == entry["batch"]
        assert entry["device"] == "cpu" and entry["dtype"] == "float32"
        assert meta.get("runtime", "").replace("pytorch-eager", "torch") == entry["runtime"]
        if entry["seq"]:
            assert meta["seq"] == entry["seq"]


def test_rerun_resumes_without_collecting_again(tiny_sweep):
    folder, _ = tiny_sweep
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json") if p.name != "index.json"}
    code, err = cli("collect", "sweep", *TINY_SWEEP, "-o", folder)
    assert code == 0, err
    assert "0 collected, 8 already there, 0 skipped, 0 failed" in err
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json") if p.name != "index.json"} == before


def test_cells_the_machine_cannot_run_are_skipped_with_a_reason(tmp_path):
    pytest.importorskip("torch", reason="the sweep needs torch")
    code, err = cli("collect", "sweep", "--models", "gpt2", "--runtimes", "tensorrt", "-o", tmp_path)
    assert code == 0, err
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["traces"] == [] and len(index["skipped"]) == 1
    assert "TensorRT" in index["skipped"][0]["reason"] and "skipped: gpt2 tensorrt" in err


def broken():
    raise RuntimeError("this model cannot be built")


def tiny_linear():
    import torch

    return torch.nn.Linear(8, 8), torch.rand(2, 8)


def test_a_failing_cell_does_not_stop_the_sweep_and_is_retried(tmp_path):
    pytest.importorskip("torch", reason="the sweep needs torch")
    models = "tests.test_sweep:broken,tests.test_sweep:tiny_linear"
    args = ["collect", "sweep", "--models", models, "--runtimes", "torch", "--steps", "1",
            "--warmup", "0", "-o", tmp_path]
    code, err = cli(*args)
    assert code == 1, err
    index = json.loads((tmp_path / "index.json").read_text())
    assert [e["model"] for e in index["traces"]] == ["tests.test_sweep:tiny_linear"]
    assert "this model cannot be built" in index["failed"][0]["reason"]
    assert (tmp_path / index["traces"][0]["file"]).exists()
    code, err = cli(*args)  # the failed cell runs again, the good one is reused
    assert code == 1 and "0 collected, 1 already there, 0 skipped, 1 failed" in err


@pytest.mark.parametrize("argv,words", [
    (["--models", "gpt2", "--runtimes", "jax"], "unknown runtime 'jax'"),
    (["--models", "nosuchmodel"], "unknown model 'nosuchmodel'"),
])
def test_bad_sweep_arguments_are_one_line(tmp_path, argv, words):
    code, err = cli("collect", "sweep", *argv, "-o", tmp_path)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err


def test_a_bad_batch_list_is_a_usage_error(tmp_path):
    code, err = cli("collect", "sweep", "--models", "gpt2", "--batch", "1,x", "-o", tmp_path)
    assert code == 2 and "positive integers" in err
