"""Loading a trace for the UI, run in a worker thread: tracekit.load (cache first), then
the numbers of the first screen, so the UI thread only draws."""
from __future__ import annotations

import warnings

from tracekit.safe_text import clean


def load(path: str, *, cache: bool = True, cache_dir=None, taxonomy=None, scope=None, stage=None,
         **options):
    """(trace, overview). ``stage(text)`` is called between steps (from the worker);
    ``options`` (layers, capture, max_size, onnx) go to ``tracekit.load``."""
    import tracekit
    from tui import queries as q

    stage = stage or (lambda text: None)
    stage("reading the trace (normalized traces come from the cache)…")
    with warnings.catch_warnings():
        # TraceWarnings are kept in trace.meta.warnings and shown on the overview;
        # printed here they would tear the screen.
        warnings.simplefilter("ignore")
        trace = tracekit.load(path, taxonomy=taxonomy, cache=cache, cache_dir=cache_dir, **options)
    stage("computing the overview…")
    scope = scope or q.Scope()
    saved = overview_file(trace, scope, taxonomy, cache_dir) if cache else None
    overview = read_overview(saved) if saved is not None else None
    if overview is None:
        overview = q.overview(trace, scope)
        if saved is not None:
            write_overview(saved, overview)
    shown = preview_file(path, scope, taxonomy, cache_dir, options) if cache else None
    if shown is not None:
        write_overview(shown, overview)
    return trace, overview


def preview(path: str, *, cache: bool = True, cache_dir=None, taxonomy=None, scope=None, **options):
    """The overview the last session showed for this file, scope and options, to draw
    while the trace loads; None without one. It is named by the file (size, mtime, ends)
    rather than the loaded trace, so it is a preview: the loaded trace's overview
    replaces it a moment later."""
    if not cache:
        return None
    from tui import queries as q

    saved = preview_file(path, scope or q.Scope(), taxonomy, cache_dir, options)
    return read_overview(saved) if saved is not None else None


def preview_file(path, scope, taxonomy, cache_dir, options):
    import hashlib
    import pathlib

    from tracekit import cache

    try:
        h = hashlib.blake2b(cache.key(path, "tui-preview").encode(), digest_size=16)
    except OSError:  # a pipe, a missing file: no preview
        return None
    given = sorted((k, str(v)) for k, v in options.items() if v is not None)
    h.update(f"{OVERVIEW_VERSION}:{path}:{scope!r}:{given!r}".encode())
    if not _code_and_taxonomy(h, taxonomy):
        return None
    return pathlib.Path(cache_dir or cache.default_dir()) / "overviews" / f"preview-{h.hexdigest()}.pkl"


def _code_and_taxonomy(h, taxonomy) -> bool:
    """Hash in the taxonomy and the mtimes of the code behind the overview; False if
    one of them cannot be read."""
    import os
    import pathlib

    from tracekit.taxonomy import Taxonomy

    try:
        if isinstance(taxonomy, Taxonomy):
            h.update(repr(taxonomy.sources).encode())
        elif taxonomy:
            h.update(pathlib.Path(taxonomy).read_bytes())
        here = pathlib.Path(__file__).resolve().parent
        code = [here / "queries.py", *sorted((here.parent / "tracekit" / "analysis").glob("*.py"))]
        for f in code:
            h.update(f"{f.name}:{os.stat(f).st_mtime_ns}".encode())
    except OSError:
        return False
    return True


# The first screen's numbers are kept beside the cached tables: reopening a large trace then
# skips summarizing it (0.3-0.8 s of a 190 MB trace's first screen). The file name hashes
# what the numbers depend on: the trace as loaded (row counts, times and groups), its path,
# the scope, the taxonomy and the code that computes them.
OVERVIEW_VERSION = 1


def overview_file(trace, scope, taxonomy, cache_dir):
    """Where the overview of ``trace`` in ``scope`` is kept; None if that cannot be said."""
    import hashlib
    import pathlib

    import numpy as np

    from tracekit import cache

    h = hashlib.blake2b(digest_size=16)
    h.update(f"{OVERVIEW_VERSION}:{cache.FORMAT_VERSION}:{trace.meta.path}:{scope!r}".encode())
    h.update(repr((trace.meta.steps, trace.meta.warnings)).encode())
    for name, table in trace.tables().items():
        h.update(f"{name}:{len(table)}".encode())
        for col in ("ts_ns", "dur_ns", "group"):
            if col in table:
                values = table[col].cat.codes if col == "group" else table[col]
                h.update(np.asarray(values.to_numpy(), np.int64).sum(dtype=np.uint64).tobytes())
        if "group" in table:
            h.update("|".join(map(str, table["group"].cat.categories)).encode())
    if not _code_and_taxonomy(h, taxonomy):
        return None
    return pathlib.Path(cache_dir or cache.default_dir()) / "overviews" / f"{h.hexdigest()}.pkl"


def read_overview(path):
    """The overview kept at ``path``; None if absent, unreadable, or not this user's own
    file (a pickle runs code: only one nobody else could have written is read)."""
    import os
    import pickle

    from tui import queries as q

    try:
        st = os.stat(path)
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        with open(path, "rb") as f:
            overview = pickle.load(f)
    except Exception:  # a stale or damaged file is a miss, never an error
        return None
    return overview if isinstance(overview, q.Overview) else None


def write_overview(path, overview) -> None:
    """Write atomically; a cache that cannot be written is skipped silently."""
    import os
    import pickle
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(overview, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError):
        pass


def error_text(exc: BaseException) -> str:
    """One readable message for any failure: user errors as they are, bugs with their
    type (the traceback stays out of the UI; TRACEKIT_DEBUG=1 re-raises in the CLI)."""
    from tracekit.model import TracekitError

    if isinstance(exc, TracekitError):
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = "not enough memory to load this trace"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return clean(" ".join(text.split()), limit=500)
