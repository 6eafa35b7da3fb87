"""parsers._shared.match_launch and dotted_paths on a real trace's ids and ranges: launch
rows found by correlation id alone (Kineto) and within a process first (Nsight Systems,
where ids repeat across processes), checked against a dict lookup of the raw ids; module
paths against paths joined by walking each range's parents."""
from __future__ import annotations

import numpy as np

from parsers._shared import dotted_paths, match_launch
from tests.conftest import corpus_file

RESNET = "param__train__compute__python__test__data__resnet_kineto"


def _ids(load):
    trace = load(corpus_file(RESNET))
    k, la = trace.kernels, trace.launches
    return (k["correlation"].to_numpy(), k["ts_ns"].to_numpy(),
            la["correlation"].to_numpy(), la["ts_ns"].to_numpy())


def test_one_process_ids_alone(load):
    k_corr, k_ts, l_corr, l_ts = _ids(load)
    row_of = {int(c): i for i, c in enumerate(l_corr) if c >= 0}
    want = np.array([row_of.get(int(c), -1) if c >= 0 else -1 for c in k_corr])
    got = match_launch(k_corr, k_ts, l_corr, l_ts)
    assert (got == want).all() and (got >= 0).sum() > 1000


def test_ids_repeated_in_time_and_across_processes(load):
    k_corr, k_ts, l_corr, l_ts = _ids(load)
    n, span = len(l_corr), int(max(k_ts.max(), l_ts.max()) - min(k_ts.min(), l_ts.min())) + 1
    single = match_launch(k_corr, k_ts, l_corr, l_ts)
    second = np.where(single >= 0, single + n, -1)
    # the same run twice in one file, one span apart: each activity takes the latest launch
    # with its id at or before its start
    got = match_launch(np.tile(k_corr, 2), np.concatenate([k_ts, k_ts + span]),
                       np.tile(l_corr, 2), np.concatenate([l_ts, l_ts + span]))
    assert (got == np.concatenate([single, second])).all()
    # two processes over the same time: ids alone cannot tell them apart, the process does
    two = np.repeat([0, 1], len(k_corr)), np.repeat([0, 1], n)
    got = match_launch(np.tile(k_corr, 2), np.tile(k_ts, 2), np.tile(l_corr, 2), np.tile(l_ts, 2),
                       k_process=two[0], l_process=two[1])
    assert (got == np.concatenate([single, second])).all()
    # an activity whose process is unknown is still matched, by id alone
    unknown = two[0].copy()
    unknown[len(k_corr):] = -1
    got = match_launch(np.tile(k_corr, 2), np.tile(k_ts, 2), np.tile(l_corr, 2), np.tile(l_ts, 2),
                       k_process=unknown, l_process=two[1])
    assert (got[len(k_corr):] >= 0).sum() == (single >= 0).sum()


def test_dotted_paths_match_a_walk_up_the_parents(load):
    trace = load(corpus_file(RESNET))
    r = trace.ranges
    part = (r["kind"].astype(str) != "step").to_numpy()
    names = r["name"].astype(str).to_numpy()
    parent = r["parent"].to_numpy()
    codes, paths = dotted_paths(r["name"].cat.codes.to_numpy(), [str(c) for c in r["name"].cat.categories],
                                parent, r["depth"].to_numpy(), part)

    def walk(i: int) -> str:
        up = walk(parent[i]) if parent[i] >= 0 else ""
        if not part[i]:
            return up
        return f"{up}.{names[i]}" if up else names[i]

    assert [paths[c] for c in codes] == [walk(i) for i in range(len(r))]
    # the parser's own path column is the same text
    assert [paths[c] for c in codes] == list(np.where(part, r["path"].astype(str), ""))
    assert sum(1 for c in codes if "." in paths[c]) > 10
