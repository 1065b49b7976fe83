"""DCGAN (Radford et al. 2015) generator and discriminator for square images of any power-of-two size >= 8.

The paper's guidelines: strided convolutions instead of pooling, fractionally strided ones in G; batch norm
in both networks except G's output and D's input layers; no fully connected hidden layers; ReLU in G with
tanh at the output; LeakyReLU(0.2) in D; weights from N(0, 0.02). G's batch norm can be swapped for
reference, virtual or class-conditional batch norm; D takes every option of `Discriminator`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from .family import ModelFamily, d_norm, image_arguments, register_family
from .discriminator import Discriminator
from .generator import Generator
from .init import dcgan_init
from .norms import make_norm


def _stage_count(resolution: int) -> int:
    """Number of 2x resolution changes between 4x4 and `resolution`."""
    return int(math.log2(resolution)) - 2


class DCGANGenerator(Generator):
    """z `[N, z_dim]` -> images `[N, channels, resolution, resolution]` in [-1, 1].

    z is projected to a 4x4 map with `width * 2**(stages-1)` channels, then each 4x4 stride-2 transposed
    convolution doubles the size and halves the channels, down to `width` before the output layer.
    """

    def __init__(self, z_dim: int, resolution: int, channels: int, width: int, num_classes: int = 0,
                 label: str = "none", norm: str = "batch", reference_size: int = 64) -> None:
        super().__init__(z_dim, num_classes, label, norm, reference_size)
        stages = _stage_count(resolution)
        widths = [width * 2 ** i for i in reversed(range(stages))]  # e.g. 32x32: [4w, 2w, w]
        convs = [nn.ConvTranspose2d(self.input_dim, widths[0], 4, 1, 0, bias=False)]
        convs += [nn.ConvTranspose2d(n_in, n_out, 4, 2, 1, bias=False) for n_in, n_out in zip(widths, widths[1:])]
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList([make_norm(norm, w, self.norm_classes, reference_size) for w in widths])
        self.to_image = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False)
        self.apply(dcgan_init)

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = h[:, :, None, None]
        for conv, norm in zip(self.convs, self.norms):
            h = torch.relu(norm(conv(h), y))
        return torch.tanh(self.to_image(h))


class DCGANDiscriminator(Discriminator):
    """Images `[N, channels, resolution, resolution]` -> logits `[N]`.

    Mirror of the generator: stride-2 4x4 convolutions from `width` channels doubling down to 4x4; the heads
    read the flattened 4x4 map (a linear layer on it equals the paper's final 4x4 valid convolution). The
    body's output is the feature map the DCGAN paper reuses for classification. `norm="none"` drops the
    batch norm, for gradient penalties and spectral normalisation.
    """

    def __init__(self, resolution: int, channels: int, width: int, num_classes: int = 0, label: str = "none",
                 pack: int = 1, mbd_kernels: int = 0, mbd_dim: int = 5, norm: str = "batch") -> None:
        super().__init__(num_classes, label, pack, mbd_kernels, mbd_dim)
        stages = _stage_count(resolution)
        widths = [width * 2 ** i for i in range(stages)]  # e.g. 32x32: [w, 2w, 4w]
        layers: list[nn.Module] = [nn.Conv2d(self.input_channels(channels), widths[0], 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            # without batch norm the convolution needs its own bias
            layers += [nn.Conv2d(n_in, n_out, 4, 2, 1, bias=norm == "none"),
                       nn.BatchNorm2d(n_out) if norm == "batch" else nn.Identity(),
                       nn.LeakyReLU(0.2, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.build_heads(widths[-1] * 4 * 4)
        self.apply(dcgan_init)


D_NORMS = ("batch", "none")  # the paper's batch norm first: the default


def _arguments(config: ModelConfig, sample_shape: tuple[int, ...], num_classes: int) -> tuple[dict, dict]:
    g_kwargs, d_kwargs = image_arguments("dcgan", config, sample_shape, num_classes)
    return g_kwargs, {**d_kwargs, "norm": d_norm(config, D_NORMS)}


register_family("dcgan", ModelFamily(DCGANGenerator, DCGANDiscriminator, _arguments,
                                     "DCGAN G and D (Radford et al. 2015), any power-of-two resolution",
                                     g_norms=True, d_norms=D_NORMS))
