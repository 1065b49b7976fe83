"""Hyperparameter ramps over training (the `schedule` config section), as pure functions of images seen.

Huang et al. 2024 (R3GAN) move Adam's learning rate and beta2, the R1/R2 weight gamma, G's EMA half-life and
the augmentation probability from a start to an end value over the first T real images, along half a
cosine, then hold them. Everything here depends only on the real images D has seen, which a checkpoint
holds, so a resumed run follows the same values. The config validates `schedule.shape` against `SHAPES`;
the engine applies `ramped` before every step.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .config import RunConfig

# how far a ramp has moved (0 -> 1) at fraction t of its horizon
SHAPES: dict[str, Callable[[float], float]] = {
    "cosine": lambda t: (1.0 - math.cos(math.pi * t)) / 2.0,  # flat at both ends
    "linear": lambda t: t,
}


def ramp(start: float, end: float, images: int, horizon: int, shape: str = "cosine") -> float:
    """The value after `images` real images of a ramp from `start` to `end` over `horizon`, held after it."""
    if images >= horizon:
        return end
    return start + (end - start) * SHAPES[shape](images / horizon)


def ema_beta(half_life: float, images: int) -> float:
    """The EMA decay of one update that advances training by `images`: the average's weight on the G of
    `half_life` images ago is 1/2. A half-life of 0 gives 0 (the average is G itself)."""
    return 0.5 ** (images / max(half_life, 1e-8))


def ramped(config: RunConfig, images: int) -> dict[str, float]:
    """Every value `config.schedule` ramps, after `images` real images, by the dotted key it starts from:
    `optim.{g,d}.lr`, `optim.{g,d}.beta2`, `reg.r1` and `reg.r2` (each one that is on), `data.augment_p`,
    and `ema_half_life` (from 0, no config key starts it). Quantities the schedule leaves alone are absent."""
    s = config.schedule

    def now(start: float, end: float) -> float:
        return ramp(start, end, images, s.images, s.shape)

    values = {}
    for net in ("g", "d"):
        adam = getattr(config.optim, net)
        if s.lr_end is not None:
            values[f"optim.{net}.lr"] = now(adam.lr, s.lr_end)
        if s.beta2_end is not None:
            values[f"optim.{net}.beta2"] = now(adam.beta2, s.beta2_end)
    if s.gamma_end is not None:
        for name in ("r1", "r2"):
            if getattr(config.reg, name) > 0:
                values[f"reg.{name}"] = now(getattr(config.reg, name), s.gamma_end)
    if s.augment_p_end is not None:
        values["data.augment_p"] = now(float(config.data.augment_p), s.augment_p_end)
    if s.ema_half_life > 0:
        values["ema_half_life"] = now(0.0, s.ema_half_life)
    return values
