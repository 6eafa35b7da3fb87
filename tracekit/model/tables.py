"""Column schemas of the four event tables (see docs/design.md, "The event model").

Every parser builds its tables through :func:`make_table`, so that column names,
dtypes and order are the same whatever wrote the trace. Times are int64
nanoseconds on one clock; names are pandas categoricals (interned once).
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from tracekit.model.vocab import FIXED, OMITTED, TABLES

# Column -> dtype kind. "cat" columns hold interned strings.
OPS = {
    "id": "int64", "name": "cat", "group": "cat", "is_gemm": "bool",
    "ts_ns": "int64", "dur_ns": "int64", "self_ns": "int64",
    "pid": "int64", "tid": "int64", "parent": "int64", "depth": "int32",
    "module": "cat", "module_group": "cat", "range": "int64",
    "shapes": "cat", "dtypes": "cat", "provider": "cat", "source": "cat",
    "external_id": "int64", "step": "int32",
    # what the op is, where its name is an instance name (ONNX node / TensorRT layer):
    # "MatMul", "LayerNormalization", TRT LayerType "Convolution"; "" when name says it
    "op_type": "cat",
    # source nodes fused into this op (TensorRT layers), joined by FUSED_SEP
    "fused": "cat",
    "precision": "cat",  # TensorRT layer precision, ORT output type ("FP16", "float")
}
FUSED_SEP = "\x1f"
KERNELS = {
    "id": "int64", "kind": "cat", "name": "cat", "ts_ns": "int64", "dur_ns": "int64",
    "device": "int64", "stream": "int64", "correlation": "int64", "launch": "int64",
    "op": "int64", "link": "cat", "group": "cat", "is_gemm": "bool",
    "bytes": "int64", "copy": "cat", "grid": "cat", "block": "cat", "step": "int32",
}
LAUNCHES = {
    "id": "int64", "name": "cat", "ts_ns": "int64", "dur_ns": "int64",
    "pid": "int64", "tid": "int64", "correlation": "int64", "external_id": "int64",
    "op": "int64", "step": "int32",
}
RANGES = {
    "id": "int64", "name": "cat", "kind": "cat", "ts_ns": "int64", "dur_ns": "int64",
    "pid": "int64", "tid": "int64", "stream": "int64", "depth": "int32",
    "parent": "int64", "path": "cat", "step": "int32",
}
SCHEMAS = dict(zip(TABLES, (OPS, KERNELS, LAUNCHES, RANGES)))

# Defaults used when a parser does not know a column.
_MISSING = {"int64": -1, "int32": -1, "bool": False, "cat": ""}


def make_table(schema: dict[str, str], n: int, **columns: npt.ArrayLike | pd.Categorical) -> pd.DataFrame:
    """Build a table of ``n`` rows from numpy arrays / sequences, filling the rest.

    Unknown column names are a programming error and raise ``KeyError``; so is a value
    outside the vocabulary of a fixed column (:data:`tracekit.model.vocab.FIXED`), which
    raises ``ValueError`` naming the column and the value.
    """
    for key in columns:
        if key not in schema:
            raise KeyError(f"unknown column {key!r}")
    name = _name(schema)
    fixed = FIXED.get(name, {})
    data = {}
    for col, kind in schema.items():
        value = columns.get(col)
        if value is None:
            if (name, col) in OMITTED:
                value = constant(OMITTED[name, col], n)
            elif col == "id":
                value = np.arange(n, dtype=np.int64)
            elif kind == "cat":
                value = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[""])
            else:
                value = np.full(n, _MISSING[kind], dtype=kind)
        data[col] = as_column(value, kind)
        if col in fixed:
            data[col] = _in_vocabulary(data[col], fixed[col], col, n)
    return pd.DataFrame(data, copy=False)


def _name(schema: dict[str, str]) -> str:
    """The table ``schema`` is the schema of, or "" for any other (a test's own schema)."""
    for name, known in SCHEMAS.items():
        if schema is known:
            return name
    return ""


def _in_vocabulary(value: pd.Categorical, allowed: tuple, col: str, n: int) -> pd.Categorical:
    """The column with the vocabulary as its categories (the same in every trace, so
    tables concatenate and compare without recoding)."""
    if not n:
        return pd.Categorical.from_codes(np.zeros(0, np.int8), categories=pd.Index(allowed, dtype=object))
    used = value.categories[np.unique(value.codes[value.codes >= 0])] if len(value) else []
    bad = [v for v in used if v not in allowed] + (["<missing>"] if (value.codes < 0).any() else [])
    if bad:
        raise ValueError(f"column {col!r}: value {str(bad[0])[:80]!r} is not one of "
                         f"{', '.join(repr(a) for a in allowed)}")
    return value.set_categories(pd.Index(allowed, dtype=object))


def as_column(value: npt.ArrayLike | pd.Categorical, kind: str) -> np.ndarray | pd.Categorical:
    if kind == "cat":
        if isinstance(value, pd.Categorical):
            return value
        if isinstance(value, pd.Series) and isinstance(value.dtype, pd.CategoricalDtype):
            return value.array
        return pd.Categorical(np.asarray(value, dtype=object))
    return np.asarray(value, dtype=kind)


def categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """Categorical from integer codes into a list of (possibly duplicate-free) labels."""
    return pd.Categorical.from_codes(np.asarray(codes), categories=pd.Index(categories, dtype=object))


def constant(value: str, n: int) -> pd.Categorical:
    """A categorical column holding one value ``n`` times."""
    return pd.Categorical.from_codes(np.zeros(n, np.int8), categories=pd.Index([value], dtype=object))


def categorical_of(codes: np.ndarray, labels: list) -> pd.Categorical:
    """``labels[codes]`` as a categorical with only the labels used (repeated labels are
    merged), so a table's categories are its own, not a whole file's interned strings."""
    codes = np.asarray(codes, np.int64)
    used, inverse = np.unique(codes, return_inverse=True)
    values = [labels[i] for i in used]
    if len(set(values)) == len(values):
        return categorical(inverse.astype(np.int32), values)
    uniq, first = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)
    return categorical(first[inverse].astype(np.int32), [str(u) for u in uniq])


def empty(schema: dict[str, str]) -> pd.DataFrame:
    return make_table(schema, 0)
