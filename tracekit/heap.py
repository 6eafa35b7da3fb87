"""The C heap's settings while a rank is parsed on a Dask worker.

Dask's nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ``), so that freed memory goes back to the system. With
that variable set, glibc also stops adapting its mmap threshold, which stays at 128 KiB:
every numpy column over 128 KiB is then mapped and unmapped anew, page-faulted in each time,
and a rank takes ~35% longer than in a plain process. For the task's length the
heap keeps what it frees; afterwards the worker's settings come back and the free memory is
returned (``malloc_trim``), which is what the worker's setting wanted.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
# where glibc's own adaptive thresholds top out on 64-bit systems
ROOMY = {M_MMAP_THRESHOLD: 32 << 20, M_TRIM_THRESHOLD: 64 << 20}
DEFAULT_MMAP_THRESHOLD = 128 << 10

_lock = threading.Lock()
_active = 0  # tasks inside roomy() now: a worker may run several in threads


def _libc():
    """glibc's mallopt and malloc_trim, or None (another libc, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def _trim_setting() -> int | None:
    try:
        return int(os.environ["MALLOC_TRIM_THRESHOLD_"])
    except (KeyError, ValueError):
        return None


@contextmanager
def roomy(libc_loader=_libc) -> Iterator[None]:
    """Inside, glibc keeps freed memory for reuse, when ``MALLOC_TRIM_THRESHOLD_`` had made
    it give back everything over 64 KiB; the last task to leave restores that setting."""
    global _active
    trim = _trim_setting()
    libc = libc_loader() if trim is not None else None
    if libc is None:
        yield
        return
    with _lock:
        if _active == 0:
            for param, value in ROOMY.items():
                libc.mallopt(param, value)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                libc.mallopt(M_TRIM_THRESHOLD, trim)
                libc.mallopt(M_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD)
                libc.malloc_trim(0)
