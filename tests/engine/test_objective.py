"""The loss terms of the tricks, each against a hand computation."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganforge.checks import check_config, config_warnings
from ganforge.config import LossConfig, ModelConfig, make_config
from ganforge.engine.objective import Objective
from ganforge.engine.stats import Stats
from ganforge.errors import ConfigError
from ganforge.losses import LOSSES
from ganforge.models import build_models


def objective(**options) -> Objective:
    config = LossConfig(**options)
    return Objective(LOSSES.get(config.name), config, Stats())


def mlp(**options):
    torch.manual_seed(0)
    config = ModelConfig(name="mlp", z_dim=2, g_channels=8, d_channels=8, depth=2, **options)
    return build_models(config, (2,), num_classes=3)


def test_one_sided_label_smoothing_targets_point_nine_for_real_and_zero_for_fake():
    obj = objective(real_label=0.9)
    real, fake = torch.tensor([0.3, -1.2]), torch.tensor([0.5, 2.0])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    expected = np.mean([-(0.9 * math.log(sig(r)) + 0.1 * math.log(1 - sig(r))) for r in real.tolist()]) + \
        np.mean([-math.log(1 - sig(f)) for f in fake.tolist()])
    assert obj.adversarial_d(real, fake).item() == pytest.approx(expected, rel=1e-6)
    # D's best logit on real data is now logit(0.9): the smoothed loss is flat there, the plain one is not
    logit = torch.tensor([math.log(9.0)], requires_grad=True)
    obj.adversarial_d(logit, torch.tensor([-50.0])).backward()
    assert abs(logit.grad.item()) < 1e-6
    logit.grad = None
    objective().adversarial_d(logit, torch.tensor([-50.0])).backward()
    assert logit.grad.item() < -0.05


def test_feature_matching_is_the_squared_distance_of_mean_features():
    _, D, _ = mlp()
    obj = objective(feature_matching=True)
    real, fake = torch.randn(16, 2), torch.randn(16, 2) + 1
    expected = (D.body(fake).mean(0) - D.body(real).mean(0)).pow(2).sum()
    torch.testing.assert_close(obj.generator_loss(D, fake, None, real, None), expected)


def test_acgan_losses_add_the_class_cross_entropies():
    _, D, _ = mlp(g_label="concat", d_label="acgan")
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    real_y, fake_y = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([2, 2, 1, 1, 0, 0])
    obj = objective(aux_weight=0.5)
    r, f = D(real, None, full=True), D(fake, None, full=True)
    expected_d = (F.softplus(-r.logits).mean() + F.softplus(f.logits).mean()
                  + 0.5 * (F.cross_entropy(r.class_logits, real_y) + F.cross_entropy(f.class_logits, fake_y)))
    torch.testing.assert_close(obj.discriminator_loss(D, real, real_y, fake, fake_y), expected_d)
    expected_g = F.softplus(-f.logits).mean() + 0.5 * F.cross_entropy(f.class_logits, fake_y)
    torch.testing.assert_close(obj.generator_loss(D, fake, fake_y), expected_g)


def test_k_plus_one_discriminator_loss():
    _, D, _ = mlp(d_label="classes")
    real, fake, real_y = torch.randn(6, 2), torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    r, f = D(real, None, full=True), D(fake, None, full=True)
    # unsupervised part: real vs the implicit fake class; supervised part: the class of real data
    expected = (F.softplus(-r.logits).mean() + F.softplus(f.logits).mean()
                + F.cross_entropy(r.class_logits, real_y))
    torch.testing.assert_close(objective().discriminator_loss(D, real, real_y, fake, None), expected)


def test_smoothing_fake_labels_is_allowed_with_a_warning_that_says_why():
    config = make_config({"loss": {"fake_label": 0.1}})
    (message,) = config_warnings(config)
    assert "p_model" in message and "loss.real_label" in message
    assert config_warnings(make_config({"loss": {"real_label": 0.9}})) == []


@pytest.mark.parametrize("tree, message", [
    ({"loss": {"name": "hinge", "real_label": 0.9}}, "cross-entropy"),
    ({"loss": {"real_label": 1.2}}, "real_label"),
    ({"model": {"g_label": "concat"}}, "needs a discriminator that judges the label"),
    ({"model": {"d_label": "acgan"}}, "needs a discriminator that judges the label"),
    ({"model": {"pack": 3}}, "multiple of model.pack"),
    ({"model": {"pack": 2, "d_label": "classes"}}, "cannot be combined"),
    ({"model": {"g_norm": "group"}}, "g_norm"),
    ({"train": {"unroll": 2}, "loss": {"feature_matching": True}}, "choose one"),
])
def test_inconsistent_switches_are_rejected(tree, message):
    with pytest.raises(ConfigError, match=message):
        check_config(make_config(tree))
