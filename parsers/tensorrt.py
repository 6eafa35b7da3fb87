"""TensorRT ``trtexec`` exports -> tracekit event model.

One engine run is described by up to three JSON files, which trt-engine-explorer names
``<engine>.profile.json``, ``<engine>.graph.json`` and ``<engine>.timing.json``:

- ``--exportProfile``: ``[{"count": N}, {"name", "timeMs", "averageMs", "medianMs",
  "percentage"}, ...]`` -- per-layer time summed over N profiled inferences;
- ``--exportLayerInfo``: ``{"Layers": [...], "Bindings": [...]}`` -- each layer as a
  detailed dict (``Name``, ``LayerType``, ``ParameterType``, ``Inputs``/``Outputs`` with
  ``Format/Datatype`` and ``Dimensions``, ``Metadata`` naming the ONNX nodes fused into it,
  ``Origin``, ``TacticName``, ``StreamId``) or, with ``layer_names_only`` verbosity, as
  plain names;
- ``--exportTimes``: one dict per inference (``startEnqMs`` ... ``latencyMs``).

A trtexec console log with its ``--dumpProfile`` table (and ``--dumpLayerInfo`` output)
reads as the profile (and layer info, and the log's performance summary as the times), see
:mod:`parsers.trtexec_log`; it is told apart by its content, whatever its name.

Any of the files may be given; the others are found beside it by name
(``<stem>.profile.json``, ``<stem>.graph.json`` / ``.layer.json`` / ``.layers.json``,
``<stem>.timing.json`` / ``.times.json``), or the layer info is named with ``layers=``.
Failing that, the layer info is the one layer-info file (a JSON with "Layers", whatever its
name, e.g. ``layerinfo.json`` or a log's ``--exportLayerInfo`` file) in the same folder
that names the profiled layers.

Model: one op per profiled layer (name = layer name), ``dur_ns = self_ns`` = the layer's
average time per inference, laid end to end on a synthetic timeline in profile order
(TensorRT profiles carry no timestamps and no per-kernel times, so there are no kernels).
``op_type`` is what the taxonomy classifies: the GEMM-based ONNX op type when any fused node
is GEMM-based, else the TensorRT layer type where it names one kind of op (Pooling, SoftMax,
Shuffle, ...), else the first non-trivial fused node type (Q/DQ, Relu, Add, ...).
``fused`` lists the ONNX nodes in the layer (from ``Metadata``, else from the layer name).
"""
from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from parsers import _io, trtexec_log
from tracekit.model import FUSED_SEP, OPS, Trace, TraceError, TraceMeta, TraceWarning, checks, make_table
from tracekit.model.names import GEMM_OP_TYPES, main_member

SOURCE = "trt"
PROVIDER = "TensorRT"
TIME_BASIS = "trt_layer"
# the parser contract (parsers.Parser)
NAME = "tensorrt"
DESCRIPTION = "TensorRT trtexec profile / layer info JSON / console log"
OPTIONS: tuple[str, ...] = ("layers",)
VERSION = 1
FORMATS = {
    "profile": "TensorRT trtexec profile JSON (--exportProfile)",
    "layers": "TensorRT layer info JSON (--exportLayerInfo)",
    "times": "TensorRT trtexec times JSON (--exportTimes)",
    "log": "TensorRT trtexec console log (--dumpProfile)",
}
ROLES = ("profile", "layers", "times")
# sibling file names: <stem><sep><kind>.json[.gz]
KINDS = {
    "profile": ("profile",),
    "layers": ("graph", "layers", "layer", "layerinfo", "layer_info"),
    "times": ("timing", "times"),
}
_FILE_NAME = re.compile(
    r"^(?P<stem>.*?)(?P<sep>[._-]?)(?P<kind>profile|graph|layers|layer|layerinfo|layer_info|timing|times)"
    r"(?P<ext>\.json(?:\.gz)?)$", re.IGNORECASE)
TIMES_KEYS = ("startEnqMs", "endEnqMs", "startH2dMs", "endH2dMs", "startComputeMs",
              "endComputeMs", "startD2hMs", "endD2hMs", "h2dMs", "computeMs", "d2hMs", "latencyMs")

_BOM = b"\xef\xbb\xbf"
_PROFILE_HEAD = re.compile(rb'\[\s*\{\s*"count"\s*:\s*\d')
_TIMES_HEAD = re.compile(rb'\[\s*\{\s*"(?:' + b"|".join(k.encode() for k in TIMES_KEYS) + rb'|enqueueMs)"\s*:')
_LAYERS_HEAD = re.compile(rb'\{\s*"(Layers|Bindings)"\s*:')
# trt-engine-explorer's device metadata (<stem>.metadata.json): read beside a profile, never alone
_METADATA_HEAD = re.compile(rb'\{\s*"device_information"\s*:|\[\s*\{\s*"Name"\s*:\s*"[^"]*"\s*,\s*"Compute')

