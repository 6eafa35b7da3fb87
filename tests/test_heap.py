"""tracekit.heap: while a rank is parsed on a worker started with Dask's
MALLOC_TRIM_THRESHOLD_, glibc keeps freed memory; the worker's setting comes back after the
last task, and the memory is returned. A recording stand-in for libc (the real one would
change this test process's heap for every later test), then a check that glibc's functions
are found here."""
from __future__ import annotations

import sys
import threading

import pytest

from tracekit import heap


class FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


ROOMY_CALLS = [("mallopt", heap.M_MMAP_THRESHOLD, 32 << 20), ("mallopt", heap.M_TRIM_THRESHOLD, 64 << 20)]


def test_nothing_changes_without_the_dask_setting(monkeypatch):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    libc = FakeLibc()
    with heap.roomy(lambda: libc):
        pass
    assert libc.calls == []
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "not a number")
    with heap.roomy(lambda: libc):
        pass
    assert libc.calls == []


def test_a_task_gets_a_roomy_heap_and_the_worker_its_setting_back(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    libc = FakeLibc()
    with pytest.raises(RuntimeError):  # a task that fails restores the setting too
        with heap.roomy(lambda: libc):
            assert libc.calls == ROOMY_CALLS
            raise RuntimeError
    assert libc.calls[2:] == [("mallopt", heap.M_TRIM_THRESHOLD, 65536),
                              ("mallopt", heap.M_MMAP_THRESHOLD, 128 << 10), ("malloc_trim", 0)]
    assert heap._active == 0


def test_tasks_in_threads_restore_once_the_last_leaves(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    libc = FakeLibc()
    inside, leave = threading.Barrier(3), threading.Event()

    def task():
        with heap.roomy(lambda: libc):
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=task) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()  # both tasks are in: the heap was set once
    assert libc.calls == ROOMY_CALLS and heap._active == 2
    leave.set()
    for t in threads:
        t.join()
    assert [c for c in libc.calls if c[0] == "malloc_trim"] == [("malloc_trim", 0)]
    assert len(libc.calls) == 5 and heap._active == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_glibc_is_found_here():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not a glibc system")
    libc = heap._libc()
    assert libc is not None and hasattr(libc, "mallopt")
