"""``tracekit.load``: find the parser, use the cache, classify. The only place (with the
CLI) that wires parsers in, and it imports them lazily."""
from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

from tracekit import cache as trace_cache
from tracekit.api import Trace
from tracekit.model import TraceError, TraceWarning, checks
from tracekit.taxonomy import Taxonomy
from tracekit.taxonomy.apply import classify

PROGRESS_MIN_BYTES = 32 << 20  # files this large take over ~1 s to normalize


def load(path, *, taxonomy: Taxonomy | str | None = None, cache: bool = True,
         cache_dir=None, progress: bool = False, layers=None, capture=None,
         max_size: int | None = None, onnx=None) -> Trace:
    """Load one trace file (Kineto JSON, Nsight SQLite, ONNX Runtime or TensorRT JSON).

    ``layers`` names a TensorRT layer-info file when it is not beside the profile.
    ``capture`` names the trace written while CUDA/HIP graphs were captured (vLLM,
    SGLang): replayed kernels then get the ops that issued them at capture. An
    archive holding several traces (one per rank) raises :class:`TraceError`; use
    :func:`load_all` for those. ``max_size``: most bytes of (decompressed) trace text to
    read (default: a sixth of the memory available); larger inputs are refused. ``onnx``:
    the ONNX model a TensorRT engine was built from; compiled regions (Myelin) whose
    members the layer info does not list are grouped by the model's nodes between their ends.
    """
    traces = load_all(path, taxonomy=taxonomy, cache=cache, cache_dir=cache_dir,
                      progress=progress, layers=layers, capture=capture, max_size=max_size,
                      onnx=onnx)
    if len(traces) != 1:
        raise TraceError(path, f"holds {len(traces)} traces (one per rank); "
                               "use tracekit.load_all()")
    return traces[0]


