import numpy as np
import pytest
import torch
from torch import nn

from ganforge.regularisers import clip_weights, gradient_penalty, r1_penalty


def _linear_critic(w: torch.Tensor):
    """critic(x) = <x, w>: its input gradient is w everywhere, so the penalties have closed forms."""
    return lambda x: x.flatten(1) @ w


def test_gradient_penalty_of_a_linear_critic_is_norm_minus_one_squared():
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])  # ||w|| = 5
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    assert gradient_penalty(_linear_critic(w), real, fake).item() == pytest.approx(16.0)
    assert r1_penalty(_linear_critic(w), real).item() == pytest.approx(25.0)


def test_gradient_penalty_is_taken_at_interpolates_and_matches_numpy():
    """A quadratic critic x -> sum(x^2) has gradient 2x; check against numpy at the same interpolates."""
    torch.manual_seed(0)
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    critic = lambda x: x.pow(2).sum(1)  # noqa: E731
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(5))
    e = torch.rand((6, 1), generator=torch.Generator().manual_seed(5)).numpy()
    x_hat = e * real.numpy() + (1 - e) * fake.numpy()
    expected = ((np.linalg.norm(2 * x_hat, axis=1) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected, rel=1e-5)
    r1 = r1_penalty(critic, real)
    assert r1.item() == pytest.approx((np.linalg.norm(2 * real.numpy(), axis=1) ** 2).mean(), rel=1e-5)


def test_penalty_is_differentiable_with_respect_to_the_critic_weights():
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    gp = gradient_penalty(_linear_critic(w), torch.randn(4, 2), torch.randn(4, 2))
    gp.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(w.grad, 2 * 4 * torch.tensor([3.0, 4.0]) / 5)


def test_packed_logits_take_the_gradient_norm_over_their_group():
    w = torch.tensor([1.0, 0.0])
    critic = lambda x: (x @ w).view(-1, 2).sum(1)  # noqa: E731  (pack of 2: a logit per pair)
    # each logit's gradient has norm sqrt(2) over its two samples
    assert r1_penalty(critic, torch.randn(8, 2)).item() == pytest.approx(2.0)


def test_clip_weights_clamps_every_parameter():
    net = nn.Linear(3, 3)
    with torch.no_grad():
        net.weight.mul_(100)
    clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
    assert (net.weight.abs() == 0.01).any()


def test_r2_of_a_linear_critic_is_the_squared_weight_norm_and_gives_the_samples_no_gradient():
    from ganforge.regularisers import r2_penalty

    w = torch.tensor([3.0, 4.0, 0.0, 0.0], requires_grad=True)
    fake = torch.randn(8, 1, 2, 2, requires_grad=True)
    r2 = r2_penalty(_linear_critic(w), fake)
    assert r2.item() == pytest.approx(25.0)
    r2.backward()
    assert fake.grad is None  # G is not pushed by D's regulariser
    assert torch.allclose(w.grad, 2 * w.detach())  # d/dw ||w||^2


def test_r1_and_r2_are_added_at_gamma_over_two_on_their_own_batches(tmp_path):
    """The objective's penalty with reg.r1 and reg.r2 against the two hand-computed terms."""
    from ganforge.config import RegConfig
    from ganforge.engine.objective import Objective
    from ganforge.engine.stats import Stats
    from ganforge.losses import GanLoss, relativistic_d_loss, relativistic_g_loss
    from ganforge.config import LossConfig

    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    D = lambda x, y=None: critic(x).squeeze(1)  # noqa: E731
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    objective = Objective(GanLoss(relativistic_d_loss, relativistic_g_loss, "test", paired=True), LossConfig(),
                          Stats(), RegConfig(r1=2.0, r2=6.0, every=3))

    def squared_norms(x):
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x).sum(), x)
        return grad.pow(2).sum(1).mean()

    expected = 3 * (2.0 / 2 * squared_norms(real) + 6.0 / 2 * squared_norms(fake))
    assert objective.penalty(D, real, None, fake).item() == pytest.approx(expected.item(), rel=1e-5)
