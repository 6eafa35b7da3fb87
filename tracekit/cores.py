"""How many processes tracekit's parallel parts (the decoder, the report, the ranks) use:
the cores this process may run on, under a container's CPU quota, and of those the ones
that are idle now (forking onto busy cores only adds CPU: ~15% more in all)."""
from __future__ import annotations

import functools
import math
import os
import warnings
from multiprocessing import current_process

# Fewer ticks than this on a core (10 ms each) tell too little about it.
MIN_TICKS = 3

# cgroup v2, then v1: a container's CPU quota (a pod's "cpu: 2" on a 64-core node)
CPU_MAX = "/sys/fs/cgroup/cpu.max"
CFS_QUOTA, CFS_PERIOD = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"


def usable_cores() -> int:
    """Cores this process may run on (its affinity), at most its cgroup's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cpu_quota()
    return max(1, min(cores, math.ceil(quota)) if quota else cores)


def cpu_quota() -> float | None:
    """CPUs' worth of time the cgroup allows per period; None when unlimited or unknown."""
    try:
        with open(CPU_MAX) as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(CFS_QUOTA) as q, open(CFS_PERIOD) as p:
            quota_us, period_us = int(q.read()), int(p.read())
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    except (OSError, ValueError):
        return None


def wanted() -> int:
    """``$TRACEKIT_WORKERS`` if set to a positive count, else 0; any other value is warned
    about (once per value) and ignored."""
    value = os.environ.get("TRACEKIT_WORKERS", "").strip()
    try:
        n = int(value or "0")
    except ValueError:
        n = -1
    if n < 0:
        _warn_ignored(value)
    return max(0, n)


@functools.cache
def _warn_ignored(value: str) -> None:
    from tracekit.model.errors import TraceWarning

    warnings.warn(TraceWarning(f"TRACEKIT_WORKERS={value!r} is not a count of processes "
                               "(0 or unset: as many as the cores allow, 1: this process only); ignored"),
                  stacklevel=4)


def process_count(since: dict | None = None) -> int:
    """Processes to run on: ``$TRACEKIT_WORKERS``, else this one plus one per other usable
    core that is idle: idle since ``since`` (a :func:`cpu_ticks` snapshot), else by the
    load average (a minute behind, and it counts tasks that use no CPU); 1 in a daemonic
    process (a cluster's worker may not have children)."""
    if current_process().daemon:
        return 1
    if (n := wanted()) > 0:
        return n
    cores = usable_cores()
    idle = idle_cores(since) if since else None
    if idle is None:
        try:
            idle = int(cores - os.getloadavg()[0])
        except (AttributeError, OSError):  # no load average (Windows)
            idle = 0
    return max(1, min(cores, 1 + max(0, round(idle))))


def cpu_ticks() -> dict[int, tuple[int, int]] | None:
    """{cpu: (idle ticks, all ticks)} from Linux's /proc/stat; None elsewhere."""
    try:
        with open("/proc/stat", "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            name, *values = line.split()
            ticks = [int(v) for v in values[:8]]
            out[int(name[3:])] = (ticks[3] + ticks[4], sum(ticks))  # idle + iowait
    return out or None


def idle_cores(since: dict) -> float | None:
    """How many of the cores this process may run on were idle since the ``since``
    snapshot (this process's own core counts as busy); None when it cannot be told."""
    now = cpu_ticks()
    if now is None:
        return None
    idle = 0.0
    for cpu in os.sched_getaffinity(0):
        if cpu not in now or cpu not in since:
            return None
        total = now[cpu][1] - since[cpu][1]
        if total < MIN_TICKS:
            return None
        idle += (now[cpu][0] - since[cpu][0]) / total
    return idle
