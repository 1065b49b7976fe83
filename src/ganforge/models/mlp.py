"""Fully connected G and D for low-dimensional toy data (1-D Gaussian, 2-D ring and grid)."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from . import ModelFamily, register_family, shape_error


def _stack(sizes: list[int], activation: type[nn.Module], **activation_kwargs: float) -> nn.Sequential:
    """Linear layers of the given sizes with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation(**activation_kwargs))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z `[N, z_dim]` -> points `[N, out_dim]`, ReLU hidden layers, linear output (data is unbounded)."""

    def __init__(self, z_dim: int, out_dim: int, width: int, depth: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = _stack([z_dim] + [width] * depth + [out_dim], nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Points `[N, in_dim]` -> logits `[N]`, LeakyReLU(0.2) hidden layers."""

    def __init__(self, in_dim: int, width: int, depth: int) -> None:
        super().__init__()
        self.net = _stack([in_dim] + [width] * depth + [1], nn.LeakyReLU, negative_slope=0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def _arguments(config: ModelConfig, sample_shape: tuple[int, ...]) -> tuple[dict, dict]:
    if len(sample_shape) != 1:
        raise shape_error("mlp", sample_shape, "points [D]; use a convolutional model for images")
    (dim,) = sample_shape
    return (
        {"z_dim": config.z_dim, "out_dim": dim, "width": config.g_channels, "depth": config.depth},
        {"in_dim": dim, "width": config.d_channels, "depth": config.depth},
    )


register_family("mlp", ModelFamily(MLPGenerator, MLPDiscriminator, _arguments, "MLP G and D for toy data"))
