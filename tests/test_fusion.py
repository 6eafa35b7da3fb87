"""``tracekit fusion`` (tracekit/analysis/fusion.py, tracekit/cli/fusion.py) on the TensorRT
corpus: fusion counts, reformats and precision checked against numbers computed here from
the graph and profile JSON with the json module; ONNX nodes removed (with a tiny model made
with the ``onnx`` package); Metadata node lists; the command's table and JSON output."""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import tracekit
from tests.conftest import CORPUS, SAMPLES
from tests.test_tensorrt import METADATA_LAYERS, io, write_engine
from tracekit.analysis.fusion import fusion_report
from tracekit.cli import fusion as fusion_cmd
from tracekit.model import TraceError

TRT_DIR = CORPUS / "tensorrt"
NODE = re.compile(r"^(QuantizeLinear|DequantizeLinear|Conv|Gemm|Add|Relu|Clip|MaxPool|GlobalAveragePool)_\d+$")
GEMM = ("Conv", "Gemm")


def engine(fragment: str) -> tuple[Path, Path]:
    if not TRT_DIR.is_dir():
        pytest.skip(f"corpus not found at {TRT_DIR}")
    hits = sorted(p for p in TRT_DIR.glob("*.profile.json") if fragment in p.name)
    assert len(hits) == 1, hits
    return hits[0], hits[0].with_name(hits[0].name.replace(".profile.json", ".graph.json"))


def expected_from_files(profile: Path, graph: Path) -> dict:
    """Fusion numbers from the engine's own files, by plain string handling of layer names."""
    layers = json.loads(graph.read_text())["Layers"]
    times = [round(e["averageMs"] * 1e6) for e in json.loads(profile.read_text())[1:]]
    into_gemm, into_other, alone = Counter(), Counter(), Counter()
    gemm_nodes, seen = 0, []
    reformat_ns, reformats, qdq_reformats = 0, 0, 0
    precision = Counter()
    for layer, ns in zip(layers, times):
        name = layer["Name"]
        fmt = (layer["Inputs"] or layer["Outputs"])[0]["Format/Datatype"]
        precision[next(p for k, p in (("FP32", "FP32"), ("FP16", "FP16"), ("Int8", "INT8")) if k in fmt)] += ns
        if layer["LayerType"] == "Reformat" or name.startswith("Reformatting CopyNode"):
            reformats += 1
            reformat_ns += ns
            qdq_reformats += layer.get("Origin") == "QDQ"
        if name.startswith("Reformatting CopyNode"):
            continue
        tokens = [t.strip() for t in re.sub(r"PWN\(([^()]*)\)", r"\1", name).split(" + ")]
        nodes = [t for t in tokens if NODE.match(t)]
        seen += nodes
        types = [n.rsplit("_", 1)[0] for n in nodes]
        has_gemm = any(t in GEMM for t in types)
        for t in types:
            if t in GEMM:
                gemm_nodes += 1
            elif len(nodes) > 1 or has_gemm:
                (into_gemm if has_gemm else into_other)[t] += 1
            else:
                alone[t] += 1
    assert len(seen) == len(set(seen))  # each ONNX node is named by one layer
    fused = sum(into_gemm.values()) + sum(into_other.values())
    return {"into_gemm": dict(into_gemm), "into_other": dict(into_other), "alone": dict(alone),
            "gemm_nodes": gemm_nodes, "non_gemm": fused + sum(alone.values()), "fused": fused,
            "reformats": reformats, "reformat_ns": reformat_ns, "qdq_reformats": qdq_reformats,
            "precision": dict(precision), "total": sum(times)}


@pytest.mark.parametrize("fragment", ["A100__qat__resnet-qat", "fp16__resnet", "fp32__resnet",
                                      "qat-residual__", "qat-residual-qgap", "mobilenet.qat",
                                      "mobilenet_v2_residuals"])
