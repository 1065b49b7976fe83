"""Low-dimensional mixtures of Gaussians whose modes are known, so mode collapse can be counted exactly.

Ring and grid follow PacGAN (Lin et al. 2018): 8 modes on a circle of radius 1 with std 0.01, and 25 modes
on {-4,-2,0,2,4}^2 with std 0.05. The 1-D Gaussian is the data of Goodfellow et al. 2014, Figure 1.
`TOY_MIXTURES` is the one table of them: a new mixture is one entry there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset

TOY_SAMPLES = 2500  # samples scored or drawn per toy run: PacGAN's protocol (Lin et al. 2018, section 5.1)


def _ring(config: DataConfig) -> torch.Tensor:
    """`radius * (cos, sin)(2*pi*k / modes)`."""
    if config.modes < 1:
        raise DataError(f"ring needs data.modes >= 1, got {config.modes}")
    angles = 2 * math.pi * torch.arange(config.modes, dtype=torch.float64) / config.modes
    return config.radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def _grid(config: DataConfig) -> torch.Tensor:
    """Row-major `(x_i, y_j)` with k = i * grid_size + j, centred on 0."""
    if config.grid_size < 1:
        raise DataError(f"grid needs data.grid_size >= 1, got {config.grid_size}")
    steps = torch.arange(config.grid_size, dtype=torch.float64) - (config.grid_size - 1) / 2
    axis = steps * config.grid_spacing
    return torch.cartesian_prod(axis, axis).view(-1, 2)


def _gaussian1d(config: DataConfig) -> torch.Tensor:
    return torch.tensor([[config.mean]], dtype=torch.float64)


@dataclass(frozen=True)
class Mixture:
    """A registered toy mixture: its means from the config, its default std, and how far plots reach."""

    centres: Callable[[DataConfig], torch.Tensor]  # float64 `[K, D]`
    std: float                                      # std of each mode when `data.std` is None
    extent: float                                   # half-width of a plot showing every mode
    doc: str


TOY_MIXTURES: dict[str, Mixture] = {
    "ring": Mixture(_ring, 0.01, 1.5, "2-D: data.modes Gaussians on a circle (PacGAN: 8, radius 1, std 0.01)"),
    "grid": Mixture(_grid, 0.05, 6.0, "2-D: grid_size^2 Gaussians on a grid (PacGAN: 5x5 on {-4..4}^2, std 0.05)"),
    "gaussian1d": Mixture(_gaussian1d, 0.5, 8.0, "1-D: N(data.mean, data.std), by default N(4, 0.5) "
                                                 "(Goodfellow et al.)"),
}


def is_toy(name: str) -> bool:
    return name in TOY_MIXTURES


def _mixture(config: DataConfig) -> Mixture:
    if config.name not in TOY_MIXTURES:
        raise DataError(f"{config.name!r} is not a toy dataset ({', '.join(TOY_MIXTURES)})")
    return TOY_MIXTURES[config.name]


def mode_centres(config: DataConfig) -> torch.Tensor:
    """Means of the mixture, float32 `[K, D]`; row k is the mode whose points carry label k."""
    return _mixture(config).centres(config).float()


def mode_std(config: DataConfig) -> float:
    """The std of every mode: `config.std`, or the mixture's published default when it is None."""
    return float(config.std) if config.std is not None else _mixture(config).std


def _sample(config: DataConfig) -> Dataset:
    """`num_samples` points drawn once with `seed`: a uniform mode, then isotropic noise around its mean."""
    centres, std = mode_centres(config), mode_std(config)
    generator = torch.Generator().manual_seed(config.seed)
    labels = torch.randint(len(centres), (config.num_samples,), generator=generator)
    noise = torch.randn(config.num_samples, centres.shape[1], generator=generator)
    points = centres[labels] + std * noise
    return Dataset(points, labels, num_classes=len(centres), name=config.name)


for _name, _mix in TOY_MIXTURES.items():
    DATASETS.register(_name, help=_mix.doc)(_sample)
