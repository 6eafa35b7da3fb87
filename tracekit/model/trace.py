"""The normalized trace: four tables plus metadata."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tracekit.model.tables import SCHEMAS, empty


@dataclass
class Trace:
    """Columnar event model shared by every input format (docs/design.md).

    ``ops``, ``kernels``, ``launches`` and ``ranges`` are pandas DataFrames whose
    columns are fixed by :mod:`tracekit.model.tables`; ``meta`` holds what the file
    says about itself (source format, devices, rank, time unit, warnings).
    """

    ops: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["ops"]))
    kernels: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["kernels"]))
    launches: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["launches"]))
    ranges: pd.DataFrame = field(default_factory=lambda: empty(SCHEMAS["ranges"]))
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.meta.get("source", "unknown")

    @property
    def path(self) -> str:
        return self.meta.get("path", "")

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
