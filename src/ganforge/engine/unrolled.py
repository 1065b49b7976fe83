"""Unrolled GAN (Metz et al. 2016): G is trained against D's parameters after k look-ahead updates.

The look-ahead copies D's Adam state and applies k Adam updates on D's loss, keeping the graph, so G's
gradient includes how D would react to G's samples: the term that discourages collapsing onto the mode
D currently favours. Only G is updated from it; D itself takes its usual step.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

from ..models.discriminator import DOutput

Params = dict[str, torch.Tensor]


def functional_judge(D: nn.Module, params: Params, buffers: Params) -> Callable:
    """D with `params` in place of its own: (x, y) -> DOutput."""
    return lambda x, y: functional_call(D, (params, buffers), (x,), {"y": y, "full": True})


def lookahead(D: nn.Module, optimizer: torch.optim.Adam, loss_of: Callable[[Params], torch.Tensor],
              steps: int, average: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None = None) -> Params:
    """D's parameters after `steps` Adam updates on `loss_of(params)`, differentiable with respect to
    whatever that loss depends on. Adam's moments and step count start from `optimizer`'s state. The
    denominator is sqrt(v_hat + eps^2) rather than sqrt(v_hat) + eps, which differs by under eps and keeps
    the second derivative finite where a gradient is exactly zero. `average` (a distributed run's
    differentiable all-reduce) turns each rank's gradients into the global batch's, as D's real update."""
    names = [name for name, _ in D.named_parameters()]
    theta = [p for _, p in D.named_parameters()]
    group = optimizer.param_groups[0]
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
    states = [optimizer.state.get(p, {}) for p in theta]
    m = [s["exp_avg"].detach() if "exp_avg" in s else torch.zeros_like(p) for s, p in zip(states, theta)]
    v = [s["exp_avg_sq"].detach() if "exp_avg_sq" in s else torch.zeros_like(p) for s, p in zip(states, theta)]
    # Adam's step count as the tensor it keeps (on the device for fused Adam): reading it would wait for the GPU
    t = states[0]["step"].detach().clone() if "step" in states[0] else torch.zeros((), device=theta[0].device)
    for _ in range(steps):
        loss = loss_of(dict(zip(names, theta)))
        grads = torch.autograd.grad(loss, theta, create_graph=True)
        if average is not None:
            grads = average(list(grads))
        t += 1
        m = [beta1 * mi + (1 - beta1) * g for mi, g in zip(m, grads)]
        v = [beta2 * vi + (1 - beta2) * g * g for vi, g in zip(v, grads)]
        theta = [p - lr * (mi / (1 - beta1 ** t)) / (vi / (1 - beta2 ** t) + eps ** 2).sqrt()
                 for p, mi, vi in zip(theta, m, v)]
    return dict(zip(names, theta))


def unrolled_judge(D: nn.Module, optimizer: torch.optim.Adam, d_loss: Callable[[Callable], torch.Tensor],
                   steps: int, average: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None = None
                   ) -> Callable[[torch.Tensor, torch.Tensor | None], DOutput]:
    """A judge with D's look-ahead parameters; `d_loss(judge)` is D's loss as a function of a judge."""
    buffers = {name: b.clone() for name, b in D.named_buffers()}  # look-ahead BN statistics stay private
    params = lookahead(D, optimizer, lambda p: d_loss(functional_judge(D, p, buffers)), steps, average)
    return functional_judge(D, params, buffers)
