"""The TUI exports what its screens show: a range picked by id stays that one range even
when other ranges share its name (one annotation per iteration)."""
from __future__ import annotations

import json

import numpy as np

from tests.tui.conftest import DECODER
from tui import queries as q


def _inside(frame, lo, hi):
    s = frame["ts_ns"].to_numpy()
    e = s + np.maximum(frame["dur_ns"].to_numpy(), 0)
    return ((s < hi) & (e > lo)) | ((e == s) & (s >= lo) & (s < hi))


def test_export_of_a_picked_range_holds_that_range_only(load, tmp_path):
    trace = load(DECODER)
    r = trace.ranges
    host = r[r["kind"].astype(str) == "annotation"]
    counts = host["name"].astype(str).value_counts()
    name = counts.index[0]
    assert counts.iloc[0] > 1  # the name repeats: the case that went wrong
    first = host[host["name"].astype(str) == name].sort_values("ts_ns").iloc[0]
    lo, hi = int(first["ts_ns"]), int(first["ts_ns"] + first["dur_ns"])

    # what runs in that one range, counted from the tables directly: host rows overlapping
    # it, and the GPU activities launched from inside it
    want = {t: set(trace.tables()[t].loc[_inside(trace.tables()[t], lo, hi), "id"])
            for t in ("ops", "launches", "ranges")}
    k = trace.kernels
    want["kernels"] = set(k.loc[k["launch"].isin(list(want["launches"])), "id"])
    assert want["kernels"] and want["ops"]

    scope = q.Scope().with_range(int(first["id"]), name)
    win = q.window(trace, scope)
    for t, ids in want.items():
        assert set(win.tables()[t]["id"]) == ids, t

    out = tmp_path / "picked.json"
    info = q.export_selection(trace, scope, str(out))
    slices = [e for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X"]
    assert len(slices) == info["slices"] == sum(len(ids) for ids in want.values())
    # by name, the file would hold every iteration's range: more than the screen showed
    from tracekit.export import select

    assert select(trace, range_name=name).count > len(slices)
    assert f"range {name}" in info["window"]
