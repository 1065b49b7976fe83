"""The GAN objective: turns networks, real data and latents into each phase's loss, reporting statistics.

The loop never computes a loss itself, so a new GAN variant changes this module (or the loss it is given),
not the loop.
"""
from __future__ import annotations

import torch
from torch import nn

from ..losses import GanLoss
from .stats import Stats


class Objective:
    def __init__(self, loss: GanLoss, stats: Stats) -> None:
        self.loss = loss
        self.stats = stats

    def discriminator_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D's loss on a real batch and a (detached) fake batch; real and fake pass D separately, as in
        DCGAN, so batch norm sees batches of one kind."""
        real_logits = D(real)
        fake_logits = D(fake.detach())
        loss = self.loss.d(real_logits.float(), fake_logits.float())
        self.stats.report("loss/d", loss)
        self.stats.report("d/logit_real", real_logits.mean())
        self.stats.report("d/logit_fake", fake_logits.mean())
        self.stats.report("d/acc_real", (real_logits > 0).float().mean())
        self.stats.report("d/acc_fake", (fake_logits < 0).float().mean())
        return loss

    def generator_loss(self, D: nn.Module, fake: torch.Tensor) -> torch.Tensor:
        loss = self.loss.g(D(fake).float())
        self.stats.report("loss/g", loss)
        return loss
