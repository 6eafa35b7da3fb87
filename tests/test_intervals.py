"""The vectorized nesting index against a brute-force stack replay."""
from __future__ import annotations

import numpy as np
import pytest

from tracekit.model.intervals import at_or_near, bucket_groups, covered_upto, nest, propagate_down, self_time


def brute_parent(start, end, group):
    """Innermost strictly-earlier-sorted interval that contains each one (same group)."""
    n = len(start)
    order = sorted(range(n), key=lambda i: (group[i], start[i], -end[i]))
    parent = [-1] * n
    for pos, i in enumerate(order):
        best = -1
        for j in order[:pos]:
            if group[j] == group[i] and start[j] <= start[i] and max(end[j], start[j] + 1) >= max(end[i], start[i] + 1):
                if best == -1 or (start[j], -end[j]) >= (start[best], -end[best]):
                    best = j
        parent[i] = best
    return parent


def random_stack(rng, n_threads=3, n=200):
    """Properly nested intervals, as a call stack produces them."""
    start, end, group = [], [], []
    for g in range(n_threads):
        t = 0
        stack = []
        for _ in range(n):
            if stack and rng.random() < 0.45:
                s = stack.pop()
                t += int(rng.integers(0, 3))
                start.append(s); end.append(t); group.append(g)
            else:
                t += int(rng.integers(0, 3))
                stack.append(t)
        while stack:
            s = stack.pop()
            t += 1
            start.append(s); end.append(t); group.append(g)
    return np.array(start), np.array(end), np.array(group)


@pytest.mark.parametrize("seed", range(5))
def test_nesting_matches_stack_replay(seed):
    rng = np.random.default_rng(seed)
    start, end, group = random_stack(rng)
    nesting = nest(start, end, group)
    expected = brute_parent(start.tolist(), end.tolist(), group.tolist())
    # ties (identical intervals) may pick either twin; compare the parents' extents
    for i, (got, want) in enumerate(zip(nesting.parent, expected)):
        if want == -1:
            assert got == -1, i
        else:
            assert got != -1 and (start[got], end[got], group[got]) == (start[want], end[want], group[want]), i
    # depth agrees with parents
    depth = nesting.depth
    has = nesting.parent >= 0
    assert (depth[has] == depth[nesting.parent[has]] + 1).all()
    assert (depth[~has] == 0).all()


def test_point_queries_find_the_innermost_enclosing_interval():
    start = np.array([0, 10, 12, 30, 0])
    end = np.array([100, 20, 15, 40, 50])
    group = np.array([0, 0, 0, 0, 1])
    nesting = nest(start, end, group)
    got = nesting.at_points(np.array([13, 11, 35, 99, 100, 5, 5]), np.array([0, 0, 0, 0, 0, 1, 2]))
    assert got.tolist() == [2, 1, 3, 0, -1, 4, -1]


def test_zero_length_intervals_nest_inside_their_caller():
    nesting = nest(np.array([0, 5, 5]), np.array([10, 5, 5]), np.zeros(3, int))
    assert nesting.parent[0] == -1
    assert nesting.parent[1] == 0 and nesting.parent[2] in (0, 1)


def test_child_that_outlives_its_parent_falls_back_to_a_real_container():
    # [0,100) contains [10,20); [15,30) overlaps [10,20) without being inside it
    nesting = nest(np.array([0, 10, 15]), np.array([100, 20, 30]), np.zeros(3, int))
    assert nesting.parent.tolist() == [-1, 0, 0]


def test_self_time_and_propagation():
    start = np.array([0, 10, 12, 30])
    end = np.array([100, 20, 15, 40])
    nesting = nest(start, end, np.zeros(4, int))
    assert self_time(end - start, nesting.parent).tolist() == [80, 7, 3, 10]
    own = np.array([5, -1, -1, 7])
    assert propagate_down(nesting.parent, nesting.depth, own, -1).tolist() == [5, 5, 5, 7]


def random_lane(rng, n=300):
    """Events of one timeline lane: sorted by start, mostly back to back, a few overlapping."""
    start = np.cumsum(rng.integers(0, 40, n))
    end = start + rng.integers(0, 60, n)
    group = rng.integers(0, 4, n)
    return start.astype(np.int64), end.astype(np.int64), group.astype(np.int64)


@pytest.mark.parametrize("seed", range(3))
def test_covered_upto_matches_clipped_lengths(seed):
    rng = np.random.default_rng(seed)
    start, end, _ = random_lane(rng)
    t = np.sort(rng.integers(-10, int(end.max()) + 10, 50)).astype(np.int64)
    want = [sum(max(0, min(e, x) - s) for s, e in zip(start.tolist(), end.tolist())) for x in t.tolist()]
    assert np.allclose(covered_upto(start, end, t), want)


@pytest.mark.parametrize("seed", range(3))
def test_bucket_groups_against_per_bucket_overlap(seed):
    rng = np.random.default_rng(seed)
    start, end, group = random_lane(rng)
    lo, hi, width = int(start[20]), int(end[250]), 37
    best, busy = bucket_groups(start, end, group, lo, hi, width, 4)
    edges = [lo + int(i * (hi - lo) / width) for i in range(width + 1)]
    for b in range(width):
        a, z = edges[b], edges[b + 1]
        cover = [0] * 4
        for s, e, g in zip(start.tolist(), end.tolist(), group.tolist()):
            cover[g] += max(0, min(e, z) - max(s, a))
        if max(cover) == 0:
            assert best[b] == -1
        else:
            assert cover[best[b]] == max(cover)
        assert busy[b] == pytest.approx(min(sum(cover) / max(z - a, 1), 1.0))
    # every busy bucket names a group, every idle one none
    assert ((best >= 0) == (busy > 0)).all()


def test_at_or_near_picks_the_holding_then_the_nearest_interval():
    start = np.array([0, 100, 200])
    end = np.array([50, 150, 260])
    assert at_or_near(start, end, 120, 0) == 1
    assert at_or_near(start, end, 60, 20) == 0      # 10 after the first, 40 before the second
    assert at_or_near(start, end, 90, 20) == 1      # 10 before the second
    assert at_or_near(start, end, 170, 10) == -1    # 20 from either side
    assert at_or_near(start[:0], end[:0], 5, 100) == -1
