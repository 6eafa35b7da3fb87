"""Model registry: the NonGEMM Bench study's models, built from their published
configurations with random weights (nothing is downloaded), plus synthetic inputs.

``build(name, size=..., batch=..., seq=..., image_size=...)`` returns a :class:`Built`
whose ``inputs`` is a dict of keyword tensors for ``model(**inputs)``. Custom models plug
in as ``module:callable`` returning ``(model, example_inputs)`` where example_inputs is a
tensor, a tuple of tensors or a dict of tensors.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from collectors.run import CollectError, require


@dataclass
class ModelSpec:
    name: str
    task: str  # "text" | "image" | "detection"
    sizes: dict  # size -> dict of config overrides ("tiny" always present)
    build: Callable  # (overrides) -> nn.Module
    default_size: str
    note: str = ""
    backend: str = "transformers"
    image_size: int = 224
    vocab: int = 0  # set from the config when built


@dataclass
class Built:
    model: object
    inputs: object  # dict of tensors, tuple of tensors
    meta: dict = field(default_factory=dict)

    def call(self):
        """Run the model once on its inputs."""
        if isinstance(self.inputs, dict):
            return self.model(**self.inputs)
        return self.model(*self.inputs)


def _tf(name):
    t = require("transformers", "this model")
    return getattr(t, name)


# ------------------------------------------------------------------ builders

def _gpt2(o):
    cfg = _tf("GPT2Config")(**o)
    cfg.use_cache = False
    return _tf("GPT2LMHeadModel")(cfg), cfg.vocab_size, None


def _bert(o):
    cfg = _tf("BertConfig")(**o)
    return _tf("BertModel")(cfg), cfg.vocab_size, None


def _llama(o):
    cfg = _tf("LlamaConfig")(**o)
    cfg.use_cache = False
    return _tf("LlamaForCausalLM")(cfg), cfg.vocab_size, None


def _vit(o):
    cfg = _tf("ViTConfig")(**o)
    return _tf("ViTModel")(cfg, add_pooling_layer=False), 0, cfg.image_size


def _swin(o):
    cfg = _tf("SwinConfig")(**o)
    return _tf("SwinModel")(cfg), 0, cfg.image_size


def _resnet(o):
    cfg = _tf("ResNetConfig")(**o)
    return _tf("ResNetModel")(cfg), 0, 224


def _mobilenet(o):
    cfg = _tf("MobileNetV2Config")(**o)
    return _tf("MobileNetV2Model")(cfg), 0, cfg.image_size


def _segformer(o):
    cfg = _tf("SegformerConfig")(**o)
    return _tf("SegformerForSemanticSegmentation")(cfg), 0, 512


def _detr(o):
    t = require("transformers", "DETR")
    backbone = t.ResNetConfig(**o.pop("backbone", {}), out_features=["stage4"])
    cfg = t.DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False,
                       backbone_config=backbone, backbone=None, **o)
    return t.DetrForObjectDetection(cfg), 0, 800


def _torchvision_detector(kind):
    def build(o):
        try:
            import torchvision.models.detection as det
        except ImportError:
            raise CollectError("model", f"{kind} needs torchvision, which is not installed "
                               "(it has no CPU build that installs here; use a machine with it)"
                               ) from None
        fn = {"faster-rcnn": det.fasterrcnn_resnet50_fpn, "mask-rcnn": det.maskrcnn_resnet50_fpn}[kind]
        return fn(weights=None, weights_backbone=None, **o), 0, 800
    return build


REGISTRY: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec("gpt2", "text", {
        "tiny": dict(n_layer=2, n_embd=64, n_head=2, vocab_size=1000, n_positions=1024,
                     bos_token_id=0, eos_token_id=0),
        "base": dict(), "medium": dict(n_layer=24, n_embd=1024, n_head=16),
        "large": dict(n_layer=36, n_embd=1280, n_head=20),
        "xl": dict(n_layer=48, n_embd=1600, n_head=25)}, _gpt2, "base"),
    ModelSpec("bert", "text", {
        "tiny": dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=2,
                     intermediate_size=256, vocab_size=1000),
        "base": dict(), "large": dict(num_hidden_layers=24, hidden_size=1024,
                                      num_attention_heads=16, intermediate_size=4096)},
        _bert, "base"),
    ModelSpec("llama2-7b", "text", {
        "tiny": dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=2,
                     num_key_value_heads=2, intermediate_size=172, vocab_size=1000),
        "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                   num_attention_heads=32, num_key_value_heads=32, vocab_size=32000,
                   max_position_embeddings=4096, rms_norm_eps=1e-5)},
        _llama, "7b", note="Llama-2-7B architecture (random weights)"),
    ModelSpec("vit", "image", {
        "tiny": dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=2,
                     intermediate_size=256, image_size=224, patch_size=16),
        "base": dict(), "large": dict(num_hidden_layers=24, hidden_size=1024,
                                      num_attention_heads=16, intermediate_size=4096),
        "huge": dict(num_hidden_layers=32, hidden_size=1280, num_attention_heads=16,
                     intermediate_size=5120, patch_size=14)}, _vit, "base"),
    ModelSpec("swin", "image", {
        "tiny": dict(embed_dim=32, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4]),
        "swin-tiny": dict(), "small": dict(depths=[2, 2, 18, 2]),
        "base": dict(embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32])},
        _swin, "swin-tiny", note="--size tiny is a 4-block toy; swin-tiny is Swin-T"),
    ModelSpec("resnet50", "image", {
        "tiny": dict(embedding_size=16, hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 1, 1]),
        "base": dict(embedding_size=64, hidden_sizes=[256, 512, 1024, 2048], depths=[3, 4, 6, 3],
                     layer_type="bottleneck")}, _resnet, "base"),
    ModelSpec("mobilenet-v2", "image", {
        "tiny": dict(depth_multiplier=0.35, image_size=224), "base": dict()},
        _mobilenet, "base", note="--size tiny uses depth_multiplier 0.35"),
    ModelSpec("segformer", "image", {
        "tiny": dict(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], decoder_hidden_size=64,
                     num_attention_heads=[1, 1, 2, 4]),
        "b0": dict()}, _segformer, "b0"),
    ModelSpec("detr", "detection", {
        "tiny": dict(encoder_layers=1, decoder_layers=1, d_model=64, encoder_attention_heads=2,
                     decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128,
                     num_queries=20, backbone=dict(embedding_size=16, hidden_sizes=[32, 64, 128, 256],
                                                   depths=[1, 1, 1, 1])),
        "base": dict(backbone=dict(layer_type="bottleneck", hidden_sizes=[256, 512, 1024, 2048],
                                   depths=[3, 4, 6, 3]))},
        _detr, "base", note="ResNet-50 backbone from transformers (no timm)"),
    ModelSpec("faster-rcnn", "detection", {"tiny": dict(min_size=320, max_size=320), "base": dict()},
              _torchvision_detector("faster-rcnn"), "base", backend="torchvision"),
    ModelSpec("mask-rcnn", "detection", {"tiny": dict(min_size=320, max_size=320), "base": dict()},
              _torchvision_detector("mask-rcnn"), "base", backend="torchvision"),
]}
SIZED_CONFIGS = ("vit", "swin", "mobilenet-v2")
ALIASES = {"resnet": "resnet50", "resnet-50": "resnet50", "llama": "llama2-7b",
           "llama2": "llama2-7b", "mobilenetv2": "mobilenet-v2", "vit-base": "vit"}


def list_models() -> list[dict]:
    return [{"name": s.name, "task": s.task, "sizes": list(s.sizes), "default": s.default_size,
             "backend": s.backend, "note": s.note} for s in REGISTRY.values()]


def build(name: str, size: str | None = None, batch: int = 1, seq: int = 128,
          image_size: int | None = None, dtype: str = "float32", device: str = "cpu",
          input_shape: tuple | None = None, seed: int = 0) -> Built:
    """Build a registered model (random weights) or ``module:callable``, with inputs."""
    import torch

    torch.manual_seed(seed)
    if ":" in name:
        built = _custom(name, input_shape)
    else:
        spec = REGISTRY.get(ALIASES.get(name.lower(), name.lower()))
        if spec is None:
            raise CollectError("model", f"unknown model {name!r}; known: {', '.join(REGISTRY)} "
                               "(or module:callable)")
        size = size or spec.default_size
        if size not in spec.sizes:
            raise CollectError("model", f"model {spec.name} has no size {size!r}; sizes: "
                               f"{', '.join(spec.sizes)}")
        overrides = {k: (dict(v) if isinstance(v, dict) else v) for k, v in spec.sizes[size].items()}
        if image_size and spec.name in SIZED_CONFIGS:  # position embeddings follow the size
            overrides["image_size"] = image_size
        model, vocab, native = spec.build(overrides)
        inputs, shape_meta = _inputs(spec, model, vocab, native, batch, seq, image_size, input_shape)
        built = Built(model, inputs, {"model": spec.name, "size": size, "task": spec.task,
                                      "weights": "random", "config": "published" if size != "tiny"
                                      else "tiny variant of the published configuration",
                                      "batch": batch, **shape_meta})
    built.model.eval()
    dt = _dtype(dtype)
    built.model.to(device=device, dtype=dt)
    built.inputs = _move(built.inputs, device, dt)
    built.meta.update(dtype=dtype, device=device,
                      parameters=int(sum(p.numel() for p in built.model.parameters())))
    return built


def _dtype(name):
    import torch

    table = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
             "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if name not in table:
        raise CollectError("dtype", f"unknown dtype {name!r}; one of {', '.join(table)}")
    return table[name]


def _move(inputs, device, dt):
    import torch

    def one(t):
        if not isinstance(t, torch.Tensor):
            return t
        return t.to(device=device, dtype=dt) if t.is_floating_point() else t.to(device)
    if isinstance(inputs, dict):
        return {k: one(v) for k, v in inputs.items()}
    return tuple(one(t) for t in inputs)


def _inputs(spec, model, vocab, native, batch, seq, image_size, input_shape):
    import torch

    if spec.task == "text":
        if input_shape:
            batch, seq = input_shape[0], input_shape[-1]
        ids = torch.randint(0, vocab, (batch, seq), dtype=torch.long)
        return ({"input_ids": ids, "attention_mask": torch.ones_like(ids)},
                {"seq": seq, "input": f"token ids [{batch}, {seq}] uniform in [0, {vocab})"})
    if input_shape:
        shape = tuple(input_shape)
    else:
        side = image_size or (320 if spec.backend == "torchvision" and spec.sizes else native or 224)
        shape = (batch, 3, side, side)
    img = torch.rand(shape)
    if spec.backend == "torchvision":  # detection models take a list of images
        return ((list(img),), {"image_size": list(shape[2:]),
                               "input": f"{shape[0]} images {list(shape[1:])} uniform [0, 1)"})
    return ({"pixel_values": img}, {"image_size": list(shape[2:]),
                                    "input": f"images {list(shape)} uniform [0, 1)"})


def _custom(target: str, input_shape):
    import torch

    mod_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(mod_name)
    except Exception as exc:
        raise CollectError(target, f"cannot import module {mod_name!r}: {exc}") from None
    fn = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise CollectError(target, f"module {mod_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise CollectError(target, f"{attr!r} is not callable")
    result = fn()
    if isinstance(result, torch.nn.Module):
        if not input_shape:
            raise CollectError(target, "the callable returned a model only; give --input-shape")
        model, inputs = result, torch.rand(tuple(input_shape))
    elif isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], torch.nn.Module):
        model, inputs = result
        if input_shape:
            inputs = torch.rand(tuple(input_shape))
    else:
        raise CollectError(target, "the callable must return (model, example_inputs) or a model")
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    elif isinstance(inputs, list):
        inputs = tuple(inputs)
    if not isinstance(inputs, (tuple, dict)):
        raise CollectError(target, "example_inputs must be a tensor, a tuple/list or a dict of tensors")
    return Built(model, inputs, {"model": target, "size": "custom", "task": "custom",
                                 "weights": "as returned by the callable",
                                 "input": _describe(inputs)})


def _describe(inputs):
    import torch

    items = inputs.items() if isinstance(inputs, dict) else enumerate(inputs)
    return {str(k): (list(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__)
            for k, v in items}
