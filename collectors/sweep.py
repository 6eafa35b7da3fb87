"""A sweep: run the collectors over models x batch sizes (x sequence lengths for text
models) x runtimes into one folder, with an index of what each trace is.

The index (``index.json`` in the folder) lists every trace written, with the model,
runtime, batch, seq, device, dtype and file (relative to the folder), and the cells that
were skipped (the machine cannot run them) or failed, each with its reason. It is
rewritten after every cell, so an interrupted sweep keeps what it finished, and a rerun
skips the cells whose trace is in the index and still on disk. ``tracekit report`` reads
the index to label the traces.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from typing import Callable

from collectors.run import CollectError

INDEX = "index.json"
INDEX_VERSION = 1
RUNTIMES = ("torch", "torch-compile", "onnxruntime", "tensorrt")


@dataclass(frozen=True)
class Cell:
    """One point of the sweep; ``seq`` is None for models that take images."""

    model: str
    runtime: str
    batch: int
    seq: int | None
    device: str
    dtype: str

    @property
    def key(self) -> tuple:
        return (self.model, self.runtime, self.batch, self.seq, self.device, self.dtype)

    @property
    def file(self) -> str:
        """The trace's path relative to the sweep folder."""
        model = self.model.replace(":", "_").replace("/", "_")  # module:callable models
        name = f"{model}-{self.runtime}-b{self.batch}" + (f"-s{self.seq}" if self.seq else "")
        name += f"-{self.device.replace(':', '')}-{self.dtype}"
        if self.runtime == "tensorrt":  # trtexec-format files: profile, layer info, times
            return f"{name}/{model}.profile.json"
        return name + ".json"


@dataclass
class Options:
    """What every cell is collected with besides its own coordinates."""

    size: str | None = "tiny"
    image_size: int | None = None
    steps: int = 5
    warmup: int = 2


def plan(models, batches, seqs, runtimes, device="cpu", dtype="float32") -> list[Cell]:
    """The cells of the sweep, in the order they run: model, batch, seq, runtime."""
    from collectors.models import ALIASES, REGISTRY

    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise CollectError("--runtimes", f"unknown runtime {unknown[0]!r}; known: {', '.join(RUNTIMES)}")
    cells = []
    for model in models:
        spec = REGISTRY.get(ALIASES.get(model.lower(), model.lower()))
        if spec is None and ":" not in model:
            raise CollectError("--models", f"unknown model {model!r}; known: {', '.join(REGISTRY)}")
        name = spec.name if spec else model
        text = spec is not None and spec.task == "text"
        for batch in batches:
            for seq in (seqs if text else [None]):
                cells.extend(Cell(name, runtime, batch, seq, device, dtype) for runtime in runtimes)
    return cells


def skip_reason(cell: Cell) -> str | None:
    """Why this machine cannot run ``cell`` (None: it can)."""
    if cell.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return f"CUDA is not available here (torch {torch.__version__})"
    elif cell.device != "cpu":
        return f"unknown device {cell.device!r} (cpu or cuda[:N])"
    if cell.runtime == "tensorrt":
        from collectors import tensorrt

        if not cell.device.startswith("cuda"):
            return "TensorRT runs on an NVIDIA GPU only (--device cuda)"
        if tensorrt.available() is None:
            return tensorrt.unavailable_reason()
    if cell.runtime in ("onnxruntime", "tensorrt") and cell.dtype != "float32":
        return f"the ONNX export is float32; {cell.dtype} runs under torch only"
    if cell.runtime == "onnxruntime":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed (pip install 'tracekit[collect]')"
    if cell.runtime == "torch-compile" and cell.device == "cpu" and not _compiler():
        return "torch.compile on CPU needs a C++ compiler (g++ or clang++), none on PATH"
    return None


def _compiler() -> str | None:
    return next((c for c in ("g++", "c++", "clang++") if shutil.which(c)), None)


