"""Karras et al. 2017's building blocks: equalised learning rate, pixelwise feature normalisation and the
minibatch standard deviation layer.

Equalised learning rate: weights are drawn from N(0, 1) and multiplied at run time by the layer's He
constant `gain / sqrt(fan_in)`. Adam's updates have roughly the same size for every weight, so with the
scale outside the parameter every layer learns at the same effective speed, whatever its fan-in.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EqualLinear(nn.Module):
    """`[N, in]` -> `[N, out]` with weight N(0, 1) scaled by `gain / sqrt(in)` at run time."""

    def __init__(self, n_in: int, n_out: int, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.scale = gain / math.sqrt(n_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualConv2d(nn.Module):
    """Stride-1 'same' convolution `[N, in, H, W]` -> `[N, out, H, W]`, weight scaled by
    `gain / sqrt(in * k * k)` at run time."""

    def __init__(self, n_in: int, n_out: int, kernel: int, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.scale = gain / math.sqrt(n_in * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class PixelNorm(nn.Module):
    """Each pixel's feature vector divided by its root mean square over channels (eps 1e-8), which keeps
    G's signal magnitudes from escalating (Karras et al. 2017, section 4.2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class MinibatchStdDev(nn.Module):
    """`[N, C, H, W]` -> `[N, C + 1, H, W]`: within each group of `group_size` samples, the standard
    deviation of every feature at every position over the group, averaged to one number, appended as a
    constant feature map to the group's samples. D can then see how varied a batch is (section 3). A batch
    that does not split into groups of `group_size` uses the largest group size below it that does: right for
    a last partial batch when sampling or evaluating; training batches that do not divide are refused by
    the config (`checks.check_config`)."""

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)
        grouped = x.reshape(group, n // group, c, h, w)            # sample i is in group i % (n / group)
        std = (grouped.var(dim=0, unbiased=False) + 1e-8).sqrt()  # [n/group, C, H, W]
        statistic = std.mean(dim=(1, 2, 3))                         # [n/group]
        feature = statistic.repeat(group)[:, None, None, None].expand(n, 1, h, w)
        return torch.cat([x, feature.to(x.dtype)], dim=1)