# ---------------------------------------------------------------- ONNX op types
# The parser must not import the taxonomy; this small local knowledge only chooses which
# fused node names the layer's op_type (the taxonomy then decides the group).
ONNX_OPS = frozenset("""
Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool
BatchNormalization Bernoulli BitCast BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor
BlackmanWindow Cast CastLike CausalConvWithState Ceil Celu CenterCropPad Clip Col2Im Compress
Concat ConcatFromSequence Constant ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumProd
CumSum DFT DeformConv DepthToSpace DequantizeLinear Det Div Dropout DynamicQuantizeLinear Einsum
Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather GatherElements GatherND Gelu Gemm
GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization
HammingWindow HannWindow HardSigmoid HardSwish Hardmax Identity If ImageDecoder
InstanceNormalization IsInf IsNaN LRN LSTM LayerNormalization LeakyRelu Less LessOrEqual
LinearAttention Log LogSoftmax Loop LpNormalization LpPool MatMul MatMulInteger Max MaxPool
MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min Mish Mod Mul Multinomial
Neg NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional OptionalGetElement
OptionalHasElement Or PRelu Pad Pow QLinearConv QLinearMatMul QuantizeLinear RMSNormalization RNN
RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2
ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare
RegexFullMatch Relu Reshape Resize ReverseSequence RoiAlign RotaryEmbedding Round STFT Scan Scatter
ScatterElements ScatterND Selu SequenceAt SequenceConstruct SequenceEmpty SequenceErase
SequenceInsert SequenceLength SequenceMap Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax
SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth Split SplitToSequence Sqrt Squeeze
StringConcat StringNormalizer StringSplit Sub Sum SwiGLU Swish Tan Tanh TensorScatter
TfIdfVectorizer ThresholdedRelu Tile TopK Transpose Trilu Unique Unsqueeze Upsample Where Xor
FusedConv FusedGemm FusedMatMul QGemm MatMulNBits MultiHeadAttention GroupQueryAttention
PackedAttention PackedMultiHeadAttention DecoderMaskedMultiHeadAttention QAttention NhwcConv
GemmFastGelu DynamicQuantizeMatMul MatMulIntegerToFloat SkipLayerNormalization
SimplifiedLayerNormalization SkipSimplifiedLayerNormalization EmbedLayerNormalization BiasGelu
FastGelu QuickGelu BiasAdd BiasSplitGelu SkipGroupNorm GroupNorm QLinearAdd QLinearMul
QLinearSigmoid QLinearAveragePool QLinearGlobalAveragePool QLinearConcat QLinearLeakyRelu
QLinearSoftmax EfficientNMS_TRT BatchedNMS_TRT BatchedNMSDynamic_TRT RoIAlign_TRT
""".split())
# other spellings of the same ops (aten / TensorFlow node names), lower case -> ONNX type
_ALIASES = {
    "linear": "Gemm", "addmm": "Gemm", "mm": "MatMul", "bmm": "MatMul", "baddbmm": "MatMul",
    "conv1d": "Conv", "conv2d": "Conv", "conv3d": "Conv", "convolution": "Conv",
    "depthwiseconv2dnative": "Conv", "conv_transpose1d": "ConvTranspose",
    "conv_transpose2d": "ConvTranspose", "conv_transpose3d": "ConvTranspose",
    "conv2dbackpropinput": "ConvTranspose", "scaled_dot_product_attention": "Attention",
    "sdpa": "Attention", "batchmatmulv2": "MatMul", "batchmatmul": "MatMul",
    "biasadd": "Add", "addv2": "Add", "relu6": "Clip", "clamp": "Clip", "hardtanh": "Clip",
    "layer_norm": "LayerNormalization", "batch_norm": "BatchNormalization",
    "fusedbatchnorm": "BatchNormalization", "fusedbatchnormv3": "BatchNormalization",
    "group_norm": "GroupNormalization", "rms_norm": "RMSNormalization", "silu": "Swish",
    "embedding": "Gather", "view": "Reshape", "permute": "Transpose", "cat": "Concat",
    "max_pool2d": "MaxPool", "avg_pool2d": "AveragePool", "maxpool2d": "MaxPool",
    "adaptive_avg_pool2d": "GlobalAveragePool", "upsample_nearest2d": "Resize",
    "upsample_bilinear2d": "Resize", "interpolate": "Resize", "realdiv": "Div",
    "conv2dtranspose": "ConvTranspose",
}
_BY_LOWER = {t.lower(): t for t in ONNX_OPS}
_BY_LOWER.update(_ALIASES)
# GEMM-based ONNX op types: the fused-name rule's own list (tracekit.model.names), shared
# with the taxonomy
GEMM_ONNX = GEMM_OP_TYPES
# fused nodes that do not say what a layer computes (shape plumbing, constants, Q/DQ)
TRIVIAL_ONNX = frozenset("""
Identity Constant ConstantOfShape Shape Size Reshape Squeeze Unsqueeze Flatten QuantizeLinear
DequantizeLinear Cast CastLike
""".split())
# TensorRT layer types that implement GEMMs (engine-graph LayerType and ILayer kinds)
_GEMM_LAYER = re.compile(r"conv|gemm|matrixmultiply|matmul|fullyconnected|attention|mha|einsum",
                         re.IGNORECASE)
# layer types that implement many different ops: their fused ONNX nodes say more
_GENERIC_LAYER = re.compile(
    r"^(reformat|noop|no_op|elementwise|scale|unary|activation|constant|tensorrt|unknown|signal|wait"
    r"|fusion|kgen|foreignnode|identity|cast)$|pointwise|myelin|plugin", re.IGNORECASE)

# Compiled (Myelin) regions: a layer whose node list is unknown beyond its two ends (or a
# Myelin layer name) may hold whole transformer blocks, so it is named for what it is, a
# fused region, GEMM-based where its ends or inputs show a GEMM node or GEMM weights.
FUSED_REGION = "FusedRegion"
FUSED_GEMM_REGION = "FusedGemmRegion"
_REGION_LAYER = re.compile(r"^(myelin|foreignnode|kgen)$", re.IGNORECASE)
_GEMM_EVIDENCE = re.compile(
    r"(?:^|[/:._\s])(?:MatMul|Gemm|Conv|ConvTranspose|Einsum|Fc)(?:_\d+)?(?=$|[/:._\s])"
    r"|(?:^|[/._])(?:linear|dense|fc\d*|proj|[qkv]_proj|out_proj|query|key|value|qkv|c_attn|c_fc"
    r"|c_proj|lm_head|conv\d*|downsample\.0)\.weight$|^__myl_(?:bb\d+_\d+_)?Fc")
