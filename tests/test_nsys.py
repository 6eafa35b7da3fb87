"""Nsight Systems SQLite exports: every corpus export loads, and its numbers match SQL run
on the file itself (independently of tracekit); synthetic exports built here with sqlite3
cover both schema generations and the edge cases (no kernel table, emit_nvtx names, a
custom module range, correlation ids repeated across processes, bad databases)."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import tracekit
from parsers import nsys
from tests.conftest import CORPUS
from tracekit.model import TraceError, TraceWarning

NSYS = CORPUS / "nsys"
FILES = sorted(NSYS.glob("*.sqlite")) if NSYS.is_dir() else []
ACTIVITY_TABLES = ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET")
CLI = [sys.executable, "-m", "tracekit.cli.main"]


def corpus(fragment: str) -> Path:
    if not FILES:
        pytest.skip(f"corpus not found at {NSYS}")
    hits = [p for p in FILES if fragment in p.name]
    assert len(hits) == 1, fragment
    return hits[0]


def ro(path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)


def tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def activity_union(conn) -> str:
    present = [t for t in ACTIVITY_TABLES if t in tables(conn)]
    return " UNION ALL ".join(f"SELECT start, end, correlationId AS c, globalPid AS gp FROM {t}"
                              for t in present)


def sql_totals(path) -> tuple[int, int]:
    with ro(path) as conn:
        union = activity_union(conn)
        if not union:
            return 0, 0
        n, ns = conn.execute(f"SELECT COUNT(*), COALESCE(SUM(end - start), 0) FROM ({union})").fetchone()
    return int(n), int(ns)


# CUDA-backtrace records (eventClass 67) repeat API calls with the same correlationId.
LAUNCH_SQL = ("SELECT start AS ls, globalTid AS gt, correlationId AS lc FROM CUPTI_ACTIVITY_KIND_RUNTIME "
              "WHERE eventClass NOT IN (67, 68, 69)")


def sql_innermost_nvtx(path) -> list[tuple]:
    """(activity start, duration, innermost NVTX range text or None) for every GPU activity:
    the launch (same correlationId, same process) and the latest-starting push/pop or
    start/end range on the launch's thread that encloses the launch's start."""
    with ro(path) as conn:
        union = activity_union(conn)
        has_nvtx = "NVTX_EVENTS" in tables(conn)
        nvtx = ("(SELECT COALESCE(n.text, s.value) FROM NVTX_EVENTS n LEFT JOIN StringIds s ON s.id = n.textId "
                "WHERE n.eventType IN (59, 60) AND n.globalTid = l.gt AND n.start <= l.ls AND n.end > l.ls "
                "ORDER BY n.start DESC, n.end ASC LIMIT 1)") if has_nvtx else "NULL"
        return conn.execute(
            f"SELECT a.start, a.end - a.start, {nvtx} FROM ({union}) a "
            f"LEFT JOIN ({LAUNCH_SQL}) l ON l.lc = a.c AND (l.gt >> 24) = (a.gp >> 24) "
            f"ORDER BY a.start").fetchall()


# ---------------------------------------------------------------- corpus

@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[-45:])
def test_corpus_export_adds_up(path):
    direct = nsys.parse(path)
    assert len(direct) == 1 and direct[0].meta["source"] == "nsys"
    trace = tracekit.load(path, cache=False)  # format detected from content
    assert trace.meta["source"] == "nsys" and trace.meta["time_basis"] == "device"
    n, ns = sql_totals(path)
    assert len(trace.kernels) == len(direct[0].kernels) == n
    summary = trace.summary(step="all")
    assert summary["time_basis"] == "device"
    assert summary["total_ns"] == ns
    assert sum(summary["groups"].values()) == ns
    assert summary["gemm_ns"] + summary["non_gemm_ns"] == ns
    assert int(trace.breakdown(by="group", step="all")["total_ns"].sum()) == ns
    for by in ("op", "kernel", "module"):
        assert int(trace.breakdown(by=by, step="all")["total_ns"].sum()) == ns, by
    k = trace.kernels
    assert not k["group"].isna().any() and (k["group"].astype(str) != "").all()
    assert (k.loc[k["group"] == "Unattributed", "op"] < 0).all()
    assert summary["unattributed_ns"] == int(k.loc[k["op"] < 0, "dur_ns"].sum())
    assert set(k["link"].astype(str)) <= {"nvtx", "none"}
    assert ((k["op"] >= 0) == (k["link"] == "nvtx")).all()
    # device numbers are the export's; devices named in meta
    ids = {d["id"] for d in trace.meta["devices"]}
    assert set(k["device"].unique()) <= ids


@pytest.mark.parametrize("fragment", ["report1", "report2", "saxpy"])
def test_attribution_matches_sql(fragment):
    """The share of GPU time attributed to an NVTX op, and which range each activity got,
    recomputed in SQL on the file."""
    path = corpus(fragment)
    trace = tracekit.load(path, cache=False)
    rows = sql_innermost_nvtx(path)
    attributed_sql = sum(d for _, d, name in rows if name is not None)
    summary = trace.summary(step="all")
    assert summary["total_ns"] - summary["unattributed_ns"] == attributed_sql
    assert summary["attributed_share"] == pytest.approx(attributed_sql / summary["total_ns"])
    assert attributed_sql > 0
    k = trace.kernels.sort_values("ts_ns", kind="stable")
    ops = trace.ops["name"].astype(str).to_numpy()
    got = sorted((int(t), ops[o] if o >= 0 else None) for t, o in zip(k["ts_ns"], k["op"]))
    want = sorted((int(t), name) for t, _, name in rows)
    assert got == want


def test_several_processes_and_devices():
    one = tracekit.load(corpus("report1"), cache=False)
    pids = {p["pid"] for p in one.meta["processes"]}
    assert len(pids) == 2 and set(one.launches["pid"].unique()) == pids
    with ro(corpus("report1")) as conn:
        want = conn.execute("SELECT COUNT(DISTINCT globalTid) FROM CUPTI_ACTIVITY_KIND_RUNTIME").fetchone()[0]
    assert one.launches.groupby(["pid", "tid"]).ngroups == want
    eight = tracekit.load(corpus("report2"), cache=False)
    assert [d["id"] for d in eight.meta["devices"]] == list(range(8))
    assert {d["name"] for d in eight.meta["devices"]} == {"NVIDIA H100 80GB HBM3"}
    mpi = tracekit.load(corpus("saxpy-mpi"), cache=False)
    assert mpi.meta["schema"] == "EXPORT_META_DATA" and one.meta["schema"] == "META_DATA_EXPORT"
    assert mpi.meta["processes"] == [{"pid": 1230493, "name": "./saxpy-mpi-cuda"}]
    # CUDA-backtrace duplicates of runtime calls are not calls
    with ro(corpus("saxpy-mpi")) as conn:
        calls = conn.execute(f"SELECT COUNT(*) FROM ({LAUNCH_SQL})").fetchone()[0]
    assert len(mpi.launches) == calls
    copies = mpi.kernels[mpi.kernels["kind"] == "memcpy"]
    assert set(copies["copy"].astype(str)) == {"HtoD", "DtoH"}
    assert (copies["bytes"] == 262144000).all() and (copies["group"] == "Transfer").all()
    assert "cudaMemcpy" in set(mpi.launches["name"].astype(str))  # synchronous copies stay


def test_export_without_nvtx_is_classified_by_kernel_name():
    path = corpus("cloverleaf")
    with ro(path) as conn:
        assert "NVTX_EVENTS" not in tables(conn)
    trace = tracekit.load(path, cache=False)
    assert len(trace.ops) == 0
    k = trace.kernels
    assert (k["op"] < 0).all() and (k["link"] == "none").all()
    assert (k["launch"] >= 0).all()  # every activity still found its runtime call
    named = k[k["kind"] == "kernel"]
    # without ops the kernel name alone decides: a kernel no rule knows stays Unattributed
    # (CloverLeaf's own par_ranged*_kernel stencils), never a guess from its template arguments
    from tracekit.taxonomy import Taxonomy
    tax = Taxonomy.default()
    expected = {n: tax.classify("kernels", n) or "Unattributed" for n in named["name"].unique()}
    assert (named["group"].astype(str) == named["name"].map(expected)).all()
    assert {"Elementwise", "Unattributed"} <= set(named["group"].astype(str))
    unknown = named.loc[named["group"] == "Unattributed", "name"].astype(str)
    assert unknown.str.contains("par_ranged").all()
    warning = [w for w in trace.summary(step="all")["warnings"] if "no taxonomy rule" in w]
    assert len(warning) == 1 and "par_ranged2d_kernel" in warning[0]
    sync = trace.launches[trace.launches["name"] == "cudaDeviceSynchronize"]
    assert len(sync) == 1312
    assert (trace.ranges["kind"] == "gpu_sync").sum() == 1312


def test_cli_summary_json():
    path = corpus("saxpy-mpi")
    out = subprocess.run([*CLI, "summary", str(path), "--json", "--no-cache"], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, COLUMNS="100"))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    n, ns = sql_totals(path)
    assert data["source"] == "nsys" and data["time_basis"] == "device"
    assert data["kernels"] == n and data["total_ns"] == ns
    assert sum(data["groups"].values()) == ns
    assert data["groups"]["Transfer"] > 0
    assert data["devices"][0]["name"] == "NVIDIA A100-SXM4-40GB"


# ---------------------------------------------------------------- synthetic exports

def gtid(pid: int, tid: int) -> int:
    return (1 << 56) | (pid << 24) | tid


def gpid(pid: int) -> int:
    return (1 << 56) | (pid << 24)


A, B = 100, 200  # two processes; correlation ids repeat between them

NVTX = [  # (start, end, eventType, text, pid, tid)
    (500, 20000, 59, "ProfilerStep#1", A, A),
    (1000, 9000, 59, "LlamaDecoderLayer", A, A),
    (1100, 3000, 59, "LlamaRMSNorm", A, A),
    (1200, 1500, 59, "aten::pow, seq = 1, op_id = 5", A, A),
    (1600, 1900, 59, "aten::mul, seq = 2, op_id = 6, sizes = [[2, 3], []]", A, A),
    (4000, 6000, 59, "aten::linear, seq = 12", A, A),
    (4100, 5900, 60, "aten::addmm, seq = 12, op_id = 9", A, A),
    (1250, None, 34, "a mark", A, A),
    (9500, None, 59, "never popped", A, A),
    (1000, 2000, 59, "aten::softmax, seq = 3", B, B),
]
RUNTIME = [  # (start, end, eventClass, pid, tid, correlationId, name)
    (1300, 1310, 0, A, A, 1, "cudaLaunchKernel_v7000"),
    (1300, 1310, 67, A, A, 1, "cudaLaunchKernel"),  # CUDA backtrace copy of the call
    (1700, 1710, 0, A, A, 2, "cudaLaunchKernel_v7000"),
    (2500, 2510, 1, A, A, 3, "cuLaunchKernel"),
    (4200, 4210, 0, A, A, 4, "cudaLaunchKernel_v7000"),
    (1300, 1310, 0, A, A + 1, 5, "cudaLaunchKernel_v7000"),  # another thread: no range
    (1100, 1110, 0, B, B, 1, "cudaLaunchKernel_v7000"),  # same id, other process
    (7000, 7010, 0, A, A, 8, "cudaMemcpyAsync_v3020"),
    (7500, 7510, 0, A, A, 9, "cudaMemsetAsync_v3020"),
    (8000, 8400, 0, A, A, 10, "cudaStreamSynchronize_v3020"),
]
KERNELS = [  # (start, end, device, stream, correlationId, pid, name, expected group)
    (1400, 1480, 0, 7, 1, A, "void at::native::vectorized_elementwise_kernel<4, at::native::pow_tensor_scalar_kernel>", "Normalization"),
    (1800, 1850, 0, 7, 2, A, "void at::native::vectorized_elementwise_kernel<4, at::native::MulFunctor<float>>", "Normalization"),
    (2600, 2650, 0, 7, 3, A, "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, MeanOps>>", "Normalization"),
    (4300, 5300, 0, 7, 4, A, "sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x64", "GEMM"),
    (1400, 1450, 0, 13, 5, A, "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>>", "Memory"),
    (1200, 1290, 1, 7, 1, B, "void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, false>", "Softmax"),
    (9000, 9100, 0, 7, 99, A, "mystery_kernel", "Unattributed"),
]
MEMCPY = [(7100, 7300, 0, 7, 8, A, 4096, 1, 0, 2)]  # start, end, dev, stream, corr, pid, bytes, copyKind, src, dst
MEMSET = [(7600, 7650, 0, 7, 9, A, 1024, 2)]  # ..., bytes, memKind


def build_export(path: Path, generation: str = "new", kernels: bool = True, nvtx: bool = True):
    """A minimal Nsight Systems export in either schema generation."""
    conn = sqlite3.connect(path)
    strings: dict[str, int] = {}

    def sid(text: str) -> int:
        return strings.setdefault(text, len(strings) + 1)

    new = generation == "new"
    c = conn.cursor()
    meta_table = "META_DATA_EXPORT" if new else "EXPORT_META_DATA"
    c.execute(f"CREATE TABLE {meta_table} (name TEXT NOT NULL, value TEXT)")
    c.executemany(f"INSERT INTO {meta_table} VALUES (?, ?)",
                  [("EXPORT_PRODUCT_VERSION", "2025.1.1" if new else "2022.2.1"),
                   ("EXPORT_SCHEMA_VERSION", "3.17.1" if new else "2.9.1")])
    c.execute("CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL)")
    c.execute("CREATE TABLE TARGET_INFO_GPU (vmId INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT)")
    c.executemany("INSERT INTO TARGET_INFO_GPU VALUES (0, ?, ?)", [(0, "NVIDIA H200"), (1, "NVIDIA H200")])
    c.execute("CREATE TABLE PROCESSES (globalPid INTEGER, pid INTEGER, name TEXT)")
    c.executemany("INSERT INTO PROCESSES VALUES (?, ?, ?)", [(gpid(A), A, "python3"), (gpid(B), B, "python3")])
    if new:
        c.execute("CREATE TABLE ENUM_CUDA_MEMCPY_OPER (id INTEGER PRIMARY KEY, name TEXT, label TEXT)")
        c.executemany("INSERT INTO ENUM_CUDA_MEMCPY_OPER VALUES (?, ?, ?)",
                      [(1, "CUDA_MEMCPY_KIND_HTOD", "Host-to-Device"), (2, "CUDA_MEMCPY_KIND_DTOH", "Device-to-Host")])
        c.execute("CREATE TABLE ENUM_CUDA_MEM_KIND (id INTEGER PRIMARY KEY, name TEXT, label TEXT)")
        c.executemany("INSERT INTO ENUM_CUDA_MEM_KIND VALUES (?, ?, ?)",
                      [(0, "CUDA_MEMOPR_MEMORY_KIND_PAGEABLE", "Pageable"), (2, "CUDA_MEMOPR_MEMORY_KIND_DEVICE", "Device")])
    green = "greenContextId INTEGER, " if new else ""
    common = f"start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL, {green}streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER"
    if kernels:
        c.execute(f"CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL ({common}, demangledName INTEGER NOT NULL, "
                  "shortName INTEGER NOT NULL, mangledName INTEGER, gridX INTEGER NOT NULL, gridY INTEGER NOT NULL, "
                  "gridZ INTEGER NOT NULL, blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, blockZ INTEGER NOT NULL)")
        cols = "start, end, deviceId, contextId, streamId, correlationId, globalPid, demangledName, shortName, mangledName, gridX, gridY, gridZ, blockX, blockY, blockZ"
        c.executemany(f"INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL ({cols}) VALUES ({','.join('?' * 16)})",
                      [(s, e, d, 1, st, cor, gpid(p), sid(n), sid(n.split('<')[0][-20:]), None, 128, 1, 1, 256, 1, 1)
                       for s, e, d, st, cor, p, n, _ in KERNELS])
        c.execute(f"CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY ({common}, bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, "
                  "srcKind INTEGER, dstKind INTEGER)")
        c.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY (start, end, deviceId, contextId, streamId, correlationId, "
                      "globalPid, bytes, copyKind, srcKind, dstKind) VALUES (?,?,?,1,?,?,?,?,?,?,?)",
                      [(s, e, d, st, cor, gpid(p), b, k, sk, dk) for s, e, d, st, cor, p, b, k, sk, dk in MEMCPY])
        c.execute(f"CREATE TABLE CUPTI_ACTIVITY_KIND_MEMSET ({common}, value INTEGER NOT NULL, bytes INTEGER NOT NULL, memKind INTEGER)")
        c.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_MEMSET (start, end, deviceId, contextId, streamId, correlationId, "
                      "globalPid, value, bytes, memKind) VALUES (?,?,?,1,?,?,?,0,?,?)",
                      [(s, e, d, st, cor, gpid(p), b, mk) for s, e, d, st, cor, p, b, mk in MEMSET])
    extra = "" if new else ", name TEXT"  # the old file in the corpus carries an empty inline name
    c.execute("CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INTEGER NOT NULL, end INTEGER NOT NULL, eventClass INTEGER NOT NULL, "
              f"globalTid INTEGER, correlationId INTEGER, nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL, callchainId INTEGER{extra})")
    c.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME (start, end, eventClass, globalTid, correlationId, nameId, returnValue) "
                  "VALUES (?,?,?,?,?,?,0)", [(s, e, ec, gtid(p, t), cor, sid(n)) for s, e, ec, p, t, cor, n in RUNTIME])
    if nvtx:
        c.execute("CREATE TABLE NVTX_EVENTS (start INTEGER NOT NULL, end INTEGER, eventType INTEGER NOT NULL, rangeId INTEGER, "
                  "category INTEGER, color INTEGER, text TEXT, globalTid INTEGER, endGlobalTid INTEGER, textId INTEGER, domainId INTEGER)")
        rows = []
        for i, (s, e, et, text, p, t) in enumerate(NVTX):
            registered = not new and i % 2 == 0  # the old generation mixes inline and registered strings
            rows.append((s, e, et, None if registered else text, gtid(p, t), sid(text) if registered else None))
        c.executemany("INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, textId, domainId) "
                      "VALUES (?,?,?,?,?,?,0)", rows)
    c.executemany("INSERT INTO StringIds VALUES (?, ?)", [(i, s) for s, i in strings.items()])
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module", params=["new", "old"])
def synthetic(request, tmp_path_factory):
    path = build_export(tmp_path_factory.mktemp("nsys") / f"{request.param}.sqlite", request.param)
    return path, tracekit.load(path, cache=False)


def test_synthetic_groups_and_attribution(synthetic):
    path, trace = synthetic
    k = trace.kernels
    assert len(k) == len(KERNELS) + len(MEMCPY) + len(MEMSET)
    assert int(k["dur_ns"].sum()) == sql_totals(path)[1]
    kern = k[k["kind"] == "kernel"].sort_values("ts_ns", kind="stable")
    by_corr = {(int(c), int(d)): g for c, d, g in zip(kern["correlation"], kern["device"], kern["group"].astype(str))}
    for _s, _e, d, _st, cor, _p, n, want in KERNELS:
        assert by_corr[(cor, d)] == want, n
    ops = trace.ops
    names = ops["name"].astype(str).to_numpy()
    op_of = {int(c): (names[o] if o >= 0 else None) for c, o in zip(k["correlation"], k["op"]) if c > 0}
    assert op_of[2] == "aten::mul" and op_of[3] == "LlamaRMSNorm" and op_of[4] == "aten::addmm"
    assert op_of[5] is None and op_of[99] is None and op_of[8] == "LlamaDecoderLayer"
    # correlation id 1 exists in both processes: each activity finds its own process's call
    one = k[k["correlation"] == 1]
    assert {(int(d), names[o]) for d, o in zip(one["device"], one["op"])} == {(0, "aten::pow"), (1, "aten::softmax")}
    assert set(k.loc[k["op"] >= 0, "link"].astype(str)) == {"nvtx"}
    assert set(k.loc[k["op"] < 0, "link"].astype(str)) == {"none"}
    copy = k[k["kind"] == "memcpy"].iloc[0]
    assert copy["copy"] == "HtoD" and copy["bytes"] == 4096 and copy["group"] == "Transfer"
    assert copy["name"] == "Memcpy HtoD (Pageable -> Device)"
    fill = k[k["kind"] == "memset"].iloc[0]
    assert fill["name"] == "Memset (Device)" and fill["group"] == "Memory" and fill["bytes"] == 1024
    assert set(kern["grid"].astype(str)) == {"[128, 1, 1]"} and set(kern["block"].astype(str)) == {"[256, 1, 1]"}


def test_synthetic_ops_modules_steps(synthetic):
    _, trace = synthetic
    ops = trace.ops.set_index(trace.ops["name"].astype(str))
    assert "ProfilerStep#1" not in ops.index and "a mark" not in ops.index and "never popped" not in ops.index
    assert trace.meta["steps"] == [1]
    assert set(trace.ranges.loc[trace.ranges["kind"] == "step", "name"].astype(str)) == {"ProfilerStep#1"}
    assert ops.loc["aten::mul", "module"] == "LlamaDecoderLayer.LlamaRMSNorm"
    assert ops.loc["aten::mul", "shapes"] == "[[2, 3], []]"
    assert ops.loc["LlamaRMSNorm", "module"] == "LlamaDecoderLayer.LlamaRMSNorm"
    assert ops.loc["aten::addmm", "module"] == "LlamaDecoderLayer"
    assert ops.loc["aten::softmax", "module"] == ""
    assert ops.loc["aten::mul", "group"] == "Normalization"
    assert ops.loc["aten::addmm", "group"] == "GEMM"
    linear = ops.loc["aten::linear"]
    assert ops.loc["aten::addmm", "parent"] == linear["id"] and ops.loc["aten::addmm", "depth"] == 2
    assert linear["self_ns"] == 2000 - 1800
    assert set(ops["pid"]) == {A, B}
    # annotation ranges, nested among themselves
    nv = trace.ranges[trace.ranges["kind"] == "nvtx"].set_index("name")
    assert list(nv.index.astype(str)) == ["LlamaDecoderLayer", "LlamaRMSNorm"]
    assert nv.loc["LlamaRMSNorm", "depth"] == 1
    # every API call but the backtrace copy, named without Nsight's version suffix
    launches = trace.launches
    assert len(launches) == len(RUNTIME) - 1
    names = set(launches["name"].astype(str))
    assert {"cudaLaunchKernel", "cuLaunchKernel", "cudaStreamSynchronize", "cudaMemcpyAsync"} <= names
    assert {int(p) for p in launches["pid"]} == {A, B} and {int(t) for t in launches["tid"]} == {A, A + 1, B}
    assert (trace.kernels["step"] == 1).all()
    assert [d["id"] for d in trace.meta["devices"]] == [0, 1]
    assert trace.meta["schema"] in ("META_DATA_EXPORT", "EXPORT_META_DATA")
    assert trace.meta["unterminated_nvtx_ranges"] == 1
    summary = trace.summary(step="all")
    assert sum(summary["groups"].values()) == summary["total_ns"]
    assert summary["unattributed_ns"] == 50 + 100  # the fill on another thread, the mystery kernel


def test_synthetic_gzip_export_loads(tmp_path):
    plain = build_export(tmp_path / "plain.sqlite")
    packed = tmp_path / "packed.sqlite.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    trace = tracekit.load(packed, cache=False)
    assert len(trace.kernels) == len(KERNELS) + 2


def test_no_kernel_table(tmp_path):
    path = build_export(tmp_path / "nokernels.sqlite", kernels=False)
    with pytest.warns(TraceWarning, match="no CUDA kernel table in this export"):
        trace = tracekit.load(path, cache=False)
    assert len(trace.kernels) == 0 and len(trace.ops) > 0
    assert any("no CUDA kernel table in this export" in w for w in trace.meta["warnings"])
    summary = trace.summary()
    assert summary["time_basis"] == "device" and summary["total_ns"] == 0 and summary["groups"] == {}
    out = subprocess.run([*CLI, "summary", str(path), "--no-cache"], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, COLUMNS="100"))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.count("no CUDA kernel table in this export") == 1
    out = subprocess.run([*CLI, "summary", str(path), "--no-cache", "--json"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["total_ns"] == 0


def test_no_nvtx_synthetic(tmp_path):
    trace = tracekit.load(build_export(tmp_path / "nonvtx.sqlite", nvtx=False), cache=False)
    k = trace.kernels
    assert (k["op"] < 0).all() and (k["launch"] >= 0).sum() == len(k) - 1
    groups = dict(zip(k["name"].astype(str), k["group"].astype(str)))
    assert groups["sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x64"] == "GEMM"
    assert groups["mystery_kernel"] == "Unattributed"


def test_dotted_names_and_decorated_annotations(tmp_path):
    """NVTX texts with dots can spell one module path two ways; a record_function scope
    under emit_nvtx ("MyBlock, op_id = 7") is still a module/annotation range."""
    path = build_export(tmp_path / "dots.sqlite")
    extra = [(3000, 3500, "a.b"), (3100, 3200, "c"), (3600, 4000, "a"), (3700, 3800, "b.c"),
             (5000, 6000, "MyBlock, op_id = 7"), (5100, 5200, "aten::relu, seq = 4, op_id = 8"),
             (30000, 40000, "ProfilerStep#2, op_id = 11")]
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, domainId) "
                         "VALUES (?, ?, 59, ?, ?, 0)", [(s, e, t, gtid(B, B)) for s, e, t in extra])
    trace = tracekit.load(path, cache=False)
    ops = trace.ops
    module = dict(zip(ops["name"].astype(str), ops["module"].astype(str)))
    assert module["c"] == module["b.c"] == "a.b.c"
    assert module["MyBlock"] == "MyBlock" and module["aten::relu"] == "MyBlock"
    assert ops["module"].cat.categories.is_unique
    assert trace.meta["steps"] == [1, 2] and "ProfilerStep#2" not in module


def test_activity_tables_without_global_pid(tmp_path):
    """Older exports: no globalPid on activities. Correlation ids repeated across processes
    are then told apart by time (the latest call with that id before the activity)."""
    path = build_export(tmp_path / "nopid.sqlite")
    with sqlite3.connect(path) as conn:
        for table in ACTIVITY_TABLES:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN globalPid")
    trace = tracekit.load(path, cache=False)
    k = trace.kernels
    names = trace.ops["name"].astype(str).to_numpy()
    one = k[k["correlation"] == 1]
    assert {(int(d), names[o]) for d, o in zip(one["device"], one["op"])} == {(0, "aten::pow"), (1, "aten::softmax")}
    assert (k["launch"] >= 0).sum() == len(k) - 1


# ---------------------------------------------------------------- bad input

def test_sqlite_that_is_not_an_export(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER, body TEXT)")
        conn.execute("INSERT INTO notes VALUES (1, 'hello')")
    with pytest.raises(TraceError, match="is a SQLite database but not an Nsight Systems export"):
        tracekit.load(path, cache=False)
    out = subprocess.run([*CLI, "summary", str(path), "--no-cache"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "not an Nsight Systems export" in out.stderr


def _broken_exports(tmp_path):
    good = build_export(tmp_path / "good.sqlite")
    data = good.read_bytes()
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(data[: len(data) // 2])
    header_only = tmp_path / "header.sqlite"
    header_only.write_bytes(data[:60])
    garbled = tmp_path / "garbled.sqlite"
    page = int.from_bytes(data[16:18], "big")
    garbled.write_bytes(data[:100] + bytes(page - 100) + b"\xa5" * (len(data) - page))
    return [cut, header_only, garbled]


def test_corrupt_databases_give_one_line_errors(tmp_path):
    for path in _broken_exports(tmp_path):
        with pytest.raises(TraceError) as info:
            tracekit.load(path, cache=False)
        assert "\n" not in str(info.value) and str(path) in str(info.value)
        out = subprocess.run([*CLI, "summary", str(path), "--no-cache"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, (path, out.stderr)
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    cut = tmp_path / "cut.sqlite"
    with pytest.raises(TraceError, match="truncated"):
        nsys.parse(cut)


def test_sniff_and_read_only(tmp_path):
    path = build_export(tmp_path / "ro.sqlite")
    assert nsys.sniff(path.read_bytes()[:65536]) and not nsys.sniff(b'{"traceEvents": []}')
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        nsys.parse(path)
    finally:
        os.chmod(path, 0o644)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("ro.sqlite-*"))  # no journal, wal or shm left behind


# ---------------------------------------------------------------- TensorRT compiled regions

BERT = "VilBertModel.sqlite"
# what cuBLAS / CUTLASS / xmma GEMM kernels are called, for the SQL side of the checks
GEMM_KERNEL_SQL = ("(s.value LIKE '%cutlass%' OR s.value LIKE '%gemm%' OR s.value LIKE '%xmma%' "
                   "OR s.value LIKE '%cublas%' OR s.value LIKE '%gemv%')")


def test_bert_engine_kernels_decide_inside_its_myelin_region():
    """A whole BERT engine runs as one Myelin region, {ForeignNode[...word_embeddings.weight
    ...Add_2697]}: its time is what its kernels are (cuBLAS/CUTLASS GEMMs, Myelin norm,
    GELU and softmax kernels), never what the region's first node is called."""
    path = corpus(BERT)
    trace = tracekit.load(path, cache=False)
    with ro(path) as conn:
        total, gemm = conn.execute(
            f"SELECT SUM(k.end - k.start), SUM(CASE WHEN {GEMM_KERNEL_SQL} THEN k.end - k.start "
            "ELSE 0 END) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName"
        ).fetchone()
        region = conn.execute("SELECT COUNT(*) FROM NVTX_EVENTS n JOIN StringIds s ON s.id = n.textId "
                              "WHERE s.value LIKE '{ForeignNode[%'").fetchone()[0]
        myl = dict(conn.execute(
            "SELECT CASE WHEN s.value LIKE '%ExpSumDiv%' THEN 'Softmax' "
            "WHEN s.value LIKE '%Erf%' THEN 'Activation' "
            "WHEN s.value LIKE '%SumDivMulSubMulSum%' OR s.value LIKE '%AddSqrDiv%' THEN 'Normalization' "
            "ELSE 'Elementwise' END AS g, SUM(k.end - k.start) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
            "JOIN StringIds s ON s.id = k.demangledName WHERE s.value LIKE '\\_\\_myl\\_%' ESCAPE '\\' "
            "GROUP BY g").fetchall())
    assert region == 1 and gemm > 0.8 * total  # the export is what the test expects
    k = trace.kernels[trace.kernels["kind"] == "kernel"]
    assert int(k["dur_ns"].sum()) == total
    assert int(k.loc[k["is_gemm"], "dur_ns"].sum()) == gemm
    assert "Embedding" not in set(k["group"].astype(str))
    mine = k[k["name"].astype(str).str.startswith("__myl_")]
    got = mine.groupby(mine["group"].astype(str))["dur_ns"].sum().to_dict()
    assert got == myl
    # the region is an op (its kernels' launches are inside it) but no module path
    ops = trace.ops
    foreign = ops[ops["name"].astype(str).str.startswith("{ForeignNode[")]
    assert len(foreign) == 1 and foreign.iloc[0]["op_type"] == nsys.COMPILED_REGION
    assert not ops["module"].astype(str).str.contains("ForeignNode").any()
    assert not (trace.ranges["name"].astype(str).str.startswith("{ForeignNode[")).any()
    summary = trace.summary(step="all")
    assert summary["gemm_ns"] == gemm and sum(summary["groups"].values()) == summary["total_ns"]


