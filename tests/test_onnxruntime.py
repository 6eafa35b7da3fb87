"""ONNX Runtime profiles: real CPU profiles made here with onnxruntime (several models,
opsets and optimization levels) and the synthetic CUDA-provider fixtures in
tests/fixtures/ort (see its README). Every number is checked against the file itself,
read with the json module."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

import tracekit
from tests.conftest import kineto_files
from tracekit import analysis

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ort"
CUDA_FIXTURES = ("cuda_ep_fences.json", "cuda_ep_merged.json")
CLI = [sys.executable, "-m", "tracekit.cli.main"]
SCRATCH_CACHE = tempfile.mkdtemp(prefix="tracekit-test-cache-")

GEMM_TYPES = {"MatMul", "Gemm", "FusedMatMul", "FusedGemm"}
CONV_TYPES = {"Conv", "FusedConv"}
NORM_TYPES = {"LayerNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization",
              "SkipSimplifiedLayerNormalization"}


# ------------------------------------------------------------------ helpers

def events_of(path) -> list[dict]:
    return json.loads(Path(path).read_text())


def node_time_us(events, runs=None) -> int:
    """Sum of ``_kernel_time`` durations, optionally only of nodes inside the given runs."""
    total = 0
    for e in events:
        if e["cat"] != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if runs is not None and not any(r["ts"] <= e["ts"] <= r["ts"] + r["dur"] for r in runs):
            continue
        total += e["dur"]
    return total


def model_runs(events) -> list[dict]:
    return sorted((e for e in events if e["cat"] == "Session" and e["name"] == "model_run"),
                  key=lambda e: e["ts"])


def run_cli(*args):
    return run_many([args])[0]


def run_many(calls) -> list[subprocess.CompletedProcess]:
    """Run several CLI commands at once (each pays the interpreter start-up)."""
    env = dict(os.environ, TRACEKIT_CACHE_DIR=SCRATCH_CACHE, COLUMNS="120")
    procs = [(args, subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)) for args in calls]
    out = []
    for args, proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    return out


def summary_json(path, *extra):
    result = run_cli("summary", path, "--json", "--no-cache", *extra)
    return _json_of(result)


def _json_of(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout), result.stderr


def make_fixtures_module():
    spec = importlib.util.spec_from_file_location("ort_make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


# ------------------------------------------------------------------ real CPU profiles

@pytest.fixture(scope="session")
def cpu_profiles(tmp_path_factory):
    """{(model, level): profile path} for every test model at every optimization level."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests import ort_models

    folder = tmp_path_factory.mktemp("ort-profiles")
    return {(name, level): ort_models.profile(name, folder / f"{name}-{level}", level=level)
            for name in ort_models.MODELS for level in ort_models.LEVELS}


MODEL_LEVELS = [(m, lv) for m in ("transformer17", "transformer13", "cnn13", "cnn17")
                for lv in ("disable_all", "enable_extended", "enable_all")]


@pytest.mark.parametrize("model,level", MODEL_LEVELS)
def test_real_cpu_profile_numbers_match_the_file(cpu_profiles, model, level):
    path = cpu_profiles[(model, level)]
    events = events_of(path)
    runs = model_runs(events)
    trace = tracekit.load(path, cache=False)

    assert trace.meta["source"] == "ort"
    assert trace.meta["time_basis"] == "ort_node"
    assert trace.meta["providers"] == ["CPUExecutionProvider"]
    assert trace.meta["runs"] == len(runs) == 4
    assert trace.meta["steps"] == [0, 1, 2, 3]
    assert len(trace.ops) == sum(e["name"].endswith("_kernel_time") for e in events if e["cat"] == "Node")
    assert len(trace.kernels) == 0

    whole = analysis.summarize(trace, step="all")
    assert whole["time_basis"] == "ort_node"
    assert whole["total_ns"] == node_time_us(events) * 1000
    assert sum(whole["groups"].values()) == whole["total_ns"]
    assert whole["gemm_ns"] + whole["non_gemm_ns"] == whole["total_ns"]

    default = analysis.summarize(trace)  # the first run is warm-up
    assert default["steps"] == [1, 2, 3]
    assert default["window"]["dropped_steps"] == [0]
    assert default["total_ns"] == node_time_us(events, runs[1:]) * 1000
    assert sum(default["groups"].values()) == default["total_ns"]
    assert analysis.summarize(trace, step=0)["total_ns"] == node_time_us(events, runs[:1]) * 1000


