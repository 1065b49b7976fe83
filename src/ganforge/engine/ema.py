"""Exponential moving average of the generator's weights (Karras et al. 2017; Yazici et al. 2018)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `shadow = decay * shadow + (1 - decay) * weights` after every G step; buffers are copied."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for shadow, live in zip(self.shadow.parameters(), model.parameters()):
            shadow.lerp_(live, 1.0 - self.decay)
        for shadow, live in zip(self.shadow.buffers(), model.buffers()):
            shadow.copy_(live)
