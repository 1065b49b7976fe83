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
        if isinstance(module, kinds) and not is_normalised(module):
            if not module.weight.any():  # a zero-initialised layer (fix-up, r3gan) has sigma 0 and W / sigma is
                module.reset_parameters()  # 0/0; SN keeps only W's direction, so any nonzero draw will do
            spectral_norm(module, n_power_iterations=iterations)
            module.spectral_normalised = True  # PyTorch's parametrisation class is private: mark it ourselves
    return net


def is_normalised(module: nn.Module) -> bool:
    return getattr(module, "spectral_normalised", False)


@torch.no_grad()
def layer_sigma(module: nn.Module) -> float:
    """The sigma a normalised layer currently divides its raw weight by, through public attributes only:
    the weight in eval mode is W / sigma for the stored u, v (no power iteration is run there), so sigma is
    the ratio of the raw and normalised weights' norms. The layer's mode and u, v are left as they were."""
    was_training = module.training
    module.eval()
    try:
        normalised = module.weight
    finally:
        module.train(was_training)
    return float(module.parametrizations.weight.original.norm() / normalised.norm())


def spectral_sigmas(net: nn.Module) -> dict[str, float]:
    """{layer name: sigma} for each normalised layer: the power-iteration estimate of the largest singular
    value of its raw weight, the factor the layer's weight is divided by."""
    return {name: layer_sigma(module) for name, module in net.named_modules() if is_normalised(module)}
