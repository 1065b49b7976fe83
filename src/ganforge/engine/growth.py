"""The progressive-growing schedule (Karras et al. 2017, section 2): where the networks are after a given
number of real images, and the real images D should see there.

Training starts at 4x4 for `stable[0]` images; each further resolution fades in over `fade[s - 1]` images
(alpha rising linearly from 0 to 1) and then stabilises for `stable[s]` images; the last resolution trains
until the run ends. Everything is a pure function of the count of real images shown, so a run resumed
mid-fade continues exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import GrowthConfig


def _per_stage(values: list[int], count: int, fallback: list[int]) -> list[int]:
    values = values or fallback
    return values * count if len(values) == 1 else list(values)


@dataclass(frozen=True)
class Schedule:
    stable: list[int]       # images per stabilising phase, one per stage from 4x4
    fade: list[int]         # images per fade-in phase, one per stage from 8x8
    batch_sizes: list[int]  # one per stage

    @classmethod
    def from_config(cls, config: GrowthConfig, stages: int, batch_size: int) -> "Schedule":
        return cls(_per_stage(config.stable_images, stages, []),
                   _per_stage(config.fade_images, stages - 1, config.stable_images),
                   _per_stage(config.batch_sizes, stages, [batch_size]))

    @property
    def stages(self) -> int:
        return len(self.stable)

    def at(self, images: int) -> tuple[int, float]:
        """(stage, alpha) after `images` real images."""
        left = images
        for stage in range(self.stages):
            if stage > 0:
                if left < self.fade[stage - 1]:
                    return stage, left / self.fade[stage - 1]
                left -= self.fade[stage - 1]
            if stage == self.stages - 1 or left < self.stable[stage]:
                return stage, 1.0
            left -= self.stable[stage]
        raise AssertionError("unreachable")


def blend_real(x: torch.Tensor, stage: int, alpha: float, stages: int) -> torch.Tensor:
    """Full-resolution real images `[N, C, R, R]` as D should see them at (stage, alpha): downscaled to the
    stage's resolution, during a fade blended with their 2x coarser version like G's output is, and
    returned at the full resolution (nearest-neighbour), the size D takes."""
    factor = 2 ** (stages - 1 - stage)
    low = F.avg_pool2d(x, factor) if factor > 1 else x
    if stage > 0 and alpha < 1.0:
        low = torch.lerp(F.interpolate(F.avg_pool2d(low, 2), scale_factor=2, mode="nearest"), low, alpha)
    return F.interpolate(low, scale_factor=factor, mode="nearest") if factor > 1 else low
