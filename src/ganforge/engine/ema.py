"""Exponential moving average of the generator's weights (Karras et al. 2017; Yazici et al. 2018)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `shadow = d * shadow + (1 - d) * weights` after every G step; buffers are copied.

    With `rampup`, d = min(decay, (1 + t) / (10 + t)) at update t (counted from 0): a decay of 0.999 averages
    over about 1000 steps, so without it a run of a few hundred steps leaves the shadow near its random init.
    """

    def __init__(self, model: nn.Module, decay: float, rampup: bool = False) -> None:
        self.decay = decay
        self.rampup = rampup
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    def decay_at(self, step: int) -> float:
        """The decay used by the update made after G step `step` (0-based)."""
        return min(self.decay, (1.0 + step) / (10.0 + step)) if self.rampup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module, step: int = 0) -> None:
        weight = 1.0 - self.decay_at(step)
        for shadow, live in zip(self.shadow.parameters(), model.parameters()):
            shadow.lerp_(live, weight)
        for shadow, live in zip(self.shadow.buffers(), model.buffers()):
            shadow.copy_(live)