def test_fusion_numbers_match_the_engine_files(fragment):
    profile, graph = engine(fragment)
    want = expected_from_files(profile, graph)
    got = fusion_report(tracekit.load(profile, cache=False))
    assert got["total_ns"] == want["total"] and got["layers"] == len(json.loads(graph.read_text())["Layers"])
    assert got["fused_into_gemm"] == want["into_gemm"]
    assert got["fused_into_non_gemm"] == want["into_other"]
    assert got["standalone_non_gemm"] == want["alone"]
    assert got["nodes"]["gemm"] == want["gemm_nodes"]
    assert got["nodes"]["non_gemm"] == want["non_gemm"] and got["nodes"]["non_gemm_fused"] == want["fused"]
    assert got["fusion_rate"] == pytest.approx(want["fused"] / want["non_gemm"])
    assert got["reformats"]["count"] == want["reformats"] and got["reformats"]["total_ns"] == want["reformat_ns"]
    assert got["reformats"]["by_kind"]["qdq"]["count"] == want["qdq_reformats"]
    assert {p: r["total_ns"] for p, r in got["precision"].items()} == want["precision"]
    assert sum(r["total_ns"] for r in got["precision"].values()) == want["total"]
    assert got["gemm_layers"]["total_ns"] + got["non_gemm_layers"]["total_ns"] == want["total"]
    assert got["node_lists"] == "layer_names" and got["removed"] is None
    json.dumps(got.to_dict())  # JSON-ready


def test_qat_resnet_quantize_nodes_are_fused_into_convolutions():
    got = fusion_report(tracekit.load(engine("A100__qat__resnet-qat")[0], cache=False))
    # every convolution's weight QuantizeLinear runs inside it; activations' Q stay layers
    assert got["fused_into_gemm"] == {"QuantizeLinear": 21, "Add": 8, "Relu": 8}
    assert got["standalone_non_gemm"] == {"QuantizeLinear": 10, "GlobalAveragePool": 1, "MaxPool": 1}
    assert got["precision"]["INT8"]["gemm_ns"] == got["gemm_layers"]["total_ns"]
    assert got["non_gemm_layers"]["by_group"]["QDQ"] == got["reformats"]["by_kind"]["qdq"]["total_ns"]


def test_fp16_resnet_relu_and_add_are_fused_into_convolutions():
    got = fusion_report(tracekit.load(engine("fp16__resnet")[0], cache=False))
    assert got["fused_into_gemm"] == {"Relu": 17, "Add": 8}
    assert got["fusion_rate"] == pytest.approx(25 / 27)
    assert got["gemm_layers"].to_dict() == {"count": 21, "total_ns": got["gemm_layers"]["total_ns"],
                                            "with_fused_non_gemm": 17}
    layout = got["reformats"]["by_kind"]
    assert layout["layout"]["count"] == 2 and layout["noop"]["count"] == 10 and layout["noop"]["total_ns"] == 0
    first = got["reformats"]["layers"][0]
    assert first["from"] == "Row major linear FP32" and first["to"].startswith("Channel major FP16")


def test_metadata_engine_fusion(tmp_path):
    profile = write_engine(tmp_path, METADATA_LAYERS, [0.5, 0.1, 0.4, 0.05, 0.02, 0.01, 0.2])
    got = fusion_report(tracekit.load(profile, cache=False))
    assert got["node_lists"] == "metadata"
    assert got["nodes"].to_dict() == {"total": 10, "gemm": 3, "non_gemm": 7, "non_gemm_fused": 5,
                                      "non_gemm_standalone": 2}
    assert got["fused_into_gemm"] == {"Mul": 1, "Relu": 1, "Softmax": 1}
    assert got["fused_into_non_gemm"] == {"Mul": 1, "Sigmoid": 1}
    assert got["standalone_non_gemm"] == {"LayerNormalization": 1, "Transpose": 1}
    assert got["reformats"]["count"] == 1 and got["reformats"]["total_ns"] == 10_000
    assert got["precision"]["FP16"]["layers"] == 5 and got["precision"]["FP32"]["total_ns"] == 700_000