_TRAILING_NUMBER = re.compile(r"(?:_+\d+)+$")
_REFORMAT_NAME = re.compile(r"^Reformatting CopyNode for (?:Input|Output) Tensor \d+ to ", re.DOTALL)
_FOREIGN = re.compile(r"\{ForeignNode\[(.*?)\]\}", re.DOTALL)
_PWN = re.compile(r"PWN\(([^()]*)\)")
_UNNAMED = re.compile(r"^\(Unnamed Layer\* ?\d+\) \[([^\]]+)\]$")
_TRT_SHUFFLE = re.compile(r"^(copied_)?(un)?squeeze(_node)?_(after|before)_|^reshape_(after|before)_"
                          r"|^shuffle_(between|after|before)_")
_WEIGHTS = re.compile(r"(?:^| \+ )([A-Za-z_][\w.]*?)\.weight(?: \+ |$)")
_META_SPLIT = re.compile("[\x1e\x1f]")
_ONNX_LAYER = "ONNX Layer: "
_PRECISIONS = [
    ("BF16", r"BF16|BFloat16"), ("FP8", r"FP8|E4M3|E5M2"), ("FP4", r"FP4|E2M1"),
    ("FP16", r"FP16|Half"), ("FP32", r"FP32|Float"), ("FP64", r"FP64|Double"),
    ("INT4", r"Int4"), ("UINT8", r"UInt8"), ("INT8", r"Int8"), ("INT32", r"Int32"),
    ("INT64", r"Int64"), ("BOOL", r"Bool"),
]
_PRECISION_RE = [(p, re.compile(rf"(?<![A-Za-z0-9])(?:{rx})(?![A-Za-z0-9])", re.IGNORECASE)) for p, rx in _PRECISIONS]
_TOTAL_NAMES = ("total", "[total]", "total time", "totals")


# ---------------------------------------------------------------- detection

def sniff(head: bytes, path: str | None = None) -> bool:
    """A trtexec profile (``[{"count": N}, ...``), layer info (``{"Layers": ...``) or times
    array (``[{"startEnqMs": ...``). Chrome/Kineto and ONNX Runtime JSON never start so."""
    return kind_of(head) is not None


def kind_of(head: bytes) -> str | None:
    """"profile", "layers", "times" or None, from a file's first bytes."""
    text = head.removeprefix(_BOM)
    text = text.lstrip(b" \t\r\n")
    if _PROFILE_HEAD.match(text):
        return "profile"
    if _TIMES_HEAD.match(text):
        return "times"
    m = _LAYERS_HEAD.match(text)
    if m and (m.group(1) == b"Layers" or b'"Layers"' in text):
        return "layers"
    if trtexec_log.is_log(text):
        return "log"
    if _METADATA_HEAD.match(text) or (text.startswith(b"{") and b'"device_information"' in text):
        return "metadata"
    return None


def companions(path, layers=None, kind: str | None = None) -> dict[str, str | None]:
    """The files one engine run is read from: {"profile", "layers", "times"} -> path or None.

    ``path`` fills the role its content says; the others are found beside it by name;
    ``layers`` (``--layers FILE``) names the layer info explicitly. Also what a cache should
    hash besides ``path`` (a sibling written later changes the result)."""
    path = os.fspath(path)
    if kind is None:
        kind = kind_of(_io.read_head(path))
    files: dict[str, str | None] = {role: None for role in ROLES}
    if kind in files:
        files[kind] = path
    if kind == "log":
        files["profile"] = path
    if layers is not None:
        files["layers"] = os.fspath(layers)
    m = _FILE_NAME.match(os.path.basename(path))
    if m:
        folder = os.path.dirname(path)
        stem, sep = m.group("stem"), m.group("sep")
        for role in ROLES:
            if files[role] is not None:
                continue
            for k in KINDS[role]:
                for ext in (".json", ".json.gz"):
                    candidate = os.path.join(folder, f"{stem}{sep}{k}{ext}")
                    if os.path.isfile(candidate) and not _same(candidate, path):
                        files[role] = candidate
                        break
                if files[role]:
                    break
    if files["layers"] is None and files["profile"] is not None:
        files["layers"] = find_layer_info(files["profile"])[0]
    elif files["profile"] is None and files["layers"] is not None and kind == "layers":
        files["profile"] = find_layer_info(files["layers"], want=("profile", "log"))[0]
    return files


SCAN_MAX_FILES = 2000
SCAN_MAX_BYTES = 64 << 20


def find_layer_info(profile: str, want=("layers",)) -> tuple[str | None, list[str]]:
    """(the layer-info file in the profile's folder that names its layers, or None; every
    such file when several match equally well), whatever the files are called: the content
    says what a file is. ``want=("profile", "log")`` finds a profile for layer info instead."""
    try:
        names = set(_profile_names(profile) if want == ("layers",) else _layer_names(profile))
    except (OSError, TraceError, ValueError):
        return None, []
    if not names:
        return None, []
    folder = os.path.dirname(profile) or "."
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)[:SCAN_MAX_FILES]
    except OSError:
        return None, []
    scores: dict[str, int] = {}
    for entry in entries:
        try:
            if not entry.is_file() or entry.stat().st_size > SCAN_MAX_BYTES or _same(entry.path, profile):
                continue
            if kind_of(_io.read_head(entry.path)) not in want:
                continue
            found = set(_layer_names(entry.path) if want == ("layers",) else _profile_names(entry.path))
        except (OSError, TraceError, ValueError):
            continue
        hits = len(names & found)
        if hits * 2 >= len(names):
            scores[entry.path] = hits
    if not scores:
        return None, []
    best = max(scores.values())
    top = [p for p, n in scores.items() if n == best]
    return (top[0] if len(top) == 1 else None), top


