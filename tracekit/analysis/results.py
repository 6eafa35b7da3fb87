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


class Record(msgspec.Struct, kw_only=True):
    """A Struct that also reads like the dict it encodes to."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.__struct_fields__:
            raise KeyError(key)
        value = getattr(self, key)
        if value is UNSET:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__ and getattr(self, key) is not UNSET

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def keys(self) -> list[str]:
        return [k for k in self.__struct_fields__ if k in self]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def to_dict(self) -> dict:
        """The JSON-ready dict (nested results too)."""
        return to_builtins(self)


def to_builtins(obj: Any) -> Any:
    """Results (and anything holding them) as plain dicts and lists; numpy scalars as
    Python numbers, anything else unknown as its text."""
    return msgspec.to_builtins(obj, enc_hook=_hook)


def _hook(obj: Any) -> Any:
    tolist = getattr(obj, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        try:
            return tolist()
        except (TypeError, ValueError):
            pass
    return str(obj)


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
    per_device: list[dict]


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


class CombinedSummary(Totals):
    """One summary over several traces (ranks): totals and groups add up."""

    groups: dict[str, int]
    kernels: int
    ops: int
    steps: list[int]
    traces: int
    ranks: list[Any]


# --------------------------------------------------------------------------- transfers

class Transfers(Record):
    device_time_ns: int
    by_direction: list[dict]
    host_device_ns: int
    ort_memcpy_nodes: dict


class Synchronizations(Record):
    calls: list[dict]
    count: int
    host_ns: int
    gpu_idle_after_ns: int
    device_sync_events: int


class Fallback(Record):
    """ONNX Runtime nodes on the CPU provider in a session with a GPU provider."""

    providers: list[str]
    gpu_providers: list[str]
    run_latency_ns: int
    applies: bool
    nodes: list[dict]
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

class FusionReport(Record):
    """``tracekit fusion``: what TensorRT fused (see :mod:`tracekit.analysis.fusion`)."""

    path: Any
    source: str
    layers: int
    total_ns: int
    node_lists: str
    partial_layers: int
    nodes: dict[str, int]
    fusion_rate: float | None
    fused_into_gemm: dict[str, int]
    fused_into_non_gemm: dict[str, int]
    standalone_non_gemm: dict[str, int]
    gemm_layers: dict
    non_gemm_layers: dict
    fused_layers: list[dict]
    reformats: dict
    precision: dict
    per_layer: list[dict]
    removed: dict | None
    regions: list[dict] | None
    notes: list[str]
