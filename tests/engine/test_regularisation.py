"""Regularisers inside training: lazy application, clipping, sigma logging, and the warnings."""
import json

import pytest
import torch
from torch import nn

from ganforge.checks import check_config, config_warnings
from ganforge.config import LossConfig, RegConfig, make_config
from ganforge.data import build_dataset
from ganforge.engine import objective as objective_module
from ganforge.engine.loop import train
from ganforge.engine.objective import Objective
from ganforge.engine.stats import Stats
from ganforge.engine.training import Training
from ganforge.errors import ConfigError
from ganforge.losses import LOSSES

from ..runs import image_overrides, toy_overrides


class LinearD(nn.Module):
    """D(x) = <x, w>, the labels ignored: gradient w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x, y=None):
        return x @ self.w


def test_penalty_weights_and_lazy_scaling_by_hand():
    stats = Stats()
    obj = Objective(LOSSES.get("wasserstein"), LossConfig(name="wasserstein"), stats,
                    RegConfig(gp=10.0, r1=4.0, every=3))
    D = LinearD([3.0, 4.0])  # |w| = 5: gp = (5 - 1)^2 = 16, r1 = 25
    penalty = obj.penalty(D, torch.randn(4, 2), None, torch.randn(4, 2))
    assert penalty.item() == pytest.approx(3 * (10 * 16 + 4 / 2 * 25))
    assert stats.collect() == pytest.approx({"reg/gp": 16.0, "reg/r1": 25.0})


def test_penalties_run_on_every_nth_discriminator_step(tmp_path, monkeypatch):
    calls = []
    real_gp = objective_module.gradient_penalty
    monkeypatch.setattr(objective_module, "gradient_penalty", lambda *a, **k: calls.append(1) or real_gp(*a, **k))
    config = make_config({}, toy_overrides(tmp_path, steps=6) + ["train.n_dis=2", "reg.gp=1", "reg.every=4"])
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    for _ in range(6):
        training.train_step()
    assert len(calls) == 3  # D steps 0, 4 and 8 of 12


def test_weight_clipping_bounds_d_after_each_step(tmp_path):
    config = make_config({}, toy_overrides(tmp_path) + ["loss.name=wasserstein", "reg.clip=0.01"])
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    training.train_step()
    assert max(p.abs().max().item() for p in training.D.parameters()) == pytest.approx(0.01)
    assert max(p.abs().max().item() for p in training.G.parameters()) > 0.01


def test_sigma_of_each_normalised_layer_is_logged(tiny_images, tmp_path):
    config = make_config({}, image_overrides(tiny_images, tmp_path, steps=4) + [
        "model.name=sngan", "model.d_sn=true", "loss.name=hinge", "reg.gp=10"])
    train(config, run_dir=tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    sigmas = {k: v for k, v in records[-1].items() if k.startswith("sigma/d/")}
    # SN-GAN's standard CNN at 8x8: two convolutions per stage (one stage), the last conv, the dense head
    assert sorted(sigmas) == ["sigma/d/body.0", "sigma/d/body.2", "sigma/d/body.4", "sigma/d/head"]
    assert all(v > 0 for v in sigmas.values())
    assert "reg/gp" in records[-1] and not any(k.startswith("sigma/g/") for k in records[-1])


def test_warnings_for_penalties_with_batch_norm_and_an_unconstrained_critic():
    gp_bn = config_warnings(make_config({}, ["model.name=dcgan", "reg.gp=10"]))
    assert any("d_norm=none" in w for w in gp_bn)
    assert config_warnings(make_config({}, ["model.name=dcgan", "reg.gp=10", "model.d_norm=none"])) == []
    assert any("Lipschitz" in w for w in config_warnings(make_config({}, ["loss.name=wasserstein"])))
    assert config_warnings(make_config({}, ["loss.name=wasserstein", "model.d_sn=true"])) == []


@pytest.mark.parametrize("override, message", [
    ("reg.gp=-1", "reg.gp must be >= 0"), ("reg.every=0", "reg.every must be positive"),
    ("model.d_norm=layer", r"model.d_norm=layer does not apply to model.name=mlp \(it has no such option\)"),
    ("model.sn_iterations=0", "model.sn_iterations must be positive"),
    ("model.d_sn=maybe", "model.d_sn' must be bool")])
def test_bad_regulariser_settings_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        check_config(make_config({}, [override]))


def test_rpgan_with_r1_and_r2_trains_and_logs_both_penalties(tmp_path):
    """R3GAN's objective (Huang et al. 2024): the relativistic pairing loss with zero-centred penalties on
    real and generated samples, lazily every other step."""
    config = make_config({}, toy_overrides(tmp_path, steps=4) + [
        "loss.name=rpgan", "reg.r1=0.5", "reg.r2=0.5", "reg.every=2", "train.log_every=2"])
    run = train(config, run_dir=tmp_path / "run")
    records = [json.loads(line) for line in (run.run_dir / "log.jsonl").read_text().splitlines()]
    assert all(r["reg/r1"] > 0 and r["reg/r2"] > 0 for r in records)
