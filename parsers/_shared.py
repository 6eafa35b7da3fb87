"""Small pieces every format needs the same way: copy directions spelled in the model's
words, and which step encloses a time."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tracekit.model.intervals import label_at
from tracekit.model.vocab import COPY_KINDS

_LETTER = {"H": "H", "HOST": "H", "D": "D", "DEVICE": "D", "P": "P", "PEER": "P",
           "A": "A", "ARRAY": "A"}
# "HtoD", "HTOD", "H2D", "HOST_TO_DEVICE", "HostToDevice", "UVM_HTOD" (CUPTI's managed-
# memory copies move the same way), "DeviceArrayToHost" (a CUDA array is "A")
_DIRECTION = re.compile(
    r"^(?:UVM_)?(?:(H|D|P|A)|(HOST|DEVICE|PEER)(ARRAY)?)_?(?:TO|2)_?(?:(H|D|P|A)|(HOST|DEVICE|PEER)(ARRAY)?)$")
_KNOWN = frozenset(COPY_KINDS)


def copy_kind(text: str) -> str:
    """A copy direction in the model's spelling ("HtoD", ... see
    :data:`tracekit.model.vocab.COPY_KINDS`), or "" when ``text`` names none."""
    m = _DIRECTION.match(str(text).strip().upper().replace("-", "_"))
    if not m:
        return ""
    src = "A" if m.group(3) else _LETTER[m.group(1) or m.group(2)]
    dst = "A" if m.group(6) else _LETTER[m.group(4) or m.group(5)]
    kind = f"{src}to{dst}"
    return kind if kind in _KNOWN else ""


def copy_column(values) -> pd.Categorical:
    """Copy directions (already in the model's spelling, "" for non-copies) as the
    ``kernels.copy`` column."""
    if not isinstance(values, pd.Categorical):
        values = np.asarray(values, dtype=object)
    return pd.Categorical(values, categories=["", *COPY_KINDS])


def sorted_steps(starts: np.ndarray, ends: np.ndarray, numbers: np.ndarray):
    """(starts, ends, numbers) of step windows ordered by start, for :func:`step_at`."""
    order = np.argsort(starts, kind="stable")
    return starts[order], ends[order], numbers[order]


def step_at(steps, t: np.ndarray, inclusive_end: bool = False) -> np.ndarray:
    """Number of the step (from :func:`sorted_steps`) enclosing each time ``t``; -1
    outside every step. ``inclusive_end``: a time at a step's end is still in it (ONNX
    Runtime writes a run's last records at its end)."""
    return label_at(*steps, t, inclusive_end=inclusive_end)
