"""Small ONNX models built with ``onnx.helper`` and profiled with ONNX Runtime on the CPU.

The tests use them to make real ONNX Runtime profiles (``SessionOptions.enable_profiling``)
in a temporary folder: a transformer-ish decoder block (embedding Gather, a decomposed
RMSNorm named like an exporter names it, attention with Reshape/Transpose/MatMul/Softmax,
Erf-based GELU, LayerNormalization from opset 17), the same block at opset 13 (no
LayerNormalization op there: a decomposed LayerNorm instead) and a small CNN
(Conv/Relu/MaxPool/GlobalAveragePool/Gemm). Each can run with graph optimizations off
(every node as built) or all on (ONNX Runtime fuses them into FusedMatMul, Gemm,
SkipLayerNormalization, SimplifiedLayerNormalization, FusedConv, Gelu, ...).

Everything is seeded, small, and single-threaded, so a profile takes well under a second.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SEQ, HIDDEN, HEADS, FFN, VOCAB = 16, 64, 4, 128, 100
HEAD = HIDDEN // HEADS


@dataclass
class Builder:
    """Collects nodes and initializers with exporter-style names ("/model/layers.0/...")."""

    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    _n: int = 0

    def tensor(self, name: str, array) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name: str, *shape) -> str:
        return self.tensor(name, (self.rng.standard_normal(shape) * 0.05).astype(np.float32))

    def const(self, name: str, value, dtype=np.float32) -> str:
        return self.tensor(name, np.asarray(value, dtype=dtype))

    def node(self, op: str, inputs, name: str, **attrs) -> str:
        """Add a node; its (single) output is named after the node."""
        from onnx import helper

        out = f"{name}_output_0"
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=name, **attrs))
        return out


def _reduce_mean(b: Builder, x: str, name: str) -> str:
    """ReduceMean over the last axis (axes is an attribute before opset 18)."""
    return b.node("ReduceMean", [x], name, axes=[-1], keepdims=1)


def _rms_norm(b: Builder, x: str, path: str) -> str:
    """The decomposed RMSNorm that torch.onnx exports for LlamaRMSNorm."""
    two = b.const(f"{path}/two", 2.0)
    eps = b.const(f"{path}/eps", 1e-6)
    sq = b.node("Pow", [x, two], f"{path}/Pow")
    mean = _reduce_mean(b, sq, f"{path}/ReduceMean")
    add = b.node("Add", [mean, eps], f"{path}/Add")
    root = b.node("Sqrt", [add], f"{path}/Sqrt")
    inv = b.node("Div", [b.const(f"{path}/one", 1.0), root], f"{path}/Div")
    norm = b.node("Mul", [x, inv], f"{path}/Mul")
    return b.node("Mul", [norm, b.weight(f"{path}/weight", HIDDEN)], f"{path}/Mul_1")


def _layer_norm(b: Builder, x: str, path: str, opset: int) -> str:
    gamma = b.tensor(f"{path}/weight", np.ones(HIDDEN, np.float32))
    beta = b.tensor(f"{path}/bias", np.zeros(HIDDEN, np.float32))
    if opset >= 17:
        return b.node("LayerNormalization", [x, gamma, beta], f"{path}/LayerNormalization",
                      axis=-1, epsilon=1e-5)
    # opset 13 has no LayerNormalization: the exporter's decomposition
    mean = _reduce_mean(b, x, f"{path}/ReduceMean")
    centered = b.node("Sub", [x, mean], f"{path}/Sub")
    sq = b.node("Pow", [centered, b.const(f"{path}/two", 2.0)], f"{path}/Pow")
    var = _reduce_mean(b, sq, f"{path}/ReduceMean_1")
    add = b.node("Add", [var, b.const(f"{path}/eps", 1e-5)], f"{path}/Add")
    root = b.node("Sqrt", [add], f"{path}/Sqrt")
    div = b.node("Div", [centered, root], f"{path}/Div")
    mul = b.node("Mul", [div, gamma], f"{path}/Mul")
    return b.node("Add", [mul, beta], f"{path}/Add_1")


def _linear(b: Builder, x: str, path: str, n_in: int, n_out: int, bias: bool = True) -> str:
    y = b.node("MatMul", [x, b.weight(f"{path}.weight", n_in, n_out)], f"{path}/MatMul")
    if bias:
        y = b.node("Add", [y, b.weight(f"{path}.bias", n_out)], f"{path}/Add")
    return y


def _gelu(b: Builder, x: str, path: str) -> str:
    """Erf-based GELU as exported from nn.GELU()."""
    div = b.node("Div", [x, b.const(f"{path}/sqrt2", 1.4142135)], f"{path}/Div")
    erf = b.node("Erf", [div], f"{path}/Erf")
    add = b.node("Add", [erf, b.const(f"{path}/one", 1.0)], f"{path}/Add")
    mul = b.node("Mul", [x, add], f"{path}/Mul")
    return b.node("Mul", [mul, b.const(f"{path}/half", 0.5)], f"{path}/Mul_1")


def transformer(opset: int = 17, layers: int = 1):
    """A decoder-ish block: embedding, RMSNorm, attention, LayerNorm, MLP with GELU."""
    from onnx import TensorProto, helper

    b = Builder()
    ids = "input_ids"
    x = b.node("Gather", [b.weight("model.embed_tokens.weight", VOCAB, HIDDEN), ids],
               "/model/embed_tokens/Gather", axis=0)
    heads_shape = b.const("/model/heads_shape", [1, SEQ, HEADS, HEAD], np.int64)
    flat_shape = b.const("/model/flat_shape", [1, SEQ, HIDDEN], np.int64)
    for i in range(layers):
        p = f"/model/layers.{i}"
        h = _rms_norm(b, x, f"{p}/input_layernorm")
        a = f"{p}/self_attn"
        q = _linear(b, h, f"{a}/q_proj", HIDDEN, HIDDEN)
        k = _linear(b, h, f"{a}/k_proj", HIDDEN, HIDDEN)
        v = _linear(b, h, f"{a}/v_proj", HIDDEN, HIDDEN)
        q = b.node("Transpose", [b.node("Reshape", [q, heads_shape], f"{a}/Reshape")],
                   f"{a}/Transpose", perm=[0, 2, 1, 3])
        k = b.node("Transpose", [b.node("Reshape", [k, heads_shape], f"{a}/Reshape_1")],
                   f"{a}/Transpose_1", perm=[0, 2, 3, 1])
        v = b.node("Transpose", [b.node("Reshape", [v, heads_shape], f"{a}/Reshape_2")],
                   f"{a}/Transpose_2", perm=[0, 2, 1, 3])
        scores = b.node("MatMul", [q, k], f"{a}/MatMul")
        scores = b.node("Mul", [scores, b.const(f"{a}/scale", 1.0 / np.sqrt(HEAD))], f"{a}/Mul")
        probs = b.node("Softmax", [scores], f"{a}/Softmax", axis=-1)
        ctx = b.node("MatMul", [probs, v], f"{a}/MatMul_1")
        ctx = b.node("Transpose", [ctx], f"{a}/Transpose_3", perm=[0, 2, 1, 3])
        ctx = b.node("Reshape", [ctx, flat_shape], f"{a}/Reshape_3")
        o = _linear(b, ctx, f"{a}/o_proj", HIDDEN, HIDDEN, bias=False)
        x = b.node("Add", [x, o], f"{p}/Add")
        h = _layer_norm(b, x, f"{p}/post_attention_layernorm", opset)
        m = f"{p}/mlp"
        up = _linear(b, h, f"{m}/up_proj", HIDDEN, FFN)
        act = _gelu(b, up, f"{m}/act_fn")
        down = _linear(b, act, f"{m}/down_proj", FFN, HIDDEN)
        x = b.node("Add", [x, down], f"{p}/Add_1")
    # a Concat and a Slice, as a KV-cache update would have
    both = b.node("Concat", [x, x], "/model/Concat", axis=1)
    starts = b.const("/model/starts", [SEQ], np.int64)
    ends = b.const("/model/ends", [2 * SEQ], np.int64)
    axes = b.const("/model/axes", [1], np.int64)
    x = b.node("Add", [b.node("Slice", [both, starts, ends, axes], "/model/Slice"), h],
               "/model/Add")
    x = _layer_norm(b, x, "/model/norm", opset)  # Add + LayerNorm: SkipLayerNormalization
    logits = b.node("MatMul", [x, b.weight("lm_head.weight", HIDDEN, VOCAB)], "/lm_head/MatMul")
    graph = helper.make_graph(
        b.nodes, f"transformer_opset{opset}",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, [1, SEQ])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, SEQ, VOCAB])], b.inits)
    model = _finish(graph, opset)

    def feeds(rng):
        return {ids: rng.integers(0, VOCAB, size=(1, SEQ), dtype=np.int64)}
    return model, feeds


def cnn(opset: int = 13):
    """A small ResNet-ish CNN: stem Conv/Relu/MaxPool, a residual block, pooling, Gemm."""
    from onnx import TensorProto, helper

    b = Builder()
    img = "pixel_values"
    x = b.node("Conv", [img, b.weight("conv1.weight", 16, 3, 3, 3), b.weight("conv1.bias", 16)],
               "/conv1/Conv", pads=[1, 1, 1, 1])
    x = b.node("Relu", [x], "/relu/Relu")
    x = b.node("MaxPool", [x], "/maxpool/MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    y = b.node("Conv", [x, b.weight("layer1.0.conv1.weight", 16, 16, 3, 3)], "/layer1/layer1.0/conv1/Conv",
               pads=[1, 1, 1, 1])
    y = b.node("Relu", [y], "/layer1/layer1.0/relu/Relu")
    y = b.node("Conv", [y, b.weight("layer1.0.conv2.weight", 16, 16, 3, 3)], "/layer1/layer1.0/conv2/Conv",
               pads=[1, 1, 1, 1])
    x = b.node("Add", [x, y], "/layer1/layer1.0/Add")
    x = b.node("Relu", [x], "/layer1/layer1.0/relu_1/Relu")
    x = b.node("GlobalAveragePool", [x], "/avgpool/GlobalAveragePool")
    x = b.node("Flatten", [x], "/Flatten", axis=1)
    x = b.node("Gemm", [x, b.weight("fc.weight", 10, 16), b.weight("fc.bias", 10)], "/fc/Gemm",
               transB=1)
    graph = helper.make_graph(
        b.nodes, f"cnn_opset{opset}",
        [helper.make_tensor_value_info(img, TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 10])], b.inits)
    model = _finish(graph, opset)

    def feeds(rng):
        return {img: rng.standard_normal((1, 3, 32, 32)).astype(np.float32)}
    return model, feeds


def _finish(graph, opset: int):
    import onnx
    from onnx import helper

    # IR version 8 is what every onnxruntime since 1.11 reads, for opsets 13 to 17
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8,
                              producer_name="tracekit-tests")
    onnx.checker.check_model(model, full_check=True)
    return model


MODELS = {
    "transformer17": lambda: transformer(17),
    "transformer13": lambda: transformer(13),
    "cnn13": lambda: cnn(13),
    "cnn17": lambda: cnn(17),
}


LEVELS = ("disable_all", "enable_extended", "enable_all")


def profile(name: str, folder, *, level: str = "disable_all", runs: int = 4, seed: int = 0) -> Path:
    """Run model ``name`` ``runs`` times with profiling on; the profile's path.

    ``level``: the graph optimization level, ``disable_all`` (every node as built),
    ``enable_extended`` (fusions such as FusedConv, FusedMatMul, SkipLayerNormalization) or
    ``enable_all`` (also the NCHWc layout transformer on the CPU).
    """
    import onnxruntime as ort

    model, feeds = MODELS[name]()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    so = ort.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = str(folder / f"{name}_{level}")
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, f"ORT_{level.upper()}")
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    onnx_path = folder / f"{name}.onnx"
    onnx_path.write_bytes(model.SerializeToString())  # loaded from a path: model_loading_uri
    session = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    for _ in range(runs):
        session.run(None, feeds(rng))
    return Path(session.end_profiling())