def test_myelin_region_ranges_let_kernels_decide(tmp_path):
    """Synthetic: a ForeignNode range named after an embedding and a norm, and a TRT 10
    Myelin layer range, hold a GEMM and Myelin kernels; the kernel names decide."""
    path = build_export(tmp_path / "myelin.sqlite")
    region = "{ForeignNode[/model/embed_tokens/Gather.../model/norm/Mul_1]}"
    rows = [(30000, 40000, region, 50), (41000, 42000, "__myl_Fc_myl0_1", 51)]
    kernels = [(31000, 33000, 50, "sm80_xmma_gemm_f16f16_f16f32_f32_nn_n_tilesize128x128x32"),
               (33100, 33400, 50, "__myl_bb0_3_AddSumDivMulSubMulSumDivMulAddSqrDivMulMulAdd"),
               (33500, 33600, 50, "__myl_bb0_4_DivErfAddMulMul"),
               (41100, 41500, 51, "__myl_Fc_myl0_1")]
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, domainId) "
                         "VALUES (?, ?, 59, ?, ?, 0)", [(s, e, t, gtid(A, A)) for s, e, t, _ in rows])
        conn.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME (start, end, eventClass, globalTid, "
                         "correlationId, nameId, returnValue) VALUES (?, ?, 0, ?, ?, 1, 0)",
                         [(s + 10, s + 20, gtid(A, A), c) for s, _, _, c in rows])
        next_id = conn.execute("SELECT MAX(id) FROM StringIds").fetchone()[0] + 1
        for i, (s, e, c, name) in enumerate(kernels):
            conn.execute("INSERT INTO StringIds VALUES (?, ?)", (next_id + i, name))
            conn.execute("INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL (start, end, deviceId, contextId, streamId, "
                         "correlationId, globalPid, demangledName, shortName, gridX, gridY, gridZ, blockX, "
                         "blockY, blockZ) VALUES (?, ?, 0, 1, 7, ?, ?, ?, ?, 1, 1, 1, 1, 1, 1)",
                         (s, e, c, gpid(A), next_id + i, next_id + i))
    trace = tracekit.load(path, cache=False)
    k = trace.kernels
    got = {n: g for n, g in zip(k["name"].astype(str), k["group"].astype(str)) if n in {x[3] for x in kernels}}
    assert got == {kernels[0][3]: "GEMM", kernels[1][3]: "Normalization",
                   kernels[2][3]: "Activation", kernels[3][3]: "GEMM"}
    names = trace.ops["name"].astype(str).to_numpy()
    assert {names[o] for o, n in zip(k["op"], k["name"].astype(str)) if n in got} == {region, "__myl_Fc_myl0_1"}


