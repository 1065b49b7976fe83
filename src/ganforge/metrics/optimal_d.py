"""How far a learned 1-D discriminator is from the optimal one (Goodfellow et al. 2014, Proposition 1).

For a fixed generator the optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)). Both densities
are estimated from samples with Gaussian KDEs, so this checks the theory on the paper's 1-D toy problem
(its Figure 1), where densities can be estimated well; it does not scale to images.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from scipy.stats import gaussian_kde

PEAK_FRACTION = 0.01  # d_gap_max looks only where the mixture density exceeds 1% of its peak


def _as_points(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """`[N]` or `[N, 1]` -> float64 `[N]`."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim > 2 or (x.ndim == 2 and x.shape[1] != 1):
        raise ValueError(f"need 1-D samples [N] or [N, 1], got shape {x.shape}")
    return x.reshape(-1)


def _density(points: np.ndarray, grid: np.ndarray, bandwidth: float | None) -> np.ndarray:
    """KDE of `points` `[N]` evaluated on `grid` `[G]`: Scott's rule, or a kernel std of `bandwidth`."""
    # gaussian_kde's scalar bw_method is a factor on the data's std, so an absolute bandwidth is divided by it
    factor = None if bandwidth is None else bandwidth / points.std(ddof=1)
    return gaussian_kde(points, bw_method=factor)(grid)


def _ratio(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """p_data / (p_data + p_g), and 0.5 where both vanish: there D* is unconstrained (outside both supports)."""
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def optimal_discriminator(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray, grid: np.ndarray,
                          bandwidth: float | None = None) -> np.ndarray:
    """D*(x) `[G]` on `grid` `[G]` from real and generated samples (`[N]` or `[N, 1]`) via Gaussian KDEs.

    `bandwidth` is the kernel std in data units; None uses Scott's rule.
    """
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    return _ratio(_density(_as_points(real), grid, bandwidth), _density(_as_points(fake), grid, bandwidth))


def _probabilities(d_fn: Callable[[torch.Tensor], torch.Tensor | np.ndarray], grid: np.ndarray) -> np.ndarray:
    """D(x) `[G]` as float64 for x = grid as float32 `[G, 1]`; rejects outputs that are not probabilities."""
    with torch.no_grad():
        d = d_fn(torch.from_numpy(grid).float().unsqueeze(1))
    d = (d.detach().cpu().numpy() if isinstance(d, torch.Tensor) else np.asarray(d)).astype(np.float64)
    d = d.reshape(-1)
    if d.shape != grid.shape:
        raise ValueError(f"d_fn must return {len(grid)} probabilities for x [{len(grid)}, 1], got {d.shape}")
    if not np.all((d >= 0) & (d <= 1)):
        raise ValueError("d_fn must return probabilities in [0, 1] (apply the sigmoid to logits), "
                         f"got values in [{d.min():.3g}, {d.max():.3g}]")
    return d


def discriminator_gap(d_fn: Callable[[torch.Tensor], torch.Tensor | np.ndarray], real: torch.Tensor | np.ndarray,
                      fake: torch.Tensor | np.ndarray, points: int = 512,
                      bandwidth: float | None = None) -> dict[str, float]:
    """Mean and max |D(x) - D*(x)| on `points` grid points spanning the pooled real and generated samples.

    `d_fn` maps float32 x `[M, 1]` to probabilities D(x) `[M]` or `[M, 1]` (apply the sigmoid to logits
    first). "d_gap_mean" weights the grid by the mixture density (p_data + p_g) / 2, so regions without
    mass do not count; "d_gap_max" is the largest gap where the mixture exceeds 1% of its peak.
    """
    real, fake = _as_points(real), _as_points(fake)
    pooled = np.concatenate([real, fake])
    grid = np.linspace(pooled.min(), pooled.max(), points)
    d = _probabilities(d_fn, grid)
    p_data, p_g = _density(real, grid, bandwidth), _density(fake, grid, bandwidth)
    gap = np.abs(d - _ratio(p_data, p_g))
    mixture = (p_data + p_g) / 2
    return {"d_gap_mean": float(np.sum(gap * mixture) / np.sum(mixture)),
            "d_gap_max": float(gap[mixture > PEAK_FRACTION * mixture.max()].max())}
