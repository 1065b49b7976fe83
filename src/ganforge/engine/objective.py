"""The GAN objective: turns networks, real data and latents into each phase's loss, reporting statistics.

The loop never computes a loss itself, so a new GAN variant changes this module (or the loss it is given),
not the loop. D is seen through a *judge*, `(x, y) -> DOutput`, so the same terms serve D as it is and D
with look-ahead parameters (unrolled GAN).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import Augment
from ..config import LossConfig, RegConfig
from ..losses import GanLoss, mode_seeking_loss, smoothed_bce_d_loss
from ..models.discriminator import DOutput
from ..regularisers import drift_penalty, gradient_penalty, r1_penalty, r2_penalty
from .stats import Stats

Judge = Callable[[torch.Tensor, "torch.Tensor | None"], DOutput]


def wide(x: torch.Tensor) -> torch.Tensor:
    """Losses are computed in at least float32, also when D ran in bfloat16 under autocast."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def judge(D: nn.Module) -> Judge:
    return lambda x, y: D(x, y, full=True)


class Objective:
    def __init__(self, loss: GanLoss, config: LossConfig, stats: Stats, reg: RegConfig | None = None,
                 augment: Augment | None = None,
                 average: Callable[[list[torch.Tensor]], list[torch.Tensor]] = lambda ts: ts) -> None:
        self.loss, self.config, self.stats = loss, config, stats
        self.reg = reg or RegConfig()
        self.augment = augment
        self.average = average  # the mean over a distributed run's ranks (`World.average`), differentiable
        self.smoothed = config.real_label != 1.0 or config.fake_label != 0.0

    def adversarial_d(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.smoothed:
            return smoothed_bce_d_loss(real_logits, fake_logits, self.config.real_label, self.config.fake_label)
        return self.loss.d(real_logits, fake_logits)

    def seen(self, x: torch.Tensor) -> torch.Tensor:
        """Images `[N, C, H, W]` as D sees them: through `data.augment` (fresh draws each call), real and
        generated alike, so G's gradient flows through the augmentation too."""
        return self.augment(x) if self.augment is not None else x

    def d_terms(self, D: Judge, real: torch.Tensor, real_y: torch.Tensor | None, fake: torch.Tensor,
                fake_y: torch.Tensor | None) -> tuple[torch.Tensor, DOutput, DOutput]:
        """D's loss and its outputs on a real and a fake batch. Real and fake pass D separately, as in DCGAN,
        so batch norm and minibatch discrimination see batches of one kind."""
        r, f = D(self.seen(real), real_y), D(self.seen(fake), fake_y)
        loss = self.adversarial_d(wide(r.logits), wide(f.logits))
        if r.class_logits is not None:  # acgan and classes: classify real data; acgan also the samples
            classes = F.cross_entropy(wide(r.class_logits), real_y)
            if f.class_logits is not None and fake_y is not None:
                classes = classes + F.cross_entropy(wide(f.class_logits), fake_y)
            loss = loss + self.config.aux_weight * classes
        return loss, r, f

    def discriminator_loss(self, D: nn.Module, real: torch.Tensor, real_y: torch.Tensor | None,
                           fake: torch.Tensor, fake_y: torch.Tensor | None) -> torch.Tensor:
        loss, r, f = self.d_terms(judge(D), real, real_y, fake.detach(), fake_y)
        self.stats.report("loss/d", loss)
        if self.augment is not None:
            self.augment.observe(r.logits, len(real))
        if self.reg.drift > 0:
            drift = drift_penalty(r.logits)
            self.stats.report("reg/drift", drift)
            loss = loss + self.reg.drift * drift
        self.stats.report("d/logit_real", r.logits.mean())
        self.stats.report("d/logit_fake", f.logits.mean())
        self.stats.report("d/acc_real", (r.logits > 0).float().mean())
        self.stats.report("d/acc_fake", (f.logits < 0).float().mean())
        if r.class_logits is not None:
            self.stats.report("d/class_acc_real", (r.class_logits.argmax(1) == real_y).float().mean())
        return loss

    @property
    def penalised(self) -> bool:
        return self.reg.gp > 0 or self.reg.r1 > 0 or self.reg.r2 > 0

    def penalty(self, D: nn.Module, real: torch.Tensor, real_y: torch.Tensor | None, fake: torch.Tensor,
                generator: torch.Generator | None = None, mix: torch.Tensor | None = None,
                fake_y: torch.Tensor | None = None) -> torch.Tensor:
        """The weighted gradient penalties, scaled by `reg.every` when they are applied only every that many
        steps (lazy regularisation keeps the average weight). Interpolates are judged with the real labels,
        generated samples (R2) with their own; `mix` gives the gradient penalty's interpolation weights
        (drawn from `generator` when None). With `data.augment` each penalty differentiates D(T(x)) with respect
        to x, as StyleGAN2-ADA's R1 does."""
        total = torch.zeros((), device=real.device)
        critic = lambda x: D(self.seen(x), real_y)  # noqa: E731
        if self.reg.gp > 0:
            gp = gradient_penalty(critic, real, fake, generator, mix=mix)
            self.stats.report("reg/gp", gp)
            total = total + self.reg.gp * gp
        if self.reg.r1 > 0:
            r1 = r1_penalty(critic, real)
            self.stats.report("reg/r1", r1)
            total = total + self.reg.r1 / 2 * r1
        if self.reg.r2 > 0:
            r2 = r2_penalty(lambda x: D(self.seen(x), fake_y), fake)
            self.stats.report("reg/r2", r2)
            total = total + self.reg.r2 / 2 * r2
        return total * self.reg.every

    def generator_loss(self, D: Judge | nn.Module, fake: torch.Tensor, fake_y: torch.Tensor | None,
                       real: torch.Tensor | None = None, real_y: torch.Tensor | None = None,
                       z: torch.Tensor | None = None) -> torch.Tensor:
        """G's loss on its samples: the loss's G term (a paired loss also reads D on the `real` batch), or
        feature matching (Salimans et al. 2016: the squared distance between D's mean hidden features on the
        `real` batch and on samples), plus AC-GAN's class term, plus MSGAN's mode-seeking term on the latents
        `z` when `loss.mode_seeking` weighs it (reported apart, as loss/ms)."""
        D = judge(D) if isinstance(D, nn.Module) else D
        f = D(self.seen(fake), fake_y)
        if self.config.feature_matching:
            if real is None:
                raise ValueError("feature matching needs a real batch")
            with torch.no_grad():
                target = wide(D(self.seen(real), real_y).features).mean(0)
            loss = (wide(f.features).mean(0) - target).pow(2).sum()
        elif self.loss.paired:
            if real is None:
                raise ValueError("a paired loss needs a real batch")
            loss = self.loss.g(wide(f.logits), wide(D(self.seen(real), real_y).logits))
        else:
            loss = self.loss.g(wide(f.logits))
        if f.class_logits is not None and fake_y is not None:
            loss = loss + self.config.aux_weight * F.cross_entropy(wide(f.class_logits), fake_y)
        self.stats.report("loss/g", loss)
        if self.config.mode_seeking:
            if z is None:
                raise ValueError("the mode-seeking term needs the samples' latents")
            term = mode_seeking_loss(wide(fake), z, self.average)
            self.stats.report("loss/ms", term)
            loss = loss + self.config.mode_seeking * term
        return loss
