"""dcgan-features: the quick protocol end to end, its raw-pixel SVM against a direct scikit-learn fit, the
layer features against D's own forward pass, and the verdict rule."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.svm import LinearSVC

from ganforge.models.dcgan import DCGANDiscriminator
from ganforge.repro import DOES_NOT, QUICK, REPRODUCES, load_result
from ganforge.repro import dcgan_features as feats
from ganforge.repro.dcgan_common import fashion_mnist

from .conftest import assert_pngs, quick_fashion_run


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    return quick_fashion_run(tmp_path_factory, "dcgan-features")


def test_quick_run_writes_results_and_figures(quick_run):
    result = load_result(quick_run)
    assert result.name == "dcgan-features" and result.quick and result.verdict == QUICK
    assert_pngs(quick_run, result.figures)
    sets = json.loads((quick_run / "results.json").read_text())["extra"]["accuracy_per_draw"]
    assert set(sets) == {"10 per class", "all labels"}
    for by_feature in sets.values():
        assert set(by_feature) == {"trained D", "random D", "raw pixels", "classifier (ceiling)"}
        assert all(0.0 <= acc <= 100.0 for accs in by_feature.values() for acc in accs)
    # the supervised classifier's features are the ceiling: far above chance on every set
    assert min(sets["all labels"]["classifier (ceiling)"]) > 80.0
    # D's three conv layers (16, 32, 64 channels in the quick DCGAN), each pooled to 4x4
    assert result.extra["feature_dims"] == {"trained D": 112 * 16, "random D": 112 * 16, "raw pixels": 1024,
                                            "classifier (ceiling)": 128}


def test_raw_pixel_accuracy_matches_a_direct_linear_svc(quick_run):
    """The all-labels raw-pixel figure, recomputed: numpy standardisation, LinearSVC per C, best on validation."""
    result = load_result(quick_run)
    train, test = fashion_mnist("train"), fashion_mnist("test")
    splits = feats.make_splits(train, feats.QUICK)
    test_index = np.random.default_rng(1).permutation(len(test))[:feats.QUICK.test]
    x = train.samples.flatten(1).numpy().astype(np.float64) / 127.5 - 1.0
    pool_x, val_x = x[splits.pool], x[splits.validation]
    test_x = test.samples.flatten(1).numpy()[test_index].astype(np.float64) / 127.5 - 1.0
    mean, std = pool_x.mean(0), pool_x.std(0)
    std[std == 0] = 1.0
    pool_x, val_x, test_x = ((a - mean) / std for a in (pool_x, val_x, test_x))
    pool_y, val_y = train.labels[splits.pool].numpy(), train.labels[splits.validation].numpy()
    test_y = test.labels[test_index].numpy()
    scores = []
    for c in feats.QUICK.c_grid:
        model = LinearSVC(C=c, dual=True, max_iter=feats.MAX_ITER, random_state=0).fit(pool_x, pool_y)
        scores.append(((model.predict(val_x) == val_y).mean(), (model.predict(test_x) == test_y).mean(), c))
    best = max(scores, key=lambda s: s[0])  # first of equals: the smaller C, as the repro keeps
    reported = result.extra["accuracy_per_draw"]["all labels"]["raw pixels"][0]
    assert reported == pytest.approx(100.0 * best[1], abs=1e-9)
    assert result.extra["chosen_c"]["all labels"]["raw pixels"] == [best[2]]
    assert reported > 50.0  # ten classes: chance is 10%


def test_last_layer_features_equal_ds_own_body_output():
    torch.manual_seed(0)
    D = DCGANDiscriminator(resolution=32, channels=1, width=8).eval()
    x = torch.rand(5, 1, 32, 32) * 2 - 1
    features = feats.discriminator_features(D, x)
    assert features.shape == (5, (8 + 16 + 32) * 16)
    with torch.no_grad():
        body = D(x, full=True).features  # the last conv block's 4x4 map: pooling to 4x4 leaves it as is
        first = torch.nn.functional.leaky_relu(D.body[0](x), 0.2)
    np.testing.assert_allclose(features[:, -32 * 16:], body.numpy(), rtol=1e-6, atol=1e-6)
    # the first layer's 16x16 map max-pooled over 4x4 blocks
    np.testing.assert_allclose(features[:, :8 * 16], first.unflatten(2, (4, 4)).unflatten(4, (4, 4))
                               .amax(dim=(3, 5)).flatten(1).numpy(), rtol=1e-6, atol=1e-6)


def test_verdict_needs_a_win_beyond_the_spread_everywhere():
    def summary(trained, random, pixels, std=1.0):
        return {"100 per class": {"trained D": (trained, std), "random D": (random, std), "raw pixels": (pixels, std),
                                  "classifier (ceiling)": (95.0, 0.1)}}

    assert feats.verdict_of(summary(85.0, 82.0, 80.0))[0] == REPRODUCES
    verdict, failures = feats.verdict_of(summary(85.0, 84.5, 80.0))  # within the spread of random D
    assert verdict == DOES_NOT and "random D" in failures[0]
    assert feats.verdict_of({**summary(85.0, 82.0, 80.0), "all labels": {
        "trained D": (90.0, 0.0), "random D": (90.5, 0.0), "raw pixels": (80.0, 0.0)}})[0] == DOES_NOT
