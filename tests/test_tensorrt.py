"""TensorRT trtexec exports (parsers/tensorrt.py): every corpus file, numbers checked against
the files themselves (read here with the json module), sibling discovery, --layers, partial
inputs (profile alone, layer info alone, times alone, layer_names_only), Metadata node lists,
bad input, and ``tracekit summary`` on the command line.

Corpus files are read in place from ../shared/corpus/tensorrt; tests that need a file alone
copy it to pytest's tmp_path (outside the repository)."""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import warnings
from functools import cache
from pathlib import Path

import pytest

import parsers
import parsers.tensorrt as trt
import tracekit
from tests.conftest import CORPUS
from tracekit.model import FUSED_SEP, TraceError, TraceWarning

TRT_DIR = CORPUS / "tensorrt"
CLI = [sys.executable, "-m", "tracekit.cli.main"]


def trt_files() -> list[Path]:
    return sorted(TRT_DIR.glob("*.json")) if TRT_DIR.is_dir() else []


def stems() -> list[str]:
    return sorted(p.name[: -len(".profile.json")] for p in TRT_DIR.glob("*.profile.json")) if TRT_DIR.is_dir() else []


def corpus(fragment: str, role: str = "profile") -> Path:
    if not TRT_DIR.is_dir():
        pytest.skip(f"corpus not found at {TRT_DIR}")
    suffix = {"profile": ".profile.json", "layers": ".graph.json", "times": ".timing.json"}[role]
    hits = [p for p in trt_files() if fragment in p.name and p.name.endswith(suffix)]
    assert len(hits) == 1, f"{fragment!r} {role}: {hits}"
    return hits[0]


@cache
def raw(path: Path):
    return json.loads(Path(path).read_text())


def profile_layers(path: Path) -> list[dict]:
    return [e for e in raw(path)[1:] if "name" in e]


def role_of(path: Path) -> str:
    return {"profile": "profile", "graph": "layers", "timing": "times"}[path.name.rsplit(".", 2)[-2]]


def sibling(path: Path, role: str) -> Path:
    stem = path.name.rsplit(".", 2)[0]
    return path.with_name(stem + {"profile": ".profile.json", "layers": ".graph.json", "times": ".timing.json"}[role])


