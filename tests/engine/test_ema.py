import pytest
import torch
from torch import nn

from ganforge.checks import config_warnings
from ganforge.config import make_config
from ganforge.data import build_dataset
from ganforge.engine.ema import EMA
from ganforge.engine.training import Training

from ..runs import toy_overrides


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
