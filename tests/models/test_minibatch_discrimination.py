"""Minibatch discrimination (Salimans et al. 2016, section 3.2) against its definition, and what issue 20's
question about it found: why the `tips` run's minibatch discrimination collapsed recall to 0.04.

The layer is the paper's: M_i = f(x_i) T, o(x_i)_b = sum over the other samples j of exp(-|M_i,b - M_j,b|_1),
[f, o] to the next layer, real and generated batches judged apart. The tests below pin the findings on how
it starts in the DCGAN discriminator (see repro/tips.py's docstring for the runs behind them)."""
from __future__ import annotations

import math

import pytest
import torch

from ganforge.config import load_config
from ganforge.models import build_models
from ganforge.models.layers import MinibatchDiscrimination
from ganforge.repro.common import bundled


def by_definition(f: torch.Tensor, T: torch.Tensor, kernels: int, dim: int) -> torch.Tensor:
    """o `[N, B]` by the paper's sums, one pair at a time, without the constant j = i term."""
    M = (f @ T).view(len(f), kernels, dim)
    o = torch.zeros(len(f), kernels, dtype=f.dtype)
    for i in range(len(f)):
        for j in range(len(f)):
            if i != j:
                o[i] += torch.exp(-(M[i] - M[j]).abs().sum(1))
    return o


def test_layer_is_the_papers_definition():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=7, kernels=4, kernel_dim=3).double()
    with torch.no_grad():
        layer.T.mul_(20)                      # distances of order 1, so every term counts
    f = torch.randn(6, 7, dtype=torch.float64)
    out = layer(f)
    assert torch.equal(out[:, :7], f)
    assert torch.allclose(out[:, 7:], by_definition(f, layer.T.detach(), 4, 3), atol=1e-12)
    # each sample is judged within its own batch only: a batch of its own copies scores n - 1 on every kernel
    same = layer(f[:1].repeat(5, 1))[:, 7:]
    assert torch.allclose(same, torch.full_like(same, 4.0))


def test_gradient_flows_through_the_closeness_to_the_features():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(5, 3, 2)
    with torch.no_grad():
        layer.T.mul_(20)
    f = torch.randn(4, 5, requires_grad=True)
    layer(f)[:, 5:].sum().backward()
    assert f.grad.abs().sum() > 0 and layer.T.grad.abs().sum() > 0


def _dcgan_d(norm: str, seed: int):
    torch.manual_seed(seed)
    config = load_config(bundled("dcgan_fashion"), ["model.mbd_kernels=32", f"model.d_norm={norm}"])
    return build_models(config.model, (1, 32, 32))[1].train()


def _closeness(D, x: torch.Tensor) -> float:
    with torch.no_grad():
        return D.mbd(D.body(x).flatten(1))[:, -D.mbd_kernels:].mean().item()


@pytest.mark.parametrize("seed", [0, 1])
def test_init_scale_sees_collapse_only_behind_batch_norm(seed):
    """T ~ N(0, 0.02^2) whatever the scale of the features it reads. Behind the DCGAN D's batch norm the
    features have unit scale, nearest neighbours sit at an L1 distance of order 1 (the released code sets 2
    from data) and a collapsed batch scores far closer than a diverse one. Without batch norm the features are
    small, every pair looks alike, o sits near its ceiling of n - 1 = 63 for any batch: the layer starts blind,
    yet trains from there (repro/tips.py: without batch norm it was the one variant that worked).
    """
    g = torch.Generator().manual_seed(seed)
    diverse = torch.rand(64, 1, 32, 32, generator=g) * 2 - 1
    collapsed = (diverse[:1] + 0.03 * torch.randn(64, 1, 32, 32, generator=g)).clamp(-1, 1)
    bn = _dcgan_d("batch", seed)
    assert _closeness(bn, diverse) < 10 < 40 < _closeness(bn, collapsed)
    plain = _dcgan_d("none", seed)
    low, high = _closeness(plain, diverse), _closeness(plain, collapsed)
    assert 55 < low < high < 63 and math.isclose(low, high, rel_tol=0.1)


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_batches_read_closer_than_the_untrained_generators(seed):
    """Part of the finding on `tips`' collapsed recall: at the start a batch of real Fashion-MNIST images
    scores about 1.5 times the closeness o of a batch of the untrained G in the DCGAN D (3.0 against 2.0 on
    seeds 0-4), so a D that tells them apart by o scores closeness as realness and pulls G's samples
    together: the pressure starts towards the collapse the layer is meant to expose."""
    import os

    if not os.path.isdir(FASHION):
        pytest.skip(f"Fashion-MNIST is not installed at {FASHION}")
    from ganforge.data import build_dataset

    config = load_config(bundled("dcgan_fashion"), ["model.mbd_kernels=32"])
    data = build_dataset(config.data)
    torch.manual_seed(seed)
    G, D, _ = build_models(config.model, (1, 32, 32))
    real = data.samples[torch.randperm(len(data))[:64]].float() / 127.5 - 1
    with torch.no_grad():
        fake = G.train()(torch.randn(64, G.z_dim))
    assert _closeness(D.train(), real) > 1.2 * _closeness(D, fake)
