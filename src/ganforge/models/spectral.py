"""Spectral normalisation (Miyato et al. 2018) with PyTorch's own parametrisation, and its sigma estimates.

Each convolution, linear and embedding weight W is used as W / sigma(W), sigma estimated by power iteration
(`torch.nn.utils.parametrizations.spectral_norm`; its u and v vectors are buffers, so they are saved in
checkpoints and carried on between steps). Every normalised layer then has spectral norm 1, and with
1-Lipschitz activations the whole network is 1-Lipschitz in its input, the bound the paper builds on.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def apply_spectral_norm(net: nn.Module, iterations: int = 1, embeddings: bool = False) -> nn.Module:
    """Normalise every conv, transposed conv and linear weight of `net` in place, and with `embeddings` the
    embeddings too (a projection D's class embedding, as Miyato & Koyama do; not a conditional batch norm's
    gains). Call it after the weights are initialised: initialising a parametrised weight would write to a
    computed tensor."""
    kinds = LAYERS + (nn.Embedding,) if embeddings else LAYERS
    for module in list(net.modules()):
        if isinstance(module, kinds) and not parametrize.is_parametrized(module, "weight"):
            spectral_norm(module, n_power_iterations=iterations)
    return net


def _spectral_norm_of(module: nn.Module) -> nn.Module | None:
    """The spectral-norm parametrisation of `module`'s weight, if it has one (its class is private to
    PyTorch, hence the name check)."""
    if not parametrize.is_parametrized(module, "weight"):
        return None
    return next((p for p in module.parametrizations.weight if type(p).__name__ == "_SpectralNorm"), None)


def is_normalised(module: nn.Module) -> bool:
    return _spectral_norm_of(module) is not None


@torch.no_grad()
def spectral_sigmas(net: nn.Module) -> dict[str, float]:
    """{layer name: sigma} for each normalised layer: the power-iteration estimate u^T W v of the largest
    singular value of its raw weight, the factor the layer's weight is divided by."""
    sigmas = {}
    for name, module in net.named_modules():
        norm = _spectral_norm_of(module)
        if norm is None:
            continue
        matrix = norm._reshape_weight_to_matrix(module.parametrizations.weight.original)
        sigmas[name] = float(torch.vdot(norm._u, matrix @ norm._v))
    return sigmas
