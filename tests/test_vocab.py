"""One vocabulary: the event tables hold only its words, and everything that names a
source, a time basis or a byte count spells it one way."""
from __future__ import annotations

import pytest

from tracekit.model import KERNELS, OPS, RANGES, make_table
from tracekit.model.vocab import COPY_KINDS, FIXED, SOURCES, TIME_BASES


@pytest.mark.parametrize("schema,column,value", [
    (OPS, "source", "tensorrt"),      # the label, where the parsers write "trt"
    (KERNELS, "copy", "H2D"),         # a spelling the parsers normalize
    (KERNELS, "kind", "memcopy"),
    (KERNELS, "link", "correlation_id"),
    (RANGES, "kind", "nvtx_range"),
])
def test_make_table_rejects_a_value_outside_the_vocabulary(schema, column, value):
    valid = {"kind": ["memcpy"] * 2, "link": ["none"] * 2} if schema is KERNELS else {}
    if schema is RANGES:
        valid = {"kind": ["step"] * 2}
    make_table(schema, 2, **valid)  # the same table with known words is fine
    with pytest.raises(ValueError) as err:
        make_table(schema, 2, **{**valid, column: [valid.get(column, [""])[0], value]})
    assert repr(column) in str(err.value) and repr(value) in str(err.value)


def test_a_kernel_table_must_say_what_its_rows_are():
    with pytest.raises(ValueError, match="column 'kind': value ''"):
        make_table(KERNELS, 1, link=["none"])


def test_fixed_columns_carry_the_whole_vocabulary_as_categories():
    k = make_table(KERNELS, 2, kind=["kernel", "memcpy"], link=["none", "correlation"], copy=["", "DtoH"])
    for column, allowed in FIXED["kernels"].items():
        assert list(k[column].cat.categories) == list(allowed)
    assert list(k["copy"].astype(str)) == ["", "DtoH"]
    empty = make_table(RANGES, 0)
    assert list(empty["kind"].cat.categories) == list(FIXED["ranges"]["kind"])


def test_sources_are_the_ones_the_parsers_write_and_exports_label():
    import parsers
    from tracekit.export.tracks import SOURCE_OPS

    written = {parsers.get(name).SOURCE for name in parsers.REGISTRY}
    assert written == set(SOURCES) == set(SOURCE_OPS)


def test_time_bases_name_what_they_count():
    import tracekit
    from parsers import tensorrt
    from tests.test_onnxruntime import FIXTURES
    from tracekit.report.summary_text import totals_line

    assert tensorrt.TIME_BASIS in TIME_BASES
    # a real ONNX Runtime CPU profile: its totals line counts nodes, not ops
    profile = sorted(p for p in FIXTURES.glob("*.json") if "cpu" in p.name)[0]
    summary = tracekit.load(profile, cache=False).summary(step="all")
    assert summary["time_basis"] == "ort_node"
    line = totals_line(summary).plain
    assert f"in {summary['ops']:,} nodes" in line and "no GPU kernel events in this profile" in line


def test_copy_kinds_are_normalized_in_one_place():
    from parsers._shared import copy_kind

    spellings = {"HtoD": "HtoD", "HTOD": "HtoD", "H2D": "HtoD", "HOST_TO_DEVICE": "HtoD",
                 "HostToDevice": "HtoD", "UVM_DTOH": "DtoH", "DeviceArrayToHost": "AtoH",
                 "peer_to_peer": "PtoP", "UNKNOWN": "", "": "", "Memcpy HtoD": ""}
    assert {s: copy_kind(s) for s in spellings} == spellings
    assert {copy_kind(k.upper()) for k in COPY_KINDS} == set(COPY_KINDS)


def test_bytes_are_shown_in_binary_units_everywhere():
    from tracekit.report import fmt
    from tui import queries

    assert queries.fmt_bytes is fmt.size
    cases = {512: "512 B", 1536: "1.5 KiB", 3 * 2**20 + 2**19: "3.5 MiB", 2**30: "1.0 GiB",
             -1: "-", None: "-"}
    assert {n: fmt.size(n) for n in cases} == cases
