import numpy as np
import pytest

from ganforge.metrics.kernel import kernel_distance, mmd2_unbiased, polynomial_kernel


def loop_mmd2(x, y):
    """The unbiased MMD^2 estimator written term by term (Gretton et al. 2012, eq. 3)."""
    k = lambda a, b: (a @ b / len(a) + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_estimator_against_its_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(9, 3)) + 0.3
    gamma = 1 / 3
    value = mmd2_unbiased(polynomial_kernel(x, x, 3, gamma, 1.0), polynomial_kernel(y, y, 3, gamma, 1.0),
                          polynomial_kernel(x, y, 3, gamma, 1.0))
    assert value == pytest.approx(loop_mmd2(x, y), rel=1e-10)


def test_one_full_subset_is_the_full_estimate():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 4)), rng.normal(size=(12, 4)) * 2
    mean, std = kernel_distance(x, y, subsets=1, subset_size=12)
    assert mean == pytest.approx(loop_mmd2(x, y), rel=1e-10) and std == 0.0


def test_same_versus_shifted_and_reproducible():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    same, same_std = kernel_distance(a, b, subsets=20, subset_size=500)
    shifted, _ = kernel_distance(a, b + 0.5, subsets=20, subset_size=500)
    assert abs(same) < 3 * same_std + 1e-3 and shifted > 10 * max(abs(same), same_std)
    assert kernel_distance(a, b, subsets=5, subset_size=100, seed=3) == kernel_distance(a, b, subsets=5,
                                                                                        subset_size=100, seed=3)
