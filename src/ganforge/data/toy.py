"""Low-dimensional mixtures of Gaussians whose modes are known, so mode collapse can be counted exactly.

Ring and grid follow PacGAN (Lin et al. 2018): 8 modes on a circle of radius 1 with std 0.01, and 25 modes
on {-4,-2,0,2,4}^2 with std 0.05. The 1-D Gaussian is the data of Goodfellow et al. 2014, Figure 1.
"""
from __future__ import annotations

import math

import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset

_DEFAULT_STD = {"ring": 0.01, "grid": 0.05, "gaussian1d": 0.5}


def mode_centres(config: DataConfig) -> torch.Tensor:
    """Means of the mixture, float32 `[K, D]`; row k is the mode whose points carry label k.

    ring: `radius * (cos, sin)(2*pi*k / modes)`; grid: row-major `(x_i, y_j)` with k = i * grid_size + j,
    centred on 0; gaussian1d: `[[mean]]`.
    """
    if config.name == "ring":
        if config.modes < 1:
            raise DataError(f"ring needs data.modes >= 1, got {config.modes}")
        angles = 2 * math.pi * torch.arange(config.modes, dtype=torch.float64) / config.modes
        centres = config.radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    elif config.name == "grid":
        if config.grid_size < 1:
            raise DataError(f"grid needs data.grid_size >= 1, got {config.grid_size}")
        steps = torch.arange(config.grid_size, dtype=torch.float64) - (config.grid_size - 1) / 2
        axis = steps * config.grid_spacing
        centres = torch.cartesian_prod(axis, axis).view(-1, 2)
    elif config.name == "gaussian1d":
        centres = torch.tensor([[config.mean]], dtype=torch.float64)
    else:
        raise DataError(f"{config.name!r} is not a toy dataset (ring, grid, gaussian1d)")
    return centres.float()


def mode_std(config: DataConfig) -> float:
    """The std of every mode: `config.std`, or the dataset's published default when it is None."""
    if config.name not in _DEFAULT_STD:
        raise DataError(f"{config.name!r} is not a toy dataset (ring, grid, gaussian1d)")
    return float(config.std) if config.std is not None else _DEFAULT_STD[config.name]


def _sample(config: DataConfig) -> Dataset:
    """`num_samples` points drawn once with `seed`: a uniform mode, then isotropic noise around its mean."""
    centres, std = mode_centres(config), mode_std(config)
    generator = torch.Generator().manual_seed(config.seed)
    labels = torch.randint(len(centres), (config.num_samples,), generator=generator)
    noise = torch.randn(config.num_samples, centres.shape[1], generator=generator)
    points = centres[labels] + std * noise
    return Dataset(points, labels, num_classes=len(centres), name=config.name)


@DATASETS.register("ring", help="2-D: data.modes Gaussians on a circle (PacGAN: 8, radius 1, std 0.01)")
def load_ring(config: DataConfig) -> Dataset:
    return _sample(config)


@DATASETS.register("grid", help="2-D: grid_size^2 Gaussians on a grid (PacGAN: 5x5 on {-4..4}^2, std 0.05)")
def load_grid(config: DataConfig) -> Dataset:
    return _sample(config)


@DATASETS.register("gaussian1d", help="1-D: N(data.mean, data.std), by default N(4, 0.5) (Goodfellow et al.)")
def load_gaussian1d(config: DataConfig) -> Dataset:
    return _sample(config)
