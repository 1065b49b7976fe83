"""PacGAN's mode coverage on hand-placed samples, against counts and KLs worked out with the math module."""
import math
import statistics

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.toy import mode_centres, mode_std
from ganforge.metrics.modes import mode_coverage, summarise_over_seeds

RING_STD = 0.01
RING = np.array([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])
GRID_STD = 0.05
GRID = np.array([[x, y] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=float)


def at_modes(centres: np.ndarray, counts: list[int]) -> np.ndarray:
    return np.concatenate([np.repeat(centres[k:k + 1], c, axis=0) for k, c in enumerate(counts)])


def test_all_modes_hit_exactly():
    result = mode_coverage(at_modes(RING, [5] * 8), RING, RING_STD)
    assert result == {"modes": 8.0, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_collapse_onto_one_mode_gives_log_k():
    result = mode_coverage(np.repeat(RING[3:4], 40, axis=0), RING, RING_STD)
    assert result["modes"] == 1.0 and result["high_quality"] == 1.0
    assert result["reverse_kl"] == pytest.approx(math.log(8))


@pytest.mark.parametrize("stds, counted", [(2.9, True), (3.1, False)])
def test_three_std_threshold(stds, counted):
    angle = 0.3  # any direction: the threshold is on the Euclidean distance
    sample = RING[2] + stds * RING_STD * np.array([math.cos(angle), math.sin(angle)])
    result = mode_coverage(sample[None], RING, RING_STD)
    assert result["modes"] == (1.0 if counted else 0.0)
    assert result["high_quality"] == (1.0 if counted else 0.0)
    assert result["reverse_kl"] == (pytest.approx(math.log(8)) if counted else math.inf)


def test_far_samples_lower_the_high_quality_share_only():
    far = np.zeros((16, 2))  # the ring's centre: 100 std from every mode
    result = mode_coverage(np.concatenate([at_modes(RING, [2] * 8), far]), RING, RING_STD)
    assert result == {"modes": 8.0, "high_quality": 0.5, "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_reverse_kl_of_a_hand_histogram():
    counts = [3, 1, 0, 0, 2, 0, 0, 2]
    samples = np.concatenate([at_modes(RING, counts), np.full((8, 2), 5.0)])
    expected = sum(c / 8 * math.log((c / 8) / (1 / 8)) for c in counts if c)
    result = mode_coverage(torch.tensor(samples, dtype=torch.float32), torch.tensor(RING), RING_STD)
    assert result["modes"] == 4.0 and result["high_quality"] == 0.5
    assert result["reverse_kl"] == pytest.approx(expected, rel=1e-6)


def test_grid_of_25_modes():
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(25, 2))
    jitter = 2.5 * GRID_STD * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    assert mode_coverage(GRID + jitter, GRID, GRID_STD) == {
        "modes": 25.0, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    collapsed = mode_coverage(at_modes(GRID, [0, 4, 0, 0, 0, 0, 0, 4] + [0] * 16 + [4]), GRID, GRID_STD)
    assert collapsed["modes"] == 3.0
    assert collapsed["reverse_kl"] == pytest.approx(math.log(25 / 3))


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_real_toy_data_is_high_quality_at_the_chi_rate(name):
    """For 2-D isotropic Gaussians P(|x - mu| <= 3 std) = 1 - exp(-9/2) = 0.9889 (chi with 2 dof)."""
    config = DataConfig(name=name, num_samples=20_000)
    result = mode_coverage(build_dataset(config).samples, mode_centres(config), mode_std(config))
    assert result["modes"] == len(mode_centres(config))
    assert result["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert result["reverse_kl"] < 0.01


def test_summarise_over_seeds_mean_and_standard_error():
    runs = [{"modes": 8.0, "reverse_kl": 0.1}, {"modes": 7.0, "reverse_kl": 0.3},
            {"modes": 6.0, "reverse_kl": 0.8}]
    summary = summarise_over_seeds(runs)
    for key in ("modes", "reverse_kl"):
        values = [r[key] for r in runs]
        mean, se = summary[key]
        assert mean == pytest.approx(statistics.mean(values))
        assert se == pytest.approx(statistics.stdev(values) / math.sqrt(3))


def test_summarise_one_seed_has_nan_standard_error():
    mean, se = summarise_over_seeds([{"modes": 8.0}])["modes"]
    assert mean == 8.0 and math.isnan(se)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="same keys"):
        summarise_over_seeds([{"modes": 8.0}, {"reverse_kl": 0.0}])
    with pytest.raises(ValueError, match=r"\[K, D\]"):
        mode_coverage(np.zeros((4, 3)), RING, RING_STD)
