"""Progressive growing of GANs (Karras et al. 2017, Table 2): G and D that grow from 4x4 to `resolution`.

Both networks hold every stage from the start; `set_growth(stage, alpha)` says how far they have grown
(stage 0 is 4x4, stage s is 4 * 2**s) and how far the newest stage has faded in. Both buffers are saved in
checkpoints. G always returns images at the full resolution (its current-stage output upsampled by nearest
neighbour) and D always takes them (average-pooled down to the current stage), so data, metrics and
pictures never see the growing; whoever trains them moves the growth between steps.

During a fade (alpha < 1) G's output is (1 - alpha) * upsample(toRGB of the previous stage) + alpha *
toRGB(new block), and D's input features are (1 - alpha) * fromRGB(pooled image) of the previous stage +
alpha * new block(fromRGB(image)). Layers use the equalised learning rate; G normalises every pixel's
features after each convolution and ends linearly (no tanh); D has the minibatch standard deviation layer
before its last convolutions.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .family import ModelFamily, image_arguments, register_family
from .discriminator import Discriminator
from .equalized import EqualConv2d, EqualLinear, MinibatchStdDev, PixelNorm
from .generator import Generator


def stage_count(resolution: int) -> int:
    """Stages from 4x4 up to `resolution` (4x4, 8x8, ...): the one place the count is computed."""
    return int(math.log2(resolution)) - 1


def stage_widths(resolution: int, width: int, halve_from: int = 32) -> list[int]:
    """Channels per stage, 4x4 upward: `width` up to `halve_from` x `halve_from`, then halving at each
    doubling (the paper: 512 up to 32x32, 256 at 64x64, ...)."""
    return [max(1, min(width, width * halve_from // (4 * 2 ** s))) for s in range(stage_count(resolution))]


def _lrelu(h: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(h, 0.2)


class Growing(nn.Module):
    """The stage and fade-in weight both networks share.

    They are buffers, so checkpoints, EMA copies and DDP carry them, and the forward pass reads a host-side
    copy of the stage and of whether a fade is under way, so it never waits on the GPU to learn which
    layers to run (and `torch.compile` sees them as constants that change a few times per run). The fade
    weight itself stays a tensor in the graph."""

    def __init__(self, stages: int) -> None:
        super().__init__()
        self.stages = stages
        self.register_buffer("stage", torch.tensor(stages - 1))
        self.register_buffer("alpha", torch.tensor(1.0))
        self.active, self.fading = stages - 1, False
        self.register_load_state_dict_post_hook(lambda module, keys: module._from_buffers())

    def set_growth(self, stage: int, alpha: float) -> None:
        if not 0 <= stage < self.stages or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"growth stage {stage} / alpha {alpha} outside 0..{self.stages - 1} / [0, 1]")
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)
        self.active, self.fading = stage, stage > 0 and alpha < 1.0

    def _from_buffers(self) -> None:
        """The host-side copy from the buffers, after they were loaded or copied in (one read)."""
        self.active = int(self.stage)
        self.fading = self.active > 0 and float(self.alpha) < 1.0

    def weight(self, like: torch.Tensor) -> torch.Tensor:
        """The fade-in weight for `torch.lerp` with `like`, on its device and in its dtype."""
        return self.alpha.to(like.dtype)


class PGGANGenerator(Generator):
    """z `[N, z_dim]` -> images `[N, channels, resolution, resolution]`, linear output."""

    def __init__(self, z_dim: int, resolution: int, channels: int, width: int, num_classes: int = 0,
                 label: str = "none", halve_from: int = 32) -> None:
        super().__init__(z_dim, num_classes, label)
        widths = stage_widths(resolution, width, halve_from)
        self.growth = Growing(len(widths))
        self.norm = PixelNorm()
        self.dense = EqualLinear(self.input_dim, widths[0] * 16, gain=math.sqrt(2) / 4)  # the paper's 4x4 conv on a 1x1 latent
        self.first = EqualConv2d(widths[0], widths[0], 3)
        self.blocks = nn.ModuleList([nn.ModuleList([EqualConv2d(n_in, n_out, 3), EqualConv2d(n_out, n_out, 3)])
                                     for n_in, n_out in zip(widths, widths[1:])])
        self.to_rgb = nn.ModuleList([EqualConv2d(w, channels, 1, gain=1.0) for w in widths])

    @property
    def growth_stages(self) -> int:
        return self.growth.stages

    def set_growth(self, stage: int, alpha: float) -> None:
        self.growth.set_growth(stage, alpha)

    def _block(self, index: int, h: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        for conv in self.blocks[index]:
            h = self.norm(_lrelu(conv(h)))
        return h

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        stage = self.growth.active
        h = self.norm(_lrelu(self.dense(self.norm(h)).view(len(h), -1, 4, 4)))
        h = self.norm(_lrelu(self.first(h)))
        previous = h
        for index in range(stage):
            previous, h = h, self._block(index, h)
        image = self.to_rgb[stage](h)
        if self.growth.fading:
            old = F.interpolate(self.to_rgb[stage - 1](previous), scale_factor=2, mode="nearest")
            image = torch.lerp(old, image, self.growth.weight(image))
        return F.interpolate(image, scale_factor=2 ** (self.growth.stages - 1 - stage), mode="nearest")


class PGGANBody(nn.Module):
    """Images `[N, channels, R, R]` -> features `[N, widths[0]]`, through the stages grown so far."""

    def __init__(self, in_channels: int, widths: list[int], mbstd_group: int) -> None:
        super().__init__()
        self.growth = Growing(len(widths))
        self.from_rgb = nn.ModuleList([EqualConv2d(in_channels, w, 1) for w in widths])
        # block s takes stage s's resolution down to stage s - 1's
        self.blocks = nn.ModuleList([nn.ModuleList([EqualConv2d(n_out, n_out, 3), EqualConv2d(n_out, n_in, 3)])
                                     for n_in, n_out in zip(widths, widths[1:])])
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd_group else None
        self.last_conv = EqualConv2d(widths[0] + (1 if mbstd_group else 0), widths[0], 3)
        self.dense = EqualLinear(widths[0] * 16, widths[0])  # the paper's 4x4 valid convolution

    def _block(self, index: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[index]:
            h = _lrelu(conv(h))
        return F.avg_pool2d(h, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stage = self.growth.active
        x = F.avg_pool2d(x, 2 ** (self.growth.stages - 1 - stage)) if stage < self.growth.stages - 1 else x
        h = _lrelu(self.from_rgb[stage](x))
        if stage > 0:
            h = self._block(stage - 1, h)
            if self.growth.fading:
                h = torch.lerp(_lrelu(self.from_rgb[stage - 1](F.avg_pool2d(x, 2))), h, self.growth.weight(h))
        for index in reversed(range(stage - 1)):
            h = self._block(index, h)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = _lrelu(self.last_conv(h))
        return _lrelu(self.dense(h.flatten(1)))


class PGGANDiscriminator(Discriminator):
    """Images `[N, channels, resolution, resolution]` -> logits `[N]`."""

    def __init__(self, resolution: int, channels: int, width: int, num_classes: int = 0, label: str = "none",
                 pack: int = 1, mbd_kernels: int = 0, mbd_dim: int = 5, mbstd_group: int = 4,
                 halve_from: int = 32) -> None:
        super().__init__(num_classes, label, pack, mbd_kernels, mbd_dim)
        widths = stage_widths(resolution, width, halve_from)
        self.body = PGGANBody(self.input_channels(channels), widths, mbstd_group)
        self.build_heads(widths[0])
        self.head = EqualLinear(self.head.in_features, self.head.out_features, gain=1.0)

    @property
    def growth_stages(self) -> int:
        return self.body.growth.stages

    def set_growth(self, stage: int, alpha: float) -> None:
        self.body.growth.set_growth(stage, alpha)


def _arguments(config: ModelConfig, sample_shape: tuple[int, ...], num_classes: int) -> tuple[dict, dict]:
    g_kwargs, d_kwargs = image_arguments("pggan", config, sample_shape, num_classes)
    del g_kwargs["norm"], g_kwargs["reference_size"]
    return ({**g_kwargs, "halve_from": config.halve_from},
            {**d_kwargs, "mbstd_group": config.mbstd_group, "halve_from": config.halve_from})


register_family("pggan", ModelFamily(
    PGGANGenerator, PGGANDiscriminator, _arguments,
    "progressive GAN G and D (Karras et al. 2017): equalised lr, pixel norm, minibatch stddev, fade-in",
    options=("halve_from", "mbstd_group"), growth_stages=stage_count))
