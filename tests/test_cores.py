"""How many processes the decoder, the report and the ranks use (tracekit.cores): idle
cores from /proc/stat ticks, the load average when those cannot tell, a container's CPU
quota, $TRACEKIT_WORKERS. Simulated windows and cgroup files, then this machine's own."""
from __future__ import annotations

import os
import warnings

import pytest

from tracekit import cores
from tracekit.model import TraceWarning


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.delenv("TRACEKIT_WORKERS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(cores, "cpu_quota", lambda: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (4.0, 0.0, 0.0))  # says: all busy
    return {cpu: (1000, 5000) for cpu in range(4)}


def _ticks_after(monkeypatch, idle_ticks: list[int], ticks: int = 20) -> None:
    now = {cpu: (1000 + idle, 5000 + ticks) for cpu, idle in enumerate(idle_ticks)}
    monkeypatch.setattr(cores, "cpu_ticks", lambda: now)


def test_idle_cores_since_the_snapshot_decide(monkeypatch, four_cores):
    since = four_cores
    _ticks_after(monkeypatch, [0, 20, 20, 19])  # this process on core 0, three cores idle
    assert cores.idle_cores(since) == pytest.approx(2.95)
    assert cores.process_count(since) == 4
    _ticks_after(monkeypatch, [0, 20, 1, 0])  # two cores busy with something else
    assert cores.process_count(since) == 2


def test_load_average_decides_when_the_ticks_cannot(monkeypatch, four_cores):
    since = four_cores
    _ticks_after(monkeypatch, [0, 20, 20, 20], ticks=cores.MIN_TICKS - 1)  # too short a window
    assert cores.idle_cores(since) is None
    assert cores.process_count(since) == 1
    monkeypatch.setattr(cores, "cpu_ticks", lambda: None)  # no /proc/stat
    assert cores.process_count(since) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 0.0, 0.0))
    assert cores.process_count() == 4  # 3 idle + this one


def test_environment_and_daemons(monkeypatch, four_cores):
    monkeypatch.setenv("TRACEKIT_WORKERS", "3")
    assert cores.process_count() == 3
    cores._warn_ignored.cache_clear()
    for value in ("many", "-2"):  # not a count: warned about once, then the default rule
        monkeypatch.setenv("TRACEKIT_WORKERS", value)
        with pytest.warns(TraceWarning, match=f"TRACEKIT_WORKERS='{value}' is not a count"):
            assert cores.process_count() == 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert cores.process_count() == 1

    class Daemon:
        daemon = True
    monkeypatch.setattr(cores, "current_process", lambda: Daemon())
    monkeypatch.setenv("TRACEKIT_WORKERS", "3")
    assert cores.process_count() == 1


@pytest.mark.parametrize("v2, v1, quota", [
    ("200000 100000\n", None, 2.0),  # cgroup v2: 2 CPUs
    ("150000 100000\n", None, 1.5),
    ("max 100000\n", None, None),  # unlimited
    (None, ("50000", "100000"), 0.5),  # cgroup v1
    (None, ("-1", "100000"), None),  # v1 unlimited
    (None, None, None),  # no cgroup files
])
def test_cpu_quota_from_cgroup_files(tmp_path, monkeypatch, v2, v1, quota):
    monkeypatch.setattr(cores, "CPU_MAX", str(tmp_path / "cpu.max"))
    monkeypatch.setattr(cores, "CFS_QUOTA", str(tmp_path / "quota"))
    monkeypatch.setattr(cores, "CFS_PERIOD", str(tmp_path / "period"))
    if v2 is not None:
        (tmp_path / "cpu.max").write_text(v2)
    if v1 is not None:
        (tmp_path / "quota").write_text(v1[0])
        (tmp_path / "period").write_text(v1[1])
    assert cores.cpu_quota() == quota


def test_quota_caps_the_cores(monkeypatch, four_cores):
    monkeypatch.setattr(cores, "cpu_quota", lambda: 1.5)
    assert cores.usable_cores() == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert cores.process_count() == 2
    monkeypatch.setattr(cores, "cpu_quota", lambda: 0.5)
    assert cores.usable_cores() == 1


def test_this_machine():
    ticks = cores.cpu_ticks()
    if ticks is None:
        pytest.skip("no /proc/stat on this system")
    assert set(os.sched_getaffinity(0)) <= set(ticks)
    assert all(0 <= idle <= total for idle, total in ticks.values())
    assert 1 <= cores.usable_cores() <= len(os.sched_getaffinity(0))
    assert 1 <= cores.process_count(ticks) <= cores.usable_cores()
