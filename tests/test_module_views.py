"""Module views: every instance of a module class on one row (``Layer.Attention ×16``),
one row per module path on demand (``--by instance``), long paths cut in the middle."""
from __future__ import annotations

import re

from tests.conftest import SAMPLES
from tests.test_bad_input import run_cli
from tracekit import analysis
from tracekit.analysis.breakdown import NO_MODULE, NO_OP

DECODER = SAMPLES / "decoder_h100.pt.trace.json.gz"


def _class(path: str) -> str:
    # the collector's instance numbers: Name_3 in a dotted path
    return re.sub(r"_\d+(?=\.|$)", "", path)


def test_module_rows_are_class_paths_that_add_up_over_their_instances(load):
    trace = load(DECODER)
    win = analysis.select(trace, None)
    k = win.kernels
    op = k["op"].to_numpy()
    paths = [NO_OP if o < 0 else (str(trace.ops["module"].iloc[o]) or NO_MODULE) for o in op]
    expected: dict = {}
    for path, group, dur in zip(paths, k["group"].astype(str), k["dur_ns"]):
        row = expected.setdefault((_class(path), group), [0, set()])
        row[0] += int(dur)
        row[1].add(path)
    table = analysis.breakdown(trace, win, "module")
    got = {(r.name, r.group): [r.total_ns, r.instances] for r in table.itertuples()}
    assert got == {key: [ns, len(p)] for key, (ns, p) in expected.items()}
    assert max(table["instances"]) > 1
    per_instance = analysis.breakdown(trace, win, "instance")
    assert int(per_instance["total_ns"].sum()) == int(table["total_ns"].sum()) == int(k["dur_ns"].sum())
    assert len(per_instance) > len(table)
    # a class row drills into the calls of all its instances
    top = table.iloc[0]
    calls = analysis.row_calls(trace, win, "module", top["name"])
    assert calls.device_ns == sum(r.total_ns for r in table.itertuples() if r.name == top["name"])
    assert len(set(calls.calls["module"])) == top["instances"]


def test_module_table_text_counts_instances_and_cuts_paths_in_the_middle(tmp_path):
    text = run_cli("summary", DECODER, "--by", "module", cache_dir=tmp_path, columns=80).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    linear = [line for line in text.splitlines() if "Linear ×" in line]
    assert {"Linear ×3", "Linear ×4"} <= {re.search(r"Linear ×\d", line).group() for line in linear}
    assert all(line.split()[0].startswith("TinyDecoder") and "…" in line for line in linear)
    text = run_cli("summary", DECODER, "--by", "instance", cache_dir=tmp_path, columns=80).stdout
    rows = [line for line in text.splitlines() if "Linear_" in line]
    assert any("Linear_4" in line for line in rows) and not any("×" in line for line in rows)