def _layer_names(path: str) -> list[str]:
    doc, _ = _decode(_io.read_bytes(path), path, "layer info")
    listed = doc.get("Layers") if isinstance(doc, dict) else None
    if not isinstance(listed, list):
        return []
    return [x if isinstance(x, str) else x.get("Name") for x in listed
            if isinstance(x, str) or (isinstance(x, dict) and isinstance(x.get("Name"), str))]


def _profile_names(path: str) -> list[str]:
    data = _io.read_bytes(path)
    kind = kind_of(data[: 1 << 16])
    if kind == "log":
        return trtexec_log.read(data.decode("utf-8", "replace"))["names"]
    if kind != "profile":
        return []
    doc, _ = _decode(data, path, "profile")
    return [e["name"] for e in doc[1:] if isinstance(e, dict) and isinstance(e.get("name"), str)] \
        if isinstance(doc, list) else []


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# ---------------------------------------------------------------- parse

def parse(path, progress=None, layers=None) -> list[Trace]:
    """One Trace for the engine run ``path`` belongs to (profile, layer info or times file).

    ``layers`` names the layer-info file (``--layers FILE``) instead of the sibling found by
    name. ``progress(stage, done, total)``, if given, is told when tables are built."""
    path = os.fspath(path)
    data = _io.read_bytes(path)
    kind = kind_of(data[: 1 << 16])
    if kind is None:
        raise TraceError(path, "not a TensorRT trtexec export (expected a profile "
                               "[{\"count\": N}, ...], layer info {\"Layers\": ...}, times array "
                               "or trtexec console log)")
    if kind == "metadata":
        raise TraceError(path, "is trt-engine-explorer device metadata, not a profile: pass the "
                               f"profile JSON beside it ({_metadata_profile(path)})")
    files = companions(path, layers=layers, kind=kind)
    messages: list[str] = []
    notes: list[str] = []

    def warn(message: str) -> None:
        messages.append(message)
        warnings.warn(TraceWarning(message), stacklevel=3)

    def read(role: str, reader):
        """The role's file read by ``reader``; a broken sibling found by name is skipped with a
        warning, the file asked for (``path``, ``layers=``) raises."""
        file = files[role]
        if file is None:
            return None
        asked = file == path or (role == "layers" and layers is not None)
        try:
            return reader(file, data if file == path else None, warn)
        except TraceError as exc:
            if asked:
                raise
            warn(f"{path}: ignoring {role} file beside it ({exc})")
            files[role] = None
            return None

    profile = read("profile", _read_profile_or_log)
    info = read("layers", _read_layers)
    times = read("times", _read_times)
    log = (profile or {}).get("log")
    if log is not None:
        if info is None and log["layers"]:
            verbosity = "detailed" if any("LayerType" in x for x in log["layers"]) else "layer_names_only"
            info = {"path": path, "layers": log["layers"], "bindings": [], "verbosity": verbosity}
            files["layers"] = path
        if times is None and log["timing"]:
            times = _log_times(path, log["timing"])
            files["times"] = path

    if profile is not None:
        names = profile["names"]
        avg_ms = profile["avg_ms"]
    elif info is not None:
        names = [layer["Name"] for layer in info["layers"]]
        avg_ms = [0.0] * len(names)
        warn(f"{path}: no per-layer times: TensorRT layer info without its profile "
             f"({_expected(path, 'profile')}); {len(names)} layers load with zero time")
    else:
        names, avg_ms = [], []
        warn(f"{path}: per-inference times only; no per-layer profile or layer info found "
             f"beside it ({_expected(path, 'profile')})")
    if profile is not None and info is None:
        _, several = find_layer_info(files["profile"])
        where = (f"several layer-info files name these layers: {', '.join(several[:3])}" if several
                 else f"{_expected(path, 'layers')}, nor a layer-info JSON naming these layers in "
                      "the same folder")
        warn(f"{path}: no layer info ({where}); layer types, precisions and fused ONNX nodes "
             "come from layer names only (pass --layers FILE)")

    details = _join(names, info, path, warn)
    if progress is not None:
        progress("attribute", 0, 1)
    ops = _ops_table(names, avg_ms, details)
    meta = _meta(path, kind, files, profile, info, times, details, ops, notes)
    meta.warnings = messages
    return [Trace(ops=ops, meta=meta)]


def _metadata_profile(path: str) -> str:
    """The profile that a ``<stem>[.profile].metadata.json`` belongs to, named as a path to
    pass (the one on disk when there is one)."""
    name = os.path.basename(path)
    stem = re.sub(r"(?:[._-]profile)?[._-]metadata\.json(?:\.gz)?$", "", name, flags=re.IGNORECASE)
    for candidate in (f"{stem}.profile.json", f"{stem}.profile.json.gz"):
        full = os.path.join(os.path.dirname(path), candidate)
        if os.path.isfile(full):
            return full
    return os.path.join(os.path.dirname(path), f"{stem}.profile.json")


def _expected(path: str, role: str) -> str:
    m = _FILE_NAME.match(os.path.basename(path))
    if not m:
        return f"no <stem>.{KINDS[role][0]}.json: the file name has no .profile/.graph/.timing part"
    names = " / ".join(f"{m.group('stem')}{m.group('sep')}{k}.json" for k in KINDS[role])
    return f"looked for {names}"


