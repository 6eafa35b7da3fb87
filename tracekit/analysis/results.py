"""The typed results of the analyses: what ``summary``, ``fallback`` and ``fusion`` compute,
what their reporters render and what ``--json`` writes (field names are the JSON keys).

They are msgspec Structs: fields are checked by name where they are read, and
``msgspec.to_builtins`` turns them into the JSON-ready dicts. A field that only some
traces have (GPU busy time on a host-time basis, the capture of a graph replay) is
``UNSET`` there and left out of the JSON, as the key was before. For the code written
against the dicts they replace, a result also reads like one: ``summary["total_ns"]``,
``summary.get("gpu")``, ``"gpu" in summary``.
"""
from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from tracekit.model.meta import jsonable


class Record(msgspec.Struct, kw_only=True):
    """A Struct that also reads like the dict it encodes to."""

    def __getitem__(self, key: str) -> Any:
        name = _field_of(type(self), key)
        value = UNSET if name is None else getattr(self, name)
        if value is UNSET:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        name = _field_of(type(self), key)
        return name is not None and getattr(self, name) is not UNSET

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def keys(self) -> list[str]:
        """The JSON keys ("from" for a field named ``from_``) of the fields that are set."""
        return [k for k in self.__struct_encode_fields__ if k in self]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self.keys()]

    def to_dict(self) -> dict:
        """The JSON-ready dict (nested results too)."""
        return to_builtins(self)


def _field_of(cls: type, key: object) -> str | None:
    """The field behind a JSON key (a field may be renamed: ``from_`` is "from")."""
    fields = cls.__struct_fields__  # type: ignore[attr-defined]
    if key in fields:
        return key  # type: ignore[return-value]
    encoded = cls.__struct_encode_fields__  # type: ignore[attr-defined]
    return fields[encoded.index(key)] if key in encoded else None


def to_builtins(obj: Any) -> Any:
    """Results (and anything holding them) as plain dicts and lists; numpy scalars as
    Python numbers, anything else unknown as its text."""
    return msgspec.to_builtins(obj, enc_hook=jsonable)


# --------------------------------------------------------------------------- summary

class Row(Record):
    """One row of a breakdown (``tracekit.analysis.breakdown.COLUMNS``)."""

    name: str
    group: str
    is_gemm: bool
    calls: int
    kernels: int
    total_ns: int
    mean_ns: int
    share: float
    kernels_per_call: float
    # how many op names (ONNX nodes, TensorRT layers) an op-kind row holds
    instances: int | UnsetType = UNSET


class Outside(Record):
    """GPU time the window leaves out, and why (:func:`~tracekit.analysis.window.outside_window`)."""

    kernels: int
    ns: int
    share: float
    no_launch_kernels: int
    no_launch_ns: int
    warmup_ns: int
    between_steps_ns: int
    other_steps_ns: int
    other_ns: int
    line: str


class WindowInfo(Record):
    """Which part of the trace a summary covers."""

    description: str
    whole_trace: bool
    all_steps: list[int]
    dropped_steps: list[int]
    outside: Outside | UnsetType = UNSET  # device time basis only


class DeviceBusy(Record):
    """One device in :attr:`GpuBusy.per_device` (:func:`~tracekit.analysis.busy.device_busy`)."""

    device: int
    kernel_ns: int
    busy_ns: int
    span_ns: int
    idle_ns: int
    streams: int


class GpuBusy(Record):
    """Busy time: ``busy_ns`` (at least one device busy) of ``span_ns`` (first start to
    last end over all devices); ``device_busy_ns`` sums the devices' own busy time,
    against ``device_span_ns``, the sum of their own spans."""

    busy_ns: int
    span_ns: int
    idle_ns: int
    busy_any_ns: int
    device_busy_ns: int
    device_span_ns: int
    concurrent_ns: int  # kernel time overlapping other streams
    per_device: list[DeviceBusy]


class Device(Record):
    """One device that ran something (:func:`~tracekit.analysis.summary.devices`)."""

    id: int
    name: str
    kernels: int
    total_ns: int
    busy_ns: int
    span_ns: int
    idle_ns: int
    streams: int
    gemm_ns: int
    gemm_share: float | None
    communication_ns: int
    exposed_communication_ns: int


class LaunchOverhead(Record):
    launch_calls: int
    launch_api_ns: int
    kernels_per_op_call: float | None
    mean_kernel_ns: float | None
    short_kernels: int
    short_kernel_share: float | None
    most_kernels_per_call: list[Row]
    # per launch call, so one slow first launch (module loading) stands out as the tail
    launch_median_ns: float | None = None
    launch_p90_ns: float | None = None
    # calls that launch work and block the host (cudaMemcpy): kept out of launch_calls
    blocking_calls: int = 0
    blocking_api_ns: int = 0
    blocking_names: list[str] = []


