"""Mode coverage of low-dimensional mixtures whose modes are known (PacGAN, Lin et al. 2018, section 5).

The protocol follows Unrolled GAN (Metz et al. 2016) as PacGAN's Table 1 reports it: each sample goes to its
nearest mode and is "high quality" when within 3 standard deviations of that mode's centre; a mode is
captured when at least one high-quality sample lands on it; and the reverse KL compares the histogram of
high-quality samples over the modes with the true, uniform, mode distribution. PacGAN scores 2,500 samples
per run and reports mean and standard error over runs (`summarise_over_seeds`); drawing the samples is the
caller's business.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial.distance import cdist

HQ_THRESHOLD = 3.0  # PacGAN / Unrolled GAN: high quality = within 3 std of the nearest mode


def _as_array(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def nearest_modes(samples: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index `[N]` of each sample's nearest centre and the Euclidean distance `[N]` to it.

    samples `[N, D]`, centres `[K, D]`.
    """
    distances = cdist(samples, centres)  # [N, K]
    nearest = distances.argmin(axis=1)
    return nearest, distances[np.arange(len(samples)), nearest]


def reverse_kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform) = sum_k p_k log(p_k / (1/K)) for the histogram p = counts / sum(counts), in nats.

    counts `[K]`. Empty modes contribute 0 (p log p -> 0). Collapse onto one mode gives log K. With no
    counts at all p is undefined; we return inf so that such a run ranks below every run with a histogram.
    """
    total = counts.sum()
    if total == 0:
        return math.inf
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * len(counts))))


def mode_coverage(samples: torch.Tensor | np.ndarray, centres: torch.Tensor | np.ndarray, std: float,
                  threshold: float = HQ_THRESHOLD) -> dict[str, float]:
    """Modes captured, high-quality share and reverse KL of `samples` `[N, D]` against modes `centres` `[K, D]`.

    `std` is the (isotropic) std of every mode; a sample is high quality when its distance to the nearest
    centre is at most `threshold * std`. Returns {"modes": captured count as a float, "high_quality": share
    of samples in [0, 1], "reverse_kl": `reverse_kl_to_uniform` of the high-quality samples' histogram, inf
    when none is high quality}. PacGAN uses N = 2,500.
    """
    samples, centres = _as_array(samples), _as_array(centres)
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"need samples [N, D] and centres [K, D], got {samples.shape} and {centres.shape}")
    if len(samples) == 0 or std <= 0:
        raise ValueError(f"need at least one sample and std > 0, got {len(samples)} samples and std={std}")
    nearest, distance = nearest_modes(samples, centres)
    good = distance <= threshold * std
    counts = np.bincount(nearest[good], minlength=len(centres))
    return {"modes": float(np.count_nonzero(counts)),
            "high_quality": float(good.mean()),
            "reverse_kl": reverse_kl_to_uniform(counts)}


def summarise_over_seeds(results: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Mean and standard error std / sqrt(n) (ddof=1) per key over n runs, as PacGAN's Table 1 reports.

    Every result must have the same keys. With one run the standard error is nan: one seed says nothing
    about the spread.
    """
    if not results:
        raise ValueError("summarise_over_seeds needs at least one result")
    keys = results[0].keys()
    if any(r.keys() != keys for r in results):
        raise ValueError(f"all results need the same keys, got {[sorted(r) for r in results]}")
    summary = {}
    for key in keys:
        values = np.array([r[key] for r in results], dtype=np.float64)
        se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
        summary[key] = (float(values.mean()), float(se))
    return summary
