"""Shared helpers for collectors: errors, metadata, writing JSON."""
from __future__ import annotations

import gzip
import json
import os
import platform
import sys

from tracekit.model import TracekitError


class CollectError(TracekitError):
    """A user error while collecting (unknown model, bad callable, missing file, missing
    tool): ``subject`` (a path, a model, an option) and ``problem``, in the order a
    TraceError takes them; ``str()`` is the one line the CLI prints."""

    def __init__(self, subject: object, problem: str) -> None:
        self.subject = str(subject)
        self.problem = problem
        super().__init__(f"{self.subject}: {problem}")


def versions(*names: str) -> dict:
    """Installed versions of the named packages (only those importable), plus Python."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in names:
        mod = sys.modules.get(name)
        version = getattr(mod, "__version__", None) if mod is not None else None
        if version is None:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        out[name] = str(version)
    return out


def write_json(path: str, obj) -> str:
    """Write ``obj`` as JSON to ``path`` (gzip-compressed when it ends with .gz)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = json.dumps(obj, default=str).encode()
    if path.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return path


def read_json(path: str):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return json.loads(f.read())


def require(module: str, why: str, extra: str = "collect"):
    """Import ``module`` or raise a CollectError naming what to install."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise CollectError("collect", f"{why} needs the Python package '{module}' "
                           f"(pip install 'tracekit[{extra}]'): {exc}") from None


NOISE = ("USDT:",)  # lines profilers' native code prints on every run, which say nothing to a user


class quiet_stderr:
    """Drop the lines that start with one of ``prefixes`` from what this process and its
    children write to stderr (file descriptor 2: native libraries and nsys write there,
    not through sys.stderr); every other line goes through unchanged."""

    def __init__(self, prefixes=NOISE) -> None:
        self.prefixes = tuple(p.encode() for p in prefixes)

    def __enter__(self):
        import threading

        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
        except (OSError, ValueError):
            self.saved = None  # no real stderr (an embedding host): nothing to filter
            return self
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self.reader = threading.Thread(target=self._forward, args=(read,), daemon=True)
        self.reader.start()
        return self

    def _forward(self, read: int) -> None:
        with os.fdopen(read, "rb") as pipe:
            for line in pipe:
                if not line.lstrip().startswith(self.prefixes):
                    os.write(self.saved, line)

    def __exit__(self, *exc) -> bool:
        if self.saved is None:
            return False
        sys.stderr.flush()
        os.dup2(self.saved, 2)  # closes the pipe's last write end: the reader sees EOF
        self.reader.join(timeout=5)
        os.close(self.saved)
        return False