def collect_cell(cell: Cell, folder: str, options: Options) -> None:
    """Collect one cell's trace into ``folder``; raises on failure."""
    out = os.path.join(folder, cell.file)
    seq = cell.seq or 128
    common = dict(size=options.size, batch=cell.batch, seq=seq, image_size=options.image_size,
                  steps=options.steps, warmup=options.warmup)
    if cell.runtime in ("torch", "torch-compile"):
        from collectors.torch import collect

        collect(cell.model, out, device=cell.device, dtype=cell.dtype,
                compile=cell.runtime == "torch-compile", **common)
    elif cell.runtime == "onnxruntime":
        from collectors.onnxruntime import collect

        collect(cell.model, out, device=cell.device, **common)
    else:
        from collectors.tensorrt import collect

        collect(cell.model, os.path.dirname(out), **common)


# ----------------------------------------------------------------- the index

def read_index(folder: str) -> dict:
    """The sweep index in ``folder`` ({"traces": [], ...} when there is none yet)."""
    path = os.path.join(folder, INDEX)
    if not os.path.exists(path):
        return {"version": INDEX_VERSION, "traces": [], "skipped": [], "failed": []}
    try:
        with open(path) as f:
            index = json.load(f)
        if not isinstance(index, dict) or not isinstance(index.get("traces"), list):
            raise ValueError("no 'traces' list")
    except (OSError, ValueError) as exc:
        raise CollectError(path, f"not a sweep index ({exc})") from None
    index.setdefault("skipped", [])
    index.setdefault("failed", [])
    return index


def write_index(folder: str, index: dict) -> None:
    path = os.path.join(folder, INDEX)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(index, f, indent=1)
    os.replace(tmp, path)  # a sweep interrupted while writing keeps the previous index


def _entry(cell: Cell, **extra) -> dict:
    return {**asdict(cell), "file": cell.file, **extra}


def _same(entry: dict, cell: Cell) -> bool:
    return tuple(entry.get(k) for k in ("model", "runtime", "batch", "seq", "device", "dtype")) == cell.key


# ----------------------------------------------------------------- the sweep

@dataclass
class Outcome:
    """What happened to one cell: ``status`` is done, reused, skipped or failed."""

    cell: Cell
    status: str
    reason: str = ""
    seconds: float = 0.0


def sweep(cells: list[Cell], folder: str, options: Options,
          on_cell: Callable[[Outcome], None] | None = None,
          on_start: Callable[[Cell], None] | None = None) -> list[Outcome]:
    """Run every cell into ``folder`` and keep the index current. A cell that fails is
    recorded with its error and the sweep goes on; a cell already in the index whose
    trace exists is reused."""
    import time

    os.makedirs(folder, exist_ok=True)
    index = read_index(folder)
    outcomes = []
    for cell in cells:
        if on_start:
            on_start(cell)
        done = [e for e in index["traces"] if _same(e, cell)
                and os.path.exists(os.path.join(folder, e["file"]))]
        reason = None if done else skip_reason(cell)
        start = time.perf_counter()
        if done:
            outcome = Outcome(cell, "reused")
        elif reason:
            outcome = Outcome(cell, "skipped", reason)
        else:
            try:
                collect_cell(cell, folder, options)
                outcome = Outcome(cell, "done")
            except Exception as exc:  # one cell's failure must not end the sweep
                outcome = Outcome(cell, "failed", _one_line(exc))
        outcome.seconds = time.perf_counter() - start
        _record(index, outcome)
        write_index(folder, index)
        outcomes.append(outcome)
        if on_cell:
            on_cell(outcome)
    return outcomes


def _record(index: dict, outcome: Outcome) -> None:
    cell = outcome.cell
    if outcome.status == "reused":  # its entry (and the time it took) stays as it was
        return
    for kind in ("traces", "skipped", "failed"):
        index[kind] = [e for e in index[kind] if not _same(e, cell)]
    if outcome.status == "done":
        index["traces"].append(_entry(cell, seconds=round(outcome.seconds, 3)))
    else:
        index[outcome.status].append({**asdict(cell), "reason": outcome.reason})


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, CollectError) else f"{type(exc).__name__}: {text}"[:500]
