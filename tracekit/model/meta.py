"""What a trace says about itself: the fields every format has, typed, and what only one
format knows in ``extras`` (Kineto's base time, Nsight's schema, TensorRT's layer table).

Parsers fill the core fields; :func:`tracekit.load` adds the warnings, the taxonomy and
what ``--capture`` and ``--onnx`` found. Readers use the attributes; the dict-style reads
(``meta["path"]``, ``meta.get("timing")``, ``"rank" in meta``) look in the fields first and
then in ``extras``, so code written against the old dict keeps working while it moves over.
"""
from __future__ import annotations

from typing import Any

import msgspec


class TraceMeta(msgspec.Struct, kw_only=True):
    """Core metadata of one trace (:data:`tracekit.model.vocab.CORE_META` are the fields
    every parser must set) plus the format's own keys in ``extras``."""

    source: str = ""  # who wrote the trace: a vocab.SOURCES key
    format: str = ""  # the input format, in words
    path: str = ""  # the file read ("archive.tar.gz:member" for an archive's member)
    steps: list[int] = []  # step numbers found, sorted; empty when the format has none
    time_basis: str | None = None  # what op times are (vocab.TIME_BASES); None: decided by the tables
    devices: list[dict[str, Any]] = []  # GPUs the file names: {"id", "name", ...}
    rank: int | None = None  # distributed rank, where the file says
    truncated: bool = False  # the file ended early; what was read is kept
    warnings: list[str] = []  # one line per kind of thing set aside or not understood
    # set by tracekit.load after parsing
    taxonomy: list[str] = []  # the taxonomy files that classified the trace
    group_order: list[str] = []  # the taxonomy's groups, in its order
    capture: dict[str, Any] | None = None  # graph replays mapped to a capture trace (--capture)
    onnx_regions: list[dict[str, Any]] | None = None  # compiled regions grouped by --onnx
    extras: dict[str, Any] = {}

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> TraceMeta:
        """Core keys into fields, every other key into ``extras``."""
        fields = set(cls.__struct_fields__) - {"extras"}
        core = {k: v for k, v in meta.items() if k in fields and v is not None}
        extras = {k: v for k, v in meta.items() if k not in fields}
        return cls(**core, extras=extras)

    def to_dict(self) -> dict[str, Any]:
        """One flat dict: the fields that are set, then the extras."""
        out = {k: getattr(self, k) for k in self.__struct_fields__
               if k != "extras" and getattr(self, k) is not None}
        out.update(self.extras)
        return out

    # dict-style reads while callers move to attributes
    def __getitem__(self, key: str) -> Any:
        if key in self.__struct_fields__ and key != "extras":
            value = getattr(self, key)
            if value is None:
                raise KeyError(key)
            return value
        return self.extras[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self.__struct_fields__ and key != "extras":
            setattr(self, key, value)
        else:
            self.extras[key] = value

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key in self.__struct_fields__ and key != "extras":
            return getattr(self, key) is not None
        return key in self.extras

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


def jsonable(obj: Any) -> Any:
    """``enc_hook`` for msgspec: a value JSON has no type for (numpy scalars and arrays in a
    format's extras or a result) as Python numbers and lists, anything else as its text."""
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        try:
            return tolist()
        except (TypeError, ValueError):
            pass
    return str(obj)