def load_all(paths, *, taxonomy: Taxonomy | str | None = None, cache: bool = True,
             cache_dir=None, progress: bool = False, layers=None, capture=None,
             max_size: int | None = None, onnx=None) -> list[Trace]:
    """Every trace in one or more files (tar archives of per-rank traces expand);
    ``capture``, ``onnx``: see :func:`load`."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if isinstance(taxonomy, (str, os.PathLike)):
        taxonomy = Taxonomy.from_file(taxonomy)
    taxonomy = taxonomy or Taxonomy.default()
    options = {"layers": os.fspath(layers)} if layers else {}
    options["max_size"] = max_size
    captured = _capture(os.fspath(capture), cache, cache_dir, progress) if capture else None
    out = []
    for path in paths:
        for trace in _normalized(os.fspath(path), cache, cache_dir, progress, options):
            if captured is not None:
                _attach_capture(trace, captured, os.fspath(capture))
            classify(trace, taxonomy)
            if onnx is not None:
                _group_regions(trace, os.fspath(onnx), taxonomy)
            out.append(Trace(trace.ops, trace.kernels, trace.launches, trace.ranges, trace.meta))
    return out


def _group_regions(trace: Trace, onnx: str, taxonomy: Taxonomy) -> None:
    from tracekit.analysis.fusion import group_regions

    if trace.meta.source != "trt":
        warnings.warn(TraceWarning(f"{trace.meta.path}: --onnx applies to TensorRT "
                                   "profiles only; ignored"), stacklevel=3)
        return
    trace.meta.onnx_regions = [r.to_dict() for r in group_regions(trace, onnx, taxonomy)]


def _capture(path: str, use_cache: bool, cache_dir, progress: bool):
    traces = _normalized(path, use_cache, cache_dir, progress, {})
    if len(traces) != 1:
        raise TraceError(path, f"holds {len(traces)} traces; --capture takes the one trace "
                               "written while the graphs were captured")
    return traces[0]


def _attach_capture(trace, captured, path: str) -> None:
    from tracekit.model import replay

    stats = replay.attach(trace, captured)
    stats["path"] = path
    trace.meta.capture = stats
    missed = stats["replays"] - stats["replays_mapped"]
    if missed or not stats["replays"]:
        sizes = ", ".join(str(s) for s in stats["graph_sizes"]) or "none"
        why = (f"{missed} of {stats['replays']} graph replays match no single graph captured in "
               f"{os.path.basename(path)} (captured graph sizes: {sizes}); they keep their "
               "launch as op" if stats["replays"] else
               f"no graph replays in this trace to map to {os.path.basename(path)}")
        trace.meta.warnings.append(why)
        warnings.warn(TraceWarning(why), stacklevel=4)


def _normalized(path: str, use_cache: bool, cache_dir, progress: bool, options: dict):
    if not os.path.exists(path):
        try:  # exists() is False for a file in a folder the user may not search, too
            os.stat(path)
        except PermissionError:
            raise TraceError(path, "permission denied") from None
        except OSError:
            pass
        raise TraceError(path, "no such file")
    if os.path.isdir(path):
        raise TraceError(path, "is a directory, not a trace file")
    options = dict(options)
    once = _bound_input(path, options.pop("max_size", None))
    use_cache = use_cache and not once
    module = _detect(path)
    _check_options(module, path, options)
    if once and module.__name__.endswith("nsys"):
        raise TraceError(path, "is a pipe: an Nsight Systems export must be read from a file")
    # the result depends on every file the parser reads (TensorRT reads sibling files)
    inputs = [path] + [f for f in companion_files(module, path, options) if f != path]
    if use_cache:
        cached = trace_cache.load(inputs, cache_dir, _parser_tag(module))
        if cached is not None:
            for trace in cached:
                for message in trace.meta.warnings:
                    warnings.warn(TraceWarning(message), stacklevel=3)
            return cached
    show = progress and os.path.getsize(path) >= PROGRESS_MIN_BYTES
    with _progress(path, show) as report, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceWarning)
        traces = _parse(module, path, report, options)
        for trace in traces:  # whatever the format: no out-of-range time goes further
            checks.validate(trace, trace.meta.path or path)
        _check_ranks(path, traces)
    messages = [str(w.message) for w in caught if issubclass(w.category, TraceWarning)]
    for trace in traces:
        trace.meta.warnings = list(messages)
    for message in messages:
        warnings.warn(TraceWarning(message), stacklevel=3)
    if use_cache:
        trace_cache.store(inputs, traces, cache_dir, _parser_tag(module))
    return traces


def _check_ranks(path: str, traces) -> None:
    """Traces of one archive that claim the same rank: their per-rank summaries and a
    combined one would mix them up, so say so (once, naming the members)."""
    seen: dict = {}
    for trace in traces:
        if trace.meta.rank is not None:
            seen.setdefault(trace.meta.rank, []).append(os.path.basename(str(trace.meta.path)))
    for rank, members in seen.items():
        if len(members) > 1:
            warnings.warn(TraceWarning(
                f"{path}: {len(members)} traces claim rank {rank} ({', '.join(members[:4])}); "
                "their summaries are shown apart, but which GPU each profiled is unclear"), stacklevel=4)


def _bound_input(path: str, max_size) -> bool:
    """Bound what the parsers read; read a pipe, FIFO or /dev/stdin once, so that format
    detection and parsing share its bytes. Returns whether the input was read once."""
    from parsers import _io

    _io.set_limits(max_size)
    if _io.is_regular(path):
        return False
    _io.set_limits(max_size, {path: _io.read_once(path)})
    return True


def _detect(path: str):
    import parsers
    from parsers import _io

    module = parsers.detect(_io.read_head(path), path)
    if module is None:
        raise TraceError(path, "not a trace format tracekit reads "
                               f"({', '.join(parsers.descriptions())})")
    return module


def _check_options(module, path: str, options: dict) -> None:
    """Options the file's format does not take are the user's mistake, said before parsing
    (the parser declares what it takes; its own TypeErrors stay parser bugs)."""
    import parsers

    unknown = parsers.unknown_options(module, [k for k, v in options.items() if v is not None])
    if unknown:
        raise TraceError(path, f"option {', '.join('--' + k for k in unknown)} does not "
                               f"apply to this file ({module.NAME})")


def _parser_tag(module) -> str:
    import parsers

    return parsers.cache_tag(module)


def companion_files(module, path: str, options: dict) -> list[str]:
    """The files besides ``path`` that ``module`` would read with ``options`` (sorted)."""
    find = getattr(module, "companions", None)
    if find is None:
        return []
    try:
        found = find(path, **options)
    except (OSError, TypeError, ValueError):
        return []
    files = found.values() if isinstance(found, dict) else found
    return sorted({os.fspath(f) for f in files if f})


def _parse(module, path: str, report, options: dict):
    try:
        return module.parse(path, progress=report, **options)
    except MemoryError:  # pyarrow's ArrowMemoryError is one too
        raise TraceError(path, "not enough memory to load this trace") from None
    except TraceError:
        raise
    except Exception as exc:  # a parser bug on odd input must still name the file
        raise _parser_bug(path, exc) from exc


def _parser_bug(path: str, exc: Exception) -> Exception:
    if os.environ.get("TRACEKIT_DEBUG"):
        return exc
    return TraceError(path, f"could not be parsed ({type(exc).__name__}: {exc}); "
                            "set TRACEKIT_DEBUG=1 for a traceback")


@contextmanager
def _progress(path: str, show: bool):
    """A rich progress bar on stderr for large files: decode by chunks, then attribution."""
    if not show or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from tracekit.report.fmt import size as fmt_size

    size = fmt_size(os.path.getsize(path))  # the one byte format of every view
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Loading {Path(path).name} ({size})", total=None)

        def report(stage: str, done: int, total: int) -> None:
            if stage == "decode":
                bar.update(task, total=total, completed=done,
                           description=f"Decoding {Path(path).name} ({size})")
            else:
                bar.update(task, description=f"Attributing and classifying {Path(path).name}")

        yield report