@pytest.mark.parametrize("model,level", MODEL_LEVELS)
def test_real_cpu_profile_groups(cpu_profiles, model, level):
    trace = tracekit.load(cpu_profiles[(model, level)], cache=False)
    ops = trace.ops.assign(op_type=trace.ops["op_type"].astype(str), name=trace.ops["name"].astype(str),
                           group=trace.ops["group"].astype(str))

    def groups_of(mask):
        return set(ops.loc[mask, "group"])

    gemm = ops["op_type"].isin(GEMM_TYPES)
    assert gemm.any()
    assert groups_of(gemm) == {"GEMM"}
    assert ops.loc[gemm, "is_gemm"].all()
    if model.startswith("cnn"):
        # at enable_all, NCHWc convolutions are named after the output of the Relu fused
        # into them ("/relu/Relu_output_0_nchwc"): still Convolution, not Activation
        conv = ops["op_type"].isin(CONV_TYPES)
        assert conv.any()
        assert groups_of(conv) == {"Convolution"}
        assert groups_of(ops["op_type"].isin({"MaxPool", "GlobalAveragePool"})) == {"Pooling"}
        if level == "enable_extended":
            assert (ops["op_type"] == "FusedConv").any()
    else:
        norm = ops["op_type"].isin(NORM_TYPES)
        # opset 13 has no LayerNormalization: unoptimized, every norm is decomposed
        assert norm.any() == (model != "transformer13" or level != "disable_all")
        assert groups_of(norm) <= {"Normalization"}
        post = ops["name"].str.startswith("/model/layers.0/post_attention_layernorm/")
        assert post.any() and groups_of(post) == {"Normalization"}
        # the decomposed RMSNorm (Pow/ReduceMean/Add/Sqrt/Div/Mul) is Normalization through
        # its module path; fused, it is a SimplifiedLayerNormalization
        rms = ops["name"].str.startswith("/model/layers.0/input_layernorm/")
        assert rms.any() and groups_of(rms) == {"Normalization"}
        if level == "disable_all":
            assert set(ops.loc[rms, "op_type"]) == {"Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul"}
            gelu = ops["name"].str.startswith("/model/layers.0/mlp/act_fn/")
            assert groups_of(gelu) == {"Activation"}  # Erf-based GELU through act_fn
        else:
            assert {"FusedMatMul", "SkipLayerNormalization", "SimplifiedLayerNormalization", "Gelu"} \
                <= set(ops["op_type"])
        softmax = ops["op_type"] == "Softmax"
        assert softmax.any() and groups_of(softmax) == {"Softmax"}
        assert groups_of(ops["op_type"].isin({"Reshape", "Transpose", "Concat", "Slice"})) == {"Memory"}
        assert groups_of(ops["name"] == "/model/embed_tokens/Gather") == {"Embedding"}


def test_real_cpu_profile_ops_and_ranges(cpu_profiles):
    path = cpu_profiles[("transformer17", "disable_all")]
    events = events_of(path)
    trace = tracekit.load(path, cache=False)
    ops = trace.ops
    nodes = [e for e in events if e["cat"] == "Node" and e["name"].endswith("_kernel_time")]
    by_name = {}
    for e in nodes:
        by_name.setdefault(e["name"][: -len("_kernel_time")], []).append(e)
    assert set(ops["name"].astype(str)) == set(by_name)
    row = ops[ops["name"] == "/model/layers.0/input_layernorm/Pow"].iloc[0]
    first = by_name["/model/layers.0/input_layernorm/Pow"][0]
    assert row["op_type"] == "Pow"
    assert row["module"] == "/model/layers.0/input_layernorm"
    assert row["provider"] == "CPUExecutionProvider"
    assert row["source"] == "ort"
    assert row["ts_ns"] == first["ts"] * 1000 and row["dur_ns"] == first["dur"] * 1000
    assert row["self_ns"] == row["dur_ns"] and row["parent"] == -1 and row["depth"] == 0
    assert json.loads(row["shapes"]) == [next(iter(d.values())) for d in first["args"]["input_type_shape"]]
    assert json.loads(row["dtypes"]) == [next(iter(d)) for d in first["args"]["input_type_shape"]]
    assert row["precision"] == "float"
    assert set(ops.loc[ops["name"] == "/lm_head/MatMul", "module"].astype(str)) == {"/lm_head"}
    assert (ops["self_ns"] == ops["dur_ns"]).all()
    assert sorted(set(ops["step"])) == [0, 1, 2, 3]
    assert (ops.groupby("step").size() == len(by_name)).all()  # every node once per run

    ranges = trace.ranges
    runs = ranges[ranges["kind"] == "model_run"].sort_values("ts_ns")
    assert list(runs["step"]) == [0, 1, 2, 3]
    assert list(runs["dur_ns"]) == [r["dur"] * 1000 for r in model_runs(events)]
    annotations = set(ranges.loc[ranges["kind"] == "annotation", "name"].astype(str))
    assert {"model_loading_uri", "session_initialization"} <= annotations


