"""The typed result of ``tracekit compare`` (:mod:`tracekit.analysis.compare`): field names
are the JSON keys, as for the other results."""
from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from tracekit.analysis.results import Record


class Side(Record):
    """One compared trace: what it is and how its time splits. ``total_ns`` is its
    summary total in the same window; ``matched_ns`` the part of it in rows that every
    side has."""

    label: str
    path: Any
    source: Any
    time_basis: str
    window: str
    steps: list[int]
    total_ns: int
    compute_ns: int
    gemm_ns: int
    non_gemm_ns: int
    communication_ns: int
    matched_ns: int
    matched_share: float | None
    units: int  # GPU activities on a device basis, else ops (layers, nodes)
    ops: int
    groups: dict[str, int]  # time per taxonomy group, as the summary's (whatever ``by`` is)
    group_counts: dict[str, int]  # units per group


class CompareRow(Record):
    """One matched key: time on each side (0 where a side has none), in side order."""

    key: str  # what rows are matched by (op rows: the operator kind, "matmul")
    name: str  # the key as a reader knows it: op rows the most common spelling ("aten::mm")
    group: str
    ns: list[int]
    count: list[int]  # units (activities or ops) behind the time, per side
    present: list[bool]
    matched: bool  # every side has it
    names: list[str]  # per side, the name that holds most of the row's time ("" if none)
    fused: list[str]  # per side, fused layers in this row, e.g. "12 fused layers (Conv + Relu)"


# What a comparability reason is about (Comparable.reason_codes): readers that show some
# reasons and not others pick them by code, never by the wording of the line
REASON_CODES = {
    "identical": "every side holds the same events in its window",
    "time_basis": "the sides' times are of different kinds (device, host CPU, TensorRT layers)",
    "steps": "the windows hold different numbers of steps",
    "warmup": "warm-up dropped on some sides only",
    "model": "different models", "batch": "different batch sizes", "seq": "different sequence lengths",
    "image_size": "different image sizes", "dtype": "different dtypes",
    "precision": "TensorRT layers mostly in different precisions",
    "module_paths": "a side has module paths for little of its time (rows by module)",
    "compiled": "much of a side's time is torch.compile's own (Dynamo's checks, compiled regions' self time)",
    "module_overlap": "the module trees barely overlap",
}


class Comparable(Record):
    """Whether the sides measure comparable things; ``reasons`` say why not (and
    "identical" when every side holds the same events), one line each; ``reason_codes``
    says what each is about (a key of ``REASON_CODES``), in the same order."""

    ok: bool
    reasons: list[str]
    identical: bool = False
    reason_codes: list[str] = []


class Comparison(Record):
    """``tracekit compare``: rows matched at one level (``by``) across 2..N traces."""

    by: str
    match: str  # how keys were made at this level, in words
    sides: list[Side]
    rows: list[CompareRow]
    comparable: Comparable
    study: Study | UnsetType = UNSET  # the study's tables where they apply (compare_study)
    notes: list[str] = []


# --------------------------------------------------------------------------- the study's tables

class GroupSpeedup(Record):
    group: str
    before_ns: int
    after_ns: int
    speedup: float | None  # before / after; None when after is 0


class TensorRTTable(Record):
    """A TensorRT side against a PyTorch or ONNX Runtime side of the same model: the
    fusion rate, non-GEMM time before and after, the speedup per group."""

    before: str  # side labels
    after: str
    fusion_rate: float | None
    non_gemm_nodes: int
    non_gemm_fused: int
    non_gemm_before_ns: int
    non_gemm_after_ns: int
    non_gemm_share_before: float | None
    non_gemm_share_after: float | None
    total_speedup: float | None
    groups: list[GroupSpeedup]
    note: str = ""


class ShareShift(Record):
    """A CPU-only side against a GPU side: the non-GEMM share of compute on each."""

    cpu: str
    gpu: str
    non_gemm_share_cpu: float | None
    non_gemm_share_gpu: float | None
    shift_pt: float | None  # GPU share minus CPU share, in percentage points


class QuantizedTable(Record):
    """A quantized side against an unquantized one: Q/DQ time and how the op count grew."""

    base: str
    quantized: str
    qdq_ns: int
    qdq_share: float | None
    qdq_ops: int
    ops_base: int
    ops_quantized: int
    op_growth: float | None  # ops_quantized / ops_base
    nodes_base: int | None = None  # TensorRT: ONNX nodes the engine's layers name
    nodes_quantized: int | None = None


class Study(Record):
    tensorrt: list[TensorRTTable] = []
    cpu_vs_gpu: list[ShareShift] = []
    quantized: list[QuantizedTable] = []
