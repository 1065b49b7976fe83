"""GAN objectives as pure functions of discriminator logits.

Each loss is a pair: `d(real_logits, fake_logits)` minimised by D and `g(fake_logits)` minimised by G, both
averaged over the batch. Logits are D's raw outputs `[N]`; for the likelihood-based losses D(x) = sigmoid(logit),
and log-sigmoid is written with softplus for numerical stability: -log D(x) = softplus(-l),
-log(1 - D(x)) = softplus(l).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .registry import LOSSES

Tensor = torch.Tensor


@dataclass(frozen=True)
class GanLoss:
    """A registered objective and what it supports."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[..., Tensor]  # g(fake_logits), or g(fake_logits, real_logits) when `paired`
    doc: str                  # one line for `ganforge list`
    smoothable: bool = False  # D's loss is a cross-entropy against targets, so loss.real_label and
                              # loss.fake_label (label smoothing) apply
    needs_lipschitz: bool = False  # D's outputs are unbounded without a Lipschitz constraint (a warning
                                   # names reg.gp, reg.clip and model.d_sn)
    paired: bool = False      # relativistic: D's loss compares each real logit with a fake one, and G's
                              # loss is `g(fake_logits, real_logits)`


def bce_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z)))."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def smoothed_bce_d_loss(real: Tensor, fake: Tensor, real_label: float, fake_label: float) -> Tensor:
    """Cross-entropy against soft targets: `real_label` for data (0.9 = one-sided label smoothing, Salimans et
    al. 2016) and `fake_label` for samples. With 1 and 0 it is `bce_d_loss`."""
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_label))
            + F.binary_cross_entropy_with_logits(fake, torch.full_like(fake, fake_label)))


def minimax_g_loss(fake: Tensor) -> Tensor:
    """The saturating game: G minimises log(1 - D(G(z))); its gradient vanishes when D wins."""
    return -F.softplus(fake).mean()


def non_saturating_g_loss(fake: Tensor) -> Tensor:
    """Goodfellow et al.'s fix: G maximises log D(G(z)), strong gradients early in training."""
    return F.softplus(-fake).mean()


def hinge_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Lim & Ye 2017, Miyato et al. 2018: max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def linear_g_loss(fake: Tensor) -> Tensor:
    """-D(G(z)): the generator loss of both hinge and Wasserstein GANs."""
    return -fake.mean()


def wasserstein_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: the critic maximises D(x) - D(G(z)); needs a Lipschitz constraint."""
    return fake.mean() - real.mean()


def relativistic_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """RpGAN (Jolicoeur-Martineau 2019; Huang et al. 2024): softplus(-(D(x) - D(G(z)))) on pairs: D ranks
    each real sample above a generated one instead of judging each alone."""
    return F.softplus(fake - real).mean()


def relativistic_g_loss(fake: Tensor, real: Tensor) -> Tensor:
    """RpGAN's G loss, D's with the roles swapped: softplus(-(D(G(z)) - D(x)))."""
    return F.softplus(real - fake).mean()


def least_squares_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Mao et al. 2017 (a=0, b=1): 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2 on raw outputs."""
    return 0.5 * (real - 1.0).pow(2).mean() + 0.5 * fake.pow(2).mean()


def least_squares_g_loss(fake: Tensor) -> Tensor:
    """Mao et al. 2017 (c=1): 1/2 (D(G(z)) - 1)^2."""
    return 0.5 * (fake - 1.0).pow(2).mean()


def mode_seeking_loss(fake: Tensor, z: Tensor,
                      mean: Callable[[list[Tensor]], list[Tensor]] = lambda ts: ts) -> Tensor:
    """MSGAN's mode-seeking term (Mao et al. 2019): 1 / (d_img / d_z + 1e-5) over the pairs (2i, 2i+1) of a
    batch, d the mean absolute difference of the pair's samples and of their latents. Minimising it pushes
    samples apart in proportion to their latents, against G collapsing a region of latent space onto one
    mode. `mean` averages the two distances over a distributed run's ranks (each rank holds whole pairs), so
    N ranks compute what one process does."""
    d_img = (fake[0::2] - fake[1::2]).abs().mean()
    d_z = (z[0::2] - z[1::2]).abs().mean()
    d_img, d_z = mean([d_img, d_z])
    return 1.0 / (d_img / d_z + 1e-5)


for _name, _loss in {
    "minimax": GanLoss(bce_d_loss, minimax_g_loss, "saturating minimax game (Goodfellow et al. 2014)",
                       smoothable=True),
    "ns": GanLoss(bce_d_loss, non_saturating_g_loss, "non-saturating GAN loss (Goodfellow et al. 2014)",
                  smoothable=True),
    "hinge": GanLoss(hinge_d_loss, linear_g_loss, "hinge loss (Lim & Ye 2017; SN-GAN)"),
    "wasserstein": GanLoss(wasserstein_d_loss, linear_g_loss, "Wasserstein critic loss (Arjovsky et al. 2017)",
                           needs_lipschitz=True),
    "lsgan": GanLoss(least_squares_d_loss, least_squares_g_loss, "least squares (Mao et al. 2017)"),
    "rpgan": GanLoss(relativistic_d_loss, relativistic_g_loss, "relativistic pairing (RpGAN; Huang et al. 2024: "
                     "with reg.r1 and reg.r2)", paired=True),
}.items():
    LOSSES.register(_name, help=_loss.doc)(_loss)
