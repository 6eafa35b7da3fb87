"""The generated sample traces (samples/generate.py) against the ground truth their recipe
implies: what tracekit must find in them, computed without tracekit."""
from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import pytest

import tracekit

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def _generator():
    spec = importlib.util.spec_from_file_location("tracekit_samples_generate",
                                                  SAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


gen = _generator()
CURRENT, LEGACY, TRUNCATED, CPU_ONLY = gen.CURRENT, gen.LEGACY, gen.TRUNCATED, gen.CPU_ONLY
GPU_FILES = [CURRENT, LEGACY, TRUNCATED]

def truth(name: str) -> dict:
    return json.loads((SAMPLES / f"{gen.stem(name)}.truth.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _load(name: str):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = tracekit.load(SAMPLES / name, cache=False)
    return trace, tuple(w for w in caught if issubclass(w.category, tracekit.TraceWarning))


def load(name: str):
    return _load(name)[0]


def kernel_rows(trace) -> list[dict]:
    """tracekit's kernels in the truth's row shape, sorted like the truth."""
    k, ops, launches = trace.kernels, trace.ops, trace.launches
    op_name = ops["name"].astype(str).to_numpy()
    op_ts = ops["ts_ns"].to_numpy()
    op_module = ops["module"].astype(str).to_numpy()
    launch_name = launches["name"].astype(str).to_numpy()
    rows = []
    for r in k.itertuples(index=False):
        has_op = r.op >= 0
        rows.append({
            "name": str(r.name), "kind": str(r.kind), "ts_ns": int(r.ts_ns),
            "dur_ns": int(r.dur_ns), "stream": int(r.stream), "correlation": int(r.correlation),
            "bytes": None if r.bytes < 0 else int(r.bytes),
            "step": None if r.step < 0 else int(r.step), "group": str(r.group),
            "is_gemm": bool(r.is_gemm), "link": str(r.link),
            "launch": str(launch_name[r.launch]) if r.launch >= 0 else None,
            "op": str(op_name[r.op]) if has_op else None,
            "op_ts_ns": int(op_ts[r.op]) if has_op else None,
            "module": str(op_module[r.op]) if has_op else None,
        })
    rows.sort(key=lambda r: (r["ts_ns"], r["stream"]))
    return rows


GROUP_FIELDS = ("group", "is_gemm")


def _without(rows, fields):
    return [{k: v for k, v in r.items() if k not in fields} for r in rows]


# ---------------------------------------------------------------- the files themselves
def test_committed_samples_match_the_recipe(tmp_path):
    """Regenerating gives the committed files byte for byte (gzip: its content)."""
    written = gen.write_all(tmp_path)
    assert {p.name for p in written} == {n for f in gen.FILES
                                         for n in (f, f"{gen.stem(f)}.truth.json")}
    for path in written:
        committed = SAMPLES / path.name
        assert committed.exists(), f"{path.name} is missing from samples/: run samples/generate.py"
        new, old = path.read_bytes(), committed.read_bytes()
        if path.name.endswith(".gz"):
            new, old = gzip.decompress(new), gzip.decompress(old)
        assert new == old, f"samples/{path.name} is stale: run samples/generate.py"


def test_generation_is_deterministic():
    first, second = gen.build_all(), gen.build_all()
    assert {k: v[0] for k, v in first.items()} == {k: v[0] for k, v in second.items()}


def test_samples_are_small_and_one_is_gzip():
    for name in gen.FILES:
        assert (SAMPLES / name).stat().st_size < 200_000, name
    assert any(name.endswith(".json.gz") for name in gen.FILES)


def test_files_are_the_documented_formats():
    current = json.loads(gzip.decompress((SAMPLES / CURRENT).read_bytes()))
    assert list(current)[:2] == ["schemaVersion", "deviceProperties"]
    assert {"distributedInfo", "traceEvents", "traceName", "displayTimeUnit",
            "baseTimeNanoseconds"} <= set(current)
    cats = {e.get("cat") for e in current["traceEvents"]}
    assert {"cpu_op", "user_annotation", "python_function", "cuda_runtime", "cuda_driver",
            "kernel", "gpu_memcpy", "gpu_memset", "gpu_user_annotation", "ac2g"} <= cats
    assert all(isinstance(e["ts"], float) for e in current["traceEvents"] if e.get("ph") == "X")
    assert len(current["traceEvents"]) == truth(CURRENT)["events"]

    legacy = json.loads((SAMPLES / LEGACY).read_text())
    assert isinstance(legacy, list) and len(legacy) == truth(LEGACY)["events"]
    assert {e.get("cat") for e in legacy if e["ph"] == "X"} == {
        "Operator", "Runtime", "Kernel", "Memcpy", "Memset", "Trace"}
    assert all(isinstance(e["ts"], int) for e in legacy if e["ph"] == "X")
    assert {e["tid"] for e in legacy if e.get("cat") == "Kernel"} == {"stream 7", "stream 20"}

    cpu = json.loads((SAMPLES / CPU_ONLY).read_text())
    assert {e.get("cat") for e in cpu["traceEvents"] if e["ph"] == "X"} == {"cpu_op", "Trace"}

    with pytest.raises(json.JSONDecodeError):
        json.loads((SAMPLES / TRUNCATED).read_text())


# ---------------------------------------------------------------- GPU traces vs truth
@pytest.mark.parametrize("name", GPU_FILES)
def test_counts(name):
    trace, want = load(name), truth(name)
    assert trace.meta["steps"] == want["steps"]
    assert len(trace.ops) == want["ops"]
    assert len(trace.launches) == want["launches"]
    assert trace.kernels["kind"].astype(str).value_counts().to_dict() == {
        k: n for k, n in want["kernel_kinds"].items() if n}
    assert trace.ranges["kind"].astype(str).value_counts().to_dict() == {
        k: n for k, n in want["ranges"].items() if n}
    assert int((trace.kernels["op"] >= 0).sum()) == want["attributed_kernels"]
    assert trace.kernels["link"].astype(str).value_counts().to_dict() == want["links"]


@pytest.mark.parametrize("name", GPU_FILES)
def test_each_kernel_has_the_expected_op_link_step_and_module(name):
    got, want = kernel_rows(load(name)), truth(name)["kernels"]
    assert _without(got, GROUP_FIELDS) == _without(want, GROUP_FIELDS)


@pytest.mark.parametrize("name", GPU_FILES)
def test_kernels_attributed_per_op(name):
    k, ops = load(name).kernels, load(name).ops
    attributed = k[k["op"] >= 0]
    per_op = ops["name"].astype(str).to_numpy()[attributed["op"].to_numpy()]
    counts = {}
    for op in per_op:
        counts[op] = counts.get(op, 0) + 1
    assert counts == truth(name)["kernels_by_op"]


@pytest.mark.parametrize("name", GPU_FILES)
def test_each_kernel_has_the_expected_group(name):
    got, want = kernel_rows(load(name)), truth(name)["kernels"]
    assert [(r["name"], r["ts_ns"], r["group"], r["is_gemm"]) for r in got] == \
           [(r["name"], r["ts_ns"], r["group"], r["is_gemm"]) for r in want]


def test_legacy_groups_apart_from_compiled_triton_ops():
    """Everything but the known Triton-op bug agrees in the legacy file too."""
    got, want = kernel_rows(load(LEGACY)), truth(LEGACY)["kernels"]
    assert len(got) == len(want)
    pairs = [(g, w) for g, w in zip(got, want) if not str(w["op"]).startswith("triton_")]
    assert len(pairs) == len(want) - 3
    assert [(g["name"], g["group"]) for g, _ in pairs] == [(w["name"], w["group"]) for _, w in pairs]


def test_compiled_triton_op_gets_its_kernels_group():
    trace = load(LEGACY)
    ops = trace.ops[trace.ops["name"].astype(str).str.startswith("triton_")]
    assert len(ops) == 3
    assert set(ops["group"].astype(str)) == {"Normalization"}


SUMMARY_TOTALS = ("total_ns", "gemm_ns", "non_gemm_ns", "unattributed_ns", "kernels", "steps")


@pytest.mark.parametrize("name", GPU_FILES)
@pytest.mark.parametrize("selection", ["default", "all"])
def test_summary_totals(name, selection):
    want = truth(name)["selections"][selection]
    got = load(name).summary(step=None if selection == "default" else "all")
    assert got["time_basis"] == "device"
    assert {k: got[k] for k in SUMMARY_TOTALS} == {k: want[k] for k in SUMMARY_TOTALS}
    assert got["gpu"]["busy_ns"] == want["busy_ns"]
    assert got["gpu"]["concurrent_ns"] == want["concurrent_ns"]


@pytest.mark.parametrize("name", GPU_FILES)
@pytest.mark.parametrize("selection", ["default", "all"])
def test_summary_groups(name, selection):
    want = truth(name)["selections"][selection]
    got = load(name).summary(step=None if selection == "default" else "all")
    assert got["groups"] == want["groups"]
    assert got["group_counts"] == want["group_counts"]


@pytest.mark.parametrize("name", GPU_FILES)
def test_per_step_totals(name):
    trace = load(name)
    for step, want in truth(name)["per_step"].items():
        got = trace.summary(step=int(step))
        assert {k: got[k] for k in SUMMARY_TOTALS[:-1]} == {k: want[k] for k in SUMMARY_TOTALS[:-1]}
        assert got["gpu"]["busy_ns"] == want["busy_ns"], step
        assert got["gpu"]["concurrent_ns"] == want["concurrent_ns"], step


@pytest.mark.parametrize("name", GPU_FILES)
def test_per_step_groups(name):
    trace = load(name)
    for step, want in truth(name)["per_step"].items():
        assert trace.summary(step=int(step))["groups"] == want["groups"], step


@pytest.mark.parametrize("name", GPU_FILES + [CPU_ONLY])
@pytest.mark.parametrize("by", ["group", "op", "kernel", "module"])
def test_every_breakdown_adds_up(name, by):
    trace = load(name)
    total = trace.summary()["total_ns"]
    table = trace.breakdown(by=by)
    if by == "kernel" and name == CPU_ONLY:
        assert table.empty
    else:
        assert int(table["total_ns"].sum()) == total


def test_default_selection_drops_the_warmup_step():
    got = load(CURRENT).summary()
    assert got["steps"] == [3, 4]
    assert got["window"]["dropped_steps"] == [2]


# ---------------------------------------------------------------- specific behaviours
def test_custom_rmsnorm_counts_as_normalization_through_its_module():
    trace = load(CURRENT)
    k, ops = trace.kernels, trace.ops
    module = ops["module"].astype(str).to_numpy()
    norm = k[[o >= 0 and module[o].endswith("LlamaRMSNorm_0") for o in k["op"]]]
    assert len(norm) == 6 * 3
    assert set(norm["group"].astype(str)) == {"Normalization"}
    names = set(ops["name"].astype(str).to_numpy()[norm["op"].to_numpy()])
    assert names == {"aten::pow", "aten::mean", "aten::add", "aten::rsqrt", "aten::mul"}
    # the ops themselves are Normalization too, although each op alone is Elementwise
    assert set(ops.loc[norm["op"].unique(), "group"].astype(str)) == {"Normalization"}
    rows = trace.breakdown(by="instance")  # one row per module path
    row = rows[rows["name"].str.endswith("LlamaRMSNorm_0")]
    assert list(row["group"]) == ["Normalization"] and int(row["kernels"].iloc[0]) == 12
    # without module events (legacy writer) the same kernels are Elementwise
    legacy = load(LEGACY)
    lk = legacy.kernels
    lnames = legacy.ops["name"].astype(str).to_numpy()
    same = lk[[o >= 0 and lnames[o] in {"aten::pow", "aten::rsqrt"} for o in lk["op"]]]
    assert len(same) == 6 and set(same["group"].astype(str)) == {"Elementwise"}


@pytest.mark.parametrize("name", [CURRENT, LEGACY])
def test_graph_launched_kernels(name):
    trace = load(name)
    k, launches = trace.kernels, trace.launches
    graph = launches[launches["name"].astype(str) == "cudaGraphLaunch"]
    assert len(graph) == 3
    mine = k[k["launch"].isin(graph["id"])]
    assert len(mine) == 12
    assert set(mine["link"].astype(str)) == {"graph_launch"}
    for corr, group in mine.groupby("correlation"):
        assert len(group) == 4
        assert list(group.sort_values("ts_ns")["kind"].astype(str)) == ["memset", "kernel", "kernel", "kernel"]
        assert corr in set(graph["correlation"])
    assert set(trace.ops.loc[mine["op"], "name"].astype(str)) == {"CompiledFunction"}
    assert sorted(set(mine["group"].astype(str))) == ["Elementwise", "GEMM", "Memory", "Softmax"]


@pytest.mark.parametrize("name", [CURRENT, LEGACY])
def test_kernels_launched_before_the_window_stay_unattributed(name):
    trace = load(name)
    k = trace.kernels
    orphans = k[k["launch"] < 0]
    assert len(orphans) == 2
    assert (orphans["op"] == -1).all()
    assert set(orphans["link"].astype(str)) == {"none"}
    assert sorted(orphans["group"].astype(str)) == ["Memory", "Unattributed"]  # by name / none
    assert set(orphans["step"]) == {2}
    assert trace.summary(step="all")["unattributed_ns"] == int(orphans["dur_ns"].sum()) == 7000
    assert trace.summary()["unattributed_ns"] == 0


def test_two_streams_overlap():
    trace = load(CURRENT)
    k = trace.kernels
    assert set(k["stream"]) == {7, 20}
    side = k[k["stream"] == 20]
    assert len(side) == 3 and set(side["group"].astype(str)) == {"GEMM"}
    gpu = trace.summary()["gpu"]
    assert gpu["concurrent_ns"] == truth(CURRENT)["selections"]["default"]["concurrent_ns"] > 0
    assert gpu["per_device"][0]["streams"] == 2


def test_driver_api_launch_of_a_triton_kernel_under_an_annotation():
    trace = load(CURRENT)
    k, launches = trace.kernels, trace.launches
    driver = launches[launches["name"].astype(str) == "cuLaunchKernel"]
    assert len(driver) == 3
    mine = k[k["launch"].isin(driver["id"])]
    assert set(mine["name"].astype(str)) == {"triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0"}
    assert set(mine["group"].astype(str)) == {"Normalization"}
    assert set(mine["link"].astype(str)) == {"correlation"}
    modules = set(trace.ops.loc[mine["op"], "module"].astype(str))
    assert modules == {"TinyDecoderForCausalLM_0.TinyDecoderLayer_0.post_attention_layernorm"}
    gpu_ann = trace.ranges[trace.ranges["kind"].astype(str) == "gpu_annotation"]
    assert set(gpu_ann["name"].astype(str)) == {"post_attention_layernorm"}


def test_host_device_copies_are_transfers():
    k = load(CURRENT).kernels
    copies = k[k["kind"].astype(str) == "memcpy"]
    assert sorted(copies["copy"].astype(str).unique()) == ["DtoH", "HtoD"]
    assert set(copies["group"].astype(str)) == {"Transfer"}
    assert sorted(set(copies["bytes"])) == [8, 4096]


def test_legacy_and_current_formats_give_the_same_totals():
    current, legacy = load(CURRENT), load(LEGACY)
    for step in (None, "all", 2, 3, 4):
        a, b = current.summary(step=step), legacy.summary(step=step)
        for key in SUMMARY_TOTALS:
            assert a[key] == b[key], (step, key)
        # (busy time differs by the sub-µs start offsets the legacy writer rounded away)
    assert list(current.kernels.sort_values("ts_ns")["dur_ns"]) == \
           list(legacy.kernels.sort_values("ts_ns")["dur_ns"])


# ---------------------------------------------------------------- truncated file
def test_truncated_file_loads_with_a_warning():
    trace, caught = _load(TRUNCATED)
    assert caught and "cut off" in str(caught[0].message)
    assert trace.meta["truncated"] is True
    assert "base_time_ns" not in trace.meta  # written after the events: lost with the tail
    want = truth(TRUNCATED)
    assert len(trace.kernels) == sum(want["kernel_kinds"].values()) < len(load(CURRENT).kernels)
    steps = trace.kernels.groupby("step").size().to_dict()
    assert steps == {int(s): v["kernels"] for s, v in want["per_step"].items() if v["kernels"]}


def test_truncated_file_keeps_every_event_before_the_cut():
    assert load(TRUNCATED).meta["events"] == truth(TRUNCATED)["events"]


@pytest.mark.parametrize("after, fraction", [
    ("flow", 0.0),    # cut right after "}," of the last complete event
    ("flow", 0.5),    # inside the next kernel event, before its args close
    ("flow", 0.999),  # the partial event holds a '}' (its args)
    ("launch", 0.0),  # after a runtime event: its kernel must keep its launch
])
def test_cut_anywhere_keeps_every_event_before_it(tmp_path, after, fraction):
    run = gen.decoder_run()
    doc, origin = gen.current_trace(run, "cut.json")
    i = next(i for i, la in enumerate(run.launches) if i >= 20 and la.activities
             and run.launches[i + 1].activities)
    n = origin.index(run.launches[i]) + (2 if after == "flow" else 1)
    path = tmp_path / "cut.pt.trace.json"
    path.write_text(gen.current_text(doc, cut=(n, fraction)))
    with pytest.warns(tracekit.TraceWarning, match="cut off"):
        trace = tracekit.load(path, cache=False)
    assert trace.meta["events"] == n
    assert len(trace.launches) == i + 1
    launched = sum(len(la.activities) for la in run.launches[: i + 1])
    assert int((trace.kernels["launch"] >= 0).sum()) == launched


# ---------------------------------------------------------------- CPU-only
def test_cpu_only_trace_uses_self_time():
    trace, want = load(CPU_ONLY), truth(CPU_ONLY)
    got = trace.summary()
    assert got["time_basis"] == "cpu_self"
    assert got["steps"] == [] and got["kernels"] == 0
    ops = trace.ops
    top_level = int(ops.loc[ops["parent"] < 0, "dur_ns"].sum())
    assert got["total_ns"] == top_level == want["total_ns"] == int(ops["self_ns"].sum())
    for key in ("gemm_ns", "non_gemm_ns", "unattributed_ns", "groups", "group_counts", "ops"):
        assert got[key] == want[key], key


def test_cpu_only_ops_self_time_depth_and_group():
    trace, want = load(CPU_ONLY), truth(CPU_ONLY)["op_rows"]
    ops = trace.ops.sort_values("ts_ns")
    name_of = dict(zip(ops["id"], ops["name"].astype(str)))
    got = [{"name": str(r.name), "ts_ns": int(r.ts_ns), "dur_ns": int(r.dur_ns),
            "self_ns": int(r.self_ns), "depth": int(r.depth), "group": str(r.group),
            "parent": name_of[r.parent] if r.parent >= 0 else None}
           for r in ops.itertuples(index=False)]
    assert got == want


# ---------------------------------------------------------------- CLI
def _cli() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "tracekit"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tracekit.cli.main"]


@pytest.mark.parametrize("name", [CURRENT, CPU_ONLY, TRUNCATED])
def test_cli_summary_json_matches_the_truth(name, tmp_path):
    env = dict(os.environ, TRACEKIT_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([*_cli(), "summary", str(SAMPLES / name), "--json", "--no-cache"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    want = truth(name)
    want = want if want["time_basis"] == "cpu_self" else want["selections"]["default"]
    for key in ("total_ns", "gemm_ns", "non_gemm_ns", "unattributed_ns", "groups", "kernels",
                "steps"):
        assert got[key] == want[key], key
    assert ("cut off" in result.stderr) == (name == TRUNCATED)
    assert not (tmp_path / "cache").exists()
