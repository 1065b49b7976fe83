"""Each loss against values computed by hand from its formula with the math module."""
import math

import pytest
import torch

from ganforge.registry import LOSSES
import ganforge.losses  # noqa: F401

REAL = [0.0, 2.0, -0.5]
FAKE = [-1.0, 1.0, 0.25]


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def mean(values):
    return sum(values) / len(values)


def expected_d(name: str) -> float:
    if name in ("ns", "minimax"):
        return mean([-math.log(sigmoid(r)) for r in REAL]) + mean([-math.log(1 - sigmoid(f)) for f in FAKE])
    if name == "hinge":
        return mean([max(0.0, 1 - r) for r in REAL]) + mean([max(0.0, 1 + f) for f in FAKE])
    if name == "wasserstein":
        return mean(FAKE) - mean(REAL)
    if name == "lsgan":
        return mean([0.5 * (r - 1) ** 2 for r in REAL]) + mean([0.5 * f ** 2 for f in FAKE])
    if name == "rpgan":  # -log sigmoid(D(x_i) - D(G(z_i))) over pairs
        return mean([-math.log(sigmoid(r - f)) for r, f in zip(REAL, FAKE)])
    raise KeyError(name)


def expected_g(name: str) -> float:
    if name == "ns":
        return mean([-math.log(sigmoid(f)) for f in FAKE])
    if name == "minimax":
        return mean([math.log(1 - sigmoid(f)) for f in FAKE])
    if name in ("hinge", "wasserstein"):
        return -mean(FAKE)
    if name == "lsgan":
        return mean([0.5 * (f - 1) ** 2 for f in FAKE])
    if name == "rpgan":
        return mean([-math.log(sigmoid(f - r)) for r, f in zip(REAL, FAKE)])
    raise KeyError(name)


@pytest.mark.parametrize("name", ["ns", "minimax", "hinge", "wasserstein", "lsgan", "rpgan"])
def test_loss_matches_hand_computation(name):
    loss = LOSSES.get(name)
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    assert loss.d(real, fake).item() == pytest.approx(expected_d(name), rel=1e-12)
    g = loss.g(fake, real) if loss.paired else loss.g(fake)
    assert g.item() == pytest.approx(expected_g(name), rel=1e-12)


def test_every_registered_loss_has_a_hand_computation():
    for name in LOSSES.names():
        expected_d(name), expected_g(name)


def test_rpgan_is_symmetric_in_the_pair():
    """G's loss is D's with the roles of the pair swapped, and shifting both logits by a constant (which
    D's absolute scale cannot see) changes neither."""
    loss = LOSSES.get("rpgan")
    a, b = torch.randn(7, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    assert torch.allclose(loss.d(a, b), loss.g(a, b))
    assert torch.allclose(loss.d(a + 3.0, b + 3.0), loss.d(a, b))
    assert loss.d(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(math.log(2))


def test_minimax_saturates_where_non_saturating_does_not():
    """Goodfellow et al. 2014, section 3: when D confidently rejects samples (D(G(z)) ~ 0), the minimax
    generator gradient vanishes while the non-saturating one stays near -1 per logit."""
    confident_reject = torch.tensor([-10.0], requires_grad=True)
    LOSSES.get("minimax").g(confident_reject).backward()
    minimax_grad = confident_reject.grad.item()
    confident_reject.grad = None
    LOSSES.get("ns").g(confident_reject).backward()
    ns_grad = confident_reject.grad.item()
    assert abs(minimax_grad) < 1e-4
    assert ns_grad == pytest.approx(-1.0, abs=1e-4)


def test_bce_discriminator_loss_is_stable_for_extreme_logits():
    loss = LOSSES.get("ns").d(torch.tensor([200.0]), torch.tensor([-200.0]))
    assert torch.isfinite(loss) and loss.item() == pytest.approx(0.0, abs=1e-30)
