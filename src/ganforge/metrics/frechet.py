"""Fréchet distance between Gaussians fitted to two feature sets (the formula of FID, Heusel et al. 2017)."""
from __future__ import annotations

import numpy as np
from scipy import linalg

EPS = 1e-6  # added to both covariances when their product is singular, as the reference TTUR code does


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean `[F]` and unbiased covariance `[F, F]` of features `[N, F]`, in float64."""
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    The matrix square root may carry a tiny imaginary part from rounding, which is dropped; a significant
    one raises ValueError. The value is returned as computed: rounding can make it slightly negative
    (about -1e-10) for identical sets.
    """
    diff = mu1 - mu2
    root = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(root).all():
        offset = np.eye(len(sigma1)) * EPS
        root = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(root):
        if np.abs(root.imag).max() > 1e-3:
            raise ValueError(f"covariance square root has an imaginary part of {np.abs(root.imag).max():.3g}")
        root = root.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root))


def frechet_distance_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance(*gaussian_statistics(real), *gaussian_statistics(fake))
