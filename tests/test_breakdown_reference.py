"""breakdown() against a plain pandas groupby written here (the way breakdown computed its
tables before it summed integer codes with numpy): the same frame, row for row and dtype
for dtype, for every --by, on corpus and sample traces of every kind the corpus has."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import CORPUS, SAMPLES, corpus_file
from tracekit import analysis
from tracekit.analysis.breakdown import BY, NO_MODULE, NO_OP, NO_SHAPE, NO_STEP, group_order
from tracekit.model.names import module_class_path

KINETO = ["cpu_only__rank-34", "critical_path__alexnet", "with_gpu_user_annotation", "trace_compare__base",
          "rank_non_gpu", "amd_trace", "triton_example", "backward_thread", "cuda_event_sync__event_sync",
          "inference_rank_1", "simple_add__input", "after_fix_trace", "large_integer_trace"]
OTHER = ["nsys/NVIDIA__Fuser__report3.sqlite", "nsys/zspo__TRT2022_VilBERT__src__VilBertModel.sqlite",
         "tensorrt/NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__tests__inputs__"
         "mobilenet.qat.onnx.engine.profile.json",
         "tensorrt/NVIDIA__TensorRT__tools__experimental__trt-engine-explorer__examples__pytorch__"
         "resnet__A100__fp16__resnet.onnx.engine.profile.json"]
# ONNX Runtime profiles (node names are instances; by op keys them by op type), one with
# CUDA kernels (device basis)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ORT = ["ort/cpu_op_name_only.json", "ort/cuda_ep_merged.json", "ort/cuda_ep_fences.json"]
TRACES = [*KINETO, *OTHER, *ORT, "cpu_only.pt.trace.json", "decoder_h100.pt.trace.json.gz",
          "decoder_h100_legacy.pt.trace.json"]


def path_of(which: str):
    if which in OTHER:
        path = CORPUS / which
        if not path.exists():
            pytest.skip(f"corpus file not found: {path}")
        return path
    if which in ORT:
        return FIXTURES / which
    return SAMPLES / which if which.endswith((".json", ".gz")) else corpus_file(which)


def strings(values) -> np.ndarray:
    return np.asarray(values, dtype=object).astype(str)


def kinds(ops: pd.DataFrame) -> np.ndarray:
    """What each op is: the op type of an ONNX Runtime node or TensorRT layer (whose names
    are instances), else the op's name."""
    names, types = strings(ops["name"].to_numpy()), strings(ops["op_type"].astype(str).to_numpy())
    typed = ops["source"].astype(str).isin(["ort", "trt"]).to_numpy() & (types != "")
    return np.where(typed, types, names).astype(object)


def units(trace, win, shapes: bool) -> pd.DataFrame:
    """One row per GPU activity (with its op's name, kind, module and call) or per op."""
    if len(trace.kernels):
        k, ops = win.kernels, trace.ops
        op = k["op"].to_numpy()
        has = op >= 0
        names, modules = strings(ops["name"].to_numpy()), strings(ops["module"].astype(str).to_numpy())
        kind = kinds(ops)
        at = np.where(has, op, 0)
        frame = pd.DataFrame({
            "group": k["group"].to_numpy(), "kernel": k["name"].to_numpy(),
            "op": np.where(has, kind[at] if len(kind) else NO_OP, NO_OP).astype(object),
            "node": np.where(has, names[at] if len(names) else NO_OP, NO_OP).astype(object),
            "module": np.where(has, np.where(modules[at] == "", NO_MODULE, modules[at]) if len(modules)
                               else NO_MODULE, NO_OP).astype(object),
            "dur_ns": k["dur_ns"].to_numpy(), "is_kernel": np.ones(len(k), np.int64),
            "call": np.where(has, op, -1 - np.arange(len(k))), "step": k["step"].to_numpy()})
        if shapes:
            key = strings(ops["name"].to_numpy()) + " " + np.where(
                strings(ops["shapes"].to_numpy()) == "", NO_SHAPE, strings(ops["shapes"].to_numpy()))
            frame["shape"] = np.where(has, key[at] if len(key) else "", f"{NO_OP} {NO_SHAPE}").astype(object)
        return frame
    o = win.ops
    modules = strings(o["module"].astype(str).to_numpy())
    frame = pd.DataFrame({
        "group": o["group"].to_numpy(), "op": kinds(o), "node": o["name"].to_numpy(),
        "module": np.where(modules == "", NO_MODULE, modules).astype(object), "dur_ns": o["self_ns"].to_numpy(),
        "is_kernel": np.zeros(len(o), np.int64), "call": o["id"].to_numpy(), "step": o["step"].to_numpy()})
    if shapes:
        shape = strings(o["shapes"].to_numpy())
        frame["shape"] = (strings(o["name"].to_numpy()) + " " + np.where(shape == "", NO_SHAPE, shape)).astype(object)
    return frame


