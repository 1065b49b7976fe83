"""MSGAN's mode-seeking term (`loss.mode_seeking`): its value against the formula, the paired labels it needs,
its place in G's loss, and the batches it refuses. Distributed equivalence is in test_distributed."""
import numpy as np
import pytest
import torch

from ganforge.checks import check_config
from ganforge.config import LossConfig, make_config
from ganforge.data import build_dataset
from ganforge.engine.distributed import World
from ganforge.engine.objective import Objective
from ganforge.engine.stats import Stats
from ganforge.engine.training import Training
from ganforge.errors import ConfigError
from ganforge.losses import mode_seeking_loss
from ganforge.registry import LOSSES

from ..runs import image_overrides

CONDITIONAL = ["model.g_label=concat", "model.d_label=projection"]


def test_term_is_one_over_the_ratio_of_mean_pair_distances():
    rng = np.random.default_rng(0)
    fake, z = rng.normal(size=(6, 1, 2, 2)), rng.normal(size=(6, 3))
    d_img = np.mean([np.abs(fake[i] - fake[i + 1]).mean() for i in (0, 2, 4)])
    d_z = np.mean([np.abs(z[i] - z[i + 1]).mean() for i in (0, 2, 4)])
    got = mode_seeking_loss(torch.tensor(fake), torch.tensor(z))
    assert got.item() == pytest.approx(1 / (d_img / d_z + 1e-5), rel=1e-12)


def test_term_pushes_paired_samples_apart():
    fake = torch.tensor([[0.0], [1.0], [2.0], [2.5]], requires_grad=True)
    mode_seeking_loss(fake, torch.randn(4, 5)).backward()
    step = -fake.grad.flatten()  # the direction a gradient step moves each sample
    assert step[0] < 0 < step[1] and step[2] < 0 < step[3]


def test_pairs_share_a_label_and_the_term_joins_gs_loss(tiny_images, tmp_path):
    config = make_config({}, image_overrides(tiny_images, tmp_path) + CONDITIONAL + ["loss.mode_seeking=2"])
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    batch = training.draw(16, grad=True)
    assert torch.equal(batch.fake_y[0::2], batch.fake_y[1::2])
    assert len(set(batch.fake_y.tolist())) > 1  # pairs differ from one another
    adversarial = Objective(LOSSES.get("ns"), LossConfig(), Stats()).generator_loss(training.D, batch.fake,
                                                                                    batch.fake_y)
    term = mode_seeking_loss(batch.fake, batch.z)
    assert training.g_main(batch).item() == pytest.approx((adversarial + 2 * term).item(), rel=1e-6)


@pytest.mark.parametrize("overrides, world, message", [
    (["train.batch_size=15"], 1, r"train.batch_size \(15\) must be even"),
    (["train.batch_size=6"], 2, r"each of the 2 processes .*train.batch_size \(3\) must be even"),
])
def test_odd_batches_are_refused(tiny_images, tmp_path, overrides, world, message):
    config = make_config({}, image_overrides(tiny_images, tmp_path) + ["loss.mode_seeking=1"] + overrides)
    with pytest.raises(ConfigError, match=message):
        Training(config, build_dataset(config.data), torch.device("cpu"), World(rank=0, size=world))


def test_negative_weight_is_refused(tiny_images, tmp_path):
    with pytest.raises(ConfigError, match="loss.mode_seeking must be >= 0"):
        check_config(make_config({}, image_overrides(tiny_images, tmp_path) + ["loss.mode_seeking=-1"]))
