"""The normalized trace: four tables plus metadata."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

from tracekit.model.meta import TraceMeta
from tracekit.model.tables import SCHEMAS, empty


@dataclass
class Trace:
    """Columnar event model shared by every input format (docs/design.md).

    ``ops``, ``kernels``, ``launches`` and ``ranges`` are pandas DataFrames whose
    columns are fixed by :mod:`tracekit.model.tables`; ``meta`` (a
    :class:`~tracekit.model.meta.TraceMeta`) holds what the file says about itself
    (source, format, steps, devices, rank, warnings; the format's own keys in ``extras``).
    """

    ops: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["ops"]))
    kernels: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["kernels"]))
    launches: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["launches"]))
    ranges: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["ranges"]))
    meta: TraceMeta = field(default_factory=TraceMeta)

    def __post_init__(self) -> None:
        if isinstance(self.meta, dict):  # hand-built traces (tests) may pass a dict
            self.meta = TraceMeta.from_dict(cast(dict[str, Any], self.meta))

    @property
    def source(self) -> str:
        return self.meta.source or "unknown"

    @property
    def path(self) -> str:
        return self.meta.path

    @property
    def has_device_activity(self) -> bool:
        return len(self.kernels) > 0

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"ops": self.ops, "kernels": self.kernels,
                "launches": self.launches, "ranges": self.ranges}

    def __repr__(self) -> str:
        return (f"<Trace {self.source} {self.path!r}: {len(self.ops)} ops, "
                f"{len(self.kernels)} kernels, {len(self.launches)} launches, "
                f"{len(self.ranges)} ranges>")
