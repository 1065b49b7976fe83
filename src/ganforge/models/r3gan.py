"""R3GAN's G and D (Huang et al. 2024, "The GAN is dead; long live the GAN! A modern baseline GAN", config E)
for square power-of-two images from 8x8 (the paper trains 32x32 to 256x256).

Both networks are a stack of stages, one per resolution from 4x4, each holding `blocks` residual blocks and a
transition to the next resolution. A residual block is an inverted bottleneck: 1x1 convolution widening the
channels by `expansion`, leaky ReLU, grouped 3x3 convolution (groups of `group_size` channels), leaky ReLU,
1x1 convolution back to the block's width, added to the block's input. There are no normalisation layers.
Leaky ReLU has slope 0.2. A transition resamples with the paper's interpolation filter (`Resample`) and
changes the width with a 1x1 convolution where it changes (at the lower resolution of the two, as the
official code does).
G: z -> the 4x4 basis (a learned 4x4 map per channel, scaled per channel by a linear function of z) ->
stages up to the image resolution -> 1x1 convolution to the image, linear (no tanh, as in the paper).
D: 1x1 convolution from the image -> stages down to 4x4 -> the 4x4 basis (a 4x4 depthwise convolution, one
value per channel) -> the shared heads of `Discriminator` (a dense layer to the logit; ours has a bias the
paper's lacks, a constant that cancels in RpGAN's difference of logits).

Initialisation (the paper's fix-up style): weights from N(0, gain^2 / fan_in); in each
residual branch the last convolution starts at zero, so every block is the identity at construction, and
the other two are scaled by L^(-1/4) (L: the network's number of residual blocks) on top of leaky ReLU's
gain sqrt(2 / (1 + 0.2^2)). Biases start at zero; as in the official code only the two convolutions before
an activation carry one (the official code adds it inside the activation, which is the same function).

Widths. Reference: the paper's CIFAR-10 setting (its hyper-parameter table in the appendix, as the official
code's `--preset=CIFAR10` sets it): 768 channels at every stage 4x4..32x32, 2 blocks per stage, expansion 2, cardinality
96 groups of the 1536 expanded channels (16 channels a group), z of 64 dimensions. `model.g_channels` and
`model.d_channels` are that per-stage width (the paper's 768); above `model.halve_from` (32, the default)
it halves at each doubling, as the paper's FFHQ-64/256 settings do (768 up to 32x32, then 384, 192, ...),
and the group size stays fixed, so the number of groups halves with the width, as the paper's does.

Class conditioning: the paper's G joins a linear embedding of the one-hot label to z before the basis;
`model.g_label=concat` joins the one-hot itself: the embedding and the basis's linear layer compose into
one linear map of the one-hot, so concat spans every map the paper's can (and more when the classes
outnumber the paper's 64 embedding dimensions). The paper's D is a projection D without the unconditional term;
every `model.d_label` mode works, `projection` being the paper's nearest. G has no norm layers, so `cbn` is
refused by the config checks.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from .discriminator import Discriminator
from .family import ModelFamily, image_arguments, register_family, shape_error
from .generator import Generator
from .pggan import stage_widths

SLOPE = 0.2                                 # leaky ReLU's negative slope
GAIN = math.sqrt(2 / (1 + SLOPE ** 2))      # He et al.'s gain for it
BLOCKS, EXPANSION, GROUP_SIZE = 2, 2, 16    # the paper's CIFAR-10 setting (see the module docstring)


def _init(layer: nn.Conv2d | nn.Linear, gain: float = 1.0) -> nn.Module:
    """Weights from N(0, gain^2 / fan_in) (fan_in per group for a grouped convolution), bias zero."""
    fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def _conv1x1(n_in: int, n_out: int, gain: float = 1.0, bias: bool = False) -> nn.Conv2d:
    return _init(nn.Conv2d(n_in, n_out, 1, bias=bias), gain)


class ResidualBlock(nn.Module):
    """`[N, C, H, W]` -> the same shape: x + conv1x1(act(conv3x3_grouped(act(conv1x1(x)))))."""

    def __init__(self, width: int, expansion: int, group_size: int, total_blocks: int) -> None:
        super().__init__()
        expanded = width * expansion
        if expanded % group_size:
            raise ValueError(f"{expanded} expanded channels ({width} x {expansion}) do not split into groups "
                             f"of {group_size}")
        gain = GAIN * total_blocks ** -0.25  # the paper's L^(-1/4) for a branch of 3 convolutions
        self.branch = nn.Sequential(
            _conv1x1(width, expanded, gain, bias=True), nn.LeakyReLU(SLOPE),
            _init(nn.Conv2d(expanded, expanded, 3, padding=1, groups=expanded // group_size), gain),
            nn.LeakyReLU(SLOPE),
            _conv1x1(expanded, width, gain=0.0))  # zero: the block starts as the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


# the paper's resampling filter: the binomial [1, 2, 1] convolved with the box [1, 1], i.e. bilinear
# interpolation (weights 3/4 and 1/4 of the two nearest inputs), zero beyond the border as in the official code
_TAPS = torch.tensor([1.0, 3.0, 3.0, 1.0])


class Resample(nn.Module):
    """`[N, C, H, W]` -> `[N, C, 2H, 2W]` (`up`) or `[N, C, H/2, W/2]`, each channel filtered alone."""

    def __init__(self, up: bool) -> None:
        super().__init__()
        self.up = up
        kernel = torch.outer(_TAPS, _TAPS)
        # up-sampling spreads each input over 4 outputs, so its kernel sums to 4; a constant map stays constant
        self.register_buffer("kernel", kernel / kernel.sum() * (4 if up else 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        weight = self.kernel.to(x.dtype).expand(channels, 1, 4, 4)
        if self.up:
            return F.conv_transpose2d(x, weight, stride=2, padding=1, groups=channels)
        return F.conv2d(x, weight, stride=2, padding=1, groups=channels)


def _transition(n_in: int, n_out: int, up: bool) -> nn.Sequential:
    """Resample, and change the width with a 1x1 convolution at the lower resolution of the two."""
    layers: list[nn.Module] = [Resample(up)]
    if n_in != n_out:
        layers.insert(0 if up else 1, _conv1x1(n_in, n_out))
    return nn.Sequential(*layers)


def _stage_count(widths: list[int]) -> int:
    if len(widths) < 2:
        raise ValueError(f"widths needs one entry per resolution from 4x4 to at least 8x8, got {widths}")
    return len(widths)


class GeneratorBasis(nn.Module):
    """h `[N, D]` -> `[N, C, 4, 4]`: a learned 4x4 map per channel, scaled per channel by a linear map of h."""

    def __init__(self, in_dim: int, width: int) -> None:
        super().__init__()
        self.basis = nn.Parameter(torch.randn(width, 4, 4))
        self.linear = _init(nn.Linear(in_dim, width, bias=False))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.basis[None] * self.linear(h)[:, :, None, None]


class R3GANGenerator(Generator):
    """z `[N, z_dim]` -> images `[N, channels, R, R]`, R = 4 * 2^(len(widths) - 1); the output is linear.

    `widths`: channels at each resolution, 4x4 first; `blocks`: residual blocks per stage; `expansion`: the
    inverted bottleneck's widening; `group_size`: channels per group of the 3x3 convolutions.
    """

    def __init__(self, z_dim: int, channels: int, widths: list[int], num_classes: int = 0, label: str = "none",
                 blocks: int = BLOCKS, expansion: int = EXPANSION, group_size: int = GROUP_SIZE) -> None:
        super().__init__(z_dim, num_classes, label)
        total = _stage_count(widths) * blocks
        self.basis = GeneratorBasis(self.input_dim, widths[0])
        stages = []
        for i, width in enumerate(widths):
            layers = [_transition(widths[i - 1], width, up=True)] if i else []
            layers += [ResidualBlock(width, expansion, group_size, total) for _ in range(blocks)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.to_image = _conv1x1(widths[-1], channels)

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.to_image(self.stages(self.basis(h)))


class R3GANDiscriminator(Discriminator):
    """Images `[N, channels, R, R]` -> logits `[N]`; features are the basis's `[N, widths[0]]`.

    `widths` holds channels at each resolution, 4x4 first, like the generator's; D runs through them from
    the last (the image's resolution) to the first.
    """

    def __init__(self, channels: int, widths: list[int], num_classes: int = 0, label: str = "none",
                 pack: int = 1, mbd_kernels: int = 0, mbd_dim: int = 5, blocks: int = BLOCKS,
                 expansion: int = EXPANSION, group_size: int = GROUP_SIZE) -> None:
        super().__init__(num_classes, label, pack, mbd_kernels, mbd_dim)
        total = _stage_count(widths) * blocks
        top_down = widths[::-1]
        layers: list[nn.Module] = [_conv1x1(self.input_channels(channels), top_down[0])]
        for i, width in enumerate(top_down):
            layers += [ResidualBlock(width, expansion, group_size, total) for _ in range(blocks)]
            if i + 1 < len(top_down):
                layers.append(_transition(width, top_down[i + 1], up=False))
        # the 4x4 basis: one 4x4 filter per channel, read at the single valid position
        layers.append(_init(nn.Conv2d(widths[0], widths[0], 4, groups=widths[0], bias=False)))
        self.body = nn.Sequential(*layers)
        self.build_heads(widths[0])
        _init(self.head)  # the paper's last dense layer: N(0, 1 / fan_in); its bias (ours only) starts at zero


def _arguments(config: ModelConfig, sample_shape: tuple[int, ...], num_classes: int) -> tuple[dict, dict]:
    g_common, d_common = image_arguments("r3gan", config, sample_shape, num_classes)
    resolution = g_common["resolution"]
    if resolution & (resolution - 1):
        raise shape_error("r3gan", sample_shape, "square images whose side is a power of two >= 8")
    shared = {"blocks": BLOCKS, "expansion": EXPANSION, "group_size": GROUP_SIZE}
    specs = []
    for key, common in (("g_channels", g_common), ("d_channels", d_common)):
        widths = stage_widths(resolution, getattr(config, key), config.halve_from)
        if any(w * EXPANSION % GROUP_SIZE for w in widths):
            raise ConfigError(f"model.{key}={getattr(config, key)} gives r3gan widths {widths}: each, times the "
                              f"expansion {EXPANSION}, must split into groups of {GROUP_SIZE} channels (use a "
                              f"multiple of {GROUP_SIZE // math.gcd(EXPANSION, GROUP_SIZE)} that stays one "
                              f"after halving from model.halve_from={config.halve_from})")
        kept = {k: v for k, v in common.items() if k not in ("resolution", "width", "norm", "reference_size")}
        specs.append({**kept, "widths": widths, **shared})
    return specs[0], specs[1]


register_family("r3gan", ModelFamily(
    R3GANGenerator, R3GANDiscriminator, _arguments,
    "R3GAN's G and D (Huang et al. 2024): residual inverted bottlenecks, grouped convs, no normalisation; "
    "pair with loss.name=rpgan, reg.r1 and reg.r2",
    options=("halve_from",)))
