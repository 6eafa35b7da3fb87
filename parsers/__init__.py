"""One module per input format, each turning a file into tracekit.model.Trace objects.

Parsers import ``tracekit.model`` only. Every format module fulfils :class:`Parser` and is
named once in :data:`REGISTRY`; ``detect`` picks the parser for a file from its first
bytes, so a wrongly named file still reads, and a file no parser knows gets a clear error
rather than a guess. Adding a format: one module, one line in REGISTRY, a sample, its tests
(tests/test_parser_contract.py then checks it like the others).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

# Module names under parsers/, tried in this order by ``detect``.
REGISTRY = (
    "nsys",
    "tensorrt",
    "onnxruntime",
    "kineto",  # last: takes any JSON
)


@runtime_checkable
class Parser(Protocol):
    """What a format module provides (module-level names)."""

    NAME: str                 # short name, also in error messages ("tensorrt")
    DESCRIPTION: str          # what files it reads, for "not a trace format" errors
    OPTIONS: tuple[str, ...]  # keyword options ``parse`` accepts besides ``progress``
    VERSION: int              # bump when what it produces changes: cached traces go stale

    def sniff(self, head: bytes, path: str | None = None) -> bool:
        """Whether the file whose (decompressed) first bytes are ``head`` is this format."""

    def parse(self, path: str, progress: Callable | None = None, **options) -> list:
        """One trace per trace in the file (``tracekit.model.Trace``)."""


# Optional: ``companions(path, **options)`` -> the other files ``parse`` would read
# (a list, or a dict of role -> path or None); they join the cache key.


def get(name: str) -> Parser:
    if name not in REGISTRY:
        raise KeyError(f"no parser named {name!r} (known: {', '.join(REGISTRY)})")
    return importlib.import_module(f"parsers.{name}")  # type: ignore[return-value]


def all_parsers() -> list[Parser]:
    return [get(name) for name in REGISTRY]


def descriptions() -> list[str]:
    return [p.DESCRIPTION for p in all_parsers()]


def detect(head: bytes, path: str | None = None) -> Parser | None:
    """Parser for a file whose (decompressed) first bytes are ``head``, or None."""
    for parser in all_parsers():
        if parser.sniff(head, path):
            return parser
    return None


def unknown_options(parser: Parser, options: Iterable[str]) -> list[str]:
    """The options (given ones only) that ``parser`` does not take."""
    return [o for o in options if o not in parser.OPTIONS]


def cache_tag(parser: Parser) -> str:
    """What of the parser goes into the cache key: a new version reparses."""
    return f"{parser.NAME}:{parser.VERSION}"
