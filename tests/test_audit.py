"""Audit of the taxonomy on every GPU trace of the corpus (Kineto, Nsight Systems) and the
samples the project makes: each kernel's group by its base name alone is compared with its
group by the full precedence (module > op > kernel name). Every disagreement over 0.5% of a
trace's time must be of a kind the taxonomy file documents ([[disagreements]] in its
header, with a reason), or the test fails and names it."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import tracekit
from tracekit.model import TraceError
from tracekit.model.names import kernel_base_name
from tracekit.taxonomy import Taxonomy

from .conftest import CORPUS, SAMPLES

SHARE = 0.005
TX = Taxonomy.default()


def _gpu_files() -> list[Path]:
    files = []
    for folder in (CORPUS / "kineto", CORPUS / "nsys"):
        if folder.is_dir():
            files += sorted(p for p in folder.iterdir()
                            if p.name.endswith((".json", ".json.gz", ".tar.gz", ".sqlite")))
    files += sorted(p for p in SAMPLES.iterdir() if ".trace.json" in p.name)
    return files


FILES = _gpu_files()


@pytest.fixture(scope="module")
def audited(cache_dir):
    """Per trace: (kernel base name, op name, group by precedence, group by kernel name, ns)
    disagreements and the trace's device total."""
    if not (CORPUS / "kineto").is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    out = {}
    for path in FILES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traces = tracekit.load_all(path, cache_dir=cache_dir)
        except TraceError:
            continue  # not a GPU trace this project reads (an Execution Trace, ...)
        for i, trace in enumerate(traces):
            k = trace.kernels
            if not len(k):
                continue
            total = int(k["dur_ns"].sum())
            names = k["name"].astype(str)
            by_name = names.map(dict(zip(names.unique(), TX.classify_many("kernels", names.unique()))))
            group = k["group"].astype(str)
            host_copy = k["copy"].isin(["HtoD", "DtoH"])
            differ = (by_name != "") & (by_name != group) & ~host_copy
            ops = trace.ops["name"].astype(str).to_numpy()
            rows = {}
            for name, op, g, n, ns in zip(names[differ], k.loc[differ, "op"], group[differ],
                                          by_name[differ], k.loc[differ, "dur_ns"]):
                key = (n, g)
                entry = rows.setdefault(key, [0, kernel_base_name(name), ops[op] if op >= 0 else ""])
                entry[0] += int(ns)
            out[f"{path.name}#{i}"] = (total, rows)
    if not out:
        pytest.skip("no GPU trace in the corpus")
    return out


def test_documented_kinds_are_well_formed():
    groups = set(TX.group_order())
    assert TX.documented
    for d in TX.documented:
        assert d["kernel"] in groups and d["op"] in groups, d
        assert d["kernel"] != d["op"] and len(d["reason"]) > 20, d


def test_every_big_disagreement_is_documented(audited):
    documented = {(d["kernel"], d["op"]) for d in TX.documented}
    unexplained = []
    seen = set()
    for trace, (total, rows) in audited.items():
        for (by_name, group), (ns, base, op) in rows.items():
            if ns / total > SHARE:
                seen.add((by_name, group))
                if (by_name, group) not in documented:
                    unexplained.append(f"{trace}: kernel {base!r} under {op!r} is {group}, "
                                       f"its name says {by_name} ({ns / total:.1%})")
    assert not unexplained, "\n".join(unexplained)
    # the audit does see disagreements (the corpus has cuDNN GEMM kernels under conv ops)
    assert ("GEMM", "Convolution") in seen


def test_disagreements_add_up_to_what_precedence_moved(audited):
    """Independently of the audit's grouping: for the resnet trace, the time the audit
    lists as GEMM-by-name under Convolution equals the time of kernels whose own name
    matches a GEMM rule while their op is a convolution op."""
    key = next((k for k in audited if "param__train__compute__python__test__data__resnet" in k), None)
    if key is None:
        pytest.skip("resnet corpus trace absent")
    total, rows = audited[key]
    path = next(p for p in FILES if p.name == key.split("#")[0])
    (trace,) = tracekit.load_all(path, cache=False)
    k, o = trace.kernels, trace.ops
    conv_op = o["name"].astype(str).str.contains("conv", case=False).to_numpy()
    has_op = k["op"].to_numpy() >= 0
    under_conv = has_op & conv_op[k["op"].to_numpy().clip(min=0)]
    gemm_name = k["name"].astype(str).map(lambda n: TX.classify("kernels", n) == "GEMM").to_numpy()
    expected = int(k.loc[under_conv & gemm_name, "dur_ns"].sum())
    assert rows[("GEMM", "Convolution")][0] == expected > 0
