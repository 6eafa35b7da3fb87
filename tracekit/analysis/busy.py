"""GPU busy time: the union of activity intervals per device (overlapping streams count
once), span and idle."""
from __future__ import annotations

import numpy as np
import pandas as pd

from tracekit.analysis.results import DeviceBusy


def union_length(start: np.ndarray, end: np.ndarray) -> int:
    """Total length covered by intervals (any order, may overlap)."""
    if len(start) == 0:
        return 0
    order = np.argsort(start, kind="stable")
    s = np.asarray(start, np.int64)[order]
    e = np.asarray(end, np.int64)[order]
    reach = np.maximum.accumulate(e)
    prev = np.concatenate(([s[0]], reach[:-1]))
    return int(np.maximum(e - np.maximum(s, prev), 0).sum())


def device_busy(kernels: pd.DataFrame) -> list[DeviceBusy]:
    """Per device: kernel time, busy (union), span (first start to last end), idle."""
    rows: list[DeviceBusy] = []
    if len(kernels) == 0:
        return rows
    for device, k in kernels.groupby("device", sort=True):
        start = k["ts_ns"].to_numpy()
        end = start + k["dur_ns"].to_numpy()
        busy = union_length(start, end)
        span = int(end.max() - start.min())
        rows.append(DeviceBusy(device=int(device), kernel_ns=int(k["dur_ns"].sum()),
                               busy_ns=busy, span_ns=span, idle_ns=span - busy,
                               streams=int(k["stream"].nunique())))
    return rows


def exposed_length(kernels: pd.DataFrame, mask: np.ndarray) -> int:
    """Time, summed over devices, when the rows under ``mask`` run and no other row of the
    same device does: the union of all intervals minus the union of the others."""
    if len(kernels) == 0 or not mask.any():
        return 0
    start = kernels["ts_ns"].to_numpy()
    end = start + kernels["dur_ns"].to_numpy()
    device = kernels["device"].to_numpy()
    total = 0
    for d in np.unique(device[mask]):
        on = device == d
        rest = on & ~mask
        total += union_length(start[on], end[on]) - union_length(start[rest], end[rest])
    return total