def test_real_cpu_profile_cli(cpu_profiles):
    path = cpu_profiles[("cnn13", "enable_extended")]
    events = events_of(path)
    as_json, as_text = run_many([("summary", path, "--json", "--no-cache"),
                                 ("summary", path, "--no-cache", "--by", "module")])
    summary, _ = _json_of(as_json)
    assert summary["source"] == "ort" and summary["time_basis"] == "ort_node"
    assert summary["steps"] == [1, 2, 3]
    assert summary["total_ns"] == node_time_us(events, model_runs(events)[1:]) * 1000
    result = as_text
    assert result.returncode == 0, result.stderr
    assert "ONNX Runtime node time" in result.stdout


# ------------------------------------------------------------------ format detection

def test_sniff_claims_ort_profiles_only(cpu_profiles):
    import parsers
    from parsers import _io, onnxruntime

    ort_files = [FIXTURES / f for f in (*CUDA_FIXTURES, "cpu_op_name_only.json")] + list(cpu_profiles.values())
    for path in ort_files:
        head = _io.read_head(str(path))
        assert onnxruntime.sniff(head), path
        assert parsers.detect(head) is onnxruntime
    for path in kineto_files():
        assert not onnxruntime.sniff(_io.read_head(str(path))), path
    # Kineto-style bare arrays and objects are not ORT profiles
    assert not onnxruntime.sniff(b'{"traceEvents": [{"cat" : "Session"}]}')
    assert not onnxruntime.sniff(b'[{"ph": "X", "cat": "cpu_op", "name": "aten::mm"}]')
    assert not onnxruntime.sniff(b'[{"ph": "X", "cat": "Kernel", "name": "sgemm"}]')
    assert onnxruntime.sniff(b'\n [ {"cat": "Node", "name": "x_kernel_time"}')


# ------------------------------------------------------------------ synthetic CUDA fixtures

def test_fixtures_are_what_the_generator_writes():
    rendered = make_fixtures_module().render_all()
    assert set(rendered) == {p.name for p in FIXTURES.glob("*.json")}
    for name, text in rendered.items():
        assert (FIXTURES / name).read_text() == text, f"{name}: run tests/fixtures/ort/make_fixtures.py"
    readme = (FIXTURES / "README.md").read_text()
    assert "SYNTHETIC" in readme and "synthetic" in readme


def _expected_nodes(events) -> list:
    """For each Kernel event (file order), the node the runtime attached it to, worked out
    from the file alone: ``parent_name`` where present; otherwise (CudaProfiler, which
    inserts GPU events before their record) the next Node record that carries the kernel's
    ``op_name``; None for GPU events with an empty ``op_name`` (feed/fetch copies)."""
    out = []
    for i, e in enumerate(events):
        if e["cat"] != "Kernel":
            continue
        args = e["args"]
        if args.get("parent_name"):
            parent = args["parent_name"]
            out.append(re.sub(r"_(kernel_time|fence_before|fence_after)$", "", parent)
                       if parent.endswith(("_kernel_time", "_fence_before", "_fence_after")) else None)
            continue
        if not args.get("op_name"):
            out.append(None)
            continue
        nxt = next(x for x in events[i + 1:] if x["cat"] == "Node")
        assert nxt["args"]["op_name"] == args["op_name"]
        out.append(re.sub(r"_(kernel_time|fence_before|fence_after)$", "", nxt["name"]))
    return out


