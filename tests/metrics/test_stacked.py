import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.stacked import mode_index
from ganforge.errors import ConfigError
from ganforge.metrics import METRICS, default_metrics, evaluate
from ganforge.metrics.classifier import classify
from ganforge.metrics.context import tensor_sampler
from ganforge.metrics.stacked import SAMPLES, channel_classes, mode_histogram, mode_scores, stacked_modes

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")


def direct_kl_to_uniform(counts: np.ndarray) -> float:
    """sum_k p_k log(p_k / (1/1000)) over the modes that hold samples, written out."""
    p = counts / counts.sum()
    return sum(float(pk * math.log(pk * 1000)) for pk in p if pk > 0)


def test_all_thousand_modes_evenly_is_full_coverage_and_zero_kl():
    scores = mode_scores(np.repeat(np.arange(1000), 26))
    assert scores == {"stacked_modes": 1000.0, "stacked_kl": 0.0}


def test_one_mode_is_coverage_one_and_kl_log_1000():
    scores = mode_scores(np.full(26_000, 417))
    assert scores["stacked_modes"] == 1.0 and scores["stacked_kl"] == pytest.approx(math.log(1000), abs=1e-12)


def test_a_hand_made_histogram_against_the_formula_written_out():
    rng = np.random.default_rng(0)
    modes = np.concatenate([rng.integers(0, 300, 5000), np.full(2000, 999), rng.integers(500, 520, 700)])
    counts = mode_histogram(modes)
    scores = mode_scores(modes)
    assert scores["stacked_modes"] == len(set(modes.tolist()))
    assert scores["stacked_kl"] == pytest.approx(direct_kl_to_uniform(counts), rel=1e-12)
    with pytest.raises(ValueError, match="0..999"):
        mode_histogram(np.array([3, 1000]))


@pytest.fixture(scope="module")
def garments():
    """300 Fashion-MNIST test garments `[300, 1, 32, 32]` in [-1, 1], their true and predicted classes."""
    data = build_dataset(DataConfig(name="fashion-mnist", split="test"))
    images, labels = data.batch(torch.arange(300))
    return images, labels, classify(images)[1]


@needs_fashion
def test_each_channel_is_classified_alone_in_red_green_blue_order(garments):
    images, labels, predicted = garments
    stacked = torch.cat([images[0:100], images[100:200], images[200:300]], dim=1)  # [100, 3, 32, 32]
    classes = channel_classes(stacked, batch_size=64)
    assert torch.equal(classes, predicted.view(3, 100).T)
    assert torch.equal(mode_index(classes), 100 * predicted[:100] + 10 * predicted[100:200] + predicted[200:])
    # the classifier is about 92% right per garment, so about 0.92^3 = 0.78 of triples are named right
    assert (classes == labels.view(3, 100).T).all(dim=1).float().mean() > 0.65


@needs_fashion
def test_real_stacked_images_score_like_a_uniform_draw_of_the_same_size():
    """3,000 real test triples (fewer than PacGAN's 26,000, to keep the suite fast) against what an exactly
    uniform draw of 3,000 modes scores: the classifier's confusions may add a little KL, no more."""
    data = build_dataset(DataConfig(name="stacked-fashion-mnist", split="test", num_samples=3000, seed=1))
    real = stacked_modes(data.batch(torch.arange(len(data)))[0])
    draws = [mode_scores(np.random.default_rng(seed).integers(0, 1000, 3000)) for seed in range(5)]
    modes, kl = (np.mean([d[key] for d in draws]) for key in ("stacked_modes", "stacked_kl"))
    assert real["stacked_modes"] >= modes - 20  # a uniform draw of 3,000 covers 950 modes on average
    assert kl - 0.03 <= real["stacked_kl"] <= kl + 0.05  # and its KL is 0.18 (0.02 at 26,000)


def test_the_metric_is_registered_opt_in_and_only_for_three_channels():
    metric = METRICS.get("stacked_modes")
    assert metric.keys == ("stacked_modes", "stacked_kl") and metric.higher_is_better == {"stacked_modes"}
    assert metric.unfit((3, 32, 32)) == "" and "3 channels" in metric.unfit((1, 32, 32))
    assert "stacked_modes" not in default_metrics("image", shape=(3, 32, 32))


@needs_fashion
def test_evaluate_refuses_fewer_than_pacgans_26000_samples():
    data = DataConfig(name="stacked-fashion-mnist", num_samples=100)
    with pytest.raises(ConfigError, match=f"evaluate with n >= {SAMPLES}, got 500"):
        evaluate(tensor_sampler(torch.zeros(500, 3, 32, 32)), data, metrics="stacked_modes", n=500, cache_dir=None)
