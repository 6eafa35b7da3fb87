"""The normalized tables as files for pandas, DuckDB or spreadsheets: Parquet and CSV.

Parquet keeps every dtype (categoricals included), so ``pandas.read_parquet`` gives back
the table exactly. CSV is text: categorical columns become strings, missing values are
written as in the model (-1, empty string), and fields with commas, quotes or line
breaks are quoted.
"""
from __future__ import annotations

import pandas as pd

FORMATS = ("parquet", "csv")


def default_table(trace) -> str:
    """``kernels`` (device time is what the breakdowns count), or ``ops`` for traces
    without GPU activity."""
    return "kernels" if len(trace.kernels) else "ops"


def frame_of(selection, table: str) -> pd.DataFrame:
    return selection.tables()[table].reset_index(drop=True)


def write(frame: pd.DataFrame, fileobj, fmt: str) -> None:
    if fmt == "parquet":
        frame.to_parquet(fileobj, index=False, engine="pyarrow")
    elif fmt == "csv":
        frame.to_csv(fileobj, index=False, lineterminator="\n")
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(fmt)
