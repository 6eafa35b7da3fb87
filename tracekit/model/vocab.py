"""The model's fixed words: table names, where a trace came from, what its time counts,
and the values of the event tables' categorical columns with a closed set of meanings.

Written down once so that parsers, reports, exports and the TUI spell them alike;
:func:`tracekit.model.tables.make_table` refuses any other value in those columns (a parser
writing one is a bug, caught where it happens rather than in a report that shows nothing).
"""
from __future__ import annotations

from typing import NamedTuple

# The four event tables, in the order every table-wise loop and file uses.
TABLES = ("ops", "kernels", "launches", "ranges")


class Source(NamedTuple):
    label: str        # the tool that wrote the trace
    ops_label: str    # what its ops are, as a track or column title
    processes: bool = True  # False: its pid column holds no operating-system process
    # True: an op's name is an instance (an ONNX node, a TensorRT layer) and what it
    # computes is ops.op_type
    instance_names: bool = False


# ops.source and meta.source: the parsers' own short names.
SOURCES = {
    "kineto": Source("PyTorch profiler (Kineto)", "ops"),
    "nsys": Source("Nsight Systems", "Nsight Systems ranges"),
    "ort": Source("ONNX Runtime", "ONNX Runtime nodes", instance_names=True),
    "trt": Source("TensorRT", "TensorRT layers", processes=False, instance_names=True),  # layer timings
}


class TimeBasis(NamedTuple):
    unit: str   # what the counted things are ("kernels", "layers", ...)
    label: str  # short name of the time ("GPU device time")


# What a breakdown's time is: GPU kernel time when there is any, else what the parser says
# its op times are (meta.time_basis), else host ops' self time.
DEVICE, TRT_LAYER, ORT_NODE, CPU_SELF = "device", "trt_layer", "ort_node", "cpu_self"
TIME_BASES = {
    DEVICE: TimeBasis("kernels", "GPU device time"),
    TRT_LAYER: TimeBasis("layers", "TensorRT layer time"),
    ORT_NODE: TimeBasis("nodes", "ONNX Runtime node time"),
    CPU_SELF: TimeBasis("ops", "CPU self time"),
}


def basis_unit(basis: str) -> str:
    """What a time basis counts; "ops" for one this version does not know (an old cache)."""
    return TIME_BASES[basis].unit if basis in TIME_BASES else "ops"


def basis_label(basis: str) -> str:
    return TIME_BASES[basis].label if basis in TIME_BASES else basis


KERNEL_KINDS = ("kernel", "memcpy", "memset")
# How a kernel found its op (kernels.link); "none" when it has none.
LINKS = ("correlation", "external_id", "flow", "nvtx", "ort_adjacent", "trt_layer",
         "graph_launch", "none")
# Copy directions (kernels.copy; "" for what is not a copy). H host, D device, P peer,
# A CUDA array. The first five are the ones reports list in this order.
COPY_KINDS = ("HtoD", "DtoH", "DtoD", "PtoP", "HtoH", "DtoA", "AtoD", "AtoH", "HtoA", "AtoA")
HOST_DEVICE_COPIES = ("HtoD", "DtoH")
RANGE_KINDS = ("step", "annotation", "module", "gpu_annotation", "gpu_sync", "nvtx",
               "model_run", "profiler")

# table -> column -> the values it may hold (its categories, in this order). "" is allowed
# where it means "not given" (a non-copy kernel, a test's op without a source).
FIXED: dict[str, dict[str, tuple[str, ...]]] = {
    "ops": {"source": ("", *SOURCES)},
    "kernels": {"kind": KERNEL_KINDS, "link": LINKS, "copy": ("", *COPY_KINDS)},
    "ranges": {"kind": RANGE_KINDS},
}
# what a fixed column holds when a table is built without it ("" where FIXED allows it)
OMITTED: dict[tuple[str, str], str] = {("kernels", "link"): "none"}

# TraceMeta fields every parser sets: what wrote the trace (a SOURCES key), its format in
# words, the path read, and the step numbers found (empty when the format has none)
CORE_META = ("source", "format", "path", "steps")
