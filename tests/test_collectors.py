"""Collectors: tiny registry models run end to end on CPU under torch.profiler and ONNX
Runtime through ``tracekit collect``; their traces load and show GEMM, Normalization and
Activation time and a module breakdown. GPU-only paths (CUDA, TensorRT, Nsight) are
skipped with the reason where absent."""
from __future__ import annotations

import argparse
import json

import pytest

import tracekit

torch = pytest.importorskip("torch", reason="collectors need torch (pip install '.[collect]')")
pytest.importorskip("transformers", reason="registry models need transformers ('.[collect]')")

from tracekit.cli import collect as collect_cmd  # noqa: E402
from tracekit.cli import main as cli_main  # noqa: E402

MODELS = ("gpt2", "bert", "vit", "resnet50")
FAST = ["--size", "tiny", "--seq", "32", "--image-size", "64", "--steps", "2", "--warmup", "1"]


@pytest.fixture
def cli(monkeypatch):
    """tracekit's own main() with ``collect`` registered (as tracekit/cli/main.py will)."""
    monkeypatch.setitem(cli_main.SUBCOMMANDS, "collect", collect_cmd)
    return lambda *argv: cli_main.main(["collect", *map(str, argv)])


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """One torch and one ONNX Runtime trace per model, collected once for the module."""
    out = tmp_path_factory.mktemp("collect")
    parser = argparse.ArgumentParser()
    collect_cmd.add_arguments(parser)
    paths = {}
    for model in MODELS:
        for runtime, suffix in (("torch", ".json.gz" if model == "bert" else ".json"),
                                ("onnxruntime", ".json")):
            path = out / f"{model}-{runtime}{suffix}"
            # ORT folds ResNet's BatchNorm and ReLU into Conv by default: ask for the
            # unfused graph so the non-GEMM operators are timed on their own
            extra = ["--optimization", "disable"] if (model, runtime) == ("resnet50", "onnxruntime") else []
            args = parser.parse_args([runtime, "--model", model, *FAST, *extra, "-o", str(path)])
            assert collect_cmd.run(args) == 0
            paths[model, runtime] = path
    return paths


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime"])
@pytest.mark.parametrize("model", MODELS)
def test_trace_shows_gemm_normalization_activation_and_modules(traces, model, runtime):
    trace = tracekit.load(str(traces[model, runtime]), cache=False)
    summary = trace.summary()
    assert summary["total_ns"] > 0
    groups = {g for g, ns in summary["groups"].items() if ns > 0}
    assert "GEMM" in groups or "Convolution" in groups, groups
    assert {"Normalization", "Activation"} <= groups, groups
    by_module = trace.breakdown(by="module")
    named = [str(n) for n in by_module["name"] if str(n) and not str(n).startswith("(")]
    assert named, by_module
    assert by_module["total_ns"].sum() == summary["total_ns"]


def test_torch_module_paths_name_classes_and_block_indices(traces):
    trace = tracekit.load(str(traces["gpt2", "torch"]), cache=False)
    modules = set(trace.ops["module"].astype(str))
    assert any(m.startswith("GPT2LMHeadModel.GPT2Model.GPT2Block_1.") for m in modules), modules
    gelu = trace.ops[trace.ops["module"].astype(str).str.endswith("NewGELUActivation")]
    assert len(gelu) and set(gelu["group"].astype(str)) == {"Activation"}
    assert trace.meta["steps"] == [1, 2]  # ProfilerStep#N from the schedule (warmup 1)


def test_torch_metadata_is_recorded_in_the_trace(traces):
    from collectors.run import read_json

    meta = read_json(str(traces["bert", "torch"]))["tracekit"]
    assert meta["model"] == "bert" and meta["size"] == "tiny" and meta["weights"] == "random"
    assert meta["batch"] == 1 and meta["seq"] == 32 and meta["dtype"] == "float32"
    assert meta["device"] == "cpu" and meta["versions"]["torch"] == torch.__version__
    assert "transformers" in meta["versions"]
    meta = read_json(str(traces["vit", "torch"]))["tracekit"]
    assert meta["image_size"] == [64, 64]
    # and tracekit.load surfaces it
    loaded = tracekit.load(traces["bert", "torch"], cache=False).meta["collected"]
    assert loaded["model"] == "bert" and loaded["weights"] == "random"