def expected(trace, win, by: str) -> pd.DataFrame:
    """The table as a pandas groupby over the units gives it."""
    frame = units(trace, win, by == "shape")
    total = int(frame["dur_ns"].sum())
    if by == "module":
        frame["module_class"] = [module_class_path(m) for m in strings(frame["module"])]
    key = {"group": ["group"], "step": ["step", "group"], "module": ["module_class", "group"],
           "instance": ["module", "group"]}.get(by, [by, "group"])
    sums = dict(total_ns=("dur_ns", "sum"), kernels=("is_kernel", "sum"), calls=("call", "nunique"))
    if by == "module":
        sums["instances"] = ("module", "nunique")
    if by == "op":
        sums["instances"] = ("node", "nunique")
    table = frame.groupby(key, observed=True, sort=False).agg(**sums).reset_index()
    order = {g: i for i, g in enumerate(group_order(trace))}
    table["_g"] = table["group"].astype(str).map(order).fillna(1e9)
    if by == "group":
        table["name"] = table["group"].astype(str)
        table = table.sort_values("_g")
    elif by == "step":
        step = table["step"].to_numpy()
        table["name"] = np.where(step >= 0, np.char.add("step ", step.astype(str)), NO_STEP)
        table["_s"] = np.where(step >= 0, step.astype(np.int64), np.iinfo(np.int64).max)  # outside every step last
        table = table.sort_values(["_s", "_g"], kind="stable").drop(columns="_s")
    else:
        table["name"] = table[key[0]].astype(str)
        table = table.sort_values(["total_ns", "name"], ascending=[False, True])
    counted = (table["kernels"] > 0) | (table["calls"] > 0) if by == "group" else False
    table = table[(table["total_ns"] > 0) | counted] if total > 0 else table
    gemm = dict(zip(strings(trace.kernels["group"] if len(trace.kernels) else trace.ops["group"]),
                    (trace.kernels if len(trace.kernels) else trace.ops)["is_gemm"]))
    table["group"] = table["group"].astype(str)
    table["is_gemm"] = table["group"].map(gemm).fillna(False).astype(bool)
    counted_instances = ["instances"] if by in ("module", "op") else []
    for column in ("total_ns", "kernels", "calls", *counted_instances):
        table[column] = table[column].astype(np.int64)
    table["mean_ns"] = (table["total_ns"] / table["calls"].clip(lower=1)).astype(np.int64)
    table["share"] = table["total_ns"] / total if total else 0.0
    table["kernels_per_call"] = table["kernels"] / table["calls"].clip(lower=1)
    columns = ["name", "group", "is_gemm", "calls", "kernels", "total_ns", "mean_ns", "share",
               "kernels_per_call", *counted_instances]
    return table[columns].reset_index(drop=True)


@pytest.mark.parametrize("which", TRACES)
def test_breakdown_equals_a_pandas_groupby_for_every_by(which, load):
    trace = load(path_of(which))
    checked = 0
    for step in (None, "all"):
        win = analysis.select(trace, step)
        total = int(win.kernels["dur_ns"].sum()) if len(trace.kernels) else int(win.ops["self_ns"].sum())
        for by in BY:
            if by == "kernel" and not len(trace.kernels):
                assert analysis.breakdown(trace, win, by).empty  # no GPU activity: no kernel rows
                continue
            if step == "all" and by not in ("step", "group"):
                continue  # the other levels do not depend on the window's steps
            got = analysis.breakdown(trace, win, by)
            pd.testing.assert_frame_equal(got, expected(trace, win, by))
            assert int(got["total_ns"].sum()) == total
            checked += 1
    assert checked >= 7
