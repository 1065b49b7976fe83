"""The ResNet G and D of the SN-GAN paper for CIFAR-10 (Miyato et al. 2018, appendix, Table 4), any square
power-of-two resolution >= 16.

G: z -> dense to a 4x4 map of `width` channels -> one up-sampling residual block per doubling -> batch
norm, ReLU, 3x3 convolution, tanh. A block is BN-ReLU-up-conv3-BN-ReLU-conv3 plus a 1x1-convolved,
up-sampled shortcut.
D: residual blocks of `width` channels, down-sampling (average pooling) until 8x8, then two more at 8x8;
ReLU, global sum pooling, dense. A block is ReLU-conv3-ReLU-conv3(-pool) plus a 1x1 shortcut; the first
block starts with the convolution, since its input is the image. Weights are Glorot-uniform, gain sqrt(2)
on the residual branches, as in the authors' code.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .family import ModelFamily, image_arguments, register_family
from .discriminator import Discriminator
from .generator import Generator
from .norms import make_norm


def _conv(n_in: int, n_out: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    conv = nn.Conv2d(n_in, n_out, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    nn.init.zeros_(conv.bias)
    return conv


class UpBlock(nn.Module):
    """`[N, n_in, H, W]` -> `[N, n_out, 2H, 2W]`; labels reach the (conditional) batch norms."""

    def __init__(self, n_in: int, n_out: int, norm: str, num_classes: int, reference_size: int) -> None:
        super().__init__()
        self.norm1 = make_norm(norm, n_in, num_classes, reference_size)
        self.conv1 = _conv(n_in, n_out, 3, math.sqrt(2))
        self.norm2 = make_norm(norm, n_out, num_classes, reference_size)
        self.conv2 = _conv(n_out, n_out, 3, math.sqrt(2))
        self.shortcut = _conv(n_in, n_out, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(torch.relu(self.norm1(x, y)), scale_factor=2)
        h = self.conv2(torch.relu(self.norm2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DownBlock(nn.Module):
    """`[N, n_in, H, W]` -> `[N, n_out, H/2, W/2]` (or the same size with `down=False`)."""

    def __init__(self, n_in: int, n_out: int, down: bool, first: bool) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = _conv(n_in, n_out, 3, math.sqrt(2))
        self.conv2 = _conv(n_out, n_out, 3, math.sqrt(2))
        self.shortcut = _conv(n_in, n_out, 1) if (n_in != n_out or down) else None

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(h, 2) if self.down else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else torch.relu(x)
        h = self._pool(self.conv2(torch.relu(self.conv1(h))))
        if self.shortcut is None:
            return h + x
        # the first block pools before its 1x1 convolution, the others after (the authors' order)
        skip = self.shortcut(self._pool(x)) if self.first else self._pool(self.shortcut(x))
        return h + skip


class SumPool(nn.Module):
    """ReLU then the sum over positions: `[N, C, H, W]` -> `[N, C]`."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(h).sum(dim=(2, 3))


class ResNetGenerator(Generator):
    """z `[N, z_dim]` -> images `[N, channels, resolution, resolution]` in [-1, 1]."""

    def __init__(self, z_dim: int, resolution: int, channels: int, width: int, num_classes: int = 0,
                 label: str = "none", norm: str = "batch", reference_size: int = 64) -> None:
        super().__init__(z_dim, num_classes, label, norm, reference_size)
        self.width = width
        self.dense = nn.Linear(self.input_dim, width * 16)
        nn.init.xavier_uniform_(self.dense.weight)
        self.blocks = nn.ModuleList([UpBlock(width, width, norm, self.norm_classes, reference_size)
                                     for _ in range(int(math.log2(resolution)) - 2)])
        self.norm = make_norm(norm, width, self.norm_classes, reference_size)
        self.to_image = _conv(width, channels, 3)

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = self.dense(h).view(len(h), self.width, 4, 4)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.to_image(torch.relu(self.norm(h, y))))


class ResNetDiscriminator(Discriminator):
    """Images `[N, channels, resolution, resolution]` -> logits `[N]`; features are the pooled `[N, width]`."""

    def __init__(self, resolution: int, channels: int, width: int, num_classes: int = 0, label: str = "none",
                 pack: int = 1, mbd_kernels: int = 0, mbd_dim: int = 5) -> None:
        super().__init__(num_classes, label, pack, mbd_kernels, mbd_dim)
        downs = int(math.log2(resolution)) - 3  # down to 8x8
        blocks = [DownBlock(self.input_channels(channels), width, down=True, first=True)]
        blocks += [DownBlock(width, width, down=True, first=False) for _ in range(downs - 1)]
        blocks += [DownBlock(width, width, down=False, first=False) for _ in range(2)]
        self.body = nn.Sequential(*blocks, SumPool())
        self.build_heads(width)
        nn.init.xavier_uniform_(self.head.weight)


register_family("resnet", ModelFamily(
    ResNetGenerator, ResNetDiscriminator, lambda c, s, k: image_arguments("resnet", c, s, k, min_resolution=16),
    "SN-GAN paper's ResNet G and D (Miyato et al. 2018, Table 4), resolution >= 16",
    g_norms=True))
