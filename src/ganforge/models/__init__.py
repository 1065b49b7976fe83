"""Model families: a generator and a discriminator built together from the config and the data's shape.

A family records the constructor arguments it used, so a checkpoint can rebuild its networks without the
original config (see `build_models` and `rebuild`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from ..registry import MODELS
from .spectral import apply_spectral_norm

ArgumentsFn = Callable[[ModelConfig, tuple[int, ...], int], tuple[dict, dict]]


@dataclass(frozen=True)
class ModelFamily:
    generator: type[nn.Module]
    discriminator: type[nn.Module]
    arguments: ArgumentsFn  # (model config, sample shape, classes) -> (generator kwargs, discriminator kwargs)
    doc: str


def register_family(name: str, family: ModelFamily) -> None:
    MODELS.register(name, help=family.doc)(family)


def shape_error(family: str, shape: tuple[int, ...], expected: str) -> ConfigError:
    return ConfigError(f"model {family!r} cannot take data of shape {list(shape)}: it expects {expected}")


def image_arguments(family: str, config: ModelConfig, sample_shape: tuple[int, ...], num_classes: int,
                    min_resolution: int = 8) -> tuple[dict, dict]:
    """Constructor arguments of the convolutional families: (G kwargs, D kwargs) for square images."""
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2] or sample_shape[1] < min_resolution:
        raise shape_error(family, sample_shape, f"square images [C, R, R] with R >= {min_resolution}")
    channels, resolution, _ = sample_shape
    return (
        {"z_dim": config.z_dim, "resolution": resolution, "channels": channels, "width": config.g_channels,
         "num_classes": num_classes, "label": config.g_label, "norm": config.g_norm,
         "reference_size": config.reference_size},
        {"resolution": resolution, "channels": channels, "width": config.d_channels, "num_classes": num_classes,
         "label": config.d_label, "pack": config.pack, "mbd_kernels": config.mbd_kernels,
         "mbd_dim": config.mbd_dim},
    )


def build_models(config: ModelConfig, sample_shape: tuple[int, ...],
                 num_classes: int = 0) -> tuple[nn.Module, nn.Module, dict]:
    """Build G and D for data of `sample_shape` (`[C, H, W]` or `[D]`) with `num_classes` labels (0: the data
    is unlabelled); returns them and their spec."""
    uses_labels = config.g_label != "none" or config.d_label != "none"
    if uses_labels and num_classes < 2:
        raise ConfigError(f"model.g_label={config.g_label} / model.d_label={config.d_label} need labelled data, "
                          f"but the dataset has {num_classes} classes")
    family: ModelFamily = MODELS.get(config.name)
    g_kwargs, d_kwargs = family.arguments(config, sample_shape, num_classes)
    spec = {"family": config.name, "generator": g_kwargs, "discriminator": d_kwargs}
    normalised = {part: config.sn_iterations for part, on in (("generator", config.g_sn),
                                                                ("discriminator", config.d_sn)) if on}
    if normalised:  # only then, so checkpoints from before spectral norm existed keep their spec
        spec["spectral_norm"] = normalised
    return rebuild(spec, "generator"), rebuild(spec, "discriminator"), spec


def rebuild(spec: dict, part: str) -> nn.Module:
    """Rebuild the `part` ("generator" or "discriminator") recorded in a checkpoint's model spec, spectral
    normalisation included."""
    family: ModelFamily = MODELS.get(spec["family"])
    cls = family.generator if part == "generator" else family.discriminator
    try:
        net = cls(**spec[part])
    except TypeError as exc:
        raise ConfigError(f"cannot rebuild {spec['family']} {part}: {exc}") from None
    iterations = spec.get("spectral_norm", {}).get(part, 0)
    return apply_spectral_norm(net, iterations, embeddings=part == "discriminator") if iterations else net


def class_count(G: nn.Module) -> int:
    """Classes a generator is conditioned on; 0 for an unconditional one."""
    return int(getattr(G, "num_classes", 0))


def balanced_labels(G: nn.Module, n: int, start: int = 0) -> torch.Tensor | None:
    """Labels `start, start+1, ...` modulo the class count: every class equally often (None if unconditional)."""
    classes = class_count(G)
    return (torch.arange(start, start + n) % classes) if classes else None


def discriminator_probability(D: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """x `[M, 1]` -> sigmoid(D(x)) `[M]` on the CPU, in eval mode: D(x) read as a probability, as in
    Goodfellow et al.'s 1-D figure."""
    device = next(D.parameters()).device

    @torch.no_grad()
    def probability(x: torch.Tensor) -> torch.Tensor:
        was_training = D.training
        D.eval()
        p = torch.sigmoid(D(torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1).to(device))).cpu()
        D.train(was_training)
        return p

    return probability


from . import mlp, dcgan, sngan, resnet, pggan  # noqa: E402,F401  (registration)