# ---------------------------------------------------------------- inputs refused before

def test_older_schema_without_meta_table_loads(tmp_path):
    path = build_export(tmp_path / "old.sqlite", "old")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE EXPORT_META_DATA")
    trace = tracekit.load(path, cache=False)
    assert trace.meta["schema"] == "unknown"
    assert len(trace.kernels) == len(KERNELS) + len(MEMCPY) + len(MEMSET)
    assert int(trace.kernels["dur_ns"].sum()) == sql_totals(path)[1]
    # nvprof's own database is another format: say so
    nvprof = tmp_path / "nvprof.sqlite"
    with sqlite3.connect(nvprof) as conn:
        conn.execute('CREATE TABLE StringTable (_id_ INTEGER PRIMARY KEY, value TEXT)')
        conn.execute("CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, name INTEGER)")
    with pytest.raises(TraceError, match="nvprof database"):
        tracekit.load(nvprof, cache=False)


REPORT = "VilBertModel.nsys-rep"


def report() -> Path:
    path = NSYS / f"zspo__TRT2022_VilBERT__src__{REPORT}"
    if not path.is_file():
        pytest.skip("no .nsys-rep in the corpus")
    return path


def test_report_without_nsys_names_the_export_command(tmp_path):
    path = report()
    env = dict(os.environ, PATH=str(tmp_path))  # no nsys here
    out = subprocess.run([*CLI, "summary", str(path), "--no-cache"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0]
    assert f"nsys export --type sqlite --output zspo__TRT2022_VilBERT__src__VilBertModel.sqlite {path}" in lines[0]


def test_report_is_read_through_nsys_export(tmp_path, monkeypatch):
    """A stand-in ``nsys`` on PATH writes the export nsys made of this report (the corpus
    has both); the report then reads as that export, and what nsys got is checked."""
    path = report()
    sqlite_twin = corpus(BERT)
    log = tmp_path / "args.txt"
    fake = tmp_path / "nsys"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {log}\n"
                    f"while [ $# -gt 0 ]; do [ \"$1\" = --output ] && cp {sqlite_twin} \"$2\"; shift; done\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    trace = tracekit.load(path, cache=False)
    args = log.read_text().split()
    assert args[:3] == ["export", "--type", "sqlite"] and args[-1] == str(path)
    assert trace.meta["path"] == str(path) and trace.meta["exported_by"] == "nsys export"
    n, ns = sql_totals(sqlite_twin)
    assert len(trace.kernels) == n and trace.summary(step="all")["total_ns"] == ns
    fake.write_text("#!/bin/sh\necho 'Error: report is damaged' >&2\nexit 3\n")
    with pytest.raises(TraceError, match=r"nsys export failed \(exit 3: Error: report is damaged\)"):
        tracekit.load(path, cache=False)


# ---------------------------------------------------------------- hostile databases

def test_endless_recursive_view_is_stopped(tmp_path):
    path = build_export(tmp_path / "view.sqlite")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE CUPTI_ACTIVITY_KIND_KERNEL")
        conn.execute("CREATE VIEW CUPTI_ACTIVITY_KIND_KERNEL AS WITH RECURSIVE r(x) AS "
                     "(SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x AS start, x + 1 AS end, "
                     "0 AS deviceId, 7 AS streamId, x AS correlationId, 1 AS demangledName FROM r")
    out = subprocess.run([*CLI, "summary", str(path), "--no-cache"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "recursive view" in lines[0]
    assert "TRACEKIT_SQLITE_BUDGET" in lines[0]


def test_budget_leaves_every_corpus_export_alone():
    """The budget is far above what real exports need (checked on every corpus export)."""
    from parsers import _sqlite

    for path in FILES:
        budget = _sqlite.Budget.for_file(str(path))
        conn = _sqlite.connect(str(path), budget)
        try:
            db = _sqlite.Database(conn)
            nsys._build(db, str(path), None)
        finally:
            conn.close()
        assert not budget.exceeded and budget.used * 20 < budget.steps, path.name


def test_one_bad_string_does_not_reject_the_export(tmp_path):
    path = build_export(tmp_path / "latin1.sqlite")
    name = "mystery_kernel"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE StringIds SET value = CAST(? AS TEXT) WHERE value = ?",
                     (b"caf\xe9_kernel", name))
    with pytest.warns(TraceWarning, match="1 text value .*not valid UTF-8"):
        trace = tracekit.load(path, cache=False)
    names = set(trace.kernels["name"].astype(str))
    assert "caf\ufffd_kernel" in names and name not in names
    assert len(trace.kernels) == len(KERNELS) + len(MEMCPY) + len(MEMSET)
    assert sum(1 for w in trace.meta["warnings"] if "not valid UTF-8" in w) == 1


def test_unreadable_file_says_permission_denied(tmp_path, monkeypatch):
    path = build_export(tmp_path / "locked.sqlite")
    if os.geteuid() != 0:  # a real unreadable folder where the tests are not run as root
        locked = tmp_path / "locked"
        locked.mkdir()
        moved = locked / path.name
        path.rename(moved)
        locked.chmod(0)
        try:
            with pytest.raises(TraceError, match="permission denied"):
                tracekit.load(moved, cache=False)
        finally:
            locked.chmod(0o755)
        return
    # root reads everything: make the system calls answer EACCES as they would for a user
    import builtins
    real_open, real_stat = builtins.open, os.stat

    def denied(p, *a, **kw):
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, *a, **kw)

    monkeypatch.setattr(builtins, "open", denied)
    with pytest.raises(TraceError, match="permission denied") as err:
        nsys.parse(path)
    assert str(err.value).startswith(str(path))
    monkeypatch.setattr(builtins, "open", real_open)
    monkeypatch.setattr(os.path, "exists", lambda p: False if os.fspath(p) == str(path) else True)
    monkeypatch.setattr(os, "stat", lambda p, *a, **kw: denied(p) if os.fspath(p) == str(path)
                        else real_stat(p, *a, **kw))
    with pytest.raises(TraceError, match="permission denied"):
        tracekit.load(path, cache=False)


def test_broken_activity_rows_are_set_aside_and_counted(tmp_path):
    """Rows whose start is text or a blob, or that end before they start, are counted in one
    warning per kind and left out; the rest adds up to what SQL gives for the sound rows."""
    path = tmp_path / "broken.sqlite"
    shutil.copy(corpus("saxpy-mpi"), path)
    table = "CUPTI_ACTIVITY_KIND_MEMCPY"
    with sqlite3.connect(path) as conn:
        rows = [r[0] for r in conn.execute(f"SELECT rowid FROM {table} ORDER BY start LIMIT 5")]
        conn.execute(f"UPDATE {table} SET start = 'abc' WHERE rowid = ?", (rows[0],))
        conn.execute(f"UPDATE {table} SET start = X'00' WHERE rowid = ?", (rows[1],))
        conn.execute(f"UPDATE {table} SET end = start - 5 WHERE rowid IN (?, ?, ?)", rows[2:5])
    n_all, _ = sql_totals(path)
    with ro(path) as conn:
        union = activity_union(conn)
        n_ok, ns_ok = conn.execute(
            f"SELECT COUNT(*), SUM(end - start) FROM ({union}) WHERE typeof(start) = 'integer' "
            "AND end >= start").fetchone()
    assert n_all - n_ok == 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = tracekit.load(path, cache=False)
    messages = [str(w.message) for w in caught]
    assert sum("2 events have no numeric ts" in m for m in messages) == 1, messages
    assert sum("3 events end before they start; set aside" in m for m in messages) == 1, messages
    assert len(trace.kernels) == n_ok and int(trace.kernels["dur_ns"].sum()) == ns_ok
    assert (trace.kernels["dur_ns"] >= 0).all()