def test_onnxruntime_sidecar_records_providers_used(traces):
    path = str(traces["resnet50", "onnxruntime"])
    with open(path + ".meta.json") as f:
        meta = json.load(f)
    assert meta["providers_used"] == ["CPUExecutionProvider"]
    assert meta["model"] == "resnet50" and meta["weights"] == "random"
    assert meta["image_size"] == [64, 64] and "onnxruntime" in meta["versions"]
    assert meta["graph_optimization"] == "disable" and meta["exporter_folds_batchnorm"] is False


# A custom model: an RMSNorm written as five aten ops must come out as Normalization.
class MyRMSNorm(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(16, 16)
        self.norm = MyRMSNorm(16)

    def forward(self, x):
        return self.norm(self.fc(x))


def build_custom():
    return Tiny(), torch.rand(2, 16)


def test_custom_module_callable_and_custom_rmsnorm_is_normalization(cli, tmp_path):
    out = tmp_path / "custom.json"
    assert cli("torch", "--model", "tests.test_collectors:build_custom", "--steps", "2",
               "--warmup", "1", "-o", out) == 0
    trace = tracekit.load(str(out), cache=False)
    norm = trace.ops[trace.ops["module"].astype(str) == "Tiny.MyRMSNorm"]
    assert len(norm) >= 4
    assert set(norm["group"].astype(str)) == {"Normalization"}
    assert trace.summary()["groups"]["GEMM"] > 0


def test_onnxruntime_profiles_an_existing_onnx_file(cli, tmp_path, capsys):
    onnx_file = tmp_path / "m.onnx"
    first = tmp_path / "first.json"
    assert cli("onnxruntime", "--model", "tests.test_collectors:build_custom", "--steps", "1",
               "--warmup", "0", "--keep-onnx", onnx_file, "-o", first) == 0
    capsys.readouterr()
    out = tmp_path / "again.json"
    assert cli("onnxruntime", "--onnx", onnx_file, "--steps", "2", "-o", out) == 0
    printed = capsys.readouterr().out  # the run ends with the summary of what it wrote
    assert f"$ tracekit summary {out}" in printed and "GEMM-based" in printed
    assert "Time by group" in printed and "USDT:" not in printed
    summary = tracekit.load(str(out), cache=False).summary()
    assert summary["total_ns"] > 0
    # the warm-up runs the collector says it ran are the ones the summary drops
    meta = json.loads((tmp_path / "again.json.meta.json").read_text())
    assert meta["runs"] == 4 and len(summary.window.all_steps) == 4
    assert summary.window.dropped_steps == summary.window.all_steps[:meta["warmup_runs"]]
    assert summary.steps == summary.window.all_steps[meta["warmup_runs"]:]


def test_quantize_int8_runs_on_cpu(cli, tmp_path):
    out = tmp_path / "q.json"
    assert cli("torch", "--model", "bert", *FAST, "--quantize", "int8", "-o", out) == 0
    trace = tracekit.load(str(out), cache=False)
    names = set(trace.ops["name"].astype(str))
    assert any("quantized" in n for n in names), sorted(names)[:50]


def test_list_shows_the_registry(cli, capsys):
    assert cli("--list") == 0
    text = capsys.readouterr().out
    for name in ("gpt2", "bert", "vit", "resnet50", "llama2-7b", "swin", "detr", "mask-rcnn"):
        assert name in text


@pytest.mark.parametrize("argv, message", [
    (["torch", "--model", "nosuchmodel", "-o", "x.json"], "unknown model 'nosuchmodel'"),
    (["torch", "--model", "no_such_module_xyz:build", "-o", "x.json"], "cannot import module"),
    (["torch", "--model", "tests.test_collectors:nothing", "-o", "x.json"], "has no attribute"),
    (["torch", "--model", "gpt2", "--size", "huge", "-o", "x.json"], "has no size 'huge'"),
    (["torch", "--model", "gpt2", "-o", "x.txt"], "must end with .json"),
    (["onnxruntime", "--onnx", "missing.onnx", "-o", "x.json"], "no such ONNX file"),
    (["torch", "--model", "gpt2", "--device", "cuda", "-o", "x.json"], None),
    ([], "name a collector"),
])
def test_bad_input_is_one_line_and_exit_code_2(cli, capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    if argv[-3:-1] == ["cuda", "-o"] and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tracekit: error:") and "\n" not in err
    if message:
        assert message in err


def test_torchvision_detectors_say_what_is_missing(cli, capsys, tmp_path):
    try:
        import torchvision  # noqa: F401
        pytest.skip("torchvision is installed here")
    except ImportError:
        pass
    assert cli("torch", "--model", "faster-rcnn", "--size", "tiny", "-o", tmp_path / "x.json") == 2
    assert "needs torchvision" in capsys.readouterr().err


def test_compile_eager_fallback_message_or_trace(cli, capsys, tmp_path):
    """torch.compile on CPU needs a C++ toolchain; either a trace or a one-line error."""
    out = tmp_path / "c.json"
    code = cli("torch", "--model", "tests.test_collectors:build_custom", "--steps", "1",
               "--warmup", "1", "--compile", "-o", out)
    if code == 2:
        assert "torch.compile failed" in capsys.readouterr().err
        pytest.skip("torch.compile does not work in this environment")
    assert code == 0 and tracekit.load(str(out), cache=False).summary()["total_ns"] > 0


def test_tensorrt_collector(cli, capsys, tmp_path):
    from collectors import tensorrt

    if tensorrt.available() is None:
        assert cli("tensorrt", "--model", "gpt2", "--size", "tiny", "-o", tmp_path) == 2
        assert "TensorRT is not available" in capsys.readouterr().err
        pytest.skip(tensorrt.unavailable_reason())
    assert cli("tensorrt", "--model", "resnet50", "--size", "tiny", "--image-size", "64",
               "-o", tmp_path) == 0
    assert tracekit.load(str(tmp_path / "resnet50.profile.json"), cache=False).summary()["total_ns"] > 0


def test_nsys_collector_commands_and_absence(cli, capsys, tmp_path):
    from collectors import nsys

    profile, export = nsys.commands("run", ["python", "x.py"])
    assert profile[:3] == ["nsys", "profile", "--trace=cuda,nvtx,osrt"] and profile[-2:] == ["python", "x.py"]
    assert export[:4] == ["nsys", "export", "--type", "sqlite"]
    if nsys.available() is None:
        assert cli("nsys", "-o", tmp_path / "run", "--", "python", "-c", "pass") == 2
        assert "'nsys' is not on PATH" in capsys.readouterr().err
        pytest.skip(nsys.unavailable_reason())
    if not torch.cuda.is_available():
        pytest.skip("nsys is present but no CUDA GPU")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_torch_collector_on_cuda(cli, tmp_path):
    out = tmp_path / "gpu.json"
    assert cli("torch", "--model", "gpt2", *FAST, "--device", "cuda", "-o", out) == 0
    assert tracekit.load(str(out), cache=False).summary()["total_ns"] > 0


def test_collectors_import_no_parser_and_no_tui():
    import subprocess
    import sys

    code = ("import sys, collectors.models, collectors.torch, collectors.onnxruntime, "
            "collectors.tensorrt, collectors.nsys, collectors.annotate;"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('parsers','tui')];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_annotation_wraps_every_module_and_restores_forward():
    from collectors.annotate import annotate, module_labels

    model = Tiny()
    labels = module_labels(model)
    assert sorted(labels.values()) == ["Linear", "MyRMSNorm", "Tiny"]
    seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU())
    assert sorted(module_labels(seq).values()) == ["GELU_1", "Linear_0", "Sequential"]
    with annotate(model):
        assert all("forward" in m.__dict__ for m in model.modules())
        with torch.profiler.profile() as prof:
            model(torch.rand(2, 16))
    assert not any("forward" in m.__dict__ for m in model.modules())
    names = {e.name for e in prof.events()}
    assert {"Tiny", "Linear", "MyRMSNorm"} <= names
