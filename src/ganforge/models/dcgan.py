"""DCGAN (Radford et al. 2015) generator and discriminator for square images of any power-of-two size >= 8.

The paper's guidelines: strided convolutions instead of pooling, fractionally strided ones in G; batch norm
in both networks except G's output and D's input layers; no fully connected hidden layers; ReLU in G with
tanh at the output; LeakyReLU(0.2) in D; weights from N(0, 0.02).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from . import ModelFamily, register_family, shape_error
from .init import dcgan_init


def _stage_count(resolution: int) -> int:
    """Number of 2x resolution changes between 4x4 and `resolution`."""
    return int(math.log2(resolution)) - 2


class DCGANGenerator(nn.Module):
    """z `[N, z_dim]` -> images `[N, channels, resolution, resolution]` in [-1, 1].

    z is projected to a 4x4 map with `width * 2**(stages-1)` channels, then each 4x4 stride-2 transposed
    convolution doubles the size and halves the channels, down to `width` before the output layer.
    """

    def __init__(self, z_dim: int, resolution: int, channels: int, width: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        stages = _stage_count(resolution)
        widths = [width * 2 ** i for i in reversed(range(stages))]  # e.g. 32x32: [4w, 2w, w]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(n_in, n_out, 4, 2, 1, bias=False), nn.BatchNorm2d(n_out),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Images `[N, channels, resolution, resolution]` -> logits `[N]`.

    Mirror of the generator: stride-2 4x4 convolutions from `width` channels doubling down to 4x4, then a
    4x4 valid convolution to one logit. `features` returns the last hidden map, which the DCGAN paper reuses
    for classification.
    """

    def __init__(self, resolution: int, channels: int, width: int) -> None:
        super().__init__()
        stages = _stage_count(resolution)
        widths = [width * 2 ** i for i in range(stages)]  # e.g. 32x32: [w, 2w, 4w]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(n_in, n_out, 4, 2, 1, bias=False), nn.BatchNorm2d(n_out),
                       nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten()


def _arguments(config: ModelConfig, sample_shape: tuple[int, ...]) -> tuple[dict, dict]:
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2] or sample_shape[1] < 8:
        raise shape_error("dcgan", sample_shape, "square images [C, R, R] with R >= 8")
    channels, resolution, _ = sample_shape
    return (
        {"z_dim": config.z_dim, "resolution": resolution, "channels": channels, "width": config.g_channels},
        {"resolution": resolution, "channels": channels, "width": config.d_channels},
    )


register_family("dcgan", ModelFamily(DCGANGenerator, DCGANDiscriminator, _arguments,
                                     "DCGAN G and D (Radford et al. 2015), any power-of-two resolution"))