@pytest.mark.parametrize("name", CUDA_FIXTURES)
def test_cuda_fixture_device_time(name):
    path = FIXTURES / name
    events = events_of(path)
    gpu = [e for e in events if e["cat"] == "Kernel"]
    trace = tracekit.load(path, cache=False)
    k = trace.kernels
    assert trace.meta["time_basis"] == "device"
    assert trace.meta["providers"] == ["CPUExecutionProvider", "CUDAExecutionProvider"]
    assert trace.meta["runs"] == 3 and trace.meta["steps"] == [0, 1, 2]
    assert len(k) == len(gpu)
    assert list(k["dur_ns"]) == [e["dur"] * 1000 for e in gpu]
    assert list(k["name"].astype(str)) == [e["name"] for e in gpu]
    assert list(k["stream"]) == [int(e["args"]["stream"]) for e in gpu]
    if name == "cuda_ep_fences.json":  # the older CUDA profiler writes each kernel's end as ts
        assert list(k["ts_ns"]) == [(e["ts"] - e["dur"]) * 1000 for e in gpu]
        assert trace.meta["fences"] and trace.meta["gpu_ts"].startswith("end")
    else:
        assert list(k["ts_ns"]) == [e["ts"] * 1000 for e in gpu]
        assert not trace.meta["fences"] and "MergeEvents" in trace.meta["gpu_ts"]

    whole = analysis.summarize(trace, step="all")
    assert whole["time_basis"] == "device"
    assert whole["total_ns"] == sum(e["dur"] for e in gpu) * 1000
    assert sum(whole["groups"].values()) == whole["total_ns"]
    matmul = sum(e["dur"] for e in gpu if e["args"]["op_name"] == "MatMul") * 1000
    assert whole["gemm_ns"] == matmul
    copies_without_node = [e for e in gpu if e["args"]["op_name"] == ""]
    assert copies_without_node and all(e["name"].startswith("Memcpy") for e in copies_without_node)
    assert whole["unattributed_ns"] == sum(e["dur"] for e in copies_without_node) * 1000

    default = analysis.summarize(trace)
    assert default["steps"] == [1, 2]
    assert default["total_ns"] == int(k.loc[k["step"].isin([1, 2]), "dur_ns"].sum()) < whole["total_ns"]
    assert sum(default["groups"].values()) == default["total_ns"]


@pytest.mark.parametrize("name", CUDA_FIXTURES)
def test_cuda_fixture_kernels_belong_to_their_nodes(name):
    path = FIXTURES / name
    events = events_of(path)
    gpu = [e for e in events if e["cat"] == "Kernel"]
    trace = tracekit.load(path, cache=False)
    k, ops = trace.kernels, trace.ops
    op_names = ops["name"].astype(str).to_numpy()
    op_types = ops["op_type"].astype(str).to_numpy()
    expected = _expected_nodes(events)
    got = [op_names[o] if o >= 0 else None for o in k["op"]]
    assert got == expected
    assert set(k.loc[k["op"] >= 0, "link"].astype(str)) == {"ort_adjacent"}
    assert set(k.loc[k["op"] < 0, "link"].astype(str)) == {"none"}
    for row, e in zip(k.itertuples(), gpu):
        if row.op >= 0:
            assert op_types[row.op] == e["args"]["op_name"]
            assert row.step == ops["step"].iloc[row.op]
    # cuBLAS split-K: two kernels, one MatMul
    o_proj = k[k["op"] == np.flatnonzero(op_names == "/model/layers.0/self_attn/o_proj/MatMul")[1]]
    assert len(o_proj) == 2 and set(o_proj["group"].astype(str)) == {"GEMM"}
    # Reshape launches nothing, and so has no device time
    reshape = np.flatnonzero(op_types == "Reshape")
    assert not k["op"].isin(reshape).any()


