"""Exponential moving average of the generator's weights (Karras et al. 2017; Yazici et al. 2018)."""
from __future__ import annotations

import copy
from typing import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


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


def batch_norms(model: nn.Module) -> list[_BatchNorm]:
    """The batch-norm layers of `model` that keep running statistics."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@torch.no_grad()
def standing_statistics(model: nn.Module, inputs: Iterable[tuple[torch.Tensor, torch.Tensor | None]]) -> None:
    """Replace the running statistics of `model`'s batch norms by their plain average over the batches
    `inputs` (`(z, y)` pairs), computed in training mode; `model` is left in eval mode.

    Why: an EMA generator's weights are an average, so its activations are not the live G's, and running
    statistics copied from G normalise it with the wrong mean and variance. Recomputing them for the averaged
    weights from fresh latents is Brock et al. 2018's "standing statistics" (BigGAN, appendix C)."""
    layers = batch_norms(model)
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative: every batch weighs the same
    model.train()
    try:
        for z, y in inputs:
            model(z, y)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.eval()