# ---------------------------------------------------------------- reading the files

def _decode(data: bytes, path: str, what: str):
    """The JSON document; for an array cut off mid-way, its complete elements (with a
    warning flag). Anything else that is not JSON is a TraceError."""
    data = data.removeprefix(_BOM)
    try:
        return orjson.loads(data), False
    except orjson.JSONDecodeError:
        pass
    except RecursionError:  # pragma: no cover - orjson limits depth itself
        raise TraceError(path, "JSON is nested too deeply") from None
    problem = _io.json_problem(data)
    if problem == "not UTF-8":
        raise _io.json_error(path, data)
    text = data.decode("utf-8")
    body = text.strip()
    cut = problem == "cut off"
    if cut and body.startswith("["):
        items = _array_prefix(text)
        if not items:
            raise TraceError(path, f"{what} is cut off before its first complete entry")
        return items, True
    if cut and body.startswith("{"):
        raise TraceError(path, f"{what} JSON is cut off")
    raise _io.json_error(path, data)


def _array_prefix(text: str) -> list:
    """Complete elements of a JSON array that is cut off."""
    decoder = json.JSONDecoder()
    i = text.index("[") + 1
    n = len(text)
    items = []
    while i < n:
        c = text[i]
        if c in " \t\r\n,":
            i += 1
            continue
        if c == "]":
            break
        try:
            value, i = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            break
        items.append(value)
    return items


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _read_profile_or_log(path: str, data: bytes | None, warn) -> dict:
    data = _io.read_bytes(path) if data is None else data
    if kind_of(data[: 1 << 16]) == "log":
        return _read_log(path, data, warn)
    return _read_profile(path, data, warn)


def _read_log(path: str, data: bytes, warn) -> dict:
    log = trtexec_log.read(data.decode("utf-8", "replace"))
    names, avg, median = log["names"], log["avg_ms"], log["median_ms"]
    if not names:
        raise TraceError(path, "trtexec log holds no per-layer profile table (run trtexec with "
                               "--dumpProfile, or --exportProfile=FILE)")
    total_ms = None
    if names[-1].strip().lower() in _TOTAL_NAMES:
        total_ms = avg.pop()
        names.pop()
        median.pop()
    if log["sections"] > 1:
        warn(f"{path}: log holds {log['sections']} profile tables; read the last one")
    return {"path": path, "count": log["count"], "names": names, "avg_ms": avg, "median_ms": median,
            "truncated": False, "total_ms": total_ms, "extra_entries": 0, "log": log}


def _log_times(path: str, timing: dict) -> dict:
    def stats(key):
        return timing.get(key) or None

    return {"path": path, "iterations": timing.get("iterations"), "truncated": False,
            "latency_ms": stats("latency_ms"), "compute_ms": stats("compute_ms"),
            "h2d_ms": stats("h2d_ms"), "d2h_ms": stats("d2h_ms"), "enqueue_ms": stats("enqueue_ms"),
            "span_ms": None, "throughput_per_s": timing.get("throughput_per_s"),
            "source": "trtexec log"}


