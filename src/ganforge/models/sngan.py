"""The "standard CNN" of the SN-GAN paper (Miyato et al. 2018, Table 3) for square power-of-two images.

G: z -> dense to a 4x4 map of `8 * width` channels (for 32x32) -> 4x4 stride-2 transposed convolutions
halving the channels, each with batch norm and ReLU -> 3x3 convolution to the image, tanh.
D: at each resolution a 3x3 stride-1 then a 4x4 stride-2 convolution, channels `width`, `2 width`, ...;
a last 3x3 convolution; LeakyReLU(0.1) throughout and, by default, no normalisation layers, so spectral
normalisation (`model.d_sn`) is the only thing constraining D; a dense layer reads the flattened 4x4 map.
`model.d_norm` gives D the normalisations the paper compares SN with (section 4, Table 2): batch norm or
layer norm after every convolution but the first (DCGAN leaves D's input layer unnormalised too), or weight
normalisation (Salimans & Kingma 2016) of every convolution and dense layer.
Both use PyTorch's default initialisation, as spectral normalisation makes D's weight scale irrelevant.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .family import ModelFamily, d_norm, image_arguments, register_family
from .discriminator import Discriminator
from .generator import Generator
from .norms import make_norm


def stage_count(resolution: int) -> int:
    """Number of 2x resolution changes between 4x4 and `resolution`."""
    return int(math.log2(resolution)) - 2


class SNGANGenerator(Generator):
    """z `[N, z_dim]` -> images `[N, channels, resolution, resolution]` in [-1, 1]."""

    def __init__(self, z_dim: int, resolution: int, channels: int, width: int, num_classes: int = 0,
                 label: str = "none", norm: str = "batch", reference_size: int = 64) -> None:
        super().__init__(z_dim, num_classes, label, norm, reference_size)
        stages = stage_count(resolution)
        widths = [width * 2 ** i for i in reversed(range(stages + 1))]  # 32x32: [8w, 4w, 2w, w]
        self.dense = nn.Linear(self.input_dim, widths[0] * 16)
        self.convs = nn.ModuleList([nn.ConvTranspose2d(n_in, n_out, 4, 2, 1)
                                    for n_in, n_out in zip(widths, widths[1:])])
        self.norms = nn.ModuleList([make_norm(norm, w, self.norm_classes, reference_size) for w in widths])
        self.to_image = nn.Conv2d(widths[-1], channels, 3, 1, 1)

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = self.dense(h).view(len(h), -1, 4, 4)
        h = torch.relu(self.norms[0](h, y))
        for conv, norm in zip(self.convs, self.norms[1:]):
            h = torch.relu(norm(conv(h), y))
        return torch.tanh(self.to_image(h))


# model.d_norm -> (the layer after a hidden convolution, whether every conv/dense weight is weight-normalised);
# "none" first: the paper's SN-GAN D has no normalisation layers
D_NORMS: dict[str, tuple[Callable[[int], nn.Module], bool]] = {
    "none": (lambda c: nn.Identity(), False),
    "batch": (nn.BatchNorm2d, False),
    "layer": (lambda c: nn.GroupNorm(1, c), False),  # statistics over (C, H, W) of each sample
    "weight": (lambda c: nn.Identity(), True),
}


class SNGANDiscriminator(Discriminator):
    """Images `[N, channels, resolution, resolution]` -> logits `[N]`."""

    def __init__(self, resolution: int, channels: int, width: int, num_classes: int = 0, label: str = "none",
                 pack: int = 1, mbd_kernels: int = 0, mbd_dim: int = 5, norm: str = "none") -> None:
        super().__init__(num_classes, label, pack, mbd_kernels, mbd_dim)
        make_layer, weight_normalised = D_NORMS[norm]
        stages = stage_count(resolution)
        widths = [width * 2 ** i for i in range(stages + 1)]  # 32x32: [w, 2w, 4w, 8w]
        layers: list[nn.Module] = []
        n_in = self.input_channels(channels)
        for i, w in enumerate(widths[:-1]):
            layers += [nn.Conv2d(n_in, w, 3, 1, 1), make_layer(w) if i else nn.Identity(), nn.LeakyReLU(0.1),
                       nn.Conv2d(w, w, 4, 2, 1), make_layer(w), nn.LeakyReLU(0.1)]
            n_in = w
        layers += [nn.Conv2d(n_in, widths[-1], 3, 1, 1), make_layer(widths[-1]), nn.LeakyReLU(0.1)]
        self.body = nn.Sequential(*[layer for layer in layers if not isinstance(layer, nn.Identity)])
        self.build_heads(widths[-1] * 4 * 4)
        if weight_normalised:
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    weight_norm(module)


def _arguments(config, sample_shape: tuple[int, ...], num_classes: int) -> tuple[dict, dict]:
    g_kwargs, d_kwargs = image_arguments("sngan", config, sample_shape, num_classes)
    norm = d_norm(config, tuple(D_NORMS))
    # the default is left out of the spec, so checkpoints from before d_norm existed still match it
    return g_kwargs, {**d_kwargs, "norm": norm} if norm != "none" else d_kwargs


register_family("sngan", ModelFamily(
    SNGANGenerator, SNGANDiscriminator, _arguments,
    "SN-GAN paper's standard CNN G and D (Miyato et al. 2018, Table 3); D unnormalised unless model.d_norm",
    g_norms=True, d_norms=tuple(D_NORMS)))