@pytest.mark.parametrize("name", CUDA_FIXTURES)
def test_cuda_fixture_memcpy_and_fallback(name):
    path = FIXTURES / name
    trace = tracekit.load(path, cache=False)
    k, ops = trace.kernels, trace.ops
    copies = k[k["name"].astype(str).str.startswith("Memcpy")]
    assert len(copies) == 12  # per run: feed, fetch, MemcpyToHost, MemcpyFromHost
    assert set(copies["kind"].astype(str)) == {"memcpy"}
    assert set(copies["group"].astype(str)) == {"Transfer"}
    direction = {"MemcpyHostToDevice": "HtoD", "MemcpyDeviceToHost": "DtoH"}
    assert list(copies["copy"].astype(str)) == [direction[n] for n in copies["name"].astype(str)]
    op_types = ops["op_type"].astype(str).to_numpy()
    for node_type, copy in (("MemcpyToHost", "DtoH"), ("MemcpyFromHost", "HtoD")):
        mine = copies[copies["op"].isin(np.flatnonzero(op_types == node_type))]
        assert len(mine) == 3 and set(mine["copy"].astype(str)) == {copy}
        # bytes: the Memcpy node's output size (int64 [1,32,4] to the host, [57] back)
        assert set(mine["bytes"]) == {1024 if node_type == "MemcpyToHost" else 456}
    summary = analysis.summarize(trace, step="all")
    assert summary["groups"]["Transfer"] == int(copies["dur_ns"].sum())
    # the fallback node: on the CPU provider, between the two Memcpy nodes, no GPU work
    for _step, run in ops.groupby("step"):
        order = list(run.sort_values("ts_ns")["name"].astype(str))
        at = order.index("/post/Unique")
        assert order[at - 1: at + 2] == ["Memcpy", "/post/Unique", "Memcpy_token_1"]
    unique = ops[ops["name"] == "/post/Unique"]
    assert set(unique["provider"].astype(str)) == {"CPUExecutionProvider"}
    assert set(ops.loc[ops["name"] != "/post/Unique", "provider"].astype(str)) == {"CUDAExecutionProvider"}
    assert set(unique["op_type"].astype(str)) == {"Unique"}
    assert not k["op"].isin(unique.index).any()


def test_cuda_fixture_cli():
    path = FIXTURES / "cuda_ep_merged.json"
    gpu = [e for e in events_of(path) if e["cat"] == "Kernel"]
    default, everything = run_many([("summary", path, "--json", "--no-cache"),
                                    ("summary", path, "--json", "--no-cache", "--step", "all")])
    summary, _ = _json_of(default)
    assert summary["time_basis"] == "device" and summary["steps"] == [1, 2]
    whole, _ = _json_of(everything)
    assert whole["total_ns"] == sum(e["dur"] for e in gpu) * 1000
    assert whole["groups"]["Transfer"] > 0


def test_merged_fixture_without_parent_name_attributes_the_same(tmp_path):
    """Profiles from before ``parent_name`` existed: adjacency and op_name alone."""
    text = (FIXTURES / "cuda_ep_merged.json").read_text()
    stripped = re.sub(r',?"parent_name" : "[^"]*"', "", text).replace('{,', '{')
    path = tmp_path / "no_parent.json"
    path.write_text(stripped)
    assert "parent_name" not in stripped
    a = tracekit.load(FIXTURES / "cuda_ep_merged.json", cache=False)
    b = tracekit.load(path, cache=False)
    assert list(a.kernels["op"]) == list(b.kernels["op"])


def test_old_profile_with_op_name_only():
    path = FIXTURES / "cpu_op_name_only.json"
    events = events_of(path)
    trace = tracekit.load(path, cache=False)
    ops = trace.ops
    assert trace.meta["time_basis"] == "ort_node" and trace.meta["providers"] == []
    assert trace.meta["fences"] is True
    assert len(ops) == 27 and set(ops["provider"].astype(str)) == {""}
    assert set(ops["shapes"].astype(str)) == {""}
    whole = analysis.summarize(trace, step="all")
    assert whole["total_ns"] == node_time_us(events) * 1000
    default = analysis.summarize(trace)
    assert default["steps"] == [1, 2]
    assert default["total_ns"] == node_time_us(events, model_runs(events)[1:]) * 1000
    groups = dict(zip(ops["op_type"].astype(str), ops["group"].astype(str)))
    assert groups["Conv"] == "Convolution" and groups["Gemm"] == "GEMM"
    assert groups["MaxPool"] == "Pooling" and groups["Softmax"] == "Softmax"
    assert groups["Relu"] == "Activation"