def _read_profile(path: str, data: bytes | None, warn) -> dict:
    doc, truncated = _decode(_io.read_bytes(path) if data is None else data, path, "profile")
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict) or "count" not in doc[0]:
        raise TraceError(path, 'not a TensorRT profile: expected a JSON array starting with {"count": N}')
    count = doc[0]["count"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise TraceError(path, f"profile 'count' is {count!r}, not a number of inferences")
    names: list[str] = []
    avg: list[float] = []
    median: list[float] = []
    sections = 1
    extra = 0
    too_long = 0
    for i, entry in enumerate(doc[1:], 1):
        if not isinstance(entry, dict):
            raise TraceError(path, f"profile entry {i} is not an object")
        if "name" not in entry:
            if "count" in entry:
                sections += 1
                break  # a second profile section: reading both would count layers twice
            extra += 1
            continue
        name = entry["name"]
        if not isinstance(name, str):
            raise TraceError(path, f"profile entry {i}: 'name' is not a string")
        ms = _number(entry.get("averageMs"))
        if ms is None and "averageMs" not in entry:
            total = _number(entry.get("timeMs"))
            ms = total / count if total is not None and count else None
        if ms is None:
            raise TraceError(path, f"profile entry {i} ({name[:80]!r}) has no numeric averageMs")
        if ms < 0:
            raise TraceError(path, f"profile entry {i} ({name[:80]!r}) has a negative time")
        if not ms * 1e6 <= checks.MAX_DUR_NS:  # 1e16 ms would wrap int64 once in ns
            too_long += 1
            continue
        names.append(name)
        avg.append(ms)
        median.append(_number(entry.get("medianMs")) or 0.0)
    checks.warn_count(path, f"layer{'s' if too_long != 1 else ''} timed over 2 days (out of range)",
                      too_long, "set aside")
    total_ms = None
    if names and names[-1].strip().lower() in _TOTAL_NAMES:
        rest = sum(avg[:-1])
        if abs(avg[-1] - rest) <= max(1e-3, 0.01 * rest):  # a summary line, not a layer
            total_ms = avg.pop()
            names.pop()
            median.pop()
    if not names:
        raise TraceError(path, "profile is cut off before its first complete layer entry"
                         if truncated else "profile holds no layer timings")
    if truncated:
        warn(f"{path}: profile is cut off; read {len(names)} layers up to the cut")
    if sections > 1:
        warn(f"{path}: profile holds more than one section (another {{\"count\"}} entry); "
             "read the first only")
    return {"path": path, "count": count, "names": names, "avg_ms": avg, "median_ms": median,
            "truncated": truncated, "total_ms": total_ms, "extra_entries": extra}


def _read_layers(path: str, data: bytes | None, warn) -> dict:
    doc, _ = _decode(_io.read_bytes(path) if data is None else data, path, "layer info")
    if not isinstance(doc, dict) or not isinstance(doc.get("Layers"), list):
        raise TraceError(path, "not TensorRT layer info: expected an object with a 'Layers' list")
    layers = []
    detailed = 0
    for i, layer in enumerate(doc["Layers"]):
        if isinstance(layer, str):
            layers.append({"Name": layer})
        elif isinstance(layer, dict):
            if not isinstance(layer.get("Name"), str):
                raise TraceError(path, f"layer {i} has no 'Name' string")
            layers.append(layer)
            detailed += 1
        else:
            raise TraceError(path, f"layer {i} is neither a name nor an object")
    bindings = doc.get("Bindings")
    bindings = [b for b in bindings if isinstance(b, str)] if isinstance(bindings, list) else []
    verbosity = "detailed" if detailed else "layer_names_only"
    return {"path": path, "layers": layers, "bindings": bindings, "verbosity": verbosity}


def _read_times(path: str, data: bytes | None, warn) -> dict:
    doc, truncated = _decode(_io.read_bytes(path) if data is None else data, path, "times")
    if not isinstance(doc, list) or not all(isinstance(x, dict) for x in doc):
        raise TraceError(path, "not TensorRT times: expected a JSON array of per-inference objects")
    if truncated:
        warn(f"{path}: times file is cut off; read {len(doc)} inferences up to the cut")

    def column(key):
        values = [_number(x.get(key)) for x in doc]
        return np.array([v for v in values if v is not None], dtype=float)

    def stats(values, full=False):
        if not len(values):
            return None
        out = {"mean": float(values.mean()), "median": float(np.median(values))}
        if full:
            out.update(min=float(values.min()), max=float(values.max()),
                       p90=float(np.percentile(values, 90)), p99=float(np.percentile(values, 99)))
        return out

    latency = column("latencyMs")
    enq = np.array([_number(x.get("endEnqMs")) - _number(x.get("startEnqMs")) for x in doc
                    if _number(x.get("endEnqMs")) is not None and _number(x.get("startEnqMs")) is not None],
                   dtype=float)
    starts = column("startH2dMs")
    starts = starts if len(starts) else column("startComputeMs")
    ends = column("endD2hMs")
    ends = ends if len(ends) else column("endComputeMs")
    span = float(ends.max() - starts.min()) if len(starts) and len(ends) else None
    return {
        "path": path, "iterations": len(doc), "truncated": truncated,
        "latency_ms": stats(latency, full=True), "compute_ms": stats(column("computeMs"), full=True),
        "h2d_ms": stats(column("h2dMs")), "d2h_ms": stats(column("d2hMs")),
        "enqueue_ms": stats(enq), "span_ms": span,
        "throughput_per_s": (len(doc) / span * 1e3) if span else None,
    }


# ---------------------------------------------------------------- layers

def _join(names: list[str], info: dict | None, path: str, warn) -> list[dict]:
    """Layer-info entry per profiled layer, matched by name (in order where names repeat)."""
    if info is None:
        return [_describe(name, None) for name in names]
    by_name: dict[str, list[dict]] = {}
    for layer in info["layers"]:
        by_name.setdefault(layer["Name"], []).append(layer)
    out = []
    missing = 0
    for name in names:
        hits = by_name.get(name)
        layer = hits.pop(0) if hits else None
        missing += layer is None
        out.append(_describe(name, layer))
    left = [layer for rest in by_name.values() for layer in rest
            if str(layer.get("LayerType", "")).lower() not in ("signal", "wait", "constant")
            and not re.search(r"\[profile \d+\]", layer["Name"])]
    if names and missing == len(names):
        warn(f"{path}: none of the {len(names)} profiled layers is in the layer info "
             f"{info['path']}; is it from another engine?")
    elif missing:
        warn(f"{path}: {missing} of {len(names)} profiled layers are not in the layer info "
             f"{info['path']}")
    if left and missing < len(names):
        warn(f"{path}: {len(left)} layers of the layer info {info['path']} are not in the profile")
    return out


def node_type(name: str) -> str:
    """ONNX op type a node name encodes, or "": '/model/layers.0/attn/MatMul_1' -> 'MatMul',
    'Conv_9' -> 'Conv', 'node_Conv_0' / 'node_linear_2' -> 'Conv' / 'Gemm'."""
    last = name.rsplit("/", 1)[-1].strip()
    base = _TRAILING_NUMBER.sub("", last)
    if base in ONNX_OPS:
        return base
    low = base.lower()
    for prefix in ("node_of_", "node_"):
        if low.startswith(prefix):
            low = low[len(prefix):]
            break
    return _BY_LOWER.get(low, "")


def metadata_nodes(metadata) -> list[str]:
    """ONNX node names in a layer's ``Metadata``: "[ONNX Layer: a]\\x1f[ONNX Layer: b]"."""
    if isinstance(metadata, list):
        metadata = "\x1f".join(str(m) for m in metadata)
    if not isinstance(metadata, str):
        return []
    out = []
    for part in _META_SPLIT.split(metadata):
        at = part.find(_ONNX_LAYER)
        if at < 0:
            continue
        node = part[at + len(_ONNX_LAYER):].strip()
        node = node.removesuffix("]")
        if node:
            out.append(node)
    return out


def name_nodes(name: str) -> tuple[list[str], bool, str]:
    """ONNX node names a layer name lists, whether the list is partial (Myelin
    ``{ForeignNode[first...last]}``) and a layer-type hint from the name."""
    if _REFORMAT_NAME.match(name):
        return [], False, "Reformat"
    if _TRT_SHUFFLE.match(name):
        return [], False, "Shuffle"
    partial = False
    foreign: list[str] = []

    def take(m):
        nonlocal partial
        partial = True
        foreign.extend(p for part in m.group(1).split("...") for p in part.split(" + "))
        return ""

    s = _FOREIGN.sub(take, name)
    previous = None
    while previous != s:  # PWN(PWN(a), b) -> a + b
        previous = s
        s = _PWN.sub(lambda m: " + ".join(m.group(1).split(", ")), s)
    hint = ""
    nodes = []
    for token in foreign + s.split(" + "):
        token = token.strip()
        if not token:
            continue
        unnamed = _UNNAMED.match(token)
        if unnamed:
            hint = hint or unnamed.group(1)
            continue
        if node_type(token):
            nodes.append(token)
    if partial and not hint:
        hint = "Myelin"
    return nodes, partial, hint


def is_region(name: str, layer_type: str = "") -> bool:
    """A compiled (Myelin) region: {ForeignNode[...]} name, Myelin layer type or name."""
    return bool(_FOREIGN.search(name) or _REGION_LAYER.match(layer_type or "")
                or name.startswith("__myl_"))


def _foreign_ends(name: str) -> list[str]:
    return [p.strip() for m in _FOREIGN.finditer(name) for part in m.group(1).split("...")
            for p in part.split(" + ")]


def choose_op(layer_type: str, types: list[str]) -> tuple[str, int]:
    """(op_type, main node index or -1) by the rule: GEMM-based fused node type, else an
    informative layer type, else the first non-trivial fused node type."""
    i = main_member(types)  # the one fused-name rule: a GEMM-based member first
    if i >= 0:
        return types[i], i
    known = [i for i, t in enumerate(types) if t]
    nontrivial = [i for i in known if types[i] not in TRIVIAL_ONNX]
    main = nontrivial[0] if nontrivial else (known[0] if known else -1)
    if layer_type and _GEMM_LAYER.search(layer_type):
        return layer_type, -1  # the layer's GEMM is not among the listed nodes
    if layer_type and (main < 0 or not _GENERIC_LAYER.search(layer_type)):
        return layer_type, main
    if main >= 0:
        return types[main], main
    return layer_type, -1


def precision_of(fmt) -> str:
    """'Channel major FP16 format where channel % 8 == 0' -> 'FP16'; 'Half' -> 'FP16'."""
    if not isinstance(fmt, str):
        return ""
    for precision, rx in _PRECISION_RE:
        if rx.search(fmt):
            return precision
    return ""


def _tensors(layer: dict, key: str) -> list[dict]:
    value = layer.get(key)
    return [t for t in value if isinstance(t, dict)] if isinstance(value, list) else []


def _describe(name: str, layer: dict | None) -> dict:
    layer = layer or {}
    layer_type = str(layer.get("LayerType") or "")
    if "Metadata" in layer:
        nodes = metadata_nodes(layer.get("Metadata"))
        partial, hint = False, ""
        from_names = False
        if not nodes:
            nodes, partial, hint = name_nodes(name)
            from_names = True
    else:
        nodes, partial, hint = name_nodes(name)
        from_names = True
    types = [node_type(n) for n in nodes]
    op_type, main = choose_op(layer_type or hint, types)
    inputs, outputs = _tensors(layer, "Inputs"), _tensors(layer, "Outputs")
    if from_names and is_region(name, layer_type or hint) and not _GEMM_LAYER.search(layer_type):
        evidence = [*(_foreign_ends(name)), name, *(str(t.get("Name", "")) for t in inputs)]
        op_type = FUSED_GEMM_REGION if any(_GEMM_EVIDENCE.search(e) for e in evidence) else FUSED_REGION
        main = -1
    module = ""
    if main >= 0 and "/" in nodes[main].strip("/"):
        module = nodes[main].rsplit("/", 1)[0]
    elif main >= 0 or (op_type and _GEMM_LAYER.search(op_type)):
        # old exporters name nodes "Conv_9"; the weights the layer name lists keep the
        # module's dotted path: "layer1.0.conv2.weight + QuantizeLinear_32 + Conv_34"
        weights = _WEIGHTS.search(name)
        module = weights.group(1) if weights else ""
    in_formats = [str(t.get("Format/Datatype", "")) for t in inputs]
    out_formats = [str(t.get("Format/Datatype", "")) for t in outputs]
    # trt-engine-explorer's convention: a layer runs in its first input's precision
    precision = next((p for p in map(precision_of, in_formats + out_formats) if p), "")
    stream = layer.get("StreamId")
    return {
        "layer_type": layer_type, "parameter_type": str(layer.get("ParameterType") or ""),
        "origin": str(layer.get("Origin") or ""), "tactic": str(layer.get("TacticName") or ""),
        "nodes": nodes, "node_types": types, "partial": partial, "from_names": from_names,
        "main": main, "op_type": op_type, "module": module, "precision": precision,
        "in_formats": in_formats, "out_formats": out_formats,
        "shapes": _dims(inputs), "dtypes": json.dumps([precision_of(f) for f in in_formats]) if inputs else "",
        "stream": int(stream) if isinstance(stream, int) and not isinstance(stream, bool) else 0,
    }


def _dims(tensors: list[dict]) -> str:
    dims = [t.get("Dimensions") for t in tensors]
    if not dims:
        return ""
    return json.dumps(dims, separators=(",", ":"))


def _ops_table(names, avg_ms, details):
    n = len(names)
    dur = np.rint(np.asarray(avg_ms, dtype=float) * 1e6).astype(np.int64) if n else np.zeros(0, np.int64)
    ts = np.concatenate([[0], np.cumsum(dur)[:-1]]).astype(np.int64) if n else np.zeros(0, np.int64)
    columns = {
        "op_type": [d["op_type"] for d in details],
        "fused": [FUSED_SEP.join(d["nodes"]) for d in details],
        "precision": [d["precision"] for d in details],
        "module": [d["module"] for d in details],
    }
    ops = make_table(
        OPS, n, name=_cat(names), ts_ns=ts, dur_ns=dur, self_ns=dur.copy(),
        pid=np.zeros(n, np.int64), tid=np.array([d["stream"] for d in details], np.int64),
        parent=np.full(n, -1, np.int64), depth=np.zeros(n, np.int32),
        module=_cat(columns["module"]), shapes=_cat([d["shapes"] for d in details]),
        dtypes=_cat([d["dtypes"] for d in details]), provider=_cat([PROVIDER] * n),
        source=_cat([SOURCE] * n), op_type=_cat(columns["op_type"]),
        fused=_cat(columns["fused"]), precision=_cat(columns["precision"]),
    )
    return ops


def _cat(values: list[str]) -> pd.Categorical:
    return pd.Categorical(np.asarray(values, dtype=object) if values else np.zeros(0, object))


# ---------------------------------------------------------------- metadata

def _meta(path, kind, files, profile, info, times, details, ops, notes) -> TraceMeta:
    dur = ops["dur_ns"].to_numpy()
    meta = TraceMeta(source=SOURCE, format=FORMATS[kind], path=path, time_basis=TIME_BASIS,
                     devices=_devices(files, path))
    x = meta.extras
    x.update(files=dict(files), layers=len(details))
    if profile is not None:
        x["profile_iterations"] = profile["count"]
        meta.truncated = profile["truncated"]
        x["profile_total_ms"] = float(sum(profile["avg_ms"]))
        if profile["total_ms"] is not None:
            x["profile_total_line_ms"] = profile["total_ms"]
        x["profile_median_total_ms"] = float(sum(profile["median_ms"]))
    x["layer_info"] = info["verbosity"] if info is not None else None
    if info is not None:
        x["bindings"] = info["bindings"]
    if any(not d["from_names"] for d in details):
        x["node_lists"] = "metadata"
    elif any(d["nodes"] for d in details):
        x["node_lists"] = "layer_names"
    else:
        x["node_lists"] = "none"
    by_precision: dict[str, int] = {}
    gemm_precision: dict[str, int] = {}
    for d, ns in zip(details, dur):
        key = d["precision"] or "unknown"
        by_precision[key] = by_precision.get(key, 0) + int(ns)
        if d["op_type"] in GEMM_ONNX or d["op_type"] == FUSED_GEMM_REGION or \
                (d["op_type"] and _GEMM_LAYER.search(d["op_type"])):
            gemm_precision[key] = gemm_precision.get(key, 0) + int(ns)
    x["precisions"] = by_precision
    ranked = gemm_precision or by_precision
    x["precision"] = max(ranked, key=ranked.get) if ranked else None
    if times is not None:
        x["timing"] = times
        median = (times.get("latency_ms") or {}).get("median")
        if median and profile is not None:
            notes.append(
                f"per-layer times add up to {x['profile_total_ms']:.4f} ms per inference; "
                f"the median end-to-end latency is {median:.4f} ms (layer profiling adds "
                "synchronization overhead per layer)")
    log = (profile or {}).get("log")
    if log is not None:
        x["trtexec"] = {"version": log["version"], "command": log["command"]}
        if log["device"] and not meta.devices:
            meta.devices = [{"id": 0, "name": log["device"]}]
    x["trt_layers"] = {
        "layer_type": [d["layer_type"] for d in details],
        "parameter_type": [d["parameter_type"] for d in details],
        "origin": [d["origin"] for d in details],
        "tactic": [d["tactic"] for d in details],
        "node_types": [FUSED_SEP.join(d["node_types"]) for d in details],
        "main_node": [d["main"] for d in details],
        "partial_nodes": [d["partial"] for d in details],
        "in_formats": [FUSED_SEP.join(d["in_formats"]) for d in details],
        "out_formats": [FUSED_SEP.join(d["out_formats"]) for d in details],
    }
    x["notes"] = notes
    return meta


def _devices(files: dict, path: str) -> list[dict]:
    """GPU names from trt-engine-explorer's device metadata beside the files, if any:
    ``<stem>.metadata.json`` (a list of devices) or ``<stem>.profile.metadata.json``."""
    base = files.get("profile") or path
    m = _FILE_NAME.match(os.path.basename(base))
    if not m:
        return []
    folder, stem = os.path.dirname(base), m.group("stem")
    for name in (f"{stem}.metadata.json", f"{stem}.profile.metadata.json"):
        candidate = Path(folder) / name
        if not candidate.is_file():
            continue
        try:
            doc = orjson.loads(candidate.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        if isinstance(doc, dict):
            doc = doc.get("device_information")
            doc = [doc] if isinstance(doc, dict) else doc
        if isinstance(doc, list):
            return [{"id": i, "name": str(d.get("Name") or d.get("name") or "")}
                    for i, d in enumerate(doc) if isinstance(d, dict)]
    return []