class Totals(Record):
    """What a summary of one trace and one of several share, first in their JSON:
    where it comes from and the split of its time (compute = GEMM-based + non-GEMM)."""

    path: Any  # a path for one trace, a list of them for several
    source: Any
    time_basis: str
    total_ns: int
    compute_ns: int
    gemm_ns: int
    non_gemm_ns: int
    communication_ns: int
    exposed_communication_ns: int | None
    unattributed_ns: int
    gemm_free_speedup: float | None


class Summary(Totals):
    """The numbers behind ``tracekit summary`` (see :mod:`tracekit.analysis.summary`)."""

    attributed_share: float | None
    groups: dict[str, int]
    group_counts: dict[str, int]
    kernels: int
    ops: int
    steps: list[int]
    window: WindowInfo
    top_non_gemm_ops: list[Row]
    rank: Any
    devices: list[Any]  # Device rows on a device basis, else the trace's device list
    warnings: list[str]
    gpu: GpuBusy | UnsetType = UNSET  # device time basis only
    launch_overhead: LaunchOverhead | UnsetType = UNSET  # device time basis only
    capture: dict | UnsetType = UNSET  # graph replays mapped to a capture trace
    # time per step of the window (step number as text -> ns), and the one line about a
    # step far from the others ("" when none): analysis.steps
    step_ns: dict[str, int] = {}
    step_outlier: str = ""


class CombinedSummary(Totals):
    """One summary over several traces (ranks): totals and groups add up."""

    groups: dict[str, int]
    kernels: int
    ops: int
    steps: list[int]
    traces: int
    ranks: list[Any]


# --------------------------------------------------------------------------- transfers

class CopyOp(Record):
    """An op whose copies took time in one direction."""

    op: str
    count: int
    time_ns: int
    bytes: int


class CopyDirection(Record):
    """Copies in one direction (``unknown`` when the trace does not say which)."""

    direction: str
    count: int
    bytes: int
    time_ns: int
    bandwidth_gbps: float | None
    share_of_device_time: float | None
    ops: list[CopyOp]


class NodeTime(Record):
    count: int
    time_ns: int


class Transfers(Record):
    device_time_ns: int
    by_direction: list[CopyDirection]
    host_device_ns: int
    ort_memcpy_nodes: dict[str, NodeTime]  # ONNX Runtime Memcpy node type -> its time


class SyncCall(Record):
    """One blocking runtime call by name; ``op``: the op whose calls caused the most of
    the GPU idle time after them."""

    name: str
    count: int
    host_ns: int
    gpu_idle_after_ns: int
    op: str


class Synchronizations(Record):
    calls: list[SyncCall]
    count: int
    host_ns: int
    gpu_idle_after_ns: int
    device_sync_events: int


class FallbackNode(Record):
    name: str
    op_type: str
    calls: int
    time_ns: int
    share: float | None  # of run latency


class Fallback(Record):
    """ONNX Runtime nodes on the CPU provider in a session with a GPU provider."""

    providers: list[str]
    gpu_providers: list[str]
    run_latency_ns: int
    applies: bool
    nodes: list[FallbackNode]
    fallback_ns: int
    memcpy_ns: int
    fallback_share: float | None | UnsetType = UNSET  # only where a GPU provider ran
    memcpy_share: float | None | UnsetType = UNSET


class TransferReport(Record):
    """``tracekit fallback``: copies, synchronizations and CPU fallback of a window."""

    path: Any
    source: Any
    window: str
    transfers: Transfers
    synchronizations: Synchronizations
    fallback: Fallback


# --------------------------------------------------------------------------- fusion

class NodeCounts(Record):
    """The ONNX nodes the layers name: GEMM-based, and the rest fused or standalone."""

    total: int
    gemm: int
    non_gemm: int
    non_gemm_fused: int
    non_gemm_standalone: int


class GemmLayers(Record):
    count: int
    total_ns: int
    with_fused_non_gemm: int


class NonGemmLayers(Record):
    count: int
    total_ns: int
    share: float | None
    by_group: dict[str, int]


class FusedLayer(Record):
    """A layer that runs several ONNX nodes."""

    name: str
    group: str
    is_gemm: bool
    layer_type: str
    precision: str
    dur_ns: int
    nodes: list[str]
    node_types: list[str]
    fused_non_gemm: list[str]


class ReformatLayer(Record):
    name: str
    kind: str  # layout, qdq or noop
    layer_type: str
    origin: str
    precision: str
    dur_ns: int
    from_: str = msgspec.field(name="from")  # input tensor format
    to: str


