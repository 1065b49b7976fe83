"""The KDE estimate of D* = p_data / (p_data + p_g) against the analytic ratio of two Gaussians."""
import numpy as np
import pytest
import torch
from scipy.stats import norm

from ganforge.metrics.optimal_d import discriminator_gap, optimal_discriminator


@pytest.fixture(scope="module")
def gaussians() -> tuple[torch.Tensor, torch.Tensor]:
    """p_data = N(0, 1) and p_g = N(1, 1), 20,000 points each, shaped `[N, 1]` like 1-D GAN batches."""
    generator = torch.Generator().manual_seed(0)
    return torch.randn(20_000, 1, generator=generator), 1 + torch.randn(20_000, 1, generator=generator)


def analytic_d(x: torch.Tensor) -> torch.Tensor:
    """N(0,1) / (N(0,1) + N(1,1)): the log-ratio is -x^2/2 + (x-1)^2/2 = 1/2 - x."""
    return torch.sigmoid(0.5 - x)


def test_matches_the_analytic_ratio(gaussians):
    real, fake = gaussians
    grid = np.linspace(-1.5, 2.5, 81)
    expected = norm.pdf(grid) / (norm.pdf(grid) + norm.pdf(grid, loc=1))
    np.testing.assert_allclose(optimal_discriminator(real, fake, grid), expected, atol=0.05)


def test_fixed_bandwidth_is_the_kernel_std():
    real, fake, grid, h = np.array([0.0, 0.4, 1.0]), np.array([2.0, 3.0]), np.array([-0.5, 0.7, 1.5, 4.0]), 0.6
    p_data = norm.pdf(grid[:, None], loc=real, scale=h).mean(axis=1)
    p_g = norm.pdf(grid[:, None], loc=fake, scale=h).mean(axis=1)
    np.testing.assert_allclose(optimal_discriminator(real, fake, grid, bandwidth=h), p_data / (p_data + p_g),
                               rtol=1e-10)


def test_gap_orders_optimal_constant_and_reversed(gaussians):
    real, fake = gaussians
    optimal = discriminator_gap(analytic_d, real, fake)
    constant = discriminator_gap(lambda x: torch.full((len(x),), 0.5), real, fake)
    reversed_ = discriminator_gap(lambda x: 1 - analytic_d(x), real, fake)
    assert optimal["d_gap_mean"] < 0.05 and optimal["d_gap_max"] < 0.1
    assert constant["d_gap_mean"] > 0.15 and constant["d_gap_max"] > 0.3
    assert optimal["d_gap_mean"] < constant["d_gap_mean"] < reversed_["d_gap_mean"]
    assert optimal["d_gap_max"] < constant["d_gap_max"] < reversed_["d_gap_max"]


def test_gap_accepts_numpy_samples_and_outputs(gaussians):
    real, fake = (x.numpy().ravel() for x in gaussians)
    numpy_d = discriminator_gap(lambda x: analytic_d(x).numpy(), real, fake, points=128)
    torch_d = discriminator_gap(analytic_d, torch.from_numpy(real), torch.from_numpy(fake), points=128)
    assert numpy_d == pytest.approx(torch_d)


def test_logits_are_rejected(gaussians):
    real, fake = gaussians
    with pytest.raises(ValueError, match="sigmoid"):
        discriminator_gap(lambda x: 3 * x.squeeze(1), real, fake)
