"""Parzen-window log-likelihood against scipy's Gaussian densities and a brute-force bandwidth search."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from ganforge.metrics.parzen import parzen_evaluation, parzen_log_likelihood, select_bandwidth


def mixture_log_density(samples: np.ndarray, data: np.ndarray, sigma: float) -> np.ndarray:
    """log of the equal-weight mixture of N(s_i, sigma^2 I), one scipy density per sample, summed directly."""
    cov = sigma ** 2 * np.eye(samples.shape[1])
    densities = [multivariate_normal(mean=s, cov=cov).pdf(data) for s in samples]
    return np.log(np.mean(densities, axis=0))


def test_matches_scipy_mixture_on_tiny_data():
    rng = np.random.default_rng(0)
    samples, data = rng.uniform(size=(5, 4)), rng.uniform(size=(3, 4))
    for sigma in (0.2, 0.5, 1.0):
        ll = parzen_log_likelihood(samples, data, sigma)
        assert ll.shape == (3,)
        np.testing.assert_allclose(ll, mixture_log_density(samples, data, sigma), rtol=1e-10)


def test_flattens_image_shaped_tensors():
    rng = np.random.default_rng(1)
    samples, data = rng.uniform(size=(6, 1, 2, 2)), rng.uniform(size=(4, 1, 2, 2))
    ll = parzen_log_likelihood(torch.tensor(samples, dtype=torch.float32), torch.tensor(data), 0.3)
    expected = mixture_log_density(samples.reshape(6, 4).astype(np.float32), data.reshape(4, 4), 0.3)
    np.testing.assert_allclose(ll, expected, rtol=1e-6)


def test_far_points_do_not_underflow():
    """exp(-||x - s||^2 / 2 sigma^2) underflows to 0 here; the logsumexp keeps the exact value."""
    ll = parzen_log_likelihood(np.zeros((1, 2)), np.full((1, 2), 10.0), 0.1)
    assert ll[0] == pytest.approx(-200.0 / (2 * 0.01) - math.log(2 * math.pi * 0.01))


def test_batch_size_independence():
    rng = np.random.default_rng(2)
    samples, data = rng.uniform(size=(37, 10)), rng.uniform(size=(23, 10))
    reference = parzen_log_likelihood(samples, data, 0.25, batch_size=1000)
    for batch_size in (1, 4, 7):
        np.testing.assert_allclose(parzen_log_likelihood(samples, data, 0.25, batch_size=batch_size),
                                   reference, rtol=1e-12)


def test_bandwidth_is_the_brute_force_maximiser():
    rng = np.random.default_rng(3)
    samples, validation = 0.3 * rng.normal(size=(200, 2)), 0.3 * rng.normal(size=(300, 2))
    sigmas = np.logspace(-1.5, 0.5, 30)  # from 0.03: smaller ones underflow scipy's densities
    scores = [mixture_log_density(samples, validation, s).mean() for s in sigmas]
    chosen = select_bandwidth(samples, validation, sigmas, batch_size=64)
    assert chosen == sigmas[int(np.argmax(scores))]
    silverman = 0.3 * len(samples) ** (-1 / 6)  # the normal-reference bandwidth in 2-D, about 0.125
    assert silverman / 2 < chosen < silverman * 2


def test_evaluation_reports_mean_and_standard_error():
    rng = np.random.default_rng(4)
    samples, validation, test = (rng.uniform(size=(n, 8)) for n in (50, 40, 30))
    result = parzen_evaluation(samples, validation, test)
    sigma = result["parzen_sigma"]
    assert sigma == select_bandwidth(samples, validation) and sigma in np.logspace(-1, 0, 10)
    ll = mixture_log_density(samples, test, sigma)
    assert result["parzen_ll"] == pytest.approx(ll.mean(), rel=1e-9)
    assert result["parzen_se"] == pytest.approx(ll.std() / math.sqrt(30), rel=1e-9)


def test_mismatched_features_are_rejected():
    with pytest.raises(ValueError, match="features"):
        parzen_log_likelihood(np.zeros((3, 4)), np.zeros((2, 5)), 0.1)