class CountTime(Record):
    count: int
    total_ns: int


class Reformats(Record):
    count: int
    total_ns: int
    share: float | None
    by_kind: dict[str, CountTime]
    layers: list[ReformatLayer]


class PrecisionTime(Record):
    layers: int = 0
    total_ns: int = 0
    gemm_ns: int = 0
    share: float | None = None


class LayerTime(Record):
    """One layer of :attr:`FusionReport.per_layer`; ``nodes``: how many ONNX nodes it runs."""

    name: str
    layer_type: str
    op_type: str
    group: str
    is_gemm: bool
    precision: str
    dur_ns: int
    nodes: int


class RemovedNode(Record):
    name: str
    op_type: str


class Removed(Record):
    """ONNX nodes in no layer (``--onnx``); only ``model``, ``available`` and ``reason``
    when the model could not be read."""

    model: str
    available: bool
    reason: str | UnsetType = UNSET
    model_nodes: int | UnsetType = UNSET
    unnamed_model_nodes: int | UnsetType = UNSET
    removed_count: int | UnsetType = UNSET
    removed_by_type: dict[str, int] | UnsetType = UNSET
    removed: list[RemovedNode] | UnsetType = UNSET
    non_gemm_model_nodes: int | UnsetType = UNSET
    non_gemm_removed: int | UnsetType = UNSET
    non_gemm_fused_or_removed_rate: float | None | UnsetType = UNSET
    layer_nodes_not_in_model: list[str] | UnsetType = UNSET
    notes: list[str] | UnsetType = UNSET


class Region(Record):
    """A compiled (Myelin) region and the group the ONNX model's nodes between its ends give it."""

    name: str
    ends: list[list[str]]  # (first, last) node of each ForeignNode in its name
    nodes: int
    group_before: str
    group: str
    dur_ns: int
    op_types: dict[str, int]


class FusionReport(Record):
    """``tracekit fusion``: what TensorRT fused (see :mod:`tracekit.analysis.fusion`)."""

    path: Any
    source: str
    layers: int
    total_ns: int
    node_lists: str
    partial_layers: int
    nodes: NodeCounts
    fusion_rate: float | None
    fused_into_gemm: dict[str, int]
    fused_into_non_gemm: dict[str, int]
    standalone_non_gemm: dict[str, int]
    gemm_layers: GemmLayers
    non_gemm_layers: NonGemmLayers
    fused_layers: list[FusedLayer]
    reformats: Reformats
    precision: dict[str, PrecisionTime]
    per_layer: list[LayerTime]
    removed: Removed | None
    regions: list[Region] | None
    notes: list[str]


# --------------------------------------------------------------------------- explain

class RuleTime(Record):
    rule: str  # kind, pattern and file:line of a taxonomy rule
    ns: int


class NameTime(Record):
    name: str
    ns: int


class GroupReasons(Record):
    """One group of ``summary --explain``: its time, the rules that put it there, the top names."""

    group: str
    ns: int
    share: float
    rules: list[RuleTime]
    top: list[NameTime]


class Disagreement(Record):
    """A kernel whose base name alone says another group than the one the precedence gave."""

    kernel: str  # base name
    full_name: str
    op: str
    group: str
    by_kernel_name: str
    ns: int
    share: float


class Explanation(Record):
    """``summary --explain`` (:func:`~tracekit.analysis.explain.explain`)."""

    path: Any
    time_basis: str
    total_ns: int
    groups: list[GroupReasons]
    disagreements: list[Disagreement]


# --------------------------------------------------------------------------- ranks

class RankRow(Record):
    """One rank of a multi-rank job: what tells a straggler apart (see
    :mod:`tracekit.analysis.ranks`)."""

    rank: Any  # the trace's rank, else its position among the inputs
    path: str
    steps: int
    step_ns: int | None  # mean duration of the selected steps; None: not step-based
    total_ns: int
    busy_ns: int | None  # GPU busy/idle: device time basis only
    idle_ns: int | None
    communication_ns: int
    exposed_communication_ns: int | None
    straggler: bool = False  # its mean step exceeds the median by more than the threshold
    named: bool = True  # False: the trace names no rank, and `rank` is its position


class RankTable(Record):
    """Every rank side by side, with the median and who lies above it."""

    rows: list[RankRow]
    median_step_ns: int | None
    median_busy_ns: int | None
    slowest: Any  # rank with the longest mean step (else the most busy time)
    stragglers: list[Any]  # ranks whose mean step exceeds the median by more than `threshold`
    threshold: float
    repeated: list[Any] = msgspec.field(default_factory=list)  # ranks that more than one file claims
    slowest_row: int | None = None  # the slowest rank's index in `rows` (a rank may show twice)
