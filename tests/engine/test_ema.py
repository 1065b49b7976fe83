import pytest
import torch
from torch import nn

from ganforge.checks import check_config, config_warnings
from ganforge.config import make_config
from ganforge.data import build_dataset
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.ema import EMA, standing_statistics
from ganforge.engine.loop import train
from ganforge.engine.training import Training
from ganforge.errors import ConfigError

from ..runs import image_overrides, toy_overrides


def test_ema_update_matches_formula():
    model = nn.Linear(3, 2)
    ema = EMA(model, decay=0.9)
    start = [p.clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    for shadow, old, new in zip(ema.shadow.parameters(), start, model.parameters()):
        torch.testing.assert_close(shadow, 0.9 * old + 0.1 * new)
    assert not any(p.requires_grad for p in ema.shadow.parameters())


def test_ema_copies_batch_norm_statistics():
    model = nn.BatchNorm1d(4)
    ema = EMA(model, decay=0.99)
    model(torch.randn(8, 4) + 3.0)
    ema.update(model)
    assert torch.equal(ema.shadow.running_mean, model.running_mean)


def test_rampup_decay_follows_formula_and_is_capped():
    ema = EMA(nn.Linear(2, 2), decay=0.999, rampup=True)
    assert ema.decay_at(0) == pytest.approx(0.1)
    assert ema.decay_at(90) == pytest.approx(91 / 100)
    assert ema.decay_at(8990) == pytest.approx(0.999)       # (1 + t) / (10 + t) reaches 0.999 here
    assert ema.decay_at(100_000) == 0.999
    assert EMA(nn.Linear(2, 2), decay=0.999).decay_at(0) == 0.999


def test_rampup_update_uses_the_decay_of_its_step():
    model = nn.Linear(3, 2)
    ema = EMA(model, decay=0.99, rampup=True)
    start = [p.clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(-2.0)
    ema.update(model, step=5)                                 # d = 6 / 15 = 0.4
    for shadow, old, new in zip(ema.shadow.parameters(), start, model.parameters()):
        torch.testing.assert_close(shadow, 0.4 * old + 0.6 * new)


def test_rampup_without_ema_is_warned_about():
    assert any("ema_rampup" in w for w in config_warnings(make_config({}, ["train.ema_rampup=true"])))
    assert not any("ema_rampup" in w for w in config_warnings(
        make_config({}, ["train.ema_rampup=true", "train.ema_decay=0.999"])))


def test_training_ramps_the_ema_up_step_by_step(tmp_path):
    config = make_config({}, toy_overrides(tmp_path) + ["train.ema_decay=0.999", "train.ema_rampup=true"])
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    expected = [p.clone() for p in training.G.parameters()]
    for step in range(4):
        training.train_step()
        decay = (1 + step) / (10 + step)
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, training.G.parameters())]
    for shadow, e in zip(training.ema.shadow.parameters(), expected):
        torch.testing.assert_close(shadow, e)


class _LinearNorm(nn.Module):
    """z -> batch norm of a fixed linear map of z, taking (z, y) like a generator."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.norm = nn.BatchNorm1d(2)

    def forward(self, z, y=None):
        return self.norm(self.linear(z))


def test_standing_statistics_are_the_plain_average_of_batch_statistics():
    torch.manual_seed(0)
    model = _LinearNorm()
    model.norm.running_mean.fill_(5.0)  # stale statistics that must not leak in
    batches = [torch.randn(8, 3) * (i + 1) + i for i in range(3)]
    with torch.no_grad():
        h = [model.linear(z) for z in batches]
    standing_statistics(model, ((z, None) for z in batches))
    torch.testing.assert_close(model.norm.running_mean, torch.stack([x.mean(0) for x in h]).mean(0))
    torch.testing.assert_close(model.norm.running_var, torch.stack([x.var(0, unbiased=True) for x in h]).mean(0))
    assert model.norm.momentum == 0.1 and not model.training  # the layer's own momentum back, ready to sample


@pytest.mark.parametrize("overrides, message", [
    (["train.ema_decay=0", "train.ema_bn_batches=4"], "no EMA is kept"),
    (["train.ema_bn_batches=4", "model.g_norm=virtual", "model.reference_size=8"],
     "model.g_norm=virtual keeps none"),
    (["train.ema_bn_batches=4", "model.name=pggan"], "model.name=pggan keeps none"),
])
def test_standing_statistics_are_refused_without_an_ema_or_a_batch_norm(tiny_images, tmp_path, overrides, message):
    config = make_config({}, image_overrides(tiny_images, tmp_path) + overrides)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


def test_standing_statistics_leave_training_alone_and_replace_the_copied_statistics(tiny_images, tmp_path):
    """Same G, D and EMA weights with and without `train.ema_bn_batches`; only the EMA's batch-norm buffers
    differ, and they are no longer G's."""
    base = image_overrides(tiny_images, tmp_path, steps=6)
    plain = load_checkpoint(train(make_config({}, base), run_dir=tmp_path / "plain").checkpoint)
    standing = load_checkpoint(train(make_config({}, base + ["train.ema_bn_batches=3"]),
                                     run_dir=tmp_path / "standing").checkpoint)
    for key in ("generator", "discriminator"):
        for name, value in plain[key].items():
            assert torch.equal(value, standing[key][name]), f"{key}.{name}"
    buffers = [name for name in plain["generator_ema"]
               if name.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")]
    assert buffers
    for name, value in plain["generator_ema"].items():
        if name in buffers:
            assert torch.equal(value, plain["generator"][name])         # copied from G
            assert not torch.equal(standing["generator_ema"][name], value), name
        else:
            assert torch.equal(value, standing["generator_ema"][name]), name
