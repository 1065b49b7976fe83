"""Kernel distance (KID, Bińkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.

Defaults follow torch-fidelity's KID: k(x, y) = (gamma x.y + coef0)^degree with gamma = 1/F, coef0 = 1,
degree 3, averaged over 100 subsets of 1,000 features drawn without replacement from each set.
"""
from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int, gamma: float, coef0: float) -> np.ndarray:
    base = gamma * (x @ y.T) + coef0
    out = base.copy()
    for _ in range(degree - 1):  # repeated products: numpy's general power is several times slower
        out *= base
    return out


def mmd2_unbiased(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    """Unbiased MMD^2 from kernel matrices: off-diagonal means of k_xx and k_yy minus twice the mean of k_xy."""
    m, n = len(k_xx), len(k_yy)
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())


def kernel_distance(real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                    degree: int = 3, gamma: float | None = None, coef0: float = 1.0,
                    seed: int = 0) -> tuple[float, float]:
    """Mean and std over `subsets` of the unbiased MMD^2 between random subsets of `real` and `fake` `[N, F]`."""
    x, y = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    size = min(subset_size, len(x), len(y))
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), size, replace=False)]
        b = y[rng.choice(len(y), size, replace=False)]
        values.append(mmd2_unbiased(polynomial_kernel(a, a, degree, gamma, coef0),
                                    polynomial_kernel(b, b, degree, gamma, coef0),
                                    polynomial_kernel(a, b, degree, gamma, coef0)))
    return float(np.mean(values)), float(np.std(values))
