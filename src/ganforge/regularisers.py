"""Discriminator regularisers as pure functions: penalties return a tensor to add to D's loss.

`critic` is any `x -> logits [N / pack]` function (D with its labels bound). Gradients are taken with
respect to the input and kept in the graph (`create_graph=True`) so the penalty itself is differentiable
with respect to D's weights. With packing (PacGAN) a logit depends on a group of `pack` samples, so the
gradient norm is taken over each group.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

Critic = Callable[[torch.Tensor], torch.Tensor]


def _input_gradient_norms(critic: Critic, x: torch.Tensor) -> torch.Tensor:
    """|| d critic(x)_i / d x_group(i) ||_2 for each logit i: `[N / pack]`."""
    x = x.detach().requires_grad_(True)
    logits = critic(x)
    (grad,) = torch.autograd.grad(logits.float().sum(), x, create_graph=True)
    return grad.float().reshape(len(logits), -1).norm(dim=1)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None, mix: torch.Tensor | None = None) -> torch.Tensor:
    """Gulrajani et al. 2017: E[(||grad critic(x_hat)|| - 1)^2] at x_hat = e x + (1 - e) G(z), e ~ U[0, 1]
    per sample, which keeps the critic's gradient norm near 1 between the two distributions. `mix` is e
    `[N, 1, ...]` when the caller draws it (a distributed run draws it for the global batch)."""
    shape = (len(real),) + (1,) * (real.dim() - 1)
    e = mix if mix is not None else torch.rand(shape, device=real.device, generator=generator, dtype=real.dtype)
    interpolates = e * real.detach() + (1 - e) * fake.detach()
    return (_input_gradient_norms(critic, interpolates) - 1).pow(2).mean()


def r1_penalty(critic: Critic, real: torch.Tensor) -> torch.Tensor:
    """Mescheder et al. 2018: E[||grad critic(x)||^2] on real data (times gamma / 2 by the caller), which
    pushes D to be flat on the data manifold and makes training converge locally."""
    return _input_gradient_norms(critic, real).pow(2).mean()


def r2_penalty(critic: Critic, fake: torch.Tensor) -> torch.Tensor:
    """E[||grad critic(x)||^2] at generated samples (times gamma / 2 by the caller). With R1 it makes the
    relativistic pairing GAN locally convergent (Huang et al. 2024, section 2); G gets no gradient from it."""
    return _input_gradient_norms(critic, fake.detach()).pow(2).mean()


def drift_penalty(real_logits: torch.Tensor) -> torch.Tensor:
    """Karras et al. 2017, appendix A.1: E[D(x)^2] on real data (times epsilon_drift, 1e-3, by the caller),
    which keeps a Wasserstein critic's outputs from drifting far from zero."""
    return real_logits.float().pow(2).mean()


@torch.no_grad()
def clip_weights(net: nn.Module, bound: float) -> None:
    """Arjovsky et al. 2017: clamp every parameter to [-bound, bound], their crude Lipschitz constraint."""
    for p in net.parameters():
        p.clamp_(-bound, bound)
