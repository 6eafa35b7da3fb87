"""Summaries of many traces at once (a job writes one per rank): each file is loaded and
summarized where it is processed, on the local cores by default or on a Dask distributed
cluster, and only the small results travel back.

Every task loads through the cache (Arrow files, :mod:`tracekit.cache`), so a rank that
was read before, by this machine or by a worker sharing the cache folder, is not parsed
again.
"""
from __future__ import annotations

import os
import re
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from tracekit import cores
from tracekit.model import TracekitError, TraceWarning

# What a folder of ranks holds: the formats tracekit reads, by their usual names.
TRACE_SUFFIXES = (".json", ".json.gz", ".sqlite", ".tar", ".tar.gz", ".tgz")
CONNECT_TIMEOUT = "10s"  # to reach a scheduler


class RankError(TracekitError):
    """A rank that failed on a worker, or a cluster that cannot be used: one line."""

    def __init__(self, line: str, exit_code: int = 2) -> None:
        super().__init__(line)
        self.exit_code = exit_code

    def __reduce__(self):
        return (RankError, (str(self), self.exit_code))


@dataclass(frozen=True)
class Job:
    """What every task needs besides its file: picklable, for processes and clusters."""

    options: dict  # tracekit.load_all's keyword arguments (a taxonomy as its file name)
    step: Any = None
    top: int = 10
    by: str = "group"
    range_name: str | None = None  # summary --range


@dataclass
class RankResult:
    """The results of one file (an archive of ranks gives several summaries)."""

    summaries: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # RankRow per summary
    tables: list = field(default_factory=list)  # the --by breakdown per summary, or None
    gemm_groups: set = field(default_factory=set)
    warnings: list = field(default_factory=list)
    error: RankError | None = None


def expand(paths) -> list[str]:
    """The trace files of ``paths``: a folder gives the trace files in it, in rank order
    (numbers in names compare as numbers: rank2 before rank10)."""
    out = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            names = [n for n in os.listdir(path) if n.endswith(TRACE_SUFFIXES) and not n.startswith(".")]
            if not names:
                raise RankError(f"{path}: no trace files in this folder "
                                f"(looked for {', '.join(TRACE_SUFFIXES)})")
            out.extend(os.path.join(path, n) for n in sorted(names, key=_natural))
        else:
            out.append(path)
    return out


def _natural(name: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def summarize_file(path: str, job: Job, first_position: int = 0) -> RankResult:
    """Load one file (through the cache) and summarize each trace in it. Runs on a worker:
    user errors come back as a value, warnings as their lines."""
    import tracekit
    from tracekit import analysis
    from tracekit.analysis.ranks import rank_row

    result = RankResult()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceWarning)
        try:
            traces = tracekit.load_all(path, **job.options)
        except TracekitError as exc:
            result.error = RankError(str(exc), exc.exit_code)
            return result
        for i, trace in enumerate(traces):
            window = analysis.select_window(trace, job.step, job.range_name)
            summary = analysis.summarize(trace, top=job.top, window=window)
            result.summaries.append(summary)
            result.rows.append(rank_row(summary, window, first_position + i))
            table = analysis.breakdown(trace, window, job.by) if job.by != "group" else None
            # every step (groups x steps), else the top rows, as a single trace's summary shows
            result.tables.append(table if job.by in ("group", "step") else table.head(job.top))
            result.gemm_groups |= analysis.gemm_groups(trace)
    result.warnings = [str(w.message) for w in caught if issubclass(w.category, TraceWarning)]
    return result


def summarize_all(paths: list[str], job: Job, scheduler: str | None = None,
                  workers: int | None = None) -> list[RankResult]:
    """One :class:`RankResult` per file, in the order given: on a Dask cluster when
    ``scheduler`` (its address) is given, else on ``workers`` local processes (default:
    ``$TRACEKIT_WORKERS``, else the cores this process may use, within its CPU quota; one
    file stays in this process)."""
    if scheduler:
        results = _on_cluster(paths, job, scheduler)
    else:
        results = _on_cores(paths, job, workers or cores.wanted() or cores.usable_cores())
    for r in results:
        if r.error is not None:
            raise r.error
        for line in r.warnings:
            warnings.warn(TraceWarning(line), stacklevel=2)
    return results


def _on_cores(paths: list[str], job: Job, workers: int) -> list[RankResult]:
    n = min(workers, len(paths))
    if n <= 1:
        return [summarize_file(p, job, i) for i, p in enumerate(paths)]
    # Each process decodes its own file; the cores left over go to its decoder.
    per_file = str(max(1, workers // n))
    context = get_context("fork") if sys.platform.startswith("linux") else None
    with ProcessPoolExecutor(n, mp_context=context, initializer=_set_decoders,
                             initargs=(per_file,)) as pool:
        return list(pool.map(summarize_file, paths, [job] * len(paths), range(len(paths))))


def _set_decoders(count: str) -> None:
    os.environ["TRACEKIT_WORKERS"] = count


def _summarize_on_worker(path: str, job: Job, first_position: int = 0) -> RankResult:
    """:func:`summarize_file` with the C heap set for parsing (a Dask worker's is not)."""
    from tracekit import heap

    with heap.roomy():
        return summarize_file(path, job, first_position)


def _on_cluster(paths: list[str], job: Job, address: str) -> list[RankResult]:
    try:
        from distributed import Client
    except ImportError:
        raise RankError("--scheduler needs Dask distributed: pip install 'tracekit[cluster]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise RankError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        futures = client.map(_summarize_on_worker, paths, [job] * len(paths), range(len(paths)),
                             pure=False)
        return client.gather(futures)
    finally:
        client.close()
