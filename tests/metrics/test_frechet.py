import numpy as np
import pytest
from scipy import linalg

from ganforge.metrics.frechet import frechet_distance, frechet_distance_from_features, gaussian_statistics


def direct_fd(a, b):
    """FID's formula written out with numpy/scipy, independently of the module."""
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a.T), np.cov(b.T)
    root = linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def test_against_direct_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) * 0.5 + 1.0
    assert frechet_distance_from_features(a, b) == pytest.approx(direct_fd(a, b), rel=1e-9)


def test_closed_form_for_diagonal_covariances():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-12)


def test_identity_shift_symmetry_and_ordering():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2000, 8))
    shift = np.full(8, 0.5)
    assert abs(frechet_distance_from_features(a, a)) < 1e-6
    assert frechet_distance_from_features(a, a + shift) == pytest.approx((shift ** 2).sum(), rel=1e-6)
    b = rng.normal(size=(2000, 8)) * 1.5
    assert frechet_distance_from_features(a, b) == pytest.approx(frechet_distance_from_features(b, a), rel=1e-6)
    assert frechet_distance_from_features(a, a + 0.1) < frechet_distance_from_features(a, a + 1.0)


def test_statistics_are_float64_and_unbiased():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]], dtype=np.float32)
    mu, sigma = gaussian_statistics(x)
    assert mu.dtype == np.float64 and np.allclose(mu, [2.0, 4.0])
    assert sigma[0, 0] == pytest.approx(4.0) and sigma[0, 1] == pytest.approx(7.0)