# ------------------------------------------------------------------ bad input

def _cut(path: Path, keep: int, tmp_path) -> tuple[Path, list]:
    """The profile cut right after event ``keep`` and halfway into the next one."""
    lines = path.read_text().splitlines()[1:-1]  # one event per line between "[" and "]"
    text = "[\n" + "\n".join(lines[:keep]) + "\n" + lines[keep][: len(lines[keep]) // 2]
    out = tmp_path / f"cut-{path.name}"
    out.write_text(text)
    return out, [json.loads(line.rstrip(",")) for line in lines[:keep]]


@pytest.mark.parametrize("name", CUDA_FIXTURES)
def test_truncated_profile_reads_up_to_the_cut(tmp_path, name):
    src = FIXTURES / name
    n = len(events_of(src))
    cut, kept = _cut(src, n * 2 // 3, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = tracekit.load(cut, cache=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, tracekit.TraceWarning)]
    assert any("cut off" in m for m in messages)
    assert trace.meta["truncated"] is True
    assert len(trace.kernels) == sum(e["cat"] == "Kernel" for e in kept) > 0
    whole, stderr = summary_json(cut, "--step", "all")
    assert "warning" in stderr and "cut off" in stderr
    assert whole["total_ns"] == sum(e["dur"] for e in kept if e["cat"] == "Kernel") * 1000


def test_truncated_cpu_profile(cpu_profiles, tmp_path):
    src = cpu_profiles[("transformer17", "disable_all")]
    cut, kept = _cut(src, len(events_of(src)) // 2, tmp_path)
    whole, stderr = summary_json(cut, "--step", "all")
    assert "cut off" in stderr
    assert whole["total_ns"] == node_time_us(kept) * 1000


def _assert_user_error(result, path, problem):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(path) in lines[0] and problem in lines[0], lines[0]
    assert result.stdout == ""


def test_hand_edited_profiles(tmp_path):
    src = (FIXTURES / "cuda_ep_merged.json").read_bytes()
    first_run = re.search(rb'"dur" :(\d+),"ts" :(\d+),"ph" : "X","name" :"model_run"', src)

    def write(name, data: bytes) -> Path:
        p = tmp_path / name
        p.write_bytes(data)
        return p

    errors = [
        (write("syntax.json", src.replace(b'"ph" : "X"', b'"ph" : "X",,', 1)), "not valid JSON"),
        (write("notobj.json", src.replace(b"},\n{", b"},\n5,\n{", 1)), "malformed ONNX Runtime profile event"),
        (write("badargs.json", src.replace(b'"args" : {}', b'"args" : [1]', 1)), "malformed ONNX Runtime profile event"),
        (write("early.json", src[:src.index(b"\n") + 30]), "cut off before the first complete event"),
        (write("utf8.json", src.replace(b"model_run", b"model_\xff\xfe", 1)), "not UTF-8"),
    ]
    # a non-numeric duration: read as 0; a missing timestamp: the event is skipped (warnings)
    bad_dur = write("dur.json", src.replace(first_run.group(0), first_run.group(0).replace(
        b'"dur" :' + first_run.group(1), b'"dur" :"n/a"'), 1))
    bad_ts = write("ts.json", src.replace(b'"ts" :' + first_run.group(2) + b",", b"", 1))
    # in separate processes: one error, and the two warnings
    results = run_many([("summary", p, "--json", "--no-cache") for p in (errors[0][0], bad_dur, bad_ts)])
    _assert_user_error(results[0], *errors[0])
    _, stderr = _json_of(results[1])
    assert "not a number" in stderr and str(bad_dur) in stderr
    _, stderr = _json_of(results[2])
    assert "no numeric ts" in stderr and str(bad_ts) in stderr
    # the same entry point in this process for the other errors (start-up costs ~1 s each)
    from tracekit.cli.main import main

    for path, problem in errors[1:]:
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
            code = main(["summary", str(path), "--json", "--no-cache", "--cache-dir", SCRATCH_CACHE])
        _assert_user_error(subprocess.CompletedProcess([], code, out.getvalue(), err.getvalue()), path, problem)


def test_gzipped_profile_reads_the_same(tmp_path):
    import gzip

    src = FIXTURES / "cuda_ep_merged.json"
    packed = tmp_path / "profile.json.gz"
    packed.write_bytes(gzip.compress(src.read_bytes()))
    a = analysis.summarize(tracekit.load(src, cache=False), step="all")
    b = analysis.summarize(tracekit.load(packed, cache=False), step="all")
    assert b["source"] == "ort" and b["groups"] == a["groups"] and b["total_ns"] == a["total_ns"]


# ------------------------------------------------------------------ op types vs node instances

def _nodes_frame(events):
    """Every node record of the file: node name, op type (args.op_name) and time in ns."""
    import pandas as pd

    rows = [(e["name"][: -len("_kernel_time")], e["args"]["op_name"], e["dur"] * 1000)
            for e in events if e["cat"] == "Node" and e["name"].endswith("_kernel_time")]
    return pd.DataFrame(rows, columns=["node", "op_type", "ns"])


def _assert_op_rows_are_types(path):
    """by op: one row per op type (per group) with its node count; by node: one row per
    node; both add up to the time of every node record in the file."""
    nodes = _nodes_frame(events_of(path))
    trace = tracekit.load(path, cache=False)
    win = analysis.select(trace, "all")
    by_op, by_node = analysis.breakdown(trace, win, "op"), analysis.breakdown(trace, win, "node")
    total = int(nodes["ns"].sum())
    assert int(by_op["total_ns"].sum()) == int(by_node["total_ns"].sum()) == total
    want = nodes.groupby("op_type").agg(total_ns=("ns", "sum"), calls=("ns", "size"),
                                        instances=("node", "nunique"))
    got = by_op.groupby("name").agg(total_ns=("total_ns", "sum"), calls=("calls", "sum"),
                                    instances=("instances", "sum"))
    want = want[want["total_ns"] > 0]
    assert got.sort_index().to_dict("index") == want.sort_index().to_dict("index")
    want = nodes.groupby("node").agg(total_ns=("ns", "sum"), calls=("ns", "size"))
    got = by_node.groupby("name").agg(total_ns=("total_ns", "sum"), calls=("calls", "sum"))
    assert got.sort_index().to_dict("index") == want[want["total_ns"] > 0].sort_index().to_dict("index")
    # a drill into an op-type row holds every node of that type
    top = by_op.iloc[0]
    calls = analysis.row_calls(trace, win, "op", top["name"])
    of_type = nodes[nodes["op_type"] == top["name"]]
    assert set(calls.calls["op"]) == set(of_type["node"])
    assert calls.self_ns == int(of_type["ns"].sum()) == int(by_op.loc[by_op["name"] == top["name"], "total_ns"].sum())
    return trace, nodes


def test_by_op_is_op_types_on_the_op_name_only_fixture():
    trace, nodes = _assert_op_rows_are_types(FIXTURES / "cpu_op_name_only.json")
    assert nodes.groupby("op_type")["node"].nunique().max() > 1  # a type with several nodes


def test_by_op_is_op_types_on_a_fused_cpu_profile(cpu_profiles):
    path = cpu_profiles[("transformer17", "enable_all")]
    trace, nodes = _assert_op_rows_are_types(path)
    per_type = nodes.groupby("op_type")["node"].nunique()
    assert (per_type > 1).any()
    # the summary's top non-GEMM ops are op types too, one row per (type, group), and the
    # text shows each with its node count
    summary = analysis.summarize(trace)
    tops = [(r.name, r.group) for r in summary.top_non_gemm_ops]
    assert tops and len(set(tops)) == len(tops) and {n for n, _ in tops} <= set(per_type.index)
    as_text, as_json = run_many([("summary", path, "--no-cache", "--by", "op"),
                                 ("summary", path, "--no-cache", "--json", "--by", "node")])
    assert as_text.returncode == 0, as_text.stderr
    shown = analysis.breakdown(trace, analysis.select(trace, None), "op").head(10)
    several = shown[shown["instances"] > 1]
    assert len(several) and all(f"{n} ×{c}" in as_text.stdout for n, c in zip(several["name"], several["instances"]))
    doc, _ = _json_of(as_json)
    assert {r["name"] for r in doc["by"]["node"]} <= set(nodes["node"])