def tiny_model(path: Path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv0"),
        helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn0"),
        helper.make_node("Relu", ["n"], ["r"], name="relu0"),
        helper.make_node("Shape", ["r"], ["sh"], name="shape0"),
        helper.make_node("Constant", [], ["k"], name="const0",
                         value=helper.make_tensor("k", TensorProto.INT64, [2], [1, -1])),
        helper.make_node("Reshape", ["r", "k"], ["f"], name="reshape0"),
        helper.make_node("MatMul", ["f", "w2"], ["mm"], name="mm0"),
        helper.make_node("Identity", ["mm"], ["i"]),  # unnamed
        helper.make_node("Softmax", ["i"], ["y"], name="sm0"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])])
    onnx.save(helper.make_model(graph), str(path))
    return path


TINY_LAYERS = [
    {"Name": "conv0 + relu0", "LayerType": "CaskConvolution",
     "Metadata": "[ONNX Layer: conv0]\x1f[ONNX Layer: relu0]", "Inputs": io(), "Outputs": io()},
    {"Name": "reshape0", "LayerType": "Shuffle", "Metadata": "[ONNX Layer: reshape0]",
     "Inputs": io(), "Outputs": io()},
    {"Name": "mm0", "LayerType": "MatrixMultiply", "Metadata": "[ONNX Layer: mm0]",
     "Inputs": io(), "Outputs": io()},
    {"Name": "sm0 + extra", "LayerType": "SoftMax", "Metadata": "[ONNX Layer: sm0]\x1e[ONNX Layer: extra]",
     "Inputs": io(), "Outputs": io()},
]


def test_removed_onnx_nodes(tmp_path):
    model = tiny_model(tmp_path / "tiny.onnx")
    profile = write_engine(tmp_path, TINY_LAYERS, [0.3, 0.05, 0.2, 0.1])
    got = fusion_report(tracekit.load(profile, cache=False), onnx_model=model)
    removed = got["removed"]
    assert removed["available"] and removed["model_nodes"] == 9 and removed["unnamed_model_nodes"] == 1
    assert sorted(r["name"] for r in removed["removed"]) == ["bn0", "const0", "shape0"]
    assert removed["removed_by_type"] == {"BatchNormalization": 1, "Constant": 1, "Shape": 1}
    assert removed["layer_nodes_not_in_model"] == ["extra"]
    # non-GEMM model nodes: bn0 relu0 shape0 const0 reshape0 (unnamed Identity) sm0; relu0 and sm0
    # run inside another layer, bn0, shape0 and const0 are gone
    assert removed["non_gemm_model_nodes"] == 7 and removed["non_gemm_removed"] == 3
    assert removed["non_gemm_fused_or_removed_rate"] == pytest.approx(5 / 7)
    assert got["fused_into_gemm"] == {"Relu": 1} and got["fused_into_non_gemm"]["Softmax"] == 1
    assert any("no name" in n for n in removed["notes"])


def test_onnx_not_installed_is_a_clear_message(tmp_path, monkeypatch, capsys):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not read")
    profile = write_engine(tmp_path, TINY_LAYERS, [0.3, 0.05, 0.2, 0.1])
    monkeypatch.setitem(sys.modules, "onnx", None)
    got = fusion_report(tracekit.load(profile, cache=False), onnx_model=model)
    assert got["removed"].to_dict() == {"model": str(model), "available": False,  # the JSON keys
                                        "reason": got["removed"]["reason"]}
    assert "'onnx' package is not installed" in got["removed"]["reason"]
    assert cli(profile, "--onnx", model, "--cache-dir", tmp_path / "c") == 0
    assert "'onnx' package is not installed" in capsys.readouterr().out


def test_bad_onnx_model_and_non_tensorrt_trace(tmp_path):
    pytest.importorskip("onnx")
    profile = write_engine(tmp_path, TINY_LAYERS, [0.3, 0.05, 0.2, 0.1])
    trace = tracekit.load(profile, cache=False)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(TraceError) as err:
        fusion_report(trace, onnx_model=bad)
    assert str(bad) in str(err.value)
    with pytest.raises(TraceError, match="no such file"):
        fusion_report(trace, onnx_model=tmp_path / "missing.onnx")
    kineto = tracekit.load(SAMPLES / "cpu_only.pt.trace.json", cache=False)
    with pytest.raises(TraceError, match="reads TensorRT traces"):
        fusion_report(kineto)


def cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    fusion_cmd.add_arguments(parser)
    return fusion_cmd.run(parser.parse_args([str(a) for a in argv]))


def test_cli_table_and_json(tmp_path, capsys):
    profile, _ = engine("A100__qat__resnet-qat")
    assert cli(profile, "--json", "--cache-dir", tmp_path) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fused_into_gemm"]["QuantizeLinear"] == 21 and out["source"] == "trt"
    assert cli(profile, "--top", "3", "--cache-dir", tmp_path) == 0
    text = capsys.readouterr().out
    for needle in ("Fusion rate 75.5%", "QuantizeLinear", "Reformat layers: 13",
                   "Time by layer precision", "INT8", "FP32 NCHW → Int8 NC/4HW4"):
        assert needle in text, needle


def test_cli_layers_flag_and_onnx(tmp_path, capsys):
    model = tiny_model(tmp_path / "tiny.onnx")
    write_engine(tmp_path, TINY_LAYERS, [0.3, 0.05, 0.2, 0.1], stem="a")
    profile = tmp_path / "a.profile.json"
    layers = tmp_path / "elsewhere.json"
    (tmp_path / "a.graph.json").rename(layers)
    assert cli(profile, "--layers", layers, "--onnx", model, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["node_lists"] == "metadata" and out["removed"]["removed_count"] == 3
    assert cli(profile, "--layers", layers, "--onnx", model) == 0
    text = capsys.readouterr().out
    assert "Removed ONNX nodes by op type" in text and "BatchNormalization" in text


def test_cli_names_are_not_markup(tmp_path, capsys):
    layers = [{"Name": "[bold red]evil[/] \x1b[2J", "LayerType": "Reformat", "Origin": "REFORMAT",
               "Inputs": io("[x]"), "Outputs": io()}] + TINY_LAYERS[:1]
    profile = write_engine(tmp_path, layers, [0.1, 0.2])
    assert cli(profile, "--cache-dir", tmp_path / "c") == 0
    text = capsys.readouterr().out
    assert "[bold red]evil[/]" in text and "\x1b[2J" not in text and "\\x1b[2J" in text


# ---------------------------------------------------------------- compiled regions

REGION_LAYERS = [
    # embedding + RMSNorm: the first end is a weight, the last a Mul
    {"Name": "{ForeignNode[model.embed_tokens.weight.../model/layers.0/input_layernorm/Mul_1]}",
     "LayerType": "Myelin", "Inputs": [{"Name": "input_ids", "Dimensions": [1, 16],
                                        "Format/Datatype": "Int32"}], "Outputs": io()},
    # attention: its first end is a MatMul node
    {"Name": "{ForeignNode[/model/layers.0/self_attn/q_proj/MatMul.../model/layers.0/Add]}",
     "LayerType": "Myelin", "Inputs": io(), "Outputs": io()},
    # LayerNorm ... MLP: neither end is a GEMM, the MLP's MatMuls are in between
    {"Name": "{ForeignNode[/model/layers.0/post_attention_layernorm/LayerNormalization"
             ".../model/layers.0/Add_1]}", "LayerType": "Myelin", "Inputs": io(), "Outputs": io()},
]
REGION_MS = [0.1, 0.5, 0.4]


def test_compiled_regions_without_node_lists_are_their_own_group(tmp_path):
    """Never the group of the node at one end (Embedding, Memory...): a group of its own,
    GEMM-based where an end is a GEMM node."""
    profile = write_engine(tmp_path, REGION_LAYERS, REGION_MS)
    trace = tracekit.load(profile, cache=False)
    assert list(trace.ops["group"].astype(str)) == ["Fused region", "Fused GEMM region", "Fused region"]
    s = trace.summary()
    assert s["gemm_ns"] == 500_000 and s["total_ns"] == sum(s["groups"].values()) == 1_000_000
    got = fusion_report(trace)
    assert got["partial_layers"] == 3 and got["regions"] is None
    assert any("--onnx" in n for n in got["notes"])


def test_onnx_model_fills_in_compiled_regions(tmp_path):
    pytest.importorskip("onnx")
    import onnx

    from tests.ort_models import transformer

    model, _ = transformer(17)
    path = tmp_path / "block.onnx"
    onnx.save(model, str(path))
    profile = write_engine(tmp_path, REGION_LAYERS, REGION_MS)
    got = fusion_report(tracekit.load(profile, cache=False), onnx_model=path)
    first, attn, mlp = got["regions"]
    norm = "/model/layers.0/input_layernorm/"
    assert set(first["op_types"]) == {"Gather", "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul"}
    assert first["nodes"] == 1 + len(["Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Mul_1"])
    assert (first["group_before"], first["group"]) == ("Fused region", "Normalization")
    assert (attn["group_before"], attn["group"]) == ("Fused GEMM region", "GEMM")
    assert attn["op_types"]["Softmax"] == 1 and attn["op_types"]["MatMul"] == 6  # q, k, v, 2 attn, o
    assert attn["nodes"] == 6 + 3 + 1 + 1 + 4 + 4 + 1  # MatMuls, biases, scale, softmax, reshapes, transposes, residual
    assert (mlp["group_before"], mlp["group"]) == ("Fused region", "GEMM")
    assert mlp["op_types"]["Erf"] == 1 and mlp["op_types"]["MatMul"] == 2
    layers = {r["name"]: r for r in got["per_layer"]}
    assert layers[REGION_LAYERS[0]["Name"]]["group"] == "Normalization"
    assert got["non_gemm_layers"]["total_ns"] == 100_000 and got["gemm_layers"]["total_ns"] == 900_000
    # the region's nodes count as fused, and none of them as removed
    assert f"{norm}Pow" not in {r["name"] for r in got["removed"]["removed"]}
    assert not any("--onnx" in n for n in got["notes"])


def test_cli_shows_compiled_regions_read_from_the_model(tmp_path, capsys):
    pytest.importorskip("onnx")
    import onnx

    from tests.ort_models import transformer

    onnx.save(transformer(17)[0], str(tmp_path / "block.onnx"))
    profile = write_engine(tmp_path, REGION_LAYERS, REGION_MS)
    assert cli(profile, "--onnx", tmp_path / "block.onnx", "--cache-dir", tmp_path / "c") == 0
    out = capsys.readouterr().out
    assert "Compiled regions read from the ONNX model" in out and "Normalization (Fused region)" in out


def test_summary_groups_compiled_regions_by_the_onnx_model(tmp_path):
    """With --onnx every command reads a region's group from the model's nodes between its
    ends (the groups fusion's region table shows); without it the region is a group of its own."""
    pytest.importorskip("onnx")
    import onnx

    from tests.ort_models import transformer

    model = tmp_path / "block.onnx"
    onnx.save(transformer(17)[0], str(model))
    profile = write_engine(tmp_path, REGION_LAYERS, REGION_MS)
    regions = fusion_report(tracekit.load(profile, cache=False), onnx_model=model)["regions"]
    trace = tracekit.load(profile, cache=False, onnx=model)
    assert list(trace.ops["group"].astype(str)) == [r["group"] for r in regions]
    assert list(trace.ops["is_gemm"]) == [r["group"] in ("GEMM", "Convolution", "Attention") for r in regions]
    per_layer = dict(zip(trace.ops["name"].astype(str), trace.ops["dur_ns"]))
    s = trace.summary()
    assert s["gemm_ns"] == sum(per_layer[r["name"]] for r in regions if r["group"] == "GEMM")
    assert s["total_ns"] == sum(s["groups"].values()) == sum(per_layer.values())
    out = subprocess.run([sys.executable, "-m", "tracekit.cli.main", "summary", str(profile), "--json",
                          "--onnx", str(model), "--no-cache"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["groups"] == s["groups"]
