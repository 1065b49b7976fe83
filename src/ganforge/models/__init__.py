"""Model families: a generator and a discriminator built together from the config and the data's shape.

A family (`family.ModelFamily`, one per file) records the constructor arguments it used, so a checkpoint can
rebuild its networks without the original config (see `build_models` and `rebuild`). What a config may ask
of each family is checked above the registries, in `ganforge.checks`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from ..registry import MODELS
from .discriminator import LABEL_MODES
from .family import Growable, ModelFamily
from .generator import G_LABEL_MODES
from .spectral import apply_spectral_norm


def uses_labels(config: ModelConfig) -> bool:
    """Whether G or D takes class labels, so the run needs labelled data."""
    return G_LABEL_MODES[config.g_label].conditional or LABEL_MODES[config.d_label].conditional


def growth_stages(net: nn.Module) -> int:
    """Stages of a growing network; 0 for one that does not grow."""
    return net.growth_stages if isinstance(net, Growable) else 0


def build_models(config: ModelConfig, sample_shape: tuple[int, ...],
                 num_classes: int = 0) -> tuple[nn.Module, nn.Module, dict]:
    """Build G and D for data of `sample_shape` (`[C, H, W]` or `[D]`) with `num_classes` labels (0: the data
    is unlabelled); returns them and their spec."""
    if uses_labels(config) and num_classes < 2:
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


from . import mlp, dcgan, sngan, resnet, pggan, r3gan  # noqa: E402,F401  (registration)
