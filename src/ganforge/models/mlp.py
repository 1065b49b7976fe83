"""Fully connected G and D for low-dimensional toy data (1-D Gaussian, 2-D ring and grid)."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .family import ModelFamily, register_family, shape_error
from .discriminator import Discriminator
from .generator import Generator


def _stack(sizes: list[int], activation: type[nn.Module], last_activation: bool,
           **activation_kwargs: float) -> nn.Sequential:
    """Linear layers of the given sizes with `activation` between them (and after the last, if asked)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if last_activation or i < len(sizes) - 2:
            layers.append(activation(**activation_kwargs))
    return nn.Sequential(*layers)


class MLPGenerator(Generator):
    """z `[N, z_dim]` -> points `[N, out_dim]`, ReLU hidden layers, linear output (data is unbounded)."""

    def __init__(self, z_dim: int, out_dim: int, width: int, depth: int, num_classes: int = 0,
                 label: str = "none") -> None:
        super().__init__(z_dim, num_classes, label)
        self.net = _stack([self.input_dim] + [width] * depth + [out_dim], nn.ReLU, last_activation=False)

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.net(h)


class MLPDiscriminator(Discriminator):
    """Points `[N, in_dim]` -> logits `[N]`, LeakyReLU(0.2) hidden layers."""

    def __init__(self, in_dim: int, width: int, depth: int, num_classes: int = 0, label: str = "none",
                 pack: int = 1, mbd_kernels: int = 0, mbd_dim: int = 5) -> None:
        super().__init__(num_classes, label, pack, mbd_kernels, mbd_dim)
        self.body = _stack([self.input_channels(in_dim)] + [width] * depth, nn.LeakyReLU, last_activation=True,
                           negative_slope=0.2)
        self.build_heads(width)


def _arguments(config: ModelConfig, sample_shape: tuple[int, ...], num_classes: int) -> tuple[dict, dict]:
    if len(sample_shape) != 1:
        raise shape_error("mlp", sample_shape, "points [D]; use a convolutional model for images")
    (dim,) = sample_shape
    return (
        {"z_dim": config.z_dim, "out_dim": dim, "width": config.g_channels, "depth": config.depth,
         "num_classes": num_classes, "label": config.g_label},
        {"in_dim": dim, "width": config.d_channels, "depth": config.depth, "num_classes": num_classes,
         "label": config.d_label, "pack": config.pack, "mbd_kernels": config.mbd_kernels,
         "mbd_dim": config.mbd_dim},
    )


register_family("mlp", ModelFamily(MLPGenerator, MLPDiscriminator, _arguments, "MLP G and D for toy data",
                                   options=("depth",)))