def parse_quiet(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traces = trt.parse(path, **kw)
    assert len(traces) == 1
    return traces[0], [str(w.message) for w in caught if issubclass(w.category, TraceWarning)]


def copy(src: Path, dst_dir: Path, name: str | None = None) -> Path:
    dst = dst_dir / (name or src.name)
    shutil.copyfile(src, dst)
    return dst


# ----------------------------------------------------------------------------- detection

@pytest.mark.parametrize("path", trt_files(), ids=lambda p: p.name[60:])
def test_every_corpus_file_is_detected_by_content(path):
    head = path.read_bytes()[: 1 << 16]
    assert trt.kind_of(head) == role_of(path)
    assert parsers.detect(head) is trt


def test_sniff_does_not_claim_other_json():
    heads = [
        b'{"schemaVersion": 1, "traceEvents": [{"ph": "X", "name": "aten::mm"}]}',
        b'{"traceEvents": []}',
        b'[{"name": "aten::mm", "ph": "X", "ts": 1, "dur": 2, "pid": 1, "tid": 1}]',
        # ONNX Runtime profiling JSON
        b'[\n{"cat" : "Session","pid" :1,"tid" :1,"dur" :10,"ts" :2,"ph" : "X","name" :"model_loading_uri","args" : {}},',
        b'[{"cat": "Node", "name": "Conv_0_kernel_time", "args": {"op_name": "Conv"}}]',
        b'[]', b'{}', b'[1, 2, 3]', b'{"Layer": []}', b'[{"counts": 1}]', b'[{"count": "1"}]',
        b'{"nodes": [], "schema": "1.0.1"}',
    ]
    for head in heads:
        assert not trt.sniff(head), head
    kineto = CORPUS / "kineto"
    if kineto.is_dir():
        for p in sorted(kineto.iterdir())[:40]:
            if p.name.endswith(".json"):
                assert not trt.sniff(p.read_bytes()[: 1 << 16]), p.name


def test_sniff_accepts_whitespace_bom_and_key_orders():
    assert trt.kind_of(b'\xef\xbb\xbf  [ {"count": 3} ]') == "profile"
    assert trt.kind_of(b'{"Bindings": ["a"], "Layers": ["x"]}') == "layers"
    assert trt.kind_of(b'[{"latencyMs": 1.0, "computeMs": 1.0}]') == "times"
    assert trt.kind_of(b'{\n  "Layers": [') == "layers"


# ----------------------------------------------------------------------------- corpus

@pytest.mark.parametrize("path", trt_files(), ids=lambda p: p.name[60:])
def test_every_corpus_file_loads_with_numbers_from_the_file(path, tmp_path):
    profile = sibling(path, "profile")
    layers = profile_layers(profile)
    expected = sum(round(e["averageMs"] * 1e6) for e in layers)
    direct, messages = parse_quiet(path)
    assert messages == [], messages
    loaded = tracekit.load(path, cache=False)
    again = tracekit.load(path, cache_dir=tmp_path)  # through the cache, too
    for trace in (direct, loaded, again):
        assert trace.meta["source"] == "trt" and trace.meta["time_basis"] == "trt_layer"
        assert len(trace.ops) == len(layers) == len(raw(sibling(path, "layers"))["Layers"])
        assert list(trace.ops["name"].astype(str)) == [e["name"] for e in layers]
        assert int(trace.ops["dur_ns"].sum()) == expected
        assert abs(expected - sum(e["averageMs"] for e in layers) * 1e6) <= len(layers)
        assert len(trace.kernels) == 0
    s = loaded.summary()
    assert s["time_basis"] == "trt_layer" and s["source"] == "trt"
    assert s["total_ns"] == expected == sum(s["groups"].values()) == s["gemm_ns"] + s["non_gemm_ns"]
    assert s["ops"] == len(layers)
    # ResNet and MobileNet engines are mostly convolutions
    assert 0.6 < s["gemm_ns"] / s["total_ns"] < 1.0
    assert max(s["groups"], key=s["groups"].get) == "Convolution"
    assert by_group_from_names(loaded) == {k: v for k, v in s["groups"].items() if v}


def by_group_from_names(trace) -> dict:
    out: dict[str, int] = {}
    for g, ns in zip(trace.ops["group"].astype(str), trace.ops["self_ns"]):
        out[g] = out.get(g, 0) + int(ns)
    return {k: v for k, v in out.items() if v}


@pytest.mark.parametrize("stem", stems(), ids=lambda s: s[60:])
def test_profile_timeline_and_layer_details_follow_the_files(stem):
    profile = TRT_DIR / f"{stem}.profile.json"
    graph = raw(TRT_DIR / f"{stem}.graph.json")["Layers"]
    trace, _ = parse_quiet(profile)
    ops = trace.ops
    dur = [round(e["averageMs"] * 1e6) for e in profile_layers(profile)]
    assert list(ops["dur_ns"]) == dur == list(ops["self_ns"])
    assert list(ops["ts_ns"]) == [sum(dur[:i]) for i in range(len(dur))]
    assert (ops["parent"] == -1).all() and (ops["depth"] == 0).all()
    assert set(ops["provider"].astype(str)) == {"TensorRT"} and set(ops["source"].astype(str)) == {"trt"}
    info = trace.meta["trt_layers"]
    assert info["layer_type"] == [layer["LayerType"] for layer in graph]
    for layer, precision, fused, op_type in zip(graph, ops["precision"].astype(str),
                                                ops["fused"].astype(str), ops["op_type"].astype(str)):
        fmt = (layer["Inputs"] or layer["Outputs"])[0]["Format/Datatype"]
        want = {"FP32": "FP32", "FP16": "FP16", "Int8": "INT8"}
        assert precision == next(v for k, v in want.items() if k in fmt), (layer["Name"], fmt)
        if layer["Name"].startswith("Reformatting CopyNode"):
            assert fused == "" and op_type in ("Reformat", "NoOp")
        elif any(t.startswith(("Conv_", "Gemm_")) for t in layer["Name"].split(" + ")):
            assert op_type in ("Conv", "Gemm"), layer["Name"]
    assert trace.meta["profile_iterations"] == raw(profile)[0]["count"]
    assert trace.meta["layer_info"] == "detailed"
    assert trace.meta["bindings"] == raw(TRT_DIR / f"{stem}.graph.json")["Bindings"]


def test_fused_nodes_op_types_and_precision_on_the_fp16_resnet():
    trace, _ = parse_quiet(corpus("fp16__resnet"))
    row = trace.ops[trace.ops["name"] == "Conv_5 + Add_6 + Relu_7"].iloc[0]
    assert row["fused"] == FUSED_SEP.join(["Conv_5", "Add_6", "Relu_7"])
    assert row["op_type"] == "Conv" and row["precision"] == "FP16" and row["module"] == ""
    assert json.loads(row["shapes"]) == [[32, 64, 56, 56], [32, 64, 56, 56]]
    gemm = trace.ops[trace.ops["name"] == "Gemm_48"].iloc[0]
    assert gemm["op_type"] == "Gemm"  # implemented as a CaskConvolution; the ONNX op decides
    pool = trace.ops[trace.ops["name"] == "MaxPool_2"].iloc[0]
    assert pool["op_type"] == "CudaPooling" and pool["fused"] == "MaxPool_2"
    loaded = tracekit.load(corpus("fp16__resnet"), cache=False)
    groups = dict(zip(loaded.ops["name"].astype(str), loaded.ops["group"].astype(str)))
    assert groups["Gemm_48"] == "GEMM" and groups["Conv_0 + Relu_1"] == "Convolution"
    assert groups["MaxPool_2"] == "Pooling" and groups["GlobalAveragePool_46"] == "Pooling"
    assert groups["Reformatting CopyNode for Input Tensor 0 to Conv_0 + Relu_1"] == "Memory"
    assert loaded.meta["precision"] == "FP16"


def test_qat_layers_quantize_reformats_are_qdq():
    loaded = tracekit.load(corpus("A100__qat__resnet-qat"), cache=False)
    ops = loaded.ops
    q = ops[ops["name"].astype(str).str.fullmatch(r"QuantizeLinear_\d+")]
    assert len(q) == 10 and set(q["group"].astype(str)) == {"QDQ"}
    assert set(q["op_type"].astype(str)) == {"QuantizeLinear"}
    conv = ops[ops["name"] == "conv1.weight + QuantizeLinear_7 + Conv_9"].iloc[0]
    assert conv["fused"] == "QuantizeLinear_7" + FUSED_SEP + "Conv_9"  # weights are no ONNX node
    assert conv["precision"] == "INT8" and conv["group"] == "Convolution"
    # old exporters' node names carry no module path; the weights' names do
    assert conv["module"] == "conv1"
    # one row per module path by instance; by module, instances of a class path share one
    by_instance = loaded.breakdown(by="instance")
    assert "layer4.0.downsample.0" in set(by_instance["name"])
    by_module = loaded.breakdown(by="module")
    assert "layer4.downsample" in set(by_module["name"]) and "layer4.0.downsample.0" not in set(by_module["name"])
    for table in (by_instance, by_module):
        assert int(table["total_ns"].sum()) == int(ops["dur_ns"].sum())
    assert loaded.meta["precision"] == "INT8"


def test_mobilenet_pointwise_clip_is_unwrapped():
    trace, _ = parse_quiet(corpus("mobilenet.qat", "layers"))
    row = trace.ops[trace.ops["name"] == "features.0.0.weight + QuantizeLinear_8 + Conv_12 + PWN(Clip_16)"].iloc[0]
    assert row["fused"].split(FUSED_SEP) == ["QuantizeLinear_8", "Conv_12", "Clip_16"]
    assert trace.meta["profile_iterations"] == 6610


@pytest.mark.parametrize("stem", stems(), ids=lambda s: s[60:])
def test_times_summary_matches_the_times_file(stem):
    records = raw(TRT_DIR / f"{stem}.timing.json")
    trace, _ = parse_quiet(TRT_DIR / f"{stem}.profile.json")
    timing = trace.meta["timing"]
    assert timing["iterations"] == len(records)
    latency = [r["latencyMs"] for r in records]
    assert timing["latency_ms"]["median"] == pytest.approx(statistics.median(latency))
    assert timing["latency_ms"]["mean"] == pytest.approx(statistics.fmean(latency))
    assert timing["compute_ms"]["mean"] == pytest.approx(statistics.fmean(r["computeMs"] for r in records))
    assert timing["h2d_ms"]["mean"] == pytest.approx(statistics.fmean(r["h2dMs"] for r in records))
    assert timing["d2h_ms"]["mean"] == pytest.approx(statistics.fmean(r["d2hMs"] for r in records))
    # the profiled layer times include per-layer synchronization: more than the real latency
    assert trace.meta["profile_total_ms"] > timing["latency_ms"]["median"]


# ----------------------------------------------------------------------------- siblings

@pytest.mark.parametrize("role", ["profile", "layers", "times"])
def test_any_file_of_the_triple_finds_the_others(role):
    profile = corpus("qat-residual__resnet-qat-residual")
    given = sibling(profile, role)
    trace, messages = parse_quiet(given)
    assert messages == []
    files = {k: Path(v) for k, v in trace.meta["files"].items()}
    assert files == {r: sibling(profile, r) for r in ("profile", "layers", "times")}
    assert trace.meta["path"] == str(given)
    reference, _ = parse_quiet(profile)
    assert list(trace.ops["name"]) == list(reference.ops["name"])
    assert list(trace.ops["dur_ns"]) == list(reference.ops["dur_ns"])


def test_companions_name_rules(tmp_path):
    for name in ("net.profile.json", "net.graph.json", "net.layer.json", "net.layers.json",
                 "net.timing.json", "net.times.json", "other_profile.json", "other_layers.json"):
        (tmp_path / name).write_text("{}")
    files = trt.companions(tmp_path / "net.profile.json", kind="profile")
    assert Path(files["layers"]).name == "net.graph.json" and Path(files["times"]).name == "net.timing.json"
    (tmp_path / "net.graph.json").unlink()
    (tmp_path / "net.timing.json").unlink()
    files = trt.companions(tmp_path / "net.profile.json", kind="profile")
    assert Path(files["layers"]).name == "net.layers.json" and Path(files["times"]).name == "net.times.json"
    files = trt.companions(tmp_path / "other_profile.json", kind="profile")
    assert Path(files["layers"]).name == "other_layers.json" and files["times"] is None
    files = trt.companions(tmp_path / "net.profile.json", layers=tmp_path / "x.json", kind="profile")
    assert files["layers"] == str(tmp_path / "x.json")


def test_explicit_layers_file(tmp_path):
    profile = copy(corpus("fp32__resnet"), tmp_path, "run.profile.json")
    graph = corpus("fp32__resnet", "layers")
    _, messages = parse_quiet(profile)
    assert any("no layer info" in m for m in messages)
    trace, messages = parse_quiet(profile, layers=graph)
    assert messages == []
    assert trace.meta["files"]["layers"] == str(graph) and trace.meta["layer_info"] == "detailed"
    assert trace.meta["trt_layers"]["layer_type"] == [x["LayerType"] for x in raw(graph)["Layers"]]
    assert set(trace.ops["precision"].astype(str)) == {"FP32"}
    with pytest.raises(TraceError, match="no such file"):
        trt.parse(profile, layers=tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"Layers": 3}')
    with pytest.raises(TraceError, match="'Layers' list") as err:
        trt.parse(profile, layers=bad)
    assert str(bad) in str(err.value)


def test_profile_without_its_graph_file_still_works_with_a_note(tmp_path):
    src = corpus("A100__qat__resnet-qat")
    profile = copy(src, tmp_path)
    with pytest.warns(TraceWarning, match="no layer info"):
        loaded = tracekit.load(profile, cache=False)
    assert any("no layer info" in m for m in loaded.meta["warnings"])
    assert loaded.meta["layer_info"] is None and loaded.meta["files"]["layers"] is None
    full = tracekit.load(src, cache=False)
    assert loaded.summary()["total_ns"] == full.summary()["total_ns"]
    assert list(loaded.ops["fused"]) == list(full.ops["fused"])  # node lists come from names
    # without layer types the groups still follow the ONNX nodes in the names
    assert loaded.summary()["groups"] == full.summary()["groups"]
    assert set(loaded.ops["precision"].astype(str)) == {""}


def test_layer_info_alone_loads_without_times(tmp_path):
    graph = copy(corpus("fp16__resnet", "layers"), tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = tracekit.load(graph, cache=False)
    assert any("no per-layer times" in str(w.message) for w in caught)
    assert any("no per-layer times" in m for m in loaded.meta["warnings"])
    assert len(loaded.ops) == len(raw(graph)["Layers"]) and int(loaded.ops["dur_ns"].sum()) == 0
    assert loaded.summary()["total_ns"] == 0
    assert set(loaded.ops["precision"].astype(str)) <= {"FP16", "FP32"}


def test_times_alone_gives_the_iteration_summary(tmp_path):
    times = copy(corpus("fp32__resnet", "times"), tmp_path)
    trace, messages = parse_quiet(times)
    assert any("per-inference times only" in m for m in messages)
    assert len(trace.ops) == 0 and trace.meta["timing"]["iterations"] == len(raw(times))
    with pytest.warns(TraceWarning, match="per-inference times only"):
        assert tracekit.load(times, cache=False).summary()["total_ns"] == 0


def test_layer_names_only_layer_info(tmp_path):
    src = corpus("mobilenet_v2_residuals")
    profile = copy(src, tmp_path, "mnv2.profile.json")
    detailed = raw(sibling(src, "layers"))
    names = [layer["Name"] for layer in detailed["Layers"]]
    (tmp_path / "mnv2.graph.json").write_text(json.dumps({"Layers": names, "Bindings": detailed["Bindings"]}))
    trace, messages = parse_quiet(profile)
    assert messages == []
    assert trace.meta["layer_info"] == "layer_names_only" and trace.meta["bindings"] == detailed["Bindings"]
    assert list(trace.ops["name"].astype(str)) == names
    full, _ = parse_quiet(src)
    assert list(trace.ops["fused"]) == list(full.ops["fused"])
    loaded = tracekit.load(profile, cache=False)
    assert loaded.summary()["groups"] == tracekit.load(src, cache=False).summary()["groups"]


def write_engine(tmp_path, layers: list[dict], times_ms: list[float], stem="tiny", count=10):
    profile = [{"count": count}] + [
        {"name": layer["Name"], "timeMs": t * count, "averageMs": t, "medianMs": t,
         "percentage": 100 * t / sum(times_ms)} for layer, t in zip(layers, times_ms)]
    (tmp_path / f"{stem}.profile.json").write_text(json.dumps(profile))
    (tmp_path / f"{stem}.graph.json").write_text(json.dumps({"Layers": layers, "Bindings": ["x", "y"]}))
    return tmp_path / f"{stem}.profile.json"


def io(fmt="Half", dims=(1, 64, 32, 32)):
    return [{"Name": "t", "Location": "Device", "Dimensions": list(dims), "Format/Datatype": fmt}]


METADATA_LAYERS = [
    {"Name": "/stem/conv/Conv + /stem/act/Relu", "LayerType": "CaskConvolution",
     "Metadata": "[ONNX Layer: /stem/conv/Conv]\x1f[ONNX Layer: /stem/act/Relu]",
     "Inputs": io("Float"), "Outputs": io(), "TacticName": "sm80_xmma_fprop", "StreamId": 0},
    {"Name": "/blocks.0/norm1/LayerNormalization", "LayerType": "Normalization",
     "Metadata": "[ONNX Layer: /blocks.0/norm1/LayerNormalization]", "Inputs": io(), "Outputs": io()},
    {"Name": "{ForeignNode[/blocks.0/attn/MatMul.../blocks.0/attn/Softmax]}", "LayerType": "Myelin",
     "Metadata": "[ONNX Layer: /blocks.0/attn/MatMul]\x1e[ONNX Layer: /blocks.0/attn/Mul]\x1e"
                 "[ONNX Layer: /blocks.0/attn/Softmax]", "Inputs": io(), "Outputs": io()},
    {"Name": "PWN(/blocks.0/mlp/act/Sigmoid, /blocks.0/mlp/act/Mul)", "LayerType": "PointWiseV2",
     "Metadata": "[ONNX Layer: /blocks.0/mlp/act/Sigmoid]\x1f[ONNX Layer: /blocks.0/mlp/act/Mul]",
     "Inputs": io(), "Outputs": io()},
    {"Name": "/head/Transpose", "LayerType": "Shuffle", "Metadata": "[ONNX Layer: /head/Transpose]",
     "Inputs": io(), "Outputs": io()},
    {"Name": "Reformatting CopyNode for Input Tensor 0 to /head/Gemm", "LayerType": "Reformat",
     "Origin": "REFORMAT", "Inputs": io("Half"), "Outputs": io("Row major linear FP32")},
    {"Name": "/head/Gemm", "LayerType": "CaskGemmMatrixMultiply", "Metadata": "[ONNX Layer: /head/Gemm]",
     "Inputs": io("Row major linear FP32"), "Outputs": io("Row major linear FP32"), "StreamId": 1},
]


def test_metadata_node_lists_modules_and_groups(tmp_path):
    profile = write_engine(tmp_path, METADATA_LAYERS, [0.5, 0.1, 0.4, 0.05, 0.02, 0.01, 0.2])
    trace, messages = parse_quiet(profile)
    assert messages == []
    ops = trace.ops
    assert trace.meta["node_lists"] == "metadata"
    assert list(ops["op_type"].astype(str)) == ["Conv", "Normalization", "MatMul", "Sigmoid",
                                                "Shuffle", "Reformat", "Gemm"]
    assert ops["fused"][2].split(FUSED_SEP) == ["/blocks.0/attn/MatMul", "/blocks.0/attn/Mul",
                                                 "/blocks.0/attn/Softmax"]
    assert list(ops["module"].astype(str)) == ["/stem/conv", "/blocks.0/norm1", "/blocks.0/attn",
                                               "/blocks.0/mlp/act", "/head", "", "/head"]
    assert list(ops["precision"].astype(str)) == ["FP32", "FP16", "FP16", "FP16", "FP16", "FP16", "FP32"]
    assert list(ops["tid"]) == [0, 0, 0, 0, 0, 0, 1]
    loaded = tracekit.load(profile, cache=False)
    assert list(loaded.ops["group"].astype(str)) == ["Convolution", "Normalization", "GEMM",
                                                      "Activation", "Memory", "Memory", "GEMM"]
    s = loaded.summary()
    assert s["total_ns"] == 1_280_000 and s["gemm_ns"] == 1_100_000
    assert loaded.meta["profile_iterations"] == 10


def test_device_names_from_trex_metadata(tmp_path):
    profile = write_engine(tmp_path, METADATA_LAYERS[:1], [0.5])
    (tmp_path / "tiny.metadata.json").write_text(json.dumps([{"Name": "NVIDIA A100-SXM4-40GB",
                                                              "ComputeCapability": [8, 0]}]))
    trace, _ = parse_quiet(profile)
    assert trace.meta["devices"] == [{"id": 0, "name": "NVIDIA A100-SXM4-40GB"}]


def test_helpers_on_names():
    assert trt.node_type("/model/layers.0/attn/MatMul_1") == "MatMul"
    assert trt.node_type("Conv_9") == "Conv" and trt.node_type("node_Conv_0") == "Conv"
    assert trt.node_type("node_linear_2") == "Gemm" and trt.node_type("conv1.weight") == ""
    assert trt.node_type("reshape_after_Gemm_48") == "" and trt.node_type("Relu__5") == "Relu"
    assert trt.metadata_nodes("[ONNX Layer: a]\x1e[ONNX Layer: /b/Add]\x1fjunk") == ["a", "/b/Add"]
    nodes, partial, hint = trt.name_nodes("{ForeignNode[/a/MatMul.../a/Softmax]}")
    assert nodes == ["/a/MatMul", "/a/Softmax"] and partial and hint == "Myelin"
    nodes, partial, hint = trt.name_nodes("PWN(PWN(Sigmoid_3), Mul_4) + (Unnamed Layer* 5) [Shuffle]")
    assert nodes == ["Sigmoid_3", "Mul_4"] and not partial and hint == "Shuffle"
    assert trt.name_nodes("Reformatting CopyNode for Input Tensor 1 to Conv_5 + Add_6")[0] == []
    assert trt.choose_op("PointWiseV2", ["QuantizeLinear", "Add", "Relu"]) == ("Add", 1)
    assert trt.choose_op("SoftMax", ["Exp", "Div"]) == ("SoftMax", 0)
    assert trt.choose_op("CaskConvolution", ["Add"]) == ("CaskConvolution", -1)
    assert trt.choose_op("Reformat", ["QuantizeLinear"]) == ("QuantizeLinear", 0)
    assert trt.choose_op("", []) == ("", -1)
    assert trt.precision_of("Channel major FP16 format where channel % 8 == 0") == "FP16"
    assert trt.precision_of("Thirty-two wide channel vectorized row major Int8 format") == "INT8"
    assert trt.precision_of("BFloat16") == "BF16" and trt.precision_of("Float") == "FP32"


def test_total_line_is_not_counted_twice(tmp_path):
    src = corpus("fp32__resnet")
    doc = raw(src)
    total = sum(e["averageMs"] for e in doc[1:])
    doc = doc + [{"name": "Total", "timeMs": total, "averageMs": total, "medianMs": total, "percentage": 100.0}]
    path = tmp_path / "t.profile.json"
    path.write_text(json.dumps(doc))
    trace, _ = parse_quiet(path)
    assert len(trace.ops) == len(doc) - 2
    assert int(trace.ops["dur_ns"].sum()) == sum(round(e["averageMs"] * 1e6) for e in doc[1:-1])
    assert trace.meta["profile_total_line_ms"] == pytest.approx(total)


def test_truncated_profile_reads_up_to_the_cut(tmp_path):
    src = corpus("mobilenet.qat")
    lines = src.read_text().splitlines(keepends=True)
    keep = 20  # lines: "[", {"count"}, then one layer per line
    cut = "".join(lines[: keep + 2]) + lines[keep + 2][: len(lines[keep + 2]) // 2]
    path = tmp_path / "cut.profile.json"
    path.write_text(cut)
    trace, messages = parse_quiet(path)
    assert any("profile is cut off; read 20 layers" in m for m in messages)
    assert len(trace.ops) == keep and trace.meta["truncated"]
    assert list(trace.ops["name"].astype(str)) == [e["name"] for e in profile_layers(src)[:keep]]


def test_a_broken_sibling_is_skipped_with_a_warning(tmp_path):
    profile = copy(corpus("fp16__resnet"), tmp_path, "e.profile.json")
    (tmp_path / "e.graph.json").write_text('{"Layers": [{"Name": "a",,}]}')
    (tmp_path / "e.timing.json").write_text('[{"latencyMs": 1.0}, 7]')
    trace, messages = parse_quiet(profile)
    assert any("ignoring layers file" in m and "not valid JSON" in m for m in messages)
    assert any("ignoring times file" in m for m in messages)
    assert len(trace.ops) == len(profile_layers(profile)) and "timing" not in trace.meta


BAD = [
    ("entries.profile.json", b'[{"count": 1}, 5]', "profile entry 1 is not an object"),
    ("noavg.profile.json", b'[{"count": 1}, {"name": "a"}]', "no numeric averageMs"),
    ("stravg.profile.json", b'[{"count": 1}, {"name": "a", "averageMs": "1"}]', "no numeric averageMs"),
    ("neg.profile.json", b'[{"count": 1}, {"name": "a", "averageMs": -1}]', "negative time"),
    ("name.profile.json", b'[{"count": 1}, {"name": 3, "averageMs": 1}]', "'name' is not a string"),
    ("empty.profile.json", b'[{"count": 2}]', "holds no layer timings"),
    ("nan.profile.json", b'[{"count": 1}, {"name": "a", "averageMs": NaN}]', "not valid JSON"),
    ("edited.profile.json", b'[{"count": 1}, {"name": "a", "averageMs": 1,, }]', "not valid JSON"),
    ("cut.profile.json", b'[{"count": 1}, {"name": "a", "aver', "cut off before its first complete layer entry"),
    ("layers.graph.json", b'{"Layers": 5}', "expected an object with a 'Layers' list"),
    ("items.graph.json", b'{"Layers": [1]}', "neither a name nor an object"),
    ("noname.graph.json", b'{"Layers": [{"LayerType": "Reformat"}]}', "has no 'Name'"),
    ("cutlayers.graph.json", b'{"Layers": [{"Name": "a", "LayerType": "Conv', "cut off"),
    ("times.timing.json", b'[{"latencyMs": 1.0}, 3]', "array of per-inference objects"),
]


@pytest.mark.parametrize("name,data,problem", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_trace_error(tmp_path, name, data, problem):
    path = tmp_path / name
    path.write_bytes(data)
    assert trt.sniff(data)
    with pytest.raises(TraceError, match=problem.replace("(", r"\(").replace(")", r"\)")) as err:
        trt.parse(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([*CLI, "summary", str(path), "--no-cache"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(path) in lines[0] and problem in lines[0]


def test_not_a_tensorrt_file_given_to_the_parser(tmp_path):
    path = tmp_path / "k.json"
    path.write_text('{"traceEvents": []}')
    with pytest.raises(TraceError, match="not a TensorRT trtexec export"):
        trt.parse(path)


# ----------------------------------------------------------------------------- CLI, layout

def test_summary_cli_json_and_table(tmp_path):
    path = corpus("qat-residual-qgap")
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(tmp_path), COLUMNS="120")
    out = subprocess.run([*CLI, "summary", str(path), "--json"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    expected = sum(round(e["averageMs"] * 1e6) for e in profile_layers(path))
    assert result["time_basis"] == "trt_layer" and result["source"] == "trt"
    assert result["total_ns"] == expected == sum(result["groups"].values())
    assert result["kernels"] == 0 and result["ops"] == len(profile_layers(path))
    assert result["group_counts"]["Convolution"] == 20
    text = subprocess.run([*CLI, "summary", str(path), "--by", "op"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert text.returncode == 0, text.stderr
    assert "TensorRT layer time" in text.stdout and "Convolution" in text.stdout


def test_parser_imports_the_model_only():
    code = "import sys, parsers.tensorrt; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    forbidden = ("tracekit.analysis", "tracekit.taxonomy", "tracekit.api", "tui", "textual", "collectors")
    assert not {m for m in loaded for f in forbidden if m == f or m.startswith(f + ".")}


def test_compiled_region_evidence_of_a_gemm(tmp_path):
    """A Myelin region is GEMM-based when an end is a GEMM node, an input is a GEMM weight,
    or its Myelin name starts with a fused GEMM (Fc); otherwise a plain fused region, and
    never the group of its end node's name (Gather -> Memory, LayerNorm -> Normalization)."""
    layers = [
        {"Name": "{ForeignNode[/embeddings/Gather.../encoder/layer.0/output/LayerNorm/Add_1]}",
         "LayerType": "Myelin", "Inputs": io(), "Outputs": io()},
        {"Name": "{ForeignNode[/encoder/layer.1/Reshape.../encoder/layer.1/Add]}", "LayerType": "Myelin",
         "Inputs": [dict(io()[0], Name="encoder.layer.1.intermediate.dense.weight")], "Outputs": io()},
        {"Name": "{ForeignNode[onnx::MatMul_1172.../head/Add]}", "Inputs": io(), "Outputs": io()},
        {"Name": "__myl_FcMul_myl0_3", "LayerType": "kgen", "Inputs": io(), "Outputs": io()},
        {"Name": "__myl_ResTra_myl0_4", "LayerType": "kgen", "Inputs": io(), "Outputs": io()},
    ]
    profile = write_engine(tmp_path, layers, [0.3, 0.2, 0.1, 0.05, 0.01])
    trace, _ = parse_quiet(profile)
    assert list(trace.ops["op_type"].astype(str)) == [trt.FUSED_REGION, trt.FUSED_GEMM_REGION,
                                                      trt.FUSED_GEMM_REGION, trt.FUSED_GEMM_REGION,
                                                      trt.FUSED_REGION]
    assert all(trt.is_region(x["Name"], x.get("LayerType", "")) for x in layers)
    assert not trt.is_region("Conv_0 + Relu_1", "CaskConvolution")
    loaded = tracekit.load(profile, cache=False)
    groups = list(loaded.ops["group"].astype(str))
    assert groups == ["Fused region", "Fused GEMM region", "Fused GEMM region", "Fused GEMM region",
                      "Fused region"]
    s = loaded.summary()
    assert s["gemm_ns"] == 350_000 and s["total_ns"] == 660_000 == sum(s["groups"].values())


# ----------------------------------------------------------------------------- trtexec logs

LOG = "ModelACC__trt2022_levit__LeViT__result-FP32.txt"
LOG_LAYERS = "ModelACC__trt2022_levit__LeViT__detailed_report.txt"


def log_table(text: str) -> tuple[int, list[tuple[str, float]]]:
    """(iterations, [(layer, total ms)]) read from the log with str.split, apart from the parser."""
    lines = [line.split("] ", 2)[-1] for line in text.splitlines()]
    at = max(i for i, line in enumerate(lines) if line.startswith("=== Profile ("))
    count = int(lines[at].split("(")[1].split()[0])
    rows = []
    for line in lines[at + 2:]:
        parts = line.rsplit(None, 3)
        if len(parts) != 4:
            break
        rows.append((parts[0].strip(), float(parts[1])))
    return count, rows


def test_trtexec_log_reads_as_profile_layer_info_and_times():
    path = TRT_DIR / LOG
    if not path.is_file():
        pytest.skip("trtexec log not in the corpus")
    text = path.read_text()
    assert trt.kind_of(path.read_bytes()[: 1 << 16]) == "log" and parsers.detect(path.read_bytes()[:65536]) is trt
    count, rows = log_table(text)
    assert rows[-1][0] == "Total"
    rows = rows[:-1]
    trace, messages = parse_quiet(path)
    assert messages == []
    assert list(trace.ops["name"].astype(str)) == [name for name, _ in rows]
    assert list(trace.ops["dur_ns"]) == [round(ms / count * 1e6) for _, ms in rows]
    meta = trace.meta
    assert meta["profile_iterations"] == count == 209
    # the layer info the log's command line exported, found in the folder by its content
    assert meta["files"]["layers"] == str(TRT_DIR / LOG_LAYERS) and meta["layer_info"] == "layer_names_only"
    assert [x for x in json.loads((TRT_DIR / LOG_LAYERS).read_text())["Layers"]] == [n for n, _ in rows]
    median = next(float(line.split("median = ")[1].split()[0]) for line in text.splitlines()
                  if "] Latency: min = " in line)
    assert meta["timing"]["latency_ms"]["median"] == median
    assert meta["devices"] == [{"id": 0, "name": "NVIDIA GeForce RTX 3050 Ti Laptop GPU"}]
    # GEMM-based: layers that hold a Conv/MatMul/Gemm node (not weight constants onnx::MatMul_N,
    # not the reformat copies feeding them)
    gemm_node = re.compile(r"(?<![:\w])(Conv|MatMul|Gemm)_\d+")
    want = sum(round(ms / count * 1e6) for name, ms in rows
               if gemm_node.search(name) and not name.startswith("Reformatting"))
    s = tracekit.load(path, cache=False).summary()
    assert s["total_ns"] == sum(round(ms / count * 1e6) for _, ms in rows) == sum(s["groups"].values())
    assert s["gemm_ns"] == want
    # the layer info alone finds the log that profiled its layers
    alone = tracekit.load(TRT_DIR / LOG_LAYERS, cache=False).summary()
    assert alone["total_ns"] == s["total_ns"] and alone["groups"] == s["groups"]


NEW_LOG = """&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec --loadEngine=m.plan --dumpProfile --dumpLayerInfo
[08/01/2024-10:00:00] [I] === Device Information ===
[08/01/2024-10:00:00] [I] Selected Device: NVIDIA H100 80GB HBM3
[08/01/2024-10:00:01] [I] Layer Information:
[08/01/2024-10:00:01] [I] Layers:
Name: /conv1/Conv + /relu/Relu, LayerType: CaskConvolution, Inputs: [ { Name: x, Location: Device, Dimensions: [1,3,224,224], Format/Datatype: Half }], Outputs: [ { Name: y, Location: Device, Dimensions: [1,64,112,112], Format/Datatype: Half }], ParameterType: Convolution, Metadata: [ONNX Layer: /conv1/Conv]\x1f[ONNX Layer: /relu/Relu], TacticValue: 0x1
Name: {ForeignNode[/blocks.0/norm/ReduceMean.../blocks.0/Add]}, LayerType: Myelin, Inputs: [ { Name: y, Location: Device, Dimensions: [1,64,112,112], Format/Datatype: Half }], Outputs: [ ], TacticValue: 0x0
Name: /head/Gemm, LayerType: CaskGemmMatrixMultiply, Inputs: [ { Name: z, Location: Device, Dimensions: [1,64], Format/Datatype: Float }], Outputs: [ ], Metadata: [ONNX Layer: /head/Gemm]

Bindings:
x
[08/01/2024-10:00:02] [I] === Performance summary ===
[08/01/2024-10:00:02] [I] Throughput: 950.5 qps
[08/01/2024-10:00:02] [I] Latency: min = 1.0 ms, max = 1.5 ms, mean = 1.1 ms, median = 1.05 ms, percentile(90%) = 1.2 ms, percentile(95%) = 1.3 ms, percentile(99%) = 1.4 ms
[08/01/2024-10:00:03] [I] === Profile (100 iterations ) ===
[08/01/2024-10:00:03] [I]    Time(ms)     Avg.(ms)   Median(ms)   Time(%)   Layer
[08/01/2024-10:00:03] [I]       50.00       0.5000       0.4900      50.0   /conv1/Conv + /relu/Relu
[08/01/2024-10:00:03] [I]       30.00       0.3000       0.2950      30.0   {ForeignNode[/blocks.0/norm/ReduceMean.../blocks.0/Add]}
[08/01/2024-10:00:03] [I]       20.00       0.2000       0.1990      20.0   /head/Gemm
[08/01/2024-10:00:03] [I]      100.00       1.0000       0.9940     100.0   Total
[08/01/2024-10:00:03] [I]
&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec --loadEngine=m.plan --dumpProfile --dumpLayerInfo
"""


def test_trtexec_log_with_name_last_table_and_dumped_layer_info(tmp_path):
    path = tmp_path / "run.log"
    path.write_text(NEW_LOG)
    trace, messages = parse_quiet(path)
    assert messages == []
    ops = trace.ops
    assert list(ops["name"].astype(str)) == ["/conv1/Conv + /relu/Relu",
                                             "{ForeignNode[/blocks.0/norm/ReduceMean.../blocks.0/Add]}",
                                             "/head/Gemm"]
    assert list(ops["dur_ns"]) == [500_000, 300_000, 200_000]
    assert trace.meta["layer_info"] == "detailed" and trace.meta["files"]["layers"] == str(path)
    assert trace.meta["trt_layers"]["layer_type"] == ["CaskConvolution", "Myelin", "CaskGemmMatrixMultiply"]
    assert list(ops["precision"].astype(str)) == ["FP16", "FP16", "FP32"]
    assert ops["fused"][0].split(FUSED_SEP) == ["/conv1/Conv", "/relu/Relu"]
    assert trace.meta["timing"]["latency_ms"]["median"] == 1.05 and trace.meta["timing"]["throughput_per_s"] == 950.5
    assert trace.meta["devices"][0]["name"] == "NVIDIA H100 80GB HBM3"
    loaded = tracekit.load(path, cache=False)
    assert list(loaded.ops["group"].astype(str)) == ["Convolution", "Fused region", "GEMM"]


def test_log_without_profile_table_is_one_error(tmp_path):
    path = tmp_path / "build.log"
    path.write_text(NEW_LOG.split("[08/01/2024-10:00:03]")[0])
    with pytest.raises(TraceError, match="holds no per-layer profile table.*--dumpProfile"):
        trt.parse(path)


def test_layer_info_with_any_name_is_found_by_content(tmp_path):
    src = corpus("fp16__resnet")
    profile = copy(src, tmp_path, "run1.profile.json")
    copy(sibling(src, "layers"), tmp_path, "engine_detailed_layers_dump.json")
    copy(corpus("mobilenet.qat", "layers"), tmp_path, "other_engine.json")  # names other layers
    trace, messages = parse_quiet(profile)
    assert messages == []
    assert trace.meta["files"]["layers"] == str(tmp_path / "engine_detailed_layers_dump.json")
    reference, _ = parse_quiet(src)
    assert list(trace.ops["precision"]) == list(reference.ops["precision"])
    assert trace.meta["trt_layers"]["layer_type"] == reference.meta["trt_layers"]["layer_type"]
    # two files naming the same layers: none is guessed, both are named, --layers is the way
    copy(sibling(src, "layers"), tmp_path, "copy_of_it.json")
    trace, messages = parse_quiet(profile)
    assert trace.meta["files"]["layers"] is None
    assert any("several layer-info files" in m and "copy_of_it.json" in m and "--layers" in m
               for m in messages)


@pytest.mark.parametrize("fragment", ["A100__fp16__resnet.onnx", "mobilenet.qat.onnx"])
def test_by_op_is_layer_types_and_by_node_is_layers(fragment):
    """by op: one row per op type the parser gave the layers (a fused Conv + Relu layer is a
    Conv), with how many layers it holds; by node: one row per layer, as the profile
    lists them; both add up to the profile's time."""
    import pandas as pd

    from tracekit import analysis

    path = corpus(fragment)
    trace = tracekit.load(path, cache=False)
    op_type = dict(zip(trace.ops["name"].astype(str), trace.ops["op_type"].astype(str)))
    layers = pd.DataFrame([(e["name"], op_type[e["name"]], round(e["averageMs"] * 1e6))
                           for e in profile_layers(path)], columns=["layer", "op_type", "ns"])
    win = analysis.select(trace, None)
    by_op, by_node = analysis.breakdown(trace, win, "op"), analysis.breakdown(trace, win, "node")
    assert int(by_op["total_ns"].sum()) == int(by_node["total_ns"].sum()) == int(layers["ns"].sum())
    want = layers.groupby("op_type").agg(total_ns=("ns", "sum"), calls=("ns", "size"),
                                         instances=("layer", "nunique"))
    got = by_op.groupby("name").agg(total_ns=("total_ns", "sum"), calls=("calls", "sum"),
                                    instances=("instances", "sum"))
    assert got.sort_index().to_dict("index") == want[want["total_ns"] > 0].sort_index().to_dict("index")
    assert by_op.iloc[0]["name"] == "Conv" and by_op.iloc[0]["instances"] == (layers["op_type"] == "Conv").sum()
    want = layers.groupby("layer")["ns"].sum()
    assert dict(zip(by_node["name"], by_node["total_ns"])) == want[want > 0].to_dict()
    conv = analysis.row_calls(trace, win, "op", "Conv")
    assert set(conv.calls["op"]) == set(layers.loc[layers["op_type"] == "Conv", "layer"])
    assert conv.self_ns == int(by_op.loc[by_op["name"] == "Conv", "total_ns"].sum())
