"""Module-level annotation: every ``nn.Module.forward`` runs inside an NVTX range and a
``torch.profiler.record_function`` so that Kineto traces and Nsight exports carry one
range per module call.

Range names are the module's class name, with ``_<index>`` appended for the entries of a
ModuleList/Sequential (``GPT2Block_3``): tracekit's taxonomy strips that suffix
(``module_class``) and classifies the class name (``LayerNorm`` -> Normalization,
``NewGELUActivation`` -> Activation), while the dotted path of nested ranges
(``GPT2LMHeadModel.GPT2Model.GPT2Block_3.GPT2MLP``) tells which block an op ran in.
"""
from __future__ import annotations

import contextlib
import functools

try:  # a no-op without Nsight attached; optional
    import nvtx as _nvtx
except Exception:  # pragma: no cover - nvtx missing
    _nvtx = None

NVTX_DOMAIN = "tracekit"
STEP_PREFIX = "step#"


def module_labels(model) -> dict:
    """{module: label} for every submodule (the root included)."""
    labels = {}
    for path, mod in model.named_modules():
        name = type(mod).__name__
        last = path.rsplit(".", 1)[-1] if path else ""
        labels[mod] = f"{name}_{last}" if last.isdigit() else name
    return labels


def _wrap(mod, label, record_function):
    orig = mod.forward
    domain = _nvtx.get_domain(NVTX_DOMAIN) if _nvtx is not None else None

    @functools.wraps(orig)
    def forward(*args, **kwargs):
        rng = domain.start_range(message=label) if domain is not None else None
        try:
            with record_function(label):
                return orig(*args, **kwargs)
        finally:
            if rng is not None:
                domain.end_range(rng)

    forward.__tracekit_annotated__ = True
    mod.forward = forward


@contextlib.contextmanager
def annotate(model):
    """Wrap every submodule's forward for the duration of the block; restored afterwards."""
    from torch.profiler import record_function

    wrapped = []
    for mod, label in module_labels(model).items():
        if "forward" in mod.__dict__:  # already patched (shared module) or instance forward
            continue
        _wrap(mod, label, record_function)
        wrapped.append(mod)
    try:
        yield model
    finally:
        for mod in wrapped:
            mod.__dict__.pop("forward", None)


@contextlib.contextmanager
def nvtx_step(n: int):
    """An NVTX range marking one step (torch.profiler marks ProfilerStep#N itself)."""
    if _nvtx is None:
        yield
        return
    domain = _nvtx.get_domain(NVTX_DOMAIN)
    rng = domain.start_range(message=f"{STEP_PREFIX}{n}")
    try:
        yield
    finally:
        domain.end_range(rng)
