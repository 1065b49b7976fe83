"""Improved precision and recall (Kynkäänniemi et al. 2019) with k-nearest-neighbour manifolds.

Each set's manifold is the union of balls around its features, with radius the distance to the k-th
nearest other feature of the same set (k = 3 in the paper). Precision is the share of generated features
inside the real manifold (quality); recall the share of real features inside the generated one (coverage).
"""
from __future__ import annotations

import numpy as np
import torch


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances `[len(a), len(b)]` by the ||a||^2 + ||b||^2 - 2ab expansion (clamped at 0)."""
    squared = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T
    return squared.clamp_min_(0).sqrt_()


def knn_radii(features: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance of each feature to its k-th nearest other feature `[N]` (itself, at distance 0, excluded)."""
    return torch.cat([_distances(block, features).kthvalue(k + 1, dim=1).values
                      for block in features.split(chunk)])


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> float:
    """Share of `points` within radius of at least one centre."""
    hits = [(_distances(block, centres) <= radii).any(dim=1) for block in points.split(chunk)]
    return torch.cat(hits).double().mean().item()


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """(precision, recall) of features `fake` `[M, F]` against `real` `[N, F]`, computed in float64 in
    row blocks of `chunk` (the result does not depend on it)."""
    r = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    f = torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    precision = _inside(f, r, knn_radii(r, k, chunk), chunk)
    recall = _inside(r, f, knn_radii(f, k, chunk), chunk)
    return precision, recall
