"""Generator normalisation layers: batch norm, reference and virtual batch norm, and their class-conditional form.

Every layer here is called as `norm(h, y)` with the class labels `y` (None for an unconditional G), so a
generator swaps one for another by config.

Reference and virtual batch norm (Salimans et al. 2016) need the activations of a fixed reference batch at the
same layer. The generator puts its reference latents in front of every batch (`ReferenceBatch`); each layer
reads the first `reference_size` rows as the reference and the generator drops them from its output. So an
example's output no longer depends on the other examples of its batch, which is the point of both layers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

EPS = 1e-5  # nn.BatchNorm2d's


def _channel_dims(h: torch.Tensor) -> list[int]:
    """Dimensions averaged over per channel, besides the batch: none for `[N, C]`, H and W for `[N, C, H, W]`."""
    return list(range(2, h.dim()))


class BatchNorm(nn.BatchNorm2d):
    """Plain batch norm (statistics of the current batch), taking and ignoring labels like its siblings."""

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(h)


class ReferenceBatchNorm(nn.Module):
    """Normalise with statistics of the reference batch (`virtual=False`), or of the reference batch plus the
    example itself (`virtual=True`, virtual batch norm, each example weighted 1/(R+1)).

    The reference rows themselves are normalised with the reference statistics in both modes. Gradients flow
    through the statistics, as in Salimans et al.'s implementation.
    """

    def __init__(self, channels: int, reference_size: int, virtual: bool, affine: bool = True) -> None:
        super().__init__()
        self.reference_size, self.virtual = reference_size, virtual
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        size = self.reference_size
        if len(h) < size:
            raise ValueError(f"batch of {len(h)} rows holds no reference batch of {size}")
        spatial = _channel_dims(h)
        # per-row first and second moments of each channel, [N, C, 1, 1] (or [N, C])
        mean = h.mean(spatial, keepdim=True) if spatial else h
        square = h.pow(2).mean(spatial, keepdim=True) if spatial else h.pow(2)
        reference_mean = mean[:size].mean(0, keepdim=True)
        reference_square = square[:size].mean(0, keepdim=True)
        if self.virtual:
            own = slice(size, None)
            mean = torch.cat([reference_mean.expand_as(mean[:size]),
                              (size * reference_mean + mean[own]) / (size + 1)])
            square = torch.cat([reference_square.expand_as(square[:size]),
                                (size * reference_square + square[own]) / (size + 1)])
        else:
            mean, square = reference_mean, reference_square
        variance = (square - mean.pow(2)).clamp_min(0.0)
        out = (h - mean) * torch.rsqrt(variance + EPS)
        if self.weight is not None:
            shape = (1, -1) + (1,) * len(spatial)
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


class ConditionalNorm(nn.Module):
    """Conditional batch norm (de Vries et al. 2017, Dumoulin et al. 2017): a normalisation without its own
    affine, followed by a scale and shift looked up per class."""

    def __init__(self, normalise: nn.Module, channels: int, num_classes: int) -> None:
        super().__init__()
        self.normalise = normalise
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.normal_(self.scale.weight, 1.0, 0.02)  # DCGAN's batch-norm scale init, per class
        nn.init.zeros_(self.shift.weight)

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("conditional batch norm needs class labels")
        shape = (len(y), -1) + (1,) * (h.dim() - 2)
        return self.normalise(h, y) * self.scale(y).view(shape) + self.shift(y).view(shape)


@dataclass(frozen=True)
class GNorm:
    """A `model.g_norm` value: how to build the layer, and whether G must carry a reference batch."""

    doc: str
    build: Callable[[int, int, bool], nn.Module]  # (channels, reference_size, affine) -> layer
    reference: bool = False                       # reads the fixed reference batch at the front of each batch


G_NORMS: dict[str, GNorm] = {
    "batch": GNorm("batch norm (Ioffe & Szegedy 2015)", lambda c, r, affine: BatchNorm(c, affine=affine)),
    "reference": GNorm("reference batch norm (Salimans et al. 2016)",
                       lambda c, r, affine: ReferenceBatchNorm(c, r, virtual=False, affine=affine), reference=True),
    "virtual": GNorm("virtual batch norm (Salimans et al. 2016)",
                     lambda c, r, affine: ReferenceBatchNorm(c, r, virtual=True, affine=affine), reference=True),
}


def make_norm(kind: str, channels: int, num_classes: int = 0, reference_size: int = 0) -> nn.Module:
    """The `G_NORMS[kind]` layer; with `num_classes` > 0 its affine part is per class."""
    if kind not in G_NORMS:
        raise ValueError(f"unknown normalisation {kind!r}; known: {', '.join(G_NORMS)}")
    affine = num_classes == 0
    norm = G_NORMS[kind].build(channels, reference_size, affine)
    return norm if affine else ConditionalNorm(norm, channels, num_classes)


class ReferenceBatch(nn.Module):
    """The fixed reference latents (and balanced labels) of reference/virtual batch norm, drawn once at
    construction and kept as buffers, so checkpoints carry them and a resumed run normalises the same way."""

    def __init__(self, size: int, z_dim: int, num_classes: int) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("z", torch.randn(size, z_dim))
        self.register_buffer("y", torch.arange(size) % num_classes if num_classes else torch.zeros(0))

    def prepend(self, z: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.cat([self.z.to(z.dtype), z])
        return z, (torch.cat([self.y.long(), y]) if y is not None else None)
