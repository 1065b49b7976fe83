"""Unrolled GAN: the look-ahead is Adam's update, and G's gradient goes through it (checked numerically)."""
import copy

import pytest
import torch

from ganforge.config import LossConfig, ModelConfig
from ganforge.engine.objective import Objective, judge
from ganforge.engine.stats import Stats
from ganforge.engine.unrolled import lookahead, unrolled_judge
from ganforge.losses import LOSSES
from ganforge.models import build_models


def setup(dtype=torch.float32):
    torch.manual_seed(0)
    G, D, _ = build_models(ModelConfig(name="mlp", z_dim=2, g_channels=6, d_channels=6, depth=1), (2,))
    G, D = G.to(dtype), D.to(dtype)
    obj = Objective(LOSSES.get("ns"), LossConfig(), Stats())
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.999))
    real, z = torch.randn(8, 2, dtype=dtype), torch.randn(8, 2, dtype=dtype)
    for _ in range(3):  # give Adam some history, as in training
        opt.zero_grad()
        obj.discriminator_loss(D, real, None, G(z), None).backward()
        opt.step()
    return G, D, obj, opt, real, z


def test_lookahead_parameters_equal_adams_own_updates():
    G, D, obj, opt, real, z = setup()
    fake = G(z).detach()
    params = lookahead(D, opt, lambda p: obj.d_terms(
        lambda x, y: torch.func.functional_call(D, p, (x,), {"y": y, "full": True}), real, None, fake, None)[0], 4)
    D2 = copy.deepcopy(D)
    opt2 = torch.optim.Adam(D2.parameters(), lr=0.05, betas=(0.5, 0.999))
    opt2.load_state_dict(opt.state_dict())
    for _ in range(4):
        opt2.zero_grad()
        obj.d_terms(judge(D2), real, None, fake, None)[0].backward()
        opt2.step()
    for name, p in D2.named_parameters():
        torch.testing.assert_close(params[name], p, atol=1e-6, rtol=1e-5)


def g_gradient(G, D, obj, opt, real, z, steps):
    G.zero_grad()
    fake = G(z)
    if steps:
        j = unrolled_judge(D, opt, lambda jj: obj.d_terms(jj, real, None, fake, None)[0], steps)
    else:
        j = judge(D)
    obj.generator_loss(j, fake, None).backward(inputs=list(G.parameters()))
    return torch.cat([p.grad.flatten() for p in G.parameters()])


def test_unrolled_gradient_differs_from_the_plain_one():
    G, D, obj, opt, real, z = setup()
    plain = g_gradient(G, D, obj, opt, real, z, 0)
    unrolled = g_gradient(G, D, obj, opt, real, z, 5)
    assert (plain - unrolled).norm() > 0.05 * plain.norm()


def test_unrolled_gradient_matches_finite_differences_of_the_surrogate_loss():
    """d/dphi of L(phi) = G-loss under D's parameters after k look-ahead steps on G_phi's samples."""
    G, D, obj, opt, real, z = setup(torch.float64)
    grad = g_gradient(G, D, obj, opt, real, z, 3)

    def surrogate() -> float:
        fake = G(z)
        j = unrolled_judge(D, opt, lambda jj: obj.d_terms(jj, real, None, fake, None)[0], 3)
        return obj.generator_loss(j, fake, None).item()

    params = list(G.parameters())
    numeric = []
    with torch.no_grad():
        for p in params:
            for i in range(p.numel()):
                original = p.view(-1)[i].item()
                p.view(-1)[i] = original + 1e-6
                with torch.enable_grad():
                    up = surrogate()
                p.view(-1)[i] = original - 1e-6
                with torch.enable_grad():
                    down = surrogate()
                p.view(-1)[i] = original
                numeric.append((up - down) / 2e-6)
    torch.testing.assert_close(grad, torch.tensor(numeric, dtype=torch.float64), atol=1e-6, rtol=1e-4)


def test_discriminator_is_left_unchanged_by_the_lookahead():
    G, D, obj, opt, real, z = setup()
    before = {k: v.clone() for k, v in D.state_dict().items()}
    D.zero_grad(set_to_none=True)
    g_gradient(G, D, obj, opt, real, z, 3)
    for k, v in D.state_dict().items():
        assert torch.equal(v, before[k])
    assert all(p.grad is None for p in D.parameters())  # only G's gradients are computed
